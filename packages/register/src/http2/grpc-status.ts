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
  // Number('') is 0: an empty value must not read as OK.
  const code = typeof value === 'number' ? value : typeof value === 'string' && value !== '' ? Number(value) : -1;
  return Number.isInteger(code) && code >= 0 && code < STATUSES ? code : UNKNOWN;
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
