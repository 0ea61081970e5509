// The handler as a user gets it: the built package (its browser modules are served from
// dist/client), on a real HTTP server, alone and behind the Prometheus reader.
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build } from 'esbuild';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import { PrometheusReader } from '@mon/prometheus';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ASSET_PREFIX, ASSETS, createLiveHistory, createLivePage, HISTORY_PATH, type LivePageOptions } from '@mon/live';

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  await Promise.all(cleanups.splice(0).map((cleanup) => cleanup()));
});

/** A plain server: the live page where it answers, 404 where it declines. */
async function serve(options?: LivePageOptions): Promise<{ url: string; declined: string[] }> {
  const handle = createLivePage(options);
  const declined: string[] = [];
  const server = http.createServer((req, res) => {
    if (handle(req, res)) return;
    declined.push(`${req.method} ${req.url}`);
    res.writeHead(404).end();
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  cleanups.push(() => new Promise((resolve) => server.close(resolve)));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, declined };
}

describe('createLivePage', () => {
  it('polls the path it is given, query included, and shows the endpoint without the query', async () => {
    const { url } = await serve({ metricsPath: '/metrics?peek=1' });
    const html = await (await fetch(`${url}/`)).text();
    expect(html).toContain('<meta name="mon-metrics-path" content="/metrics?peek=1">');
    expect(html).toContain('<a id="metrics-link" href="/metrics">/metrics</a>');
    expect(html).toContain('Connecting to /metrics…');
    expect(html).not.toMatch(/>[^<]*\?peek=1/);
  });

  it('serves the page on GET / with a strict Content-Security-Policy', async () => {
    const { url } = await serve();
    const response = await fetch(`${url}/?from=readme`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/html; charset=utf-8');
    const html = await response.text();
    expect(html).toContain('<meta name="mon-metrics-path" content="/metrics">');
    expect(html).toContain(`<script type="module" src="${ASSET_PREFIX}main.js"></script>`);
    const csp = response.headers.get('content-security-policy')!;
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("connect-src 'self'");
    expect(csp).toContain("frame-ancestors 'none'");
    // The one inline style is allowed by its hash, nothing else inline is.
    const style = /<style>([\s\S]*?)<\/style>/.exec(html)![1]!;
    expect(csp).toContain(`style-src 'sha256-${createHash('sha256').update(style).digest('base64')}'`);
    expect(response.headers.get('x-content-type-options')).toBe('nosniff');
  });

  it('serves exactly its browser modules, as built', async () => {
    expect([...ASSETS].sort()).toEqual(['charts.js', 'exposition.js', 'figures.js', 'format.js', 'main.js']);
    const { url, declined } = await serve();
    for (const name of ASSETS) {
      const response = await fetch(`${url}${ASSET_PREFIX}${name}`);
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
      const built = readFileSync(new URL(`../dist/client/${name}`, import.meta.url), 'utf8');
      expect(await response.text()).toBe(built);
    }
    for (const path of [`${ASSET_PREFIX}main.d.ts`, `${ASSET_PREFIX}../index.js`, `${ASSET_PREFIX}`, '/index.html', '/other']) {
      const response = await fetch(`${url}${path}`);
      expect(response.status).toBe(404);
      await response.text();
    }
    expect(declined).toHaveLength(5);
  });

  it('serves the history it is given as JSON on /live/history, and names it in the page; declines it without one', async () => {
    const history = createLiveHistory({ collect: async () => 'process_memory_usage_bytes 4096\n' });
    await history.sample();
    const { url } = await serve({ history });
    const response = await fetch(`${url}${HISTORY_PATH}`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('application/json');
    expect(response.headers.get('cache-control')).toBe('no-store');
    const { points } = (await response.json()) as { points: Array<{ rss: number; age: number }> };
    expect(points).toHaveLength(1);
    expect(points[0]!.rss).toBe(4096);
    expect(points[0]!.age).toBeGreaterThanOrEqual(0);
    expect(await (await fetch(`${url}/`)).text()).toContain(`<meta name="mon-history-path" content="${HISTORY_PATH}">`);

    const without = await serve();
    const declined = await fetch(`${without.url}${HISTORY_PATH}`);
    expect(declined.status).toBe(404);
    await declined.text();
    expect(await (await fetch(`${without.url}/`)).text()).not.toContain('mon-history-path');
  });

  it('tells the history someone watches when it serves the page or the history, not for a script', async () => {
    const history = createLiveHistory({ collect: async () => 'process_memory_usage_bytes 4096\n' });
    const watched = vi.spyOn(history, 'watched');
    const { url } = await serve({ history });
    await (await fetch(`${url}${ASSET_PREFIX}main.js`)).text();
    expect(watched).not.toHaveBeenCalled();
    await (await fetch(`${url}/`)).text();
    expect(watched).toHaveBeenCalledTimes(1);
    await (await fetch(`${url}${HISTORY_PATH}`)).text();
    expect(watched).toHaveBeenCalledTimes(2);
  });

  it('answers HEAD without a body and other methods with 405', async () => {
    const { url } = await serve();
    const head = await fetch(`${url}/`, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(Number(head.headers.get('content-length'))).toBeGreaterThan(1000);
    expect(await head.text()).toBe('');
    const post = await fetch(`${url}/`, { method: 'POST', body: 'x' });
    expect(post.status).toBe(405);
    expect(post.headers.get('allow')).toBe('GET, HEAD');
    await post.text();
  });

  it('points the page at a custom metrics path, escaped', async () => {
    const { url } = await serve({ metricsPath: '/prom"<x>', intervalMs: 5000 });
    const html = await (await fetch(`${url}/`)).text();
    expect(html).toContain('<meta name="mon-metrics-path" content="/prom&#34;&#60;x&#62;">');
    expect(html).toContain('<meta name="mon-interval" content="5000">');
    expect(html).not.toContain('/prom"<x>');
  });

  it('works bundled into another file, as in the preload: it reads nothing from disk', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'mon-live-bundle-'));
    cleanups.push(async () => rmSync(dir, { recursive: true, force: true }));
    const outfile = path.join(dir, 'bundled.mjs');
    await build({ stdin: { contents: "export { createLivePage } from '@mon/live';", resolveDir: path.dirname(fileURLToPath(import.meta.url)) }, bundle: true, platform: 'node', format: 'esm', outfile, logLevel: 'silent' });
    const bundled = (await import(pathToFileURL(outfile).href)) as { createLivePage: typeof createLivePage };
    const handle = bundled.createLivePage();
    const server = http.createServer((req, res) => handle(req, res) || res.writeHead(404).end());
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    cleanups.push(() => new Promise((resolve) => server.close(resolve)));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    for (const file of ['', 'live/main.js', 'live/figures.js']) {
      const response = await fetch(`${url}/${file}`);
      expect(response.status, file).toBe(200);
      await response.text();
    }
  });

  it('shares the Prometheus reader server as its fallback', async () => {
    const reader = new PrometheusReader({ host: '127.0.0.1', port: 0, fallback: createLivePage() });
    const provider = new MeterProvider({ readers: [reader] });
    cleanups.push(() => provider.shutdown());
    provider.getMeter('test').createCounter('http.server.requests').add(1);
    await reader.ready;
    const url = `http://127.0.0.1:${reader.address()!.port}`;
    const page = await fetch(`${url}/`);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('mon-metrics-path');
    const metrics = await fetch(`${url}/metrics`);
    expect(await metrics.text()).toContain('http_server_requests_total 1');
    const missing = await fetch(`${url}/nope`);
    expect(missing.status).toBe(404);
    expect(await missing.text()).toBe('Not Found\n');
  });
});
