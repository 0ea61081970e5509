// `node --import @mon/register app.js`: importing this module starts the metrics pipeline.
// It is the only module in mon with side effects on import, and it has no exports: the product
// is the endpoint. Top-level await: Node runs the app only after --import modules finish, so the
// global MeterProvider exists before app code asks for a meter.
import { start } from './start.js';

await start();
