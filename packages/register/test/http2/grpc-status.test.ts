import { describe, expect, it } from 'vitest';
import { isGrpc, isServerFault, STATUS_NAMES, statusOf, statusOfReset, statusOfUnanswered, timeoutMillis } from '../../src/http2/grpc-status.js';

describe('statusOf', () => {
  it('reads grpc-status as Node hands it over, anything odd as UNKNOWN', () => {
    expect(STATUS_NAMES[statusOf('0')]).toBe('OK');
    expect(STATUS_NAMES[statusOf('5')]).toBe('NOT_FOUND');
    expect(STATUS_NAMES[statusOf(16)]).toBe('UNAUTHENTICATED');
    for (const odd of ['', '17', '-1', '1.5', 'OK', ' 0', undefined, null, {}]) expect(STATUS_NAMES[statusOf(odd)]).toBe('UNKNOWN');
  });
});

describe('a call reset before any status', () => {
  it("gets gRPC's own status for the reset code", () => {
    expect(STATUS_NAMES[statusOfReset(0x8)]).toBe('CANCELLED');
    expect(STATUS_NAMES[statusOfReset(0x7)]).toBe('UNAVAILABLE');
    expect(STATUS_NAMES[statusOfReset(0xb)]).toBe('RESOURCE_EXHAUSTED');
    expect(STATUS_NAMES[statusOfReset(0xc)]).toBe('PERMISSION_DENIED');
    expect(STATUS_NAMES[statusOfReset(0x1)]).toBe('INTERNAL');
    expect(STATUS_NAMES[statusOfReset(0x2)]).toBe('INTERNAL');
  });

  it('is DEADLINE_EXCEEDED once its grpc-timeout has passed, CANCELLED before', () => {
    expect(STATUS_NAMES[statusOfUnanswered(0x8, 300, 300_100)]).toBe('DEADLINE_EXCEEDED');
    expect(STATUS_NAMES[statusOfUnanswered(0x8, 300, 298_000)]).toBe('DEADLINE_EXCEEDED');
    // Seen 40 ms short on a busy server (its clock starts when it reads the headers): a tenth of the deadline is slack.
    expect(STATUS_NAMES[statusOfUnanswered(0x8, 300, 271_000)]).toBe('DEADLINE_EXCEEDED');
    expect(STATUS_NAMES[statusOfUnanswered(0x8, 300, 269_000)]).toBe('CANCELLED');
    // At least 5 ms for short deadlines.
    expect(STATUS_NAMES[statusOfUnanswered(0x8, 20, 15_500)]).toBe('DEADLINE_EXCEEDED');
    expect(STATUS_NAMES[statusOfUnanswered(0x8, 20, 14_500)]).toBe('CANCELLED');
    expect(STATUS_NAMES[statusOfUnanswered(0x8, 300, 150_000)]).toBe('CANCELLED');
    expect(STATUS_NAMES[statusOfUnanswered(0x8, -1, 10_000_000)]).toBe('CANCELLED');
  });
});

describe('timeoutMillis', () => {
  it('parses every grpc-timeout unit, and nothing else', () => {
    expect(timeoutMillis('300m')).toBe(300);
    expect(timeoutMillis('2S')).toBe(2000);
    expect(timeoutMillis('1M')).toBe(60_000);
    expect(timeoutMillis('1H')).toBe(3_600_000);
    expect(timeoutMillis('2500u')).toBe(2);
    expect(timeoutMillis('99999999n')).toBe(99);
    expect(timeoutMillis('99999999H')).toBe(0x3fffffff);
    for (const odd of ['', 'm', '12', '1x', '-1m', '123456789m', ' 1m', 1000, undefined]) expect(timeoutMillis(odd)).toBe(-1);
  });
});

describe('isGrpc', () => {
  it('is application/grpc and its +format or ;parameter forms, not grpc-web', () => {
    expect(isGrpc('application/grpc')).toBe(true);
    expect(isGrpc('application/grpc+proto')).toBe(true);
    expect(isGrpc('application/grpc; charset=utf-8')).toBe(true);
    expect(isGrpc('application/grpc-web')).toBe(false);
    expect(isGrpc('application/grpcx')).toBe(false);
    expect(isGrpc('application/json')).toBe(false);
    expect(isGrpc(undefined)).toBe(false);
  });
});

describe('isServerFault', () => {
  it('is the codes the gRPC conventions count as the server failing', () => {
    expect(STATUS_NAMES.filter((_, code) => isServerFault(code))).toEqual(['UNKNOWN', 'DEADLINE_EXCEEDED', 'UNIMPLEMENTED', 'INTERNAL', 'UNAVAILABLE', 'DATA_LOSS']);
  });
});
