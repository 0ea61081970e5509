import { metrics, type MeterProvider } from '@opentelemetry/api';
import { afterEach, describe, expect, it } from 'vitest';
import { BUNDLED_API_VERSION, registerAsBundledApi } from '../src/app-api.js';

const KEY = Symbol.for('opentelemetry.js.api.1');
const globals = globalThis as Record<symbol, { version?: string; metrics?: unknown } | undefined>;
const provider = (): MeterProvider => ({ getMeter: () => metrics.getMeterProvider().getMeter('noop') });

// The preload registers its stand-in MeterProvider the way mon's bundled API would, without
// loading it (first-need.ts): what the API then sees must be the same.
describe('registerAsBundledApi', () => {
  afterEach(() => metrics.disable());

  it("stamps the bundled API's own version on the global", () => {
    metrics.disable();
    delete globals[KEY];
    expect(metrics.setGlobalMeterProvider(provider())).toBe(true);
    expect(globals[KEY]?.version).toBe(BUNDLED_API_VERSION);
  });

  it('is what the API hands out, and refused once a provider is registered, as the API refuses', () => {
    delete globals[KEY];
    const ours = provider();
    expect(registerAsBundledApi(ours)).toBe(true);
    expect(metrics.getMeterProvider()).toBe(ours);
    expect(registerAsBundledApi(provider())).toBe(false);
    expect(metrics.setGlobalMeterProvider(provider())).toBe(false);
    expect(metrics.getMeterProvider()).toBe(ours);
  });

  it('registers nothing on a global made by another version', () => {
    globals[KEY] = { version: '1.0.0' };
    expect(registerAsBundledApi(provider())).toBe(false);
    expect(globals[KEY]?.metrics).toBeUndefined();
    delete globals[KEY];
  });
});
