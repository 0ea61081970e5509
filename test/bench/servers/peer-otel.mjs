// The peer: HTTP server metrics the way the OpenTelemetry JS docs set them up for an ESM app
// (https://github.com/open-telemetry/opentelemetry-js/blob/main/doc/esm-support.md): a file loaded
// with `node --import ./peer-otel.mjs app.mjs` that registers the import-in-the-middle loader hook,
// then @opentelemetry/instrumentation-http feeding an sdk-metrics MeterProvider read by
// @opentelemetry/exporter-prometheus (its own port: OTEL_EXPORTER_PROMETHEUS_PORT, default 9464).
//
// Without the register() line below an ESM app's `import http from 'node:http'` is never patched
// and the peer records no HTTP metrics at all, silently (set BENCH_PEER_NO_HOOK=1 to see it).
import { register } from 'node:module';
import { metrics } from '@opentelemetry/api';
import { registerInstrumentations } from '@opentelemetry/instrumentation';
import { HttpInstrumentation } from '@opentelemetry/instrumentation-http';
import { PrometheusExporter } from '@opentelemetry/exporter-prometheus';
import { MeterProvider } from '@opentelemetry/sdk-metrics';

if (!process.env.BENCH_PEER_NO_HOOK) register('@opentelemetry/instrumentation/hook.mjs', import.meta.url);

const meterProvider = new MeterProvider({ readers: [new PrometheusExporter()] });
metrics.setGlobalMeterProvider(meterProvider);
registerInstrumentations({ instrumentations: [new HttpInstrumentation()] });
