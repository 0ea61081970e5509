// The mark on mon's own servers (the metrics endpoint): HTTP server instrumentation skips their
// requests, so scrapes never count as the app's traffic. A registered symbol, because the package
// that marks and the one that skips may be separate copies (or one bundled, one installed).
export const TELEMETRY_SERVER: unique symbol = Symbol.for('mon.telemetry-server');
