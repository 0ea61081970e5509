// Prometheus text exposition -> samples by series name. Pure, no DOM: runs in the browser and
// under vitest. Reads the text format 0.0.4 the page asks for (OpenMetrics parses too: its extra
// `# EOF` and `_created` lines are comments or ordinary samples here).

export interface Sample {
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

/** Samples keyed by series name as written (`x_bucket`, `x_sum`, `x_total`, ...). */
export type Samples = ReadonlyMap<string, readonly Sample[]>;

export function parseExposition(text: string): Map<string, Sample[]> {
  const samples = new Map<string, Sample[]>();
  let start = 0;
  while (start < text.length) {
    let end = text.indexOf('\n', start);
    if (end === -1) end = text.length;
    parseLine(text.slice(start, end), samples);
    start = end + 1;
  }
  return samples;
}

// A malformed line is skipped, not fatal: the page shows what it can.
function parseLine(line: string, into: Map<string, Sample[]>): void {
  if (line.length === 0 || line[0] === '#') return;
  let i = 0;
  while (i < line.length && line[i] !== '{' && line[i] !== ' ' && line[i] !== '\t') i++;
  const name = line.slice(0, i);
  if (name.length === 0) return;
  const labels: Record<string, string> = {};
  if (line[i] === '{') {
    i++;
    for (;;) {
      while (line[i] === ',' || line[i] === ' ') i++;
      if (i >= line.length) return;
      if (line[i] === '}') {
        i++;
        break;
      }
      const eq = line.indexOf('=', i);
      if (eq === -1 || line[eq + 1] !== '"') return;
      const key = line.slice(i, eq).trim();
      i = eq + 2;
      let value = '';
      for (;;) {
        if (i >= line.length) return;
        const c = line[i]!;
        if (c === '"') break;
        if (c === '\\') {
          const next = line[i + 1];
          value += next === 'n' ? '\n' : (next ?? '');
          i += 2;
        } else {
          value += c;
          i++;
        }
      }
      i++; // closing quote
      labels[key] = value;
    }
  }
  const rest = line.slice(i).trim();
  const space = rest.search(/\s/);
  const value = parseValue(space === -1 ? rest : rest.slice(0, space));
  if (value === undefined) return;
  let list = into.get(name);
  if (list === undefined) into.set(name, (list = []));
  list.push({ labels, value });
}

function parseValue(token: string): number | undefined {
  if (token === '+Inf' || token === 'Inf') return Infinity;
  if (token === '-Inf') return -Infinity;
  if (token === 'NaN') return NaN;
  if (token.length === 0) return undefined;
  const value = Number(token);
  return Number.isNaN(value) ? undefined : value;
}

/** A stable identity for a label set, for matching a series across two scrapes. */
export function seriesKey(labels: Readonly<Record<string, string>>): string {
  return Object.keys(labels)
    .sort()
    .map((key) => `${key}=${labels[key]}`)
    .join('\u0000');
}
