export { PrometheusReader } from './reader.js';
export type { CollectedText, PrometheusReaderOptions, RequestHandler } from './reader.js';
export { serialize } from './serialize.js';
export type { ExpositionFormat, SerializeOptions } from './serialize.js';
export { serializeProtobuf } from './serialize-protobuf.js';
export type { HistogramWithExponential } from './serialize-protobuf.js';
export { prometheusLabelName, prometheusMetricName } from './names.js';
export type { MetricKind } from './names.js';
export { TELEMETRY_SERVER } from './telemetry-server.js';
