// docs/metrics.md names every series mon serves: the example app, having served requests and made
// an outgoing call, is scraped, and each metric family on its endpoint (but the app's own) must be
// written out on the page, with each of its labels, so "every series" stays true as instruments
// are added.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { example, request, root, scrape, sleep, spawnApp, waitForEndpoint, type App } from './helpers.js';

let app: App | undefined;
afterEach(async () => {
  await app?.stop();
  app = undefined;
});

/** Family name -> its label names, from a text exposition. */
function families(text: string): Map<string, Set<string>> {
  const found = new Map<string, Set<string>>();
  for (const [, name] of text.matchAll(/^# TYPE (\S+) \S+$/gm)) found.set(name!, new Set());
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const series = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? /.exec(line);
    if (!series) continue;
    const family = [...found.keys()].find((f) => series[1] === f || (series[1]!.startsWith(f) && /^_(bucket|sum|count|total|created)$/.test(series[1]!.slice(f.length))));
    if (!family) continue;
    for (const [, label] of (series[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="/g)) found.get(family)!.add(label!);
  }
  return found;
}

describe('docs/metrics.md', () => {
  it('names every metric family the endpoint serves, and every label of each', async () => {
    app = await spawnApp(example('http-esm/server.mjs'));
    await waitForEndpoint(app.metricsPort);
    // A request served, one failed, one not found, and an outgoing call (the example's /checkout calls itself).
    for (const p of ['/', '/fail', '/nope', '/checkout']) await request(app.port, p);
    // Host and runtime series come with the first collection; GC needs a collection after a GC.
    await sleep(200);
    await scrape(app.metricsPort);
    const text = (await scrape(app.metricsPort)).body;
    const served = families(text);
    // The example's own counter is the app's, not mon's.
    served.delete('shop_orders_total');
    served.delete('shop_orders');
    expect(served.size).toBeGreaterThan(20);
    for (const name of ['http_server_requests_total', 'http_client_request_duration_seconds', 'process_cpu_time_seconds_total', 'target_info']) {
      expect([...served.keys()], name).toContain(name);
    }

    const page = readFileSync(path.join(root, 'docs', 'metrics.md'), 'utf8');
    const missing = [...served.keys()].filter((name) => !page.includes(`\`${name}`));
    expect(missing, 'families docs/metrics.md does not name').toEqual([]);
    // Labels: each named on the page (target_info's resource attributes are listed by prefix).
    const unnamed: string[] = [];
    for (const [name, labels] of served) {
      for (const label of labels) {
        if (label === 'le' || label === 'otel_scope_name' || label === 'otel_scope_version') continue;
        const prefix = label.replace(/_[^_]+$/, '_*');
        if (!page.includes(`\`${label}\``) && !page.includes(`\`${prefix}\``)) unnamed.push(`${name}: ${label}`);
      }
    }
    expect(unnamed, 'labels docs/metrics.md does not name').toEqual([]);
  }, 60_000);
});
