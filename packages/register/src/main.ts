// The rest of the preload, loaded on first need (first-need.ts) or at once (a cluster worker, a
// Node without require() of ES modules): the recorders, their subscriptions and the pipeline's
// triggers (start.ts), or a worker thread's HTTP recorder (worker-http.ts).
export { start } from './start.js';
export { startInWorkerThread } from './worker-http.js';
export { replay } from './channels.js';
