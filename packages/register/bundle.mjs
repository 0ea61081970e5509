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
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { builtinModules } from 'node:module';
import { build } from 'esbuild';

// Node's built-ins are reached with require() (the banner's createRequire), never with an ESM import.
// Why: importing a built-in builds its ESM facade, which reads every export, and node:http's lazy
// getters then load the whole bundled undici (+20 ms on Node 22-26, `--cpu-prof`: lazyUndici under
// getESMFacade). A CommonJS app would pay that only because of the preload. esbuild's own CommonJS
// interop is no way round it: it copies every property descriptor, and on node:util that alone loads
// streams and worker_threads (+6 ms). So each built-in becomes a small ESM module exporting each of
// its names through a pure call: esbuild drops every export nothing imports, so only the properties
// mon uses are ever read (no lazy getter runs, no deprecation warning fires for fs.F_OK and the like).
// A namespace import (`import * as fs from 'fs'`, in some OpenTelemetry code) would keep every export,
// so it is rewritten to a default import: the module object itself, whose properties are read only
// where the code reads them.
const BUILTINS = new Set(builtinModules);
const IDENTIFIER = /^[A-Za-z_$][\w$]*$/;
const NAMESPACE_IMPORT = /import\s*\*\s*as\s+([A-Za-z_$][\w$]*)\s+from\s*(["'])([a-z_:/0-9]+)\2/g;
// Fixes to bundled OpenTelemetry code, each with its reason; the build fails if the code changes.
const VENDOR_FIXES = [
  {
    file: `otlp-exporter-base${path.sep}build${path.sep}esm${path.sep}retrying-transport.js`,
    // `Retry-After: 0` parses to -1 ms (is-export-retryable.js, still so in 0.301.2), and Node >= 23
    // prints a TimeoutNegativeWarning for setTimeout(fn, -1): a line on the app's stderr that is not
    // mon's one warning (test/faults.e2e.test.ts, "answering 429").
    why: 'negative retry delay',
    find: '}, inMillis);',
    replace: '}, Math.max(0, inMillis));',
  },
];

/** Whether `importer` imports, by name from `specifier`, a property that is a getter on the built-in. */
async function namesAccessorsOf(importer, specifier, builtin) {
  const source = await readFile(importer, 'utf8').catch(() => '');
  const module = (await import(builtin)).default;
  for (const match of source.matchAll(/import\s*\{([^}]*)\}\s*from\s*["']([^"']+)["']/g)) {
    if (match[2] !== specifier) continue;
    for (const part of match[1].split(',')) {
      const name = part.trim().split(/\s+as\s+/)[0];
      if (name && typeof Object.getOwnPropertyDescriptor(module, name)?.get === 'function') return true;
    }
  }
  return false;
}

/**
 * `load`: what the generated module calls to get the built-in (`require`, or the preload's own).
 * `perImporter`: every importer gets its own copy (see `stateless` below for why).
 */
const builtinsBy = (load, { perImporter = false } = {}) => ({
  name: 'builtins-by-require',
  setup(build) {
    build.onResolve({ filter: /^(node:)?[a-z_/0-9]+$/ }, async (args) => {
      const name = args.path.replace(/^node:/, '');
      // Static imports only: a dynamic import() (the OTLP exporters' http/https) runs after start-up.
      if (!BUILTINS.has(name) || args.kind !== 'import-statement') return undefined;
      // An importer that names a lazy property (`import { promises } from 'fs'`, in OpenTelemetry's
      // machine-id code) gets a copy of its own, so the getter runs only if that code ever loads.
      const own = perImporter || (await namesAccessorsOf(args.importer, args.path, `node:${name}`)) ? `?for=${args.importer}` : '';
      return { path: `node:${name}${own}`, namespace: 'builtin' };
    });
    build.onLoad({ filter: /\.m?js$/, namespace: 'file' }, async (args) => {
      let source = await readFile(args.path, 'utf8');
      let rewritten = false;
      for (const fix of VENDOR_FIXES) {
        if (!args.path.endsWith(fix.file)) continue;
        if (!source.includes(fix.find)) throw new Error(`bundle.mjs: ${fix.file} changed upstream; recheck the fix: ${fix.why}`);
        source = source.replace(fix.find, fix.replace);
        rewritten = true;
      }
      const contents = source.replace(NAMESPACE_IMPORT, (whole, name, quote, specifier) => {
        if (!BUILTINS.has(specifier.replace(/^node:/, ''))) return whole;
        rewritten = true;
        return `import ${name} from ${quote}${specifier}${quote}`;
      });
      return rewritten ? { contents, loader: 'js', resolveDir: path.dirname(args.path) } : undefined;
    });
    build.onLoad({ filter: /.*/, namespace: 'builtin' }, async (args) => {
      const specifier = args.path.replace(/\?.*/, '');
      const module = await import(specifier);
      const names = Object.getOwnPropertyNames(module.default).filter((name) => IDENTIFIER.test(name) && name !== 'default');
      const exports = names.map((name) => `export const ${name} = /* @__PURE__ */ __builtin(${JSON.stringify(name)});`);
      return {
        contents: [`const __module = ${load}(${JSON.stringify(specifier)});`, 'const __builtin = (name) => __module[name];', 'export default __module;', ...exports].join('\n'),
        loader: 'js',
      };
    });
  },
});
const builtinsByRequire = builtinsBy('require');

// Modules that hold no state (constants, a Symbol.for, a pure function), copied into each importer.
// Why: with code splitting esbuild gives every set of entry points that share a module a chunk of its
// own, and main.js, which the first need loads synchronously inside the app's own call (a server's
// listen()), imported ten: each is another ES module to resolve, read, compile and link (~0.85 M
// instructions each on Node 22, measured with ten empty modules). Built-ins and these few were seven
// of them, a few hundred bytes each. Modules with state (warn.ts's mute flag, the channel tables,
// the start-up timers, @opentelemetry/api) stay single: shared chunks, as before.
const STATELESS = [
  `warnings${path.sep}dist${path.sep}index.js`,
  `host${path.sep}dist${path.sep}describe-error.js`,
  `prometheus${path.sep}dist${path.sep}telemetry-server.js`,
];
const stateless = {
  name: 'stateless-per-importer',
  setup(build) {
    build.onResolve({ filter: /^(@mon\/|\.)/ }, async (args) => {
      if (args.kind !== 'import-statement' || args.pluginData?.stateless) return undefined;
      const resolved = await build.resolve(args.path, { kind: args.kind, importer: args.importer, resolveDir: args.resolveDir, pluginData: { stateless: true } });
      if (resolved.errors.length > 0 || !STATELESS.some((file) => resolved.path.endsWith(file))) return undefined;
      return { path: resolved.path, suffix: `?for=${args.importer}` };
    });
  },
};

// Chunk names carry a content hash: without this, every rebuild would leave the old chunks behind
// (and `npm pack` would ship them).
rmSync('dist/bundle', { recursive: true, force: true });

const common = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  mainFields: ['module', 'main'],
  // Identifiers are kept (stack traces stay readable); whitespace and dead code go.
  minifyWhitespace: true,
  minifySyntax: true,
  sourcemap: true,
  plugins: [builtinsByRequire],
  logLevel: 'warning',
};

