// HTTP/2 and gRPC, from Node's http2 diagnostics channels (Node 22+):
//   server.ts       http2.server.stream.*: HTTP/2 requests into the HTTP server series
//                   (network.protocol.version="2"), gRPC calls into rpc.server.call.duration
//   client.ts       http2.client.stream.*: HTTP/2 requests into the HTTP client series, gRPC
//                   calls into rpc.client.call.duration
//   rpc-metrics.ts  the pre-aggregated rpc.*.call.duration series, rpc.method bounded
//   grpc-status.ts  status codes, names and what a reset stream means
//   node20.ts       Node 20: no channels, one warning when an HTTP/2 server listens
// docs/http2-grpc.md is the user's side of this.
export { instrumentHttp2Clients } from './client.js';
export { HTTP2_CLIENT_CHANNELS, HTTP2_SERVER_CHANNELS, warnUncountedHttp2 } from './node20.js';
export { RpcMetrics } from './rpc-metrics.js';
export { instrumentHttp2Servers } from './server.js';
