// gRPC status codes as rpc.response.status_code carries them: the canonical names (semantic
// conventions: "the string representation of the status code"), from a closed set of 17, so a
// peer can never mint a label value.

/** Index = the numeric code (grpc/doc/statuscodes.md). */
export const STATUS_NAMES: readonly string[] = [
  'OK',
  'CANCELLED',
  'UNKNOWN',
  'INVALID_ARGUMENT',
  'DEADLINE_EXCEEDED',
  'NOT_FOUND',
  'ALREADY_EXISTS',
  'PERMISSION_DENIED',
  'RESOURCE_EXHAUSTED',
  'FAILED_PRECONDITION',
  'ABORTED',
  'OUT_OF_RANGE',
  'UNIMPLEMENTED',
  'INTERNAL',
  'UNAVAILABLE',
  'DATA_LOSS',
  'UNAUTHENTICATED',
];
export const STATUSES = STATUS_NAMES.length;
export const OK = 0;
export const CANCELLED = 1;
export const UNKNOWN = 2;
export const DEADLINE_EXCEEDED = 4;
export const UNIMPLEMENTED = 12;
export const INTERNAL = 13;
export const UNAVAILABLE = 14;

/**
 * The codes the gRPC conventions count as the server's fault (error.type on server series);
 * on the client every code but OK is an error.
 */
const SERVER_FAULTS = new Set([UNKNOWN, DEADLINE_EXCEEDED, UNIMPLEMENTED, INTERNAL, UNAVAILABLE, 15 /* DATA_LOSS */]);
export const isServerFault = (status: number): boolean => SERVER_FAULTS.has(status);

/**
 * A `grpc-status` header or trailer value as Node hands it over (a string, or a number when the
 * app passed one) -> the code; anything else is UNKNOWN, as gRPC clients read it.
 */
export function statusOf(value: unknown): number {
  if (typeof value === 'number') return Number.isInteger(value) && value >= 0 && value < STATUSES ? value : UNKNOWN;
  // One or two ASCII digits, read without parsing (Number() would take '', ' 0' or '0x1').
  if (typeof value !== 'string' || value.length === 0 || value.length > 2) return UNKNOWN;
  let code = 0;
  for (let i = 0; i < value.length; i++) {
    const digit = value.charCodeAt(i) - 48;
    if (digit < 0 || digit > 9) return UNKNOWN;
    code = code * 10 + digit;
  }
  return code < STATUSES ? code : UNKNOWN;
}

/**
 * A stream reset before any grpc-status was sent or received: the status gRPC itself gives the
 * call (grpc/doc/PROTOCOL-HTTP2.md, "Errors"): CANCEL is CANCELLED, REFUSED_STREAM is UNAVAILABLE,
 * ENHANCE_YOUR_CALM is RESOURCE_EXHAUSTED, INADEQUATE_SECURITY is PERMISSION_DENIED; any other
 * code (PROTOCOL_ERROR, INTERNAL_ERROR...) is INTERNAL.
 */
export function statusOfReset(rstCode: number): number {
  switch (rstCode) {
    case 0x8:
      return CANCELLED;
    case 0x7:
      return UNAVAILABLE;
    case 0xb:
      return 8; // RESOURCE_EXHAUSTED
    case 0xc:
      return 7; // PERMISSION_DENIED
    default:
      return INTERNAL;
  }
}

/** `content-type: application/grpc`, `application/grpc+proto`, `application/grpc;...` (not grpc-web). */
export function isGrpc(contentType: unknown): boolean {
  if (typeof contentType !== 'string' || !contentType.startsWith('application/grpc')) return false;
  const next = contentType.charCodeAt(16);
  return Number.isNaN(next) || next === 43 /* + */ || next === 59 /* ; */;
}

/**
 * A `grpc-timeout` header (`300m`, `2S`: at most 8 digits and a unit) in whole milliseconds, or
 * -1. Read because a deadline that passes shows on the wire only as a reset: the side whose timer
 * fires first cancels the stream, and no status is sent. Parsed by hand: no string is created.
 */
export function timeoutMillis(value: unknown): number {
  if (typeof value !== 'string' || value.length < 2 || value.length > 9) return -1;
  let n = 0;
  for (let i = 0; i < value.length - 1; i++) {
    const digit = value.charCodeAt(i) - 48;
    if (digit < 0 || digit > 9) return -1;
    n = n * 10 + digit;
  }
  let ms: number;
  switch (value.charCodeAt(value.length - 1)) {
    case 72 /* H */:
      ms = n * 3_600_000;
      break;
    case 77 /* M */:
      ms = n * 60_000;
      break;
    case 83 /* S */:
      ms = n * 1000;
      break;
    case 109 /* m */:
      ms = n;
      break;
    case 117 /* u */:
      ms = Math.floor(n / 1000);
      break;
    case 110 /* n */:
      ms = Math.floor(n / 1_000_000);
      break;
    default:
      return -1;
  }
  // Kept a small integer (a V8 Smi): no deadline that long is ever reached anyway.
  return ms < 0x3fffffff ? ms : 0x3fffffff;
}

/**
 * Slack: a deadline's reset can come before the full timeout has passed as measured here. The
 * client's timer runs from before it sent the headers, the server's clock from when it read them,
 * so the server sees the call shorter by the time in between: a few ms, tens on a busy machine.
 * Hence a tenth of the deadline, at least 5 ms: a call reset within its deadline's last tenth is
 * taken for the deadline, whatever the reset code says.
 */
const MIN_DEADLINE_SLACK_MICROS = 5000;

/**
 * The status of a call reset before any grpc-status: DEADLINE_EXCEEDED when it carried a
 * deadline and ran that long (what both gRPC peers report), else what the reset code says.
 */
export function statusOfUnanswered(rstCode: number, deadlineMillis: number, micros: number): number {
  if (deadlineMillis >= 0) {
    const deadlineMicros = deadlineMillis * 1000;
    const slack = deadlineMicros / 10 > MIN_DEADLINE_SLACK_MICROS ? deadlineMicros / 10 : MIN_DEADLINE_SLACK_MICROS;
    if (micros + slack >= deadlineMicros) return DEADLINE_EXCEEDED;
  }
  return statusOfReset(rstCode);
}
