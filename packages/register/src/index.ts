// `node --import @mon/register app.js`: importing this module starts the metrics pipeline.
// It is the only module in mon with side effects on import, and it has no exports: the product
// is the endpoint. Top-level await: Node runs the app only after --import modules finish, so the
// global MeterProvider exists before app code asks for a meter.
// A worker thread (Node hands it the same --import) starts no pipeline: worker-thread.ts says why.
// start.ts is imported only in the main thread, so a worker never loads the OpenTelemetry SDK.
import { inWorkerThread } from './worker-thread.js';

if (inWorkerThread()) (await import('./worker-http.js')).startInWorkerThread();
else await (await import('./start.js')).start();
