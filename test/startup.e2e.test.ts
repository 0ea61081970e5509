// What the preload makes Node load: every process that inherits NODE_OPTIONS pays for it. Node
// built-ins it does not need at start-up stay unloaded; what that saves in milliseconds is measured
// in test/bench/startup.mjs, not here.
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { START_UP_GRACE_MS } from '../packages/register/src/after-start-up.js';
import { fixture, freePort, root } from './helpers.js';

/** Node's modules loaded `afterMs` after the app's first line (0: at its first line). */
async function modulesLoaded(preload: boolean, afterMs = 50): Promise<string[]> {
  const print = 'console.log(JSON.stringify(process.moduleLoadList))';
  const out = spawnSync(
    process.execPath,
    // The baseline preloads an empty module file, so that the ESM loader's own modules count on both sides.
    ['--import', preload ? '@mon/register' : fixture('empty.mjs'), '-e', afterMs === 0 ? print : `setTimeout(() => ${print}, ${afterMs})`],
    {
      cwd: root,
      env: { ...process.env, OTEL_EXPORTER_PROMETHEUS_HOST: '127.0.0.1', OTEL_EXPORTER_PROMETHEUS_PORT: String(await freePort()) },
      encoding: 'utf8',
      timeout: 10_000,
    },
  );
  expect(out.stderr).toBe('');
  return JSON.parse(out.stdout) as string[];
}

describe('node --import @mon/register', () => {
  it('loads no node:http when it serves nothing (OTEL_METRICS_EXPORTER=none)', async () => {
    process.env.OTEL_METRICS_EXPORTER = 'none';
    try {
      expect(await modulesLoaded(true)).not.toContain('NativeModule http');
    } finally {
      delete process.env.OTEL_METRICS_EXPORTER;
    }
  });

  it("before the app's first line, loads none of what serves or reads a scrape: node:http, node:http2, node:cluster, node:v8", async () => {
    const bare = new Set(await modulesLoaded(false, 0));
    const added = (await modulesLoaded(true, 0)).filter((m) => !bare.has(m));
    expect(added.filter((m) => /^NativeModule (http|http2|_http_server|internal\/http2\/core|cluster|child_process|v8|undici)$/.test(m))).toEqual([]);
  });

  it('once the app has started, serves through node:http, and still loads neither undici (node:http ESM facade), node:crypto nor fs/promises', async () => {
    // The grace, then 3 s for the endpoint's imports on a loaded machine (they take ~0.1 s idle).
    const loaded = await modulesLoaded(true, START_UP_GRACE_MS + 3_000);
    // The endpoint itself needs node:http: the check would pass vacuously if the preload did nothing.
    expect(loaded).toContain('NativeModule http');
    expect(loaded).toContain('NativeModule v8');
    const bare = new Set(await modulesLoaded(false, START_UP_GRACE_MS + 3_000));
    const added = loaded.filter((m) => !bare.has(m));
    expect(added.filter((m) => /undici|crypto|internal\/fs\/promises/.test(m))).toEqual([]);
  });
});
