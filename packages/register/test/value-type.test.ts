import { ValueType as ApiValueType } from '@opentelemetry/api';
import { describe, expect, it } from 'vitest';
import { ValueType } from '../src/sdk-constants.js';

describe('value-type', () => {
  it("holds @opentelemetry/api's ValueType values", () => {
    expect(ValueType.INT).toBe(ApiValueType.INT);
    expect(ValueType.DOUBLE).toBe(ApiValueType.DOUBLE);
  });
});
