// The OTLP http/json metric exporter, with 64-bit integers as decimal strings. The OTLP/JSON
// encoding (opentelemetry-proto, "JSON Protobuf Encoding") writes int64, uint64 and fixed64 fields as
// strings, as proto3's JSON mapping does: a JSON number above 2^53 loses digits in most parsers. The
// OpenTelemetry JS serializer writes them as numbers (its timestamps are already strings). This is
// the same exporter (OTLPMetricExporterBase, the same HTTP delegate: retries, timeouts, headers)
// with a serializer that re-encodes those fields.
import type { PushMetricExporter, ResourceMetrics } from '@opentelemetry/sdk-metrics';

/** OTLP metric fields of 64-bit integer types (and their repeated forms). */
const INT64_FIELDS = new Set([
  'asInt', // NumberDataPoint.as_int, sfixed64
  'count', // HistogramDataPoint / ExponentialHistogramDataPoint / SummaryDataPoint count, fixed64
  'bucketCounts', // repeated fixed64 (explicit and exponential buckets)
  'zeroCount', // ExponentialHistogramDataPoint.zero_count, fixed64
  'intValue', // AnyValue.int_value, int64
  'timeUnixNano',
  'startTimeUnixNano',
]);

/** A JSON.stringify replacer: numbers of 64-bit integer fields as decimal strings. */
function int64AsString(this: unknown, key: string, value: unknown): unknown {
  if (!INT64_FIELDS.has(key)) return value;
  if (typeof value === 'number') return decimal(value);
  if (Array.isArray(value)) return value.map((v) => (typeof v === 'number' ? decimal(v) : v));
  return value;
}

// Integers only (never exponent notation); a double that slipped into an integer field is truncated.
function decimal(value: number): string {
  return Number.isFinite(value) ? BigInt(Math.trunc(value)).toString() : '0';
}

/** Re-encodes the output of the SDK's JSON serializer (a UTF-8 JSON export request). */
export function int64FieldsAsStrings(json: Uint8Array): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(JSON.parse(new TextDecoder().decode(json)), int64AsString));
}

export async function otlpJsonExporter(options: Record<string, unknown>): Promise<PushMetricExporter> {
  const { OTLPMetricExporterBase } = await import('@opentelemetry/exporter-metrics-otlp-http');
  const { createOtlpHttpExportDelegate, convertLegacyHttpOptions } = await import('@opentelemetry/otlp-exporter-base/node-http');
  const { JsonMetricsSerializer, MetricsExporterMetricsHelper } = await import('@opentelemetry/otlp-transformer');
  const serializer = {
    serializeRequest: (request: ResourceMetrics): Uint8Array | undefined => {
      const json = JsonMetricsSerializer.serializeRequest(request);
      return json === undefined ? undefined : int64FieldsAsStrings(json);
    },
    deserializeResponse: JsonMetricsSerializer.deserializeResponse,
  };
  const delegate = createOtlpHttpExportDelegate(
    convertLegacyHttpOptions(options, 'METRICS', 'v1/metrics', { 'Content-Type': 'application/json' }),
    serializer,
    // The component type the SDK's own exporter reports for its self-observability metrics.
    'otlp_http_metric_exporter',
    MetricsExporterMetricsHelper,
    undefined,
  );
  return new OTLPMetricExporterBase(delegate, options);
}
