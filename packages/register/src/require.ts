// `node -r @mon/register app.js` / `NODE_OPTIONS="--require @mon/register"`: the CommonJS way in,
// for apps started through a require hook (`node -r ts-node/register app.ts`): any --import makes
// Node load the main script through the ESM loader, which ignores such hooks. Bundled to
// dist/bundle/require.cjs (bundle.mjs); package.json's `require` condition points there.
//
// A required module cannot make Node wait for a promise, so start-up runs on while the app does:
// HTTP servers and clients are watched synchronously (start.ts does that before its first await),
// so the first request is counted; the endpoint, host metrics and the global MeterProvider follow
// a few milliseconds later. What differs from --import: meters the app takes from the
// OpenTelemetry API while its main module first runs, before mon registered its MeterProvider,
// are the API's no-op meters (the API has no proxy for meters).
import { inWorkerThread } from './worker-thread.js';
import { startInWorkerThread } from './worker-http.js';
import { start } from './start.js';

if (inWorkerThread()) startInWorkerThread();
// start() never rejects (start.ts).
else void start();
