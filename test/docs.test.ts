// The README is the door and docs/ holds a page per topic: every relative link in them (and in the
// examples' READMEs) reaches a file, and every #anchor a heading of it, as GitHub renders them; the
// README stays short and opens every page in one click; docs/configuration.md names every variable
// the preload reads.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { WARNING_CODES } from '../packages/warnings/src/index.js';
import { root } from './helpers.js';

/** The markdown files whose links are checked, relative to the repository root. */
function markdownFiles(): string[] {
  const found = ['README.md', 'CHANGELOG.md'];
  for (const entry of readdirSync(path.join(root, 'docs'))) if (entry.endsWith('.md')) found.push(`docs/${entry}`);
  const walk = (dir: string): void => {
    for (const entry of readdirSync(path.join(root, dir), { withFileTypes: true })) {
      if (entry.name === 'node_modules') continue;
      const rel = `${dir}/${entry.name}`;
      if (entry.isDirectory()) walk(rel);
      else if (entry.name === 'README.md') found.push(rel);
    }
  };
  walk('examples');
  return found;
}

/** Markdown without fenced code blocks and inline code: links there are examples, not links. */
function prose(markdown: string): string {
  return markdown.replace(/^(```|~~~)[^\n]*\n[\s\S]*?^\1[^\n]*$/gm, '').replace(/`[^`\n]*`/g, '``');
}

/** GitHub's anchor for a heading's text (github-slugger): lower case, punctuation dropped, spaces to dashes. */
export function slug(heading: string): string {
  const text = heading
    .replace(/!?\[([^\]]*)\]\([^)]*\)/g, '$1') // a link's text
    .replace(/`/g, '')
    .replace(/\*\*|__|(?<![\p{L}\p{N}])[*_]|[*_](?![\p{L}\p{N}])/gu, '') // emphasis, not snake_case
    .trim()
    .toLowerCase();
  return text.replace(/[^\p{L}\p{M}\p{N}\p{Pc} -]/gu, '').replace(/ /g, '-');
}

/** Every anchor a markdown file offers: its headings' slugs, the repeated ones numbered as GitHub does. */
function anchors(markdown: string): Set<string> {
  const seen = new Map<string, number>();
  const result = new Set<string>();
  const withoutFences = markdown.replace(/^(```|~~~)[^\n]*\n[\s\S]*?^\1[^\n]*$/gm, '');
  for (const [, heading] of withoutFences.matchAll(/^#{1,6}[ \t]+(.+?)[ \t#]*$/gm)) {
    const base = slug(heading!);
    const count = seen.get(base) ?? 0;
    seen.set(base, count + 1);
    result.add(count === 0 ? base : `${base}-${count}`);
  }
  for (const [, id] of markdown.matchAll(/<a\s+(?:name|id)="([^"]+)"/g)) result.add(id!);
  return result;
}

/** The relative link targets of a markdown file: inline links and images, and reference definitions. */
function links(markdown: string): string[] {
  const text = prose(markdown);
  const inline = [...text.matchAll(/!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)].map((m) => m[1]!);
  const references = [...text.matchAll(/^\s*\[[^\]]+\]:\s*<?(\S+?)>?(?:\s+"[^"]*")?\s*$/gm)].map((m) => m[1]!);
  return [...inline, ...references].filter((target) => !/^[a-z][a-z0-9+.-]*:/i.test(target));
}

describe('the documentation', () => {
  const files = markdownFiles();

  it('has the pages the README points to, and more than a handful', () => {
    for (const file of files) expect(existsSync(path.join(root, file)), file).toBe(true);
    expect(files.filter((f) => f.startsWith('docs/')).length).toBeGreaterThanOrEqual(10);
  });

  it('slugs headings as GitHub does', () => {
    expect(slug('node:cluster')).toBe('nodecluster');
    expect(slug("The app's own OpenTelemetry API")).toBe('the-apps-own-opentelemetry-api');
    expect(slug('3. Prometheus and Grafana')).toBe('3-prometheus-and-grafana');
    expect(slug('A second process with the same `NODE_OPTIONS`')).toBe('a-second-process-with-the-same-node_options');
    expect(slug('Security: the bounds you can rely on')).toBe('security-the-bounds-you-can-rely-on');
    expect(slug('Quick start (30 seconds)')).toBe('quick-start-30-seconds');
    expect([...anchors('# A\n## B\n```\n# not a heading\n```\n## B\n')]).toEqual(['a', 'b', 'b-1']);
  });

  it.each(files)('%s: every relative link reaches a file, every #anchor a heading', (file) => {
    const markdown = readFileSync(path.join(root, file), 'utf8');
    const broken: string[] = [];
    for (const target of links(markdown)) {
      const [pathPart, anchor] = target.split('#', 2) as [string, string | undefined];
      const resolved = pathPart === '' ? path.join(root, file) : path.resolve(path.dirname(path.join(root, file)), decodeURI(pathPart));
      if (!resolved.startsWith(root) || !existsSync(resolved)) {
        broken.push(`${target}: no such file`);
        continue;
      }
      if (anchor === undefined) continue;
      if (statSync(resolved).isDirectory() || !resolved.endsWith('.md')) {
        broken.push(`${target}: an anchor into something that is not a markdown file`);
        continue;
      }
      if (!anchors(readFileSync(resolved, 'utf8')).has(decodeURIComponent(anchor))) broken.push(`${target}: no heading with that anchor`);
    }
    expect(broken).toEqual([]);
  });

  it('README: at most 250 lines, and every page of docs/ one click away', () => {
    const readme = readFileSync(path.join(root, 'README.md'), 'utf8');
    expect(readme.split('\n').length).toBeLessThanOrEqual(250);
    const linked = new Set(links(readme).map((t) => t.split('#')[0]));
    const pages = files.filter((f) => f.startsWith('docs/'));
    expect(pages.filter((page) => !linked.has(page)), 'docs/ pages the README does not link').toEqual([]);
    // What a newcomer looks for first, each a link from the README.
    for (const target of ['docs/configuration.md', 'docs/metrics.md', 'docs/troubleshooting.md#warnings', 'CHANGELOG.md']) {
      expect(links(readme), target).toContain(target);
    }
  });

  it('docs/configuration.md names every variable the preload reads', () => {
    const config = readFileSync(path.join(root, 'packages/register/src/config.ts'), 'utf8');
    const page = readFileSync(path.join(root, 'docs/configuration.md'), 'utf8');
    const read = new Set<string>();
    for (const [name] of config.matchAll(/\b(?:OTEL|MON)_[A-Z0-9_]*[A-Z0-9]\b/g)) {
      if (!WARNING_CODES.includes(name as never)) read.add(name);
    }
    // OTLP settings read as OTEL_EXPORTER_OTLP_<X> or its ..._METRICS_<X> (pick('X') in config.ts).
    for (const [, suffix] of config.matchAll(/pick\('([A-Z]+)'\)/g)) {
      read.add(`OTEL_EXPORTER_OTLP_${suffix}`);
      read.add(`OTEL_EXPORTER_OTLP_METRICS_${suffix}`);
    }
    expect(read.size).toBeGreaterThan(20);
    // The table writes a signal-specific variable beside the general one as `..._METRICS_<X>`.
    const named = (name: string): boolean =>
      page.includes(`\`${name}\``) || (name.startsWith('OTEL_EXPORTER_OTLP_METRICS_') && page.includes(`\`..._METRICS_${name.slice(27)}\``));
    expect([...read].filter((name) => !named(name)).sort()).toEqual([]);
  });
});
