// What the README shows a user holds: its quick-start output is what the example prints.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { example, root, sleep, spawnApp, type App } from './helpers.js';

let app: App | undefined;
afterEach(async () => {
  await app?.stop();
  app = undefined;
});

describe('README quick start', () => {
  it('shows the lines `npm start` prints, every one of them', async () => {
    const readme = readFileSync(path.join(root, 'README.md'), 'utf8');
    const quickStart = readme.slice(readme.indexOf('## Quick start'));
    // The first bare code block after "It prints": the output as the README shows it.
    const shown = /It prints[^\n]*\n+```\n([\s\S]*?)```/.exec(quickStart)?.[1];
    expect(shown, 'the quick start shows an output block').toBeDefined();

    app = await spawnApp(example('http-esm/server.mjs'));
    // The example prints its lines together, right after `listening`.
    const deadline = Date.now() + 5_000;
    while (!app.stdout().includes('live:') && Date.now() < deadline) await sleep(20);
    // The README's ports are the defaults (8080, 9464); the test ran on free ones.
    const printed = app
      .stdout()
      .replaceAll(`:${app.metricsPort}/`, ':9464/')
      .replaceAll(`:${app.port}/`, ':8080/')
      .replace(`listening ${app.port}\n`, 'listening 8080\n');
    expect(printed).toBe(shown);
  });
});
