// README's warning table lists every code the packages can raise, and nothing else: a new warning
// without a line there (what happened, what to do) fails here.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { root } from './helpers.js';

// MON_* names that are settings, not warning codes.
const SETTINGS = /^MON_(UI|ROUTE_PATTERNS|NORMALIZE_PATHS|MAX_ROUTES|MAX_CLIENT_HOSTS|IGNORE_PATHS|METRICS|METRICS_AUTH|DISK_PATHS)$/;

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? sources(path.join(dir, entry.name)) : entry.name.endsWith('.ts') ? [path.join(dir, entry.name)] : [],
  );
}

describe('warning codes', () => {
  it('are each in the README table, and the table names no other', () => {
    const used = new Set<string>();
    for (const pkg of readdirSync(path.join(root, 'packages'))) {
      for (const file of sources(path.join(root, 'packages', pkg, 'src'))) {
        for (const [, code] of readFileSync(file, 'utf8').matchAll(/'(MON_[A-Z_]+)'/g)) if (!SETTINGS.test(code!)) used.add(code!);
      }
    }
    const readme = readFileSync(path.join(root, 'README.md'), 'utf8');
    const table = readme.slice(readme.indexOf('### Warnings'), readme.indexOf('## Routes'));
    const documented = new Set([...table.matchAll(/`(MON_[A-Z_]+)`/g)].map((m) => m[1]!).filter((c) => !SETTINGS.test(c)));
    expect(used.size).toBeGreaterThan(10);
    expect([...used].sort()).toEqual([...documented].sort());
  });
});
