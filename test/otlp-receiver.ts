// An OTLP/HTTP metrics receiver for tests. Protobuf bodies are decoded with the official OTLP
// schema (the protobufjs code generated from opentelemetry-proto that
// @opentelemetry/otlp-transformer@0.57 shipped; devDependency alias `otlp-proto-schema`), JSON
// bodies with JSON.parse: no hand parsing. It can misbehave on purpose.
import { createRequire } from 'node:module';
import http from 'node:http';
import { once } from 'node:events';
import { gunzipSync } from 'node:zlib';
import type { AddressInfo } from 'node:net';

const require = createRequire(import.meta.url);
const schema = require('otlp-proto-schema/build/src/generated/root.js');
const ExportMetricsServiceRequest = schema.opentelemetry.proto.collector.metrics.v1.ExportMetricsServiceRequest;

/** A decoded export, in the OTLP JSON mapping (numbers as numbers, enums as numbers). */
export interface ExportRequest {
  resourceMetrics: Array<{
    resource?: { attributes?: KeyValue[] };
    scopeMetrics: Array<{ scope?: { name?: string }; metrics: OtlpMetric[] }>;
  }>;
}
export interface KeyValue {
  key: string;
  value: { stringValue?: string; intValue?: number | string; doubleValue?: number; boolValue?: boolean };
}
export interface OtlpPoint {
  attributes?: KeyValue[];
  asInt?: number | string;
  asDouble?: number;
  count?: number | string;
  sum?: number;
  bucketCounts?: Array<number | string>;
  explicitBounds?: number[];
  /** Exponential histograms. */
  scale?: number;
  zeroCount?: number | string;
  positive?: { offset?: number; bucketCounts?: Array<number | string> };
  startTimeUnixNano?: string;
  timeUnixNano?: string;
}
export interface OtlpMetric {
  name: string;
  unit?: string;
  description?: string;
  sum?: { dataPoints: OtlpPoint[]; aggregationTemporality: number; isMonotonic?: boolean };
  gauge?: { dataPoints: OtlpPoint[] };
  histogram?: { dataPoints: OtlpPoint[]; aggregationTemporality: number };
  exponentialHistogram?: { dataPoints: OtlpPoint[]; aggregationTemporality: number };
}

export interface Received {
  contentType: string;
  headers: http.IncomingHttpHeaders;
  body: ExportRequest;
}

/** Decides the reply to each export; default 200. */
export type Behaviour = (req: http.IncomingMessage, res: http.ServerResponse, attempt: number) => void;

export interface Receiver {
  url: string;
  port: number;
  received: Received[];
  /** The raw bodies, as sent (after gunzip). */
  raw: Buffer[];
  attempts: number;
  behave: (behaviour: Behaviour) => void;
  close: () => Promise<void>;
}

export const ok: Behaviour = (req, res) => {
  const json = req.headers['content-type']?.includes('json');
  res.writeHead(200, { 'content-type': json ? 'application/json' : 'application/x-protobuf' });
  res.end(json ? '{}' : undefined);
};

export async function startReceiver(): Promise<Receiver> {
  let behaviour: Behaviour = ok;
  const receiver: Receiver = {
    url: '',
    port: 0,
    received: [],
    raw: [],
    attempts: 0,
    behave: (b) => (behaviour = b),
    close: async () => {
      server.closeAllConnections();
      server.close();
      await once(server, 'close');
    },
  };
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      receiver.attempts++;
      let raw = Buffer.concat(chunks);
      if (req.headers['content-encoding'] === 'gzip') raw = gunzipSync(raw);
      const contentType = req.headers['content-type'] ?? '';
      const body: ExportRequest = contentType.includes('json')
        ? JSON.parse(raw.toString('utf8'))
        : ExportMetricsServiceRequest.toObject(ExportMetricsServiceRequest.decode(raw), { longs: Number, defaults: false });
      receiver.received.push({ contentType, headers: req.headers, body });
      receiver.raw.push(raw);
      behaviour(req, res, receiver.attempts);
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  receiver.port = (server.address() as AddressInfo).port;
  receiver.url = `http://127.0.0.1:${receiver.port}`;
  return receiver;
}

/** Every metric across every export, newest export last. */
export function metricsOf(received: Received[]): OtlpMetric[] {
  // A scope whose instruments have no point yet (the app's meter before its first add) decodes from
  // protobuf with no `metrics` at all: an empty repeated field is not on the wire.
  return received.flatMap((r) => (r.body.resourceMetrics ?? []).flatMap((rm) => (rm.scopeMetrics ?? []).flatMap((sm) => sm.metrics ?? [])));
}

export function attributes(point: OtlpPoint): Record<string, string | number | boolean> {
  const out: Record<string, string | number | boolean> = {};
  for (const { key, value } of point.attributes ?? []) {
    out[key] = value.stringValue ?? (value.intValue !== undefined ? Number(value.intValue) : undefined) ?? value.doubleValue ?? value.boolValue ?? '';
  }
  return out;
}

export const pointValue = (point: OtlpPoint): number => Number(point.asInt ?? point.asDouble ?? point.count ?? 0);