// `--import @mon/register`: dist/bundle/index.js, one small module that loads nothing else until
// mon is first needed (src/first-need.ts), then the rest (main.js) with require(): the ESM build
// below, whose modules are shared with what main.js imports later (the pipeline, the exporters).
// Its own build, no chunks: every extra file is another module for the ESM loader to resolve and
// link (~0.5 M instructions each on Node 24), in every process. What only an app with its own
// @opentelemetry/api needs is its own file beside it, dist/bundle/app-api-found.js, imported then.
// Node's built-ins come from process.getBuiltinModule (Node 20.16+, 22.3+) itself: an ESM import
// of node:module would build its facade, and a createRequire(import.meta.url) for them cost
// ~0.7 M instructions on Node 22 (import.meta, a CommonJS Module, its paths); only the first
// need's require() of main.js makes one.
// Identifiers minified, here only: V8 parses every byte of this module in every process (~0.14 M
// instructions per KB on Node 22; 10.2 KB became 6.1 KB); its stack traces are read with its source
// map (node --enable-source-maps), and only under NODE_DEBUG=mon.
const preloadEntry = {
  name: 'preload-entry',
  setup(build) {
    build.onResolve({ filter: /^\.\/(main|app-api-found)\.js$/ }, (args) => ({ path: args.path, external: true }));
  },
};
const preload = {
  ...common,
  format: 'esm',
  minifyIdentifiers: true,
  // A name of its own, not `require`: esbuild wraps every require() of an ES module's bundle in a
  // helper of its own, more code to parse.
  plugins: [preloadEntry, builtinsBy('__monBuiltin')],
  banner: {
    js: "const __monBuiltin = process.getBuiltinModule ? (id) => process.getBuiltinModule(id) : (await import('node:module')).default.createRequire(import.meta.url);",
  },
};
await build({ ...preload, entryPoints: ['dist/index.js'], outfile: 'dist/bundle/index.js' });
await build({ ...preload, entryPoints: ['dist/app-api-found.js'], outfile: 'dist/bundle/app-api-found.js' });

await build({
  ...common,
  entryPoints: ['dist/main.js'],
  outdir: 'dist/bundle',
  splitting: true,
  chunkNames: 'chunks/[name]-[hash]',
  format: 'esm',
  plugins: [stateless, builtinsBy('__monBuiltin', { perImporter: true })],
  // Some CommonJS inside the SDK calls require(); an ESM bundle has none of its own. No top-level
  // await anywhere here: main.js is loaded with require().
  // The banner goes into every chunk, and main.js alone imports a dozen of them: its `require` is made
  // on first call, and the built-ins come from process.getBuiltinModule (Node 20.16+, 22.3+, which
  // every Node that can require() main.js has). A createRequire(import.meta.url) per chunk at its
  // top level cost 17 M instructions of the first need's 76 M on Node 22 (a CommonJS Module, its
  // paths, import.meta, for each), and the first need of a server runs inside its listen()
  // (test/bench/RESULTS.md, "Start-up").
  banner: {
    js: "import { createRequire as __monRequire } from 'node:module'; let __monRequired; const require = function require(id) { return (__monRequired ??= __monRequire(import.meta.url))(id); }; const __monBuiltin = process.getBuiltinModule ? (id) => process.getBuiltinModule(id) : require;",
  },
});

// `-r @mon/register` (src/require.ts): one CommonJS file, loaded synchronously by require(). No
// chunks (esbuild splits ESM only): the OTLP exporters are in it, read from disk with the rest.
// `import.meta.url` (createRequire in the sources) becomes the file's own URL.
await build({
  ...common,
  entryPoints: ['dist/require.js'],
  outfile: 'dist/bundle/require.cjs',
  format: 'cjs',
  define: { 'import.meta.url': '__monModuleUrl' },
  banner: { js: "const __monModuleUrl = require('node:url').pathToFileURL(__filename).href;" },
});
