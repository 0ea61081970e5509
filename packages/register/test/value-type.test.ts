import { ValueType } from '@opentelemetry/api';
import { describe, expect, it } from 'vitest';
import { DOUBLE, INT } from '../src/value-type.js';

describe('value-type', () => {
  it("holds @opentelemetry/api's ValueType values", () => {
    expect(INT).toBe(ValueType.INT);
    expect(DOUBLE).toBe(ValueType.DOUBLE);
  });
});
