// What grew between two heap snapshots of one process (servers/heap-probe.mjs writes them with
// BENCH_HEAP_SNAPSHOT=<dir>, after a full GC): objects counted and their own sizes summed by type and
// constructor (or string, code, array...), the largest growth first. A leak shows as a constructor
// whose count grows with the requests served; JIT code and feedback show as `code`/`hidden` entries
// that grow once, with the code run, and stop.
//
//   node test/bench/heap-diff.mjs before.heapsnapshot after.heapsnapshot [--top 25]
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

/** Map of "type name" -> { count, bytes } for one snapshot file. */
export function summarize(file) {
  const snapshot = JSON.parse(readFileSync(file, 'utf8'));
  const { node_fields: fields, node_types: [types] } = snapshot.snapshot.meta;
  const width = fields.length;
  const at = (field) => fields.indexOf(field);
  const [TYPE, NAME, SIZE] = [at('type'), at('name'), at('self_size')];
  const { nodes, strings } = snapshot;
  const groups = new Map();
  for (let i = 0; i < nodes.length; i += width) {
    const type = types[nodes[i + TYPE]];
    // Strings and code are grouped by type alone: their names are their contents.
    const name = type === 'object' || type === 'closure' || type === 'native' ? strings[nodes[i + NAME]] : '';
    const key = name ? `${type} ${name}` : type;
    const group = groups.get(key) ?? { count: 0, bytes: 0 };
    group.count += 1;
    group.bytes += nodes[i + SIZE];
    groups.set(key, group);
  }
  return groups;
}

/** Rows { key, count, bytes } of after − before, the largest growth in bytes first. */
export function diff(before, after) {
  const keys = new Set([...before.keys(), ...after.keys()]);
  const rows = [];
  for (const key of keys) {
    const a = before.get(key) ?? { count: 0, bytes: 0 };
    const b = after.get(key) ?? { count: 0, bytes: 0 };
    if (a.count !== b.count || a.bytes !== b.bytes) rows.push({ key, count: b.count - a.count, bytes: b.bytes - a.bytes });
  }
  return rows.sort((x, y) => Math.abs(y.bytes) - Math.abs(x.bytes));
}

if (process.argv[1] === new URL(import.meta.url).pathname) {
  const { values, positionals } = parseArgs({ allowPositionals: true, options: { top: { type: 'string' } } });
  if (positionals.length !== 2) {
    console.error('usage: node test/bench/heap-diff.mjs before.heapsnapshot after.heapsnapshot [--top 25]');
    process.exit(2);
  }
  const [before, after] = positionals.map(summarize);
  const total = (groups) => [...groups.values()].reduce((s, g) => s + g.bytes, 0);
  const rows = diff(before, after);
  console.log(`total self size ${total(before)} → ${total(after)} bytes (${total(after) - total(before) >= 0 ? '+' : ''}${total(after) - total(before)})`);
  console.log('| Δ bytes | Δ count | type and constructor |\n| --: | --: | --- |');
  for (const row of rows.slice(0, Number(values.top ?? 25))) console.log(`| ${row.bytes} | ${row.count} | ${row.key} |`);
}
