// What a worker thread costs under the preload (Node hands every worker thread the same --import):
// the time from `new Worker()` to its first message (the worker's script runs only after the
// preload), and the worker's V8 heap at that moment. Bare and under `--import @mon/register`,
// workers started one after another in one process; medians.
//
//   node test/bench/worker-thread.mjs [--workers 20]
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const workers = Number(process.argv[process.argv.indexOf('--workers') + 1]) || 20;

// The measuring app: starts `workers` empty worker threads in turn.
const app = `
import { Worker } from 'node:worker_threads';
// ESM: the worker inherits --input-type=module with the rest of execArgv.
const code = "import { parentPort } from 'node:worker_threads'; parentPort.postMessage(process.memoryUsage().heapUsed);";
const times = [], heaps = [];
for (let i = 0; i < ${workers}; i++) {
  const t0 = performance.now();
  const worker = new Worker(code, { eval: true });
  heaps.push(await new Promise((resolve) => worker.once('message', resolve)));
  times.push(performance.now() - t0);
  await worker.terminate();
}
const median = (xs) => xs.slice().sort((a, b) => a - b)[xs.length >> 1];
console.log(JSON.stringify({ ms: median(times), heapMB: median(heaps) / 2 ** 20 }));
`;

function run(nodeArgs) {
  const out = spawnSync(process.execPath, [...nodeArgs, '--input-type=module', '-e', app], {
    cwd: root,
    env: { ...process.env, OTEL_EXPORTER_PROMETHEUS_PORT: '29599' },
    encoding: 'utf8',
  });
  if (out.status !== 0) throw new Error(out.stderr);
  return { ...JSON.parse(out.stdout.trim().split('\n').pop()), stderr: out.stderr.trim() };
}

const bare = run([]);
const mon = run(['--import', '@mon/register']);
console.log(`node ${process.version}, ${workers} workers, medians`);
console.log(`bare: ${bare.ms.toFixed(1)} ms to the first message, heap ${bare.heapMB.toFixed(2)} MB`);
console.log(`mon:  ${mon.ms.toFixed(1)} ms to the first message, heap ${mon.heapMB.toFixed(2)} MB${mon.stderr ? `\nstderr: ${mon.stderr}` : ''}`);
