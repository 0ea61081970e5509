// Accept header -> exposition format. Prometheus asks for OpenMetrics first (2.x:
// `application/openmetrics-text;version=1.0.0,...;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1`)
// and for text only when configured so (`scrape_protocols`); curl and browsers send `*/*`.
import type { ExpositionFormat } from './serialize.js';

const OPENMETRICS = /openmetrics/i;

export const TEXT_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';
export const OPENMETRICS_CONTENT_TYPE = 'application/openmetrics-text; version=1.0.0; charset=utf-8';

/**
 * OpenMetrics when the client names it (version 1.0.0, 0.0.1 or none) with a q-value above zero and
 * at least that of text/plain or a wildcard; otherwise text 0.0.4, the format every client reads.
 */
export function negotiate(accept: string | undefined): ExpositionFormat {
  if (accept === undefined || !OPENMETRICS.test(accept)) return 'text';
  let openMetricsQ = 0;
  let textQ = 0;
  for (const range of accept.split(',')) {
    const params = range.split(';');
    const type = params[0]!.trim().toLowerCase();
    let q = 1;
    let version: string | undefined;
    for (let i = 1; i < params.length; i++) {
      const param = params[i]!;
      const eq = param.indexOf('=');
      if (eq === -1) continue;
      const key = param.slice(0, eq).trim().toLowerCase();
      const value = param.slice(eq + 1).trim();
      if (key === 'q') q = Number(value) || 0;
      else if (key === 'version') version = value;
    }
    if (type === 'application/openmetrics-text') {
      if (version === undefined || version === '1.0.0' || version === '0.0.1') openMetricsQ = Math.max(openMetricsQ, q);
    } else if (type === 'text/plain') {
      if (version === undefined || version === '0.0.4' || version === '1.0.0') textQ = Math.max(textQ, q);
    } else if (type === '*/*' || type === 'text/*') {
      textQ = Math.max(textQ, q);
    }
  }
  return openMetricsQ > 0 && openMetricsQ >= textQ ? 'openmetrics' : 'text';
}

export function contentType(format: ExpositionFormat): string {
  return format === 'openmetrics' ? OPENMETRICS_CONTENT_TYPE : TEXT_CONTENT_TYPE;
}
