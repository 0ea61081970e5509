// Command-line options shared by every bench, so run.mjs can pass its arguments to each one.
import { parseArgs } from 'node:util';

const FULL = { rounds: 5, seconds: 5, warmup: 1, connections: 50, runs: 10, memoryRuns: 3 };
const QUICK = { rounds: 2, seconds: 2, warmup: 1, connections: 50, runs: 3, memoryRuns: 1 };

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
      only: { type: 'string' },
      save: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    console.log(USAGE);
    process.exit(0);
  }
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
    only: values.only ? values.only.split(',').map((s) => s.trim()).filter(Boolean) : [],
    save: Boolean(values.save),
  };
}

/** Runs a bench's `run(options)` when its file is the entry point, printing the markdown it returns. */
export async function mainIf(meta, run) {
  if (!process.argv[1] || meta.url !== (await import('node:url')).pathToFileURL(process.argv[1]).href) return;
  try {
    console.log(await run(parseOptions()));
  } catch (error) {
    console.error(error.stack ?? error);
    process.exitCode = 1;
  }
}
