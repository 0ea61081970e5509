// node:cluster: the primary serves one /metrics for itself and its workers (examples/cluster).
import { afterEach, describe, expect, it } from 'vitest';
import { example, fixture, parseLabels, request, sample, scrape, sleep, spawnApp, sumSamples, type App } from './helpers.js';
import { START_UP_GRACE_MS } from '../packages/register/src/after-start-up.js';
import { promtoolCheck, skipWithout } from './prometheus.js';

const server = example('cluster/server.mjs');

let app: App | undefined;
afterEach(async () => {
  await app?.stop();
  app = undefined;
});

async function send(port: number, n: number): Promise<void> {
  for (let i = 0; i < n; i++) expect((await request(port, '/')).status).toBe(200);
}

async function requestsTotal(metricsPort: number): Promise<number> {
  return sumSamples((await scrape(metricsPort)).body, 'http_server_requests_total');
}

/** Every value the nodejs_cluster_worker label takes in the exposition. */
function workerLabels(text: string): Set<string> {
  const labels = new Set<string>();
  for (const line of text.split('\n')) {
    const m = /^[^#{ ]+\{(.*)\} /.exec(line);
    const value = m ? parseLabels(m[1]!).nodejs_cluster_worker : undefined;
    if (value !== undefined) labels.add(value);
  }
  return labels;
}

/** The workers' pids, from their /pid answers (connections go round-robin), and how many requests that took. */
async function workerPids(port: number, expected = 2): Promise<{ pids: number[]; requests: number }> {
  const pids = new Set<number>();
  let requests = 0;
  while (requests < 20 && pids.size < expected) {
    pids.add(Number((await request(port, '/pid')).body));
    requests++;
  }
  return { pids: [...pids], requests };
}

/**
 * Kills a worker and waits until the primary has reaped it. Node's round-robin scheduler can hand a
 * connection to a worker that has died but is not reaped yet, and that connection then hangs (bare
 * node:cluster does the same); a supervisor's traffic would see it, these tests should not.
 */
async function killWorker(pid: number): Promise<void> {
  process.kill(pid, 'SIGKILL');
  for (;;) {
    try {
      process.kill(pid, 0);
    } catch {
      break;
    }
    await sleep(10);
  }
  await sleep(50);
}

/** Waits until a worker holds each of `slots` again (a replacement has joined and answered). */
async function waitForWorkers(metricsPort: number, slots: string[]): Promise<void> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    const text = (await scrape(metricsPort)).body;
    const uptimes = slots.map((slot) => text.includes(`process_uptime_seconds{nodejs_cluster_worker="${slot}"}`));
    if (uptimes.every(Boolean)) return;
    if (Date.now() > deadline) throw new Error(`workers ${slots.join(',')} did not join:\n${text}`);
    await sleep(50);
  }
}

