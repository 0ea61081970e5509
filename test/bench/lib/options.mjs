// Command-line options shared by every bench, so run.mjs can pass its arguments to each one.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const FULL = {
  rounds: 5,
  seconds: 5,
  warmup: 1,
  connections: 50,
  runs: 10,
  memoryRuns: 3,
  series: 10_000,
  scrapeSizes: [100, 1_000, 10_000, 100_000],
  allocRequests: 100_000,
  soakRequests: 1_000_000,
  soakSeconds: 300,
};
const QUICK = {
  rounds: 2,
  seconds: 2,
  warmup: 1,
  connections: 50,
  runs: 3,
  memoryRuns: 1,
  series: 10_000,
  scrapeSizes: [100, 1_000, 10_000],
  allocRequests: 100_000,
  soakRequests: 200_000,
  soakSeconds: 30,
};

export const USAGE = `options:
  --quick            a short run to check that everything works (2 rounds x 2 s, 3 start-ups)
  --rounds N         throughput rounds per variant (default ${FULL.rounds})
  --seconds N        seconds of load per round, and per memory run (default ${FULL.seconds})
  --warmup N         seconds of unmeasured load before each round (default ${FULL.warmup})
  --connections N    wrk connections (default ${FULL.connections})
  --runs N           start-up runs per variant (default ${FULL.runs})
  --memory-runs N    memory runs per variant (default ${FULL.memoryRuns})
  --only a,b         only these variants (each group's bare baseline is kept):
                     bare, mon, otel, express, express-mon, express-prom
  --scrape-sizes a,b series per scrape.mjs size (default ${FULL.scrapeSizes.join(',')}; quick ${QUICK.scrapeSizes.join(',')})
  --series N         custom series in the scrape-impact app (default ${FULL.series})
  --alloc-requests N requests per allocation measurement (default ${FULL.allocRequests})
  --soak-requests N  requests before the RSS reading of soak.mjs (default ${FULL.soakRequests}; quick ${QUICK.soakRequests})
  --soak-seconds N   length of the steady-traffic soak (default ${FULL.soakSeconds}; quick ${QUICK.soakSeconds})
  --node LINE|PATH   run under another Node: 22, 24 or 26 (test/node-lines, \`npm ci --prefix test/node-lines\`)
                     or a binary's path; every process the bench spawns uses it too
  --save             (run.mjs) also write the report to test/bench/RESULTS.md`;

export function parseOptions(argv = process.argv.slice(2)) {
  const { values } = parseArgs({
    args: argv,
    options: {
      quick: { type: 'boolean' },
      rounds: { type: 'string' },
      seconds: { type: 'string' },
      warmup: { type: 'string' },
      connections: { type: 'string' },
      runs: { type: 'string' },
      'memory-runs': { type: 'string' },
      'scrape-sizes': { type: 'string' },
      series: { type: 'string' },
      'alloc-requests': { type: 'string' },
      'soak-requests': { type: 'string' },
      'soak-seconds': { type: 'string' },
      only: { type: 'string' },
      save: { type: 'boolean' },
      node: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    console.log(USAGE);
    process.exit(0);
  }
  if (values.node !== undefined) runUnder(values.node);
  const base = values.quick ? QUICK : FULL;
  const int = (name, key, min) => {
    const raw = values[name];
    if (raw === undefined) return base[key];
    const n = Number(raw);
    if (!Number.isInteger(n) || n < min) throw new Error(`--${name} ${raw}: expected an integer >= ${min}`);
    return n;
  };
  return {
    quick: Boolean(values.quick),
    rounds: int('rounds', 'rounds', 1),
    seconds: int('seconds', 'seconds', 1),
    warmup: int('warmup', 'warmup', 0),
    connections: int('connections', 'connections', 1),
    runs: int('runs', 'runs', 1),
    memoryRuns: int('memory-runs', 'memoryRuns', 1),
    scrapeSizes: values['scrape-sizes'] === undefined ? base.scrapeSizes : sizes(values['scrape-sizes']),
    series: int('series', 'series', 20),
    allocRequests: int('alloc-requests', 'allocRequests', 1_000),
    soakRequests: int('soak-requests', 'soakRequests', 1_000),
    soakSeconds: int('soak-seconds', 'soakSeconds', 20),
    only: values.only ? values.only.split(',').map((s) => s.trim()).filter(Boolean) : [],
    save: Boolean(values.save),
  };
}

/** Runs this same command under another Node binary and exits with its status, unless already on it. */
function runUnder(node) {
  const binary = /^\d+$/.test(node)
    ? path.resolve(path.dirname(fileURLToPath(import.meta.url)), `../../node-lines/node_modules/node${node}/bin/node`)
    : path.resolve(node);
  if (/^\d+$/.test(node) && process.versions.node.split('.')[0] === node) return;
  if (binary === process.execPath) return;
  if (!existsSync(binary)) throw new Error(`--node ${node}: no ${binary} (run \`npm ci --prefix test/node-lines\`)`);
  // The command as given (a caller may have parsed only part of it), less --node.
  const given = process.argv.slice(2);
  const rest = given.filter((arg, i) => arg !== '--node' && given[i - 1] !== '--node' && !arg.startsWith('--node='));
  const result = spawnSync(binary, [process.argv[1], ...rest], { stdio: 'inherit' });
  process.exit(result.status ?? 1);
}

function sizes(raw) {
  const list = raw.split(',').map((s) => Number(s.trim().replace(/_/g, '')));
  for (const n of list) {
    if (!Number.isInteger(n) || n < 20 || n % 20 !== 0) throw new Error(`--scrape-sizes ${raw}: expected multiples of 20`);
  }
  return list;
}

/**
 * Runs a bench's `run(options)` when its file is the entry point, printing the markdown it returns
 * (a string, or lib/report.mjs section(): its summary rows then follow as a table).
 */
export async function mainIf(meta, run) {
  if (!process.argv[1] || meta.url !== (await import('node:url')).pathToFileURL(process.argv[1]).href) return;
  try {
    const result = await run(parseOptions());
    if (typeof result === 'string') {
      console.log(result);
    } else {
      const { summaryTable } = await import('./report.mjs');
      console.log(result.markdown);
      if (result.summary.length) console.log(`\nSummary:\n\n${summaryTable(result.summary)}`);
    }
  } catch (error) {
    console.error(error.stack ?? error);
    process.exitCode = 1;
  }
}
