// Worker threads: Node hands --import to each of them. They start no pipeline of their own (no
// port, no warning), and the requests their HTTP servers answer are counted by the main thread.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { fixture, freePort, request, routeCounts, scrape, sleep, spawnApp, sumSamples, type App } from './helpers.js';

let app: App | undefined;
let dir: string | undefined;
afterEach(async () => {
  await app?.stop();
  app = undefined;
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

// Both at once (NODE_OPTIONS="--require …" and --import on the command line): two copies of mon
// load in every thread, and each request is still counted once.
describe.each([['--import'], ['-r'], ['-r', '--import']])('worker threads under %s @mon/register', (...flags) => {
  it("a pino transport's thread and an app's own worker: no second endpoint, no warning; the worker's requests counted", async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'mon-workers-'));
    const logFile = path.join(dir, 'log.ndjson');
    const workerPort = await freePort();
    app = await spawnApp(fixture('worker-threads.mjs'), { nodeArgs: flags.flatMap((flag) => [flag, '@mon/register']), env: { LOG_FILE: logFile, WORKER_PORT: String(workerPort) } });
    for (let i = 0; i < 3; i++) expect((await request(workerPort, `/items/${i}`)).body).toBe(`item ${i}`);
    expect((await request(app.port, '/')).body).toBe('main');
    // Forwarded from the worker thread: poll, the message may trail the response.
    const deadline = Date.now() + 10_000;
    let text = (await scrape(app.metricsPort)).body;
    while (sumSamples(text, 'http_server_requests_total') < 4 && Date.now() < deadline) {
      await sleep(100);
      text = (await scrape(app.metricsPort)).body;
    }
    expect(routeCounts(text)).toEqual({ '/items/:id': 3, '(none)': 1 });
    // The transport worked under the preload.
    const deadlineLog = Date.now() + 10_000;
    while (!readLog(logFile).includes('"msg":"listening"') && Date.now() < deadlineLog) await sleep(100);
    expect(readLog(logFile)).toContain('"msg":"listening"');
    // Before: `mon: cannot serve /metrics on 127.0.0.1:<port> (EADDRINUSE) ... [MON_METRICS_PORT]`, once per thread.
    expect(app.stderr()).toBe('');
  }, 60_000);
});

function readLog(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}
