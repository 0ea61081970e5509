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
  // One string per distinct label key and value: the largest exposition mon serves (2000 series
  // of 23 lines, each with a 128-character route; about 19 MB) repeats each value on 23 lines,
  // and kept once per line the snapshots of the latency window took hundreds of MB.
  const strings = new Map<string, string>();
  let start = 0;
  while (start < text.length) {
    let end = text.indexOf('\n', start);
    if (end === -1) end = text.length;
    parseLine(text.slice(start, end), samples, strings);
    start = end + 1;
  }
  return samples;
}

function interned(strings: Map<string, string>, value: string): string {
  const known = strings.get(value);
  if (known !== undefined) return known;
  strings.set(value, value);
  return value;
}

// A malformed line is skipped, not fatal: the page shows what it can.
function parseLine(line: string, into: Map<string, Sample[]>, strings: Map<string, string>): void {
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
      const key = interned(strings, line.slice(i, eq).trim());
      i = eq + 2;
      // Runs without escapes are sliced whole, not added a character at a time: V8 keeps a string
      // built by `+=` as a chain of pieces, one per character, until it is flattened.
      const parts: string[] = [];
      let from = i;
      for (;;) {
        if (i >= line.length) return;
        const c = line.charCodeAt(i);
        if (c === QUOTE) break;
        if (c === BACKSLASH) {
          parts.push(line.slice(from, i));
          const next = line[i + 1];
          parts.push(next === 'n' ? '\n' : (next ?? ''));
          i += 2;
          from = i;
        } else i++;
      }
      parts.push(line.slice(from, i));
      i++; // closing quote
      labels[key] = interned(strings, parts.length === 1 ? parts[0]! : parts.join(''));
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

const QUOTE = 0x22;
const BACKSLASH = 0x5c;

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
