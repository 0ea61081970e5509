// One table of warning codes: @mon/warnings declares every code mon raises, the "## Warnings" table of
// docs/troubleshooting.md lists each of them (what happened, what to do) and nothing else, and no
// other source spells one.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { WARNING_CODES } from '../packages/warnings/src/index.js';
import { root } from './helpers.js';

const DECLARING = path.join(root, 'packages', 'warnings', 'src', 'index.ts');
// MON_* names that are settings (environment variables), not warning codes.
const SETTINGS = /^MON_(UI|ROUTE_PATTERNS|NORMALIZE_PATHS|MAX_ROUTES|MAX_CLIENT_HOSTS|IGNORE_PATHS|METRICS|METRICS_AUTH|DISK_PATHS)$/;
const CODE = /^MON_[A-Z0-9_]+$/;

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? sources(path.join(dir, entry.name)) : /\.[cm]?[jt]s$/.test(entry.name) ? [path.join(dir, entry.name)] : [],
  );
}

describe('warning codes', () => {
  it('are declared once each, in @mon/warnings', () => {
    expect(WARNING_CODES.length).toBeGreaterThan(10);
    expect(new Set(WARNING_CODES).size).toBe(WARNING_CODES.length);
    for (const code of WARNING_CODES) expect(code).toMatch(CODE);
    // Every exported MON_* constant is in the list (the type of the list is what call sites accept).
    const constants = [...readFileSync(DECLARING, 'utf8').matchAll(/^export const (MON_[A-Z0-9_]+) = '(MON_[A-Z0-9_]+)';$/gm)];
    for (const [, name, value] of constants) expect(value, name).toBe(name);
    expect(constants.map((m) => m[1]).sort()).toEqual([...WARNING_CODES].sort());
  });

  it('are each in the table of docs/troubleshooting.md, and the table names no other', () => {
    const page = readFileSync(path.join(root, 'docs', 'troubleshooting.md'), 'utf8');
    // The "## Warnings" section, up to the next section of the page.
    const from = page.indexOf('\n## Warnings\n');
    expect(from, 'docs/troubleshooting.md has a "## Warnings" section').toBeGreaterThan(-1);
    const next = page.indexOf('\n## ', from + 1);
    const table = page.slice(from, next === -1 ? undefined : next);
    // The codes in each row's first cell (settings such as MON_MAX_ROUTES appear only in the others).
    const rows = [...table.matchAll(/^\|([^|\n]*)\|/gm)].flatMap((row) => [...row[1]!.matchAll(/`(MON_[A-Z0-9_]+)`/g)].map((m) => m[1]!));
    expect(rows.filter((c) => !WARNING_CODES.includes(c as never)), 'rows for undeclared codes').toEqual([]);
    expect(WARNING_CODES.filter((c) => !rows.includes(c)), 'declared codes without a row').toEqual([]);
    expect(rows.length).toBe(new Set(rows).size);
  });

  it('are spelled nowhere else in packages/*/src: call sites use the constants', () => {
    const stray: string[] = [];
    for (const pkg of readdirSync(path.join(root, 'packages'))) {
      for (const file of sources(path.join(root, 'packages', pkg, 'src'))) {
        if (file === DECLARING) continue;
        for (const [, code] of readFileSync(file, 'utf8').matchAll(/['"`](MON_[A-Z0-9_]+)['"`]/g)) {
          if (!SETTINGS.test(code!)) stray.push(`${path.relative(root, file)}: ${code}`);
        }
      }
    }
    expect(stray).toEqual([]);
  });
});