describe('a cluster of 2 workers', () => {
  it('serves the sum of the workers on the primary; no worker binds the port or warns', async () => {
    app = await spawnApp(server);
    // Each worker's per-process series appear once its host metrics start, after its start-up.
    await waitForWorkers(app.metricsPort, ['0', '1']);
    // Both workers serve: their pids differ.
    const { pids, requests } = await workerPids(app.port);
    expect(pids).toHaveLength(2);
    await send(app.port, 40);
    const text = (await scrape(app.metricsPort)).body;
    expect(sumSamples(text, 'http_server_requests_total')).toBe(40 + requests);
    expect(sumSamples(text, 'http_server_requests_total', { http_response_status_code: '200' })).toBe(40 + requests);
    expect(sumSamples(text, 'http_server_request_duration_seconds_count')).toBe(40 + requests);
    // Per process series carry a bounded label; totals are summed (one series, no label).
    expect(workerLabels(text)).toEqual(new Set(['primary', '0', '1']));
    expect(text).toMatch(/^process_memory_usage_bytes\{nodejs_cluster_worker="1"\} \d+$/m);
    expect(text).toMatch(/^process_cpu_time_seconds_total\{cpu_mode="user"\} [\d.e-]+$/m);
    // Machine-wide metrics once, from the primary, unlabelled.
    expect(text).toMatch(/^system_memory_usage_bytes\{system_memory_state="used"\} \d+$/m);
    expect(text).not.toMatch(/^system_[^{]*\{[^}]*nodejs_cluster_worker/m);
    await sleep(200);
    expect(app.stderr()).toBe('');
  });

  it('counts exactly the requests sent', async () => {
    app = await spawnApp(server);
    await send(app.port, 25);
    expect(await requestsTotal(app.metricsPort)).toBe(25);
    await send(app.port, 15);
    expect(await requestsTotal(app.metricsPort)).toBe(40);
  });

  it('passes promtool check metrics', async () => {
    if (skipWithout('promtool')) return;
    app = await spawnApp(server);
    await send(app.port, 10);
    await request(app.port, '/missing');
    const { status, output } = promtoolCheck((await scrape(app.metricsPort)).body);
    expect(output).toBe('');
    expect(status).toBe(0);
  });

  it('works from NODE_OPTIONS too', async () => {
    app = await spawnApp(server, { nodeArgs: [], env: { NODE_OPTIONS: '--import @mon/register' } });
    await send(app.port, 12);
    expect(await requestsTotal(app.metricsPort)).toBe(12);
    expect(app.stderr()).toBe('');
  });
});

describe('a worker that dies', () => {
  it('is replaced; totals never go backwards and labels stay within the slots', async () => {
    app = await spawnApp(server);
    const port = app.port;
    let sent = 0;
    const get = async (path: string): Promise<string> => {
      const reply = await request(port, path);
      sent++;
      expect(reply.status).toBe(200);
      return reply.body;
    };
    let last = 0;
    const check = async (): Promise<number> => {
      const text = (await scrape(app!.metricsPort)).body;
      const total = sumSamples(text, 'http_server_requests_total');
      expect(total).toBeGreaterThanOrEqual(last);
      last = total;
      expect([...workerLabels(text)].every((l) => ['primary', '0', '1'].includes(l))).toBe(true);
      return total;
    };
    for (let round = 0; round < 3; round++) {
      for (let i = 0; i < 10; i++) await get('/');
      const victim = Number(await get('/pid'));
      // Scraped before the kill: everything it served is with the primary.
      expect(await check()).toBe(sent);
      await killWorker(victim);
      expect(await check()).toBe(sent);
      for (let i = 0; i < 10; i++) await get('/');
      expect(await check()).toBe(sent);
      await waitForWorkers(app.metricsPort, ['0', '1']);
      expect(await check()).toBe(sent);
    }
    await sleep(200);
    expect(app.stderr()).toBe('');
  });

  it('between scrapes loses nothing once its last push went out', async () => {
    // NODE_DEBUG=mon: each push says whether it sent anything (cluster/worker.ts).
    app = await spawnApp(server, { env: { NODE_DEBUG: 'mon' } });
    await send(app.port, 20);
    const {
      pids: [victim],
    } = await workerPids(app.port, 1);
    // Its last push went out once a later push finds nothing new. (A push comes within about a
    // second while the totals change, later when pushing costs more CPU than its share: a fixed
    // wait of 1.5 s lost the victim's last requests on a busy machine.)
    const after = app.stderr().length;
    const pushedAll = new RegExp(`^MON ${victim}: cluster: push unchanged`, 'm');
    for (const deadline = Date.now() + 15_000; !pushedAll.test(app.stderr().slice(after)); await sleep(50)) {
      if (Date.now() > deadline) throw new Error(`no push from worker ${victim} found nothing new within 15 s:\n${app.stderr().slice(after)}`);
    }
    await killWorker(victim!);
    await send(app.port, 10);
    expect(await requestsTotal(app.metricsPort)).toBe(31); // 20 + the /pid request + 10
  });
});

describe('a hung worker', () => {
  it('delays one scrape by at most the timeout (1 s), and counts with its last values', async () => {
    app = await spawnApp(server);
    // Each worker's per-process series appear once its host metrics start, after its start-up.
    await waitForWorkers(app.metricsPort, ['0', '1']);
    await send(app.port, 10);
    expect(await requestsTotal(app.metricsPort)).toBe(10);
    // One worker blocks its event loop for 4 s; the other keeps serving.
    const blocked = request(app.port, '/block?ms=4000');
    await sleep(600); // time for the worker to read the request and block, on a loaded machine too
    let started = performance.now();
    const text = (await scrape(app.metricsPort)).body;
    const took = performance.now() - started;
    expect(took).toBeGreaterThanOrEqual(900);
    // The bound is 1 s; the rest is slack for a loaded 2-core machine.
    expect(took).toBeLessThan(2_500);
    expect(sumSamples(text, 'http_server_requests_total')).toBe(10);
    expect(workerLabels(text)).toEqual(new Set(['primary', '0', '1']));
    // While it stays stuck, later scrapes do not wait for it again.
    started = performance.now();
    expect(await requestsTotal(app.metricsPort)).toBe(10);
    expect(performance.now() - started).toBeLessThan(800);
    // Free again, it answers what it was asked meanwhile; the blocking request is counted.
    expect((await blocked).status).toBe(200);
    const deadline = Date.now() + 3_000;
    while ((await requestsTotal(app.metricsPort)) !== 11 && Date.now() < deadline) await sleep(50);
    expect(await requestsTotal(app.metricsPort)).toBe(11);
  });
});

describe("the live page's polls in a cluster", () => {
  it("read the workers' short windows (the primary asks them for a peek), while scrapes keep the long one; the delay histogram is summed", async () => {
    app = await spawnApp(server, { env: { WORKERS: '1' } });
    const port = app.metricsPort;
    // Each worker's per-process series appear once its host metrics start, after its start-up.
    await waitForWorkers(port, ['0']);
    const workerDelayMax = (text: string) => sample(text, 'nodejs_eventloop_delay_max_seconds', { nodejs_cluster_worker: '0' })!;
    const stalled = (text: string) =>
      sumSamples(text, 'nodejs_eventloop_delay_seconds_count') - sumSamples(text, 'nodejs_eventloop_delay_seconds_bucket', { le: '0.128' });
    const before = (await scrape(port)).body;
    await request(port, '/metrics?peek=1');
    await request(app.port, '/block?ms=300');
    await sleep(50);
    expect(workerDelayMax((await request(port, '/metrics?peek=1')).body)).toBeGreaterThanOrEqual(0.2);
    // Scrapes after the peek, one right after the other, all see it: nothing resets a window.
    for (let i = 0; i < 3; i++) expect(workerDelayMax((await scrape(port)).body)).toBeGreaterThanOrEqual(0.2);
    // The histogram is one series for the cluster (a total, like the HTTP durations), not one per process.
    const after = (await scrape(port)).body;
    expect(after).not.toMatch(/^nodejs_eventloop_delay_seconds_count\{[^}]*nodejs_cluster_worker/m);
    expect(stalled(after) - stalled(before)).toBeGreaterThanOrEqual(1);
  });
});

describe("the app's own IPC", () => {
  it('never sees mon messages, on either side', async () => {
    app = await spawnApp(fixture('cluster-ipc.mjs'));
    await send(app.port, 10);
    for (let i = 0; i < 5; i++) {
      expect(await requestsTotal(app.metricsPort)).toBe(10);
      await sleep(100);
    }
    expect(app.stdout()).not.toContain('not the app');
    expect(app.stderr()).toBe('');
  });

  it('with mon in the workers only (cluster.setupPrimary execArgv): one warning per worker, then one worker serves its own metrics', async () => {
    app = await spawnApp(fixture('cluster-ipc.mjs'), { nodeArgs: [], env: { WORKER_PRELOAD: '1' } });
    await send(app.port, 4);
    // Nothing serves before a worker has waited its 5 s for a primary. A loaded machine may make
    // the workers' start so slow that the 5 s are up by now: then a warning came first.
    await sleep(START_UP_GRACE_MS + 1_000);
    const early = await request(app.metricsPort, '/metrics', { retry: false }).then(
      () => true,
      (error: NodeJS.ErrnoException) => {
        expect(error.code).toBe('ECONNREFUSED');
        return false;
      },
    );
    if (early) expect(app.stderr()).toContain('[MON_CLUSTER_NO_PRIMARY]');
    // Each worker says so once its 5 s without a primary are up: wait for both lines, however late.
    const deadline = Date.now() + 20_000;
    while (app.stderr().trim().split('\n').filter(Boolean).length < 2 && Date.now() < deadline) await sleep(100);
    const lines = app.stderr().trim().split('\n');
    expect(lines).toHaveLength(2);
    // The winner serves right after its warning; wait until it listens.
    while (Date.now() < deadline && !(await scrape(app.metricsPort).then(() => true, () => false))) await sleep(100);
    for (const line of lines) expect(line).toMatch(/^mon: .*primary does not run mon.*--import @mon\/register.*\[MON_CLUSTER_NO_PRIMARY\]$/);
    expect(app.stdout()).not.toContain('not the app');
    await send(app.port, 4);
    // One worker won the port: its own requests, a part of the 8 sent.
    const served = await requestsTotal(app.metricsPort);
    expect(served).toBeGreaterThan(0);
    expect(served).toBeLessThanOrEqual(8);
  });
});
