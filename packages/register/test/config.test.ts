import { describe, expect, it } from 'vitest';
import { captureStderr } from './stderr.js';
import { loadConfig } from '../src/config.js';

const captured = captureStderr();

describe('loadConfig', () => {
  it('defaults to a Prometheus endpoint on localhost:9464 with every metric group', () => {
    const config = loadConfig({});
    expect(config.disabled).toBe(false);
    expect(config.exporters).toEqual(['prometheus']);
    expect(config.prometheus).toEqual({ host: 'localhost', port: 9464, auth: undefined, ui: true });
    expect([...config.groups].sort()).toEqual(['container', 'cpu', 'db', 'disk', 'http', 'http-client', 'memory', 'process', 'runtime']);
    expect(config.httpClient).toEqual({ maxHosts: 100 });
    expect(Object.isFrozen(config)).toBe(true);
    expect(captured()).toEqual([]);
  });

  it('reads the standard variables', () => {
    const config = loadConfig({
      OTEL_SDK_DISABLED: 'TRUE',
      OTEL_SERVICE_NAME: 'checkout',
      OTEL_RESOURCE_ATTRIBUTES: 'deployment.environment.name=prod,team=a%2Cb%3Dc',
      OTEL_METRICS_EXPORTER: 'prometheus, otlp',
      OTEL_EXPORTER_PROMETHEUS_HOST: '0.0.0.0',
      OTEL_EXPORTER_PROMETHEUS_PORT: '9100',
    });
    expect(config.disabled).toBe(true);
    expect(config.serviceName).toBe('checkout');
    expect(config.resourceAttributes).toEqual({ 'deployment.environment.name': 'prod', team: 'a,b=c' });
    expect(config.exporters).toEqual(['prometheus', 'otlp']);
    expect(config.prometheus).toMatchObject({ host: '0.0.0.0', port: 9100 });
    expect(captured()).toEqual([]);
  });

  it('reads MON_METRICS_AUTH as a bearer token or user:password, and MON_UI', () => {
    expect(loadConfig({ MON_METRICS_AUTH: 'tok3n' }).prometheus.auth).toEqual({ bearer: 'tok3n' });
    expect(loadConfig({ MON_METRICS_AUTH: 'prom:pa:ss' }).prometheus.auth).toEqual({ username: 'prom', password: 'pa:ss' });
    // A token with a ':' in it: the Bearer prefix says which it is.
    expect(loadConfig({ MON_METRICS_AUTH: 'Bearer ab:cd' }).prometheus.auth).toEqual({ bearer: 'ab:cd' });
    expect(loadConfig({ MON_METRICS_AUTH: 'bearer tok3n' }).prometheus.auth).toEqual({ bearer: 'tok3n' });
    expect(loadConfig({ MON_UI: 'off' }).prometheus.ui).toBe(false);
    expect(loadConfig({ MON_UI: 'sideways' }).prometheus.ui).toBe(true);
    expect(captured()).toEqual(['mon: MON_UI="sideways" is not on or off; using on. [MON_BAD_ENV]\n']);
  });

  it('says nothing of the Prometheus settings while that exporter is off', () => {
    const config = loadConfig({ OTEL_METRICS_EXPORTER: 'otlp', OTEL_EXPORTER_PROMETHEUS_PORT: 'abc', MON_UI: 'maybe' });
    expect(config.exporters).toEqual(['otlp']);
    expect(captured()).toEqual([]);
    // With the exporter on, the same kind of value is warned about (another value: warnings are once each).
    loadConfig({ OTEL_EXPORTER_PROMETHEUS_PORT: 'xyz' });
    expect(captured().join('\n')).toContain('OTEL_EXPORTER_PROMETHEUS_PORT="xyz"');
  });

  it('lets `none` turn every exporter off', () => {
    expect(loadConfig({ OTEL_METRICS_EXPORTER: 'none' }).exporters).toEqual([]);
    expect(loadConfig({ OTEL_METRICS_EXPORTER: 'prometheus,none' }).exporters).toEqual([]);
  });

  it.each([
    ['OTEL_EXPORTER_PROMETHEUS_PORT', 'abc', 'OTEL_EXPORTER_PROMETHEUS_PORT="abc" is not a port (1-65535); using 9464.'],
    ['OTEL_EXPORTER_PROMETHEUS_PORT', '70000', 'OTEL_EXPORTER_PROMETHEUS_PORT="70000" is not a port (1-65535); using 9464.'],
    ['OTEL_EXPORTER_PROMETHEUS_PORT', '-1', 'OTEL_EXPORTER_PROMETHEUS_PORT="-1" is not a port (1-65535); using 9464.'],
    ['OTEL_SDK_DISABLED', 'yes', 'OTEL_SDK_DISABLED="yes" is not true or false; using false.'],
    ['OTEL_METRICS_EXPORTER', 'jaeger', 'OTEL_METRICS_EXPORTER="jaeger" is not a list of prometheus, otlp, console, none; using prometheus.'],
    ['OTEL_METRICS_EXPORTER', 'prometheus,zipkin', 'OTEL_METRICS_EXPORTER names unknown exporters "zipkin" (known: prometheus, otlp, console, none); using prometheus.'],
    ['OTEL_METRIC_EXPORT_INTERVAL', '1.5s', 'OTEL_METRIC_EXPORT_INTERVAL="1.5s" is not a whole number of milliseconds'],
    ['MON_METRICS', 'http,gpu', 'MON_METRICS names an unknown group "gpu"'],
    ['OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE', 'sometimes', 'is not one of cumulative, delta, lowmemory; using cumulative.'],
    [
      'OTEL_EXPORTER_OTLP_METRICS_DEFAULT_HISTOGRAM_AGGREGATION',
      'hdr',
      'is not one of explicit_bucket_histogram, base2_exponential_bucket_histogram; using explicit_bucket_histogram.',
    ],
  ])('warns once, on one line, for %s=%s and uses a safe value', (name, value, message) => {
    const config = loadConfig({ [name]: value });
    expect(captured()).toHaveLength(1);
    expect(captured()[0]).toContain(message);
    expect(captured()[0]).toMatch(/^mon: .*\[MON_BAD_ENV\]\n$/);
    expect(config.prometheus.port).toBe(9464);
  });

  it('reads the OTLP default histogram aggregation, explicit buckets unless told otherwise', () => {
    expect(loadConfig({}).otlp.histogramAggregation).toBe('explicit_bucket_histogram');
    expect(loadConfig({ OTEL_EXPORTER_OTLP_METRICS_DEFAULT_HISTOGRAM_AGGREGATION: 'BASE2_Exponential_Bucket_Histogram' }).otlp.histogramAggregation).toBe(
      'base2_exponential_bucket_histogram',
    );
    expect(captured()).toEqual([]);
  });

  it('falls back to prometheus when no exporter name is valid', () => {
    expect(loadConfig({ OTEL_METRICS_EXPORTER: 'jaegerx' }).exporters).toEqual(['prometheus']);
  });

  it('keeps good resource attributes when one pair is malformed', () => {
    const config = loadConfig({ OTEL_RESOURCE_ATTRIBUTES: 'a=1,broken,b=%E0%A4%A,c=3' });
    expect(config.resourceAttributes).toEqual({ a: '1', c: '3' });
    expect(captured()).toEqual([
      'mon: OTEL_RESOURCE_ATTRIBUTES has malformed pairs "broken,b=%E0%A4%A" (expected key=value, value percent-encoded); skipping them. [MON_BAD_ENV]\n',
    ]);
  });

  it('applies the OTLP endpoint precedence of the spec', () => {
    expect(loadConfig({}).otlp.url).toBe('http://localhost:4318/v1/metrics');
    expect(loadConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' }).otlp.url).toBe('http://collector:4318/v1/metrics');
    expect(loadConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318/base/' }).otlp.url).toBe(
      'http://collector:4318/base/v1/metrics',
    );
    expect(
      loadConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://a:1', OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: 'http://b:2/custom' }).otlp.url,
    ).toBe('http://b:2/custom');
    const headers = loadConfig({
      OTEL_EXPORTER_OTLP_HEADERS: 'Authorization=Bearer%20abc,x-a=1',
      OTEL_EXPORTER_OTLP_METRICS_HEADERS: 'x-a=2',
    }).otlp.headers;
    expect(headers).toEqual({ authorization: 'Bearer abc', 'x-a': '2' });
  });

  it('answers grpc with one warning and http/protobuf on the http port', () => {
    const otlp = loadConfig({ OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' }).otlp;
    expect(otlp.protocol).toBe('http/protobuf');
    expect(otlp.url).toBe('http://localhost:4318/v1/metrics');
    expect(captured()).toHaveLength(1);
    expect(captured()[0]).toContain('OTEL_EXPORTER_OTLP_PROTOCOL=grpc is not supported');
  });

  it('never echoes a header value in a warning', () => {
    loadConfig({ OTEL_EXPORTER_OTLP_HEADERS: 'authorization=%E0%A4%Asecret' });
    expect(captured().join('')).toContain('OTEL_EXPORTER_OTLP_HEADERS has 1 malformed entries');
    expect(captured().join('')).not.toContain('secret');
  });
});

describe('loadConfig under pm2', () => {
  const clusterEnv = (env: Record<string, unknown>) => ({ pm2_env: JSON.stringify({ pm_id: 3, exec_mode: 'cluster_mode', NODE_APP_INSTANCE: 2, ...env }) });

  it("reads a cluster-mode instance's environment from pm2_env, and serves metrics on the base port plus the instance", () => {
    const config = loadConfig(clusterEnv({ OTEL_SERVICE_NAME: 'shop', OTEL_EXPORTER_PROMETHEUS_PORT: 9500, env: { nested: 'ignored' } }));
    expect(config.pm2).toMatchObject({ instance: 2, clusterMode: true });
    expect(config.serviceName).toBe('shop');
    expect(config.prometheus.port).toBe(9502);
    expect(captured()).toEqual([]);
  });

  it('takes fork mode from the plain environment, and follows a renamed instance variable', () => {
    const config = loadConfig({ pm_id: '0', exec_mode: 'fork_mode', instance_var: 'INSTANCE_ID', INSTANCE_ID: '1' });
    expect(config.pm2).toMatchObject({ instance: 1, clusterMode: false });
    expect(config.prometheus.port).toBe(9465);
  });

  it('adds nothing when pm2 increments the port variable itself, or outside pm2', () => {
    expect(loadConfig(clusterEnv({ increment_var: 'OTEL_EXPORTER_PROMETHEUS_PORT', OTEL_EXPORTER_PROMETHEUS_PORT: 9466 })).prometheus.port).toBe(9466);
    const plain = loadConfig({ NODE_APP_INSTANCE: '4' });
    expect(plain.pm2).toBeUndefined();
    expect(plain.prometheus.port).toBe(9464);
  });

  it('keeps the base port, with one warning, when the instance would push it past 65535', () => {
    expect(loadConfig(clusterEnv({ OTEL_EXPORTER_PROMETHEUS_PORT: 65535 })).prometheus.port).toBe(65535);
    expect(captured()).toEqual([expect.stringMatching(/pm2 instance 2 would serve metrics on port 65537.*using 65535.*\[MON_BAD_ENV\]\n$/)]);
  });
});
