// Bundles the preload (dist/bundle/index.js: what `--import @mon/register` loads), with the
// OTLP exporters split into chunks that are read only when OTEL_METRICS_EXPORTER asks for them.
//
// Why: every process that inherits NODE_OPTIONS pays the preload's start-up. Loading the
// OpenTelemetry packages module by module cost +70 ms and +18 MB RSS over bare `node -e 0`; one
// bundle, built from their ESM builds so @opentelemetry/semantic-conventions tree-shakes from 390 kB
// to 1 kB, costs +23 ms and +8 MB (test/bench/startup.mjs, test/bench/memory.mjs).
// The OTLP exporters are bundled too, as lazily imported chunks: installing them as packages
// brought 28 MB of node_modules (semantic-conventions, sdk-logs, sdk-trace) for a 1 MB product.
import { rmSync } from 'node:fs';
import { build } from 'esbuild';

// Chunk names carry a content hash: without this, every rebuild would leave the old chunks behind
// (and `npm pack` would ship them).
rmSync('dist/bundle', { recursive: true, force: true });

await build({
  entryPoints: ['dist/index.js'],
  outdir: 'dist/bundle',
  splitting: true,
  chunkNames: 'chunks/[name]-[hash]',
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  mainFields: ['module', 'main'],
  // Identifiers are kept (stack traces stay readable); whitespace and dead code go.
  minifyWhitespace: true,
  minifySyntax: true,
  sourcemap: true,
  // Some CommonJS inside the SDK calls require(); an ESM bundle has none of its own.
  banner: { js: "import { createRequire as __monRequire } from 'node:module'; const require = __monRequire(import.meta.url);" },
  logLevel: 'warning',
});
