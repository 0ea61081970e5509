// Accept header -> exposition format. Prometheus asks for OpenMetrics first (2.x:
// `application/openmetrics-text;version=1.0.0,...;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1`),
// for protobuf first when native histograms are on (`--enable-feature=native-histograms` in 2.x,
// `scrape_protocols` starting with PrometheusProto in 3.x), and for text only when configured so;
// curl and browsers send `*/*`.
import { PROTOBUF_CONTENT_TYPE } from './serialize-protobuf.js';
import type { ExpositionFormat } from './serialize.js';

/** What a scrape is answered with: a text exposition, or `protobuf` (delimited MetricFamily messages). */
export type ScrapeFormat = ExpositionFormat | 'protobuf';

const OPENMETRICS_OR_PROTOBUF = /openmetrics|protobuf/i;
/**
 * RFC 9110 12.4.2: `qvalue = ( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] )`. Anything else
 * (`Infinity`, `0x1`, `1e0`, `2`) makes its range unacceptable (q=0): Number() would read those as
 * weights a client cannot have meant.
 */
const QVALUE = /^(?:0(?:\.\d{0,3})?|1(?:\.0{0,3})?)$/;

export const TEXT_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';
export const OPENMETRICS_CONTENT_TYPE = 'application/openmetrics-text; version=1.0.0; charset=utf-8';

/**
 * Protobuf when the client names `application/vnd.google.protobuf` with
 * `proto=io.prometheus.client.MetricFamily` and `encoding=delimited`, with a q-value above zero and
 * at least that of every text format; else OpenMetrics when the client names it (version 1.0.0,
 * 0.0.1 or none) with a q-value above zero and at least that of text/plain or a wildcard; otherwise
 * text 0.0.4, the format every client reads. A wildcard never gives protobuf.
 */
export function negotiate(accept: string | undefined): ScrapeFormat {
  if (accept === undefined || !OPENMETRICS_OR_PROTOBUF.test(accept)) return 'text';
  let protobufQ = 0;
  let openMetricsQ = 0;
  let textQ = 0;
  for (const range of accept.split(',')) {
    const params = range.split(';');
    const type = params[0]!.trim().toLowerCase();
    let q = 1;
    let version: string | undefined;
    let proto: string | undefined;
    let encoding: string | undefined;
    for (let i = 1; i < params.length; i++) {
      const param = params[i]!;
      const eq = param.indexOf('=');
      if (eq === -1) continue;
      const key = param.slice(0, eq).trim().toLowerCase();
      const value = param.slice(eq + 1).trim();
      if (key === 'q') q = QVALUE.test(value) ? Number(value) : 0;
      else if (key === 'version') version = value;
      else if (key === 'proto') proto = value;
      else if (key === 'encoding') encoding = value;
    }
    if (type === 'application/vnd.google.protobuf') {
      if (proto === 'io.prometheus.client.MetricFamily' && encoding === 'delimited') protobufQ = Math.max(protobufQ, q);
    } else if (type === 'application/openmetrics-text') {
      if (version === undefined || version === '1.0.0' || version === '0.0.1') openMetricsQ = Math.max(openMetricsQ, q);
    } else if (type === 'text/plain') {
      if (version === undefined || version === '0.0.4' || version === '1.0.0') textQ = Math.max(textQ, q);
    } else if (type === '*/*' || type === 'text/*') {
      textQ = Math.max(textQ, q);
    }
  }
  if (protobufQ > 0 && protobufQ >= openMetricsQ && protobufQ >= textQ) return 'protobuf';
  return openMetricsQ > 0 && openMetricsQ >= textQ ? 'openmetrics' : 'text';
}

export function contentType(format: ScrapeFormat): string {
  return format === 'protobuf' ? PROTOBUF_CONTENT_TYPE : format === 'openmetrics' ? OPENMETRICS_CONTENT_TYPE : TEXT_CONTENT_TYPE;
}
