// @opentelemetry/api's ValueType, as the two constants the recorders' descriptors use.
//
// Why not the API's own enum: it was the only value main.js's static graph imported from
// @opentelemetry/api, and it brought the whole bundled API (one more ES module, ~10 KB to compile
// and its top level to run) into the first need's synchronous load, inside the app's own call (a
// server's listen()). The API is loaded with the SDK, later (pipeline.ts). The values are the API's
// (an enum, part of its stable surface); packages/register/test/value-type.test.ts checks them against it.
import type { ValueType } from '@opentelemetry/api';

export const INT = 0 as ValueType.INT;
export const DOUBLE = 1 as ValueType.DOUBLE;
