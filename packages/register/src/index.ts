// `node --import @mon/register app.js`: importing this module starts mon. It is the only module in
// mon with side effects on import, and it has no exports: the product is the endpoint.
// Top-level await: Node runs the app only after --import modules finish, so the global
// MeterProvider exists before app code asks for a meter.
// What it leaves in the process until mon is first needed, and why: first-need.ts.
import { preload } from './first-need.js';

await preload();
