import { afterEach, describe, expect, it } from 'vitest';
import { FIRST_NEED_CHANNELS, followers, WATCHED_REQUIRES, WORKER_EVENT, isWatchedRequire, replay, subscribe, subscribedChannels, unsubscribe, watchedChannels } from '../src/channels.js';
import { FrameworkRoutes } from '../src/frameworks/framework-routes.js';
import { hapiWatch } from '../src/frameworks/hapi.js';
import { koaWatch } from '../src/frameworks/koa.js';
import { HTTP2_CLIENT_CHANNELS, HTTP2_SERVER_CHANNELS } from '../src/http2/node20.js';
import { start, type Started } from '../src/start.js';

// The preload watches the table's first-need channels with placeholders until mon is first
// needed (first-need.ts): a channel missing from the table would lose the first event published there.
const WATCHED_CHANNELS = watchedChannels();

describe('the table of channels the preload watches', () => {
  let started: Started | undefined;
  afterEach(async () => {
    await started?.shutdown();
    delete (globalThis as Record<symbol, unknown>)[Symbol.for('mon.pipeline')];
  });

  it('holds every channel mon subscribes to when it starts, and nothing it does not', async () => {
    const before = new Set(subscribedChannels());
    started = await start();
    expect(started).toBeDefined();
    const names = subscribedChannels().filter((name) => !before.has(name) && name !== WORKER_EVENT);
    // Every group is on by default: servers, clients, databases, frameworks, a primary's children.
    expect(names.length).toBeGreaterThan(30);
    expect(names.filter((name) => !WATCHED_CHANNELS.includes(name))).toEqual([]);
    // Node 20 and early 22/24 releases publish no HTTP/2 channels, and mon subscribes to none there.
    const unused = WATCHED_CHANNELS.filter((name) => !names.includes(name));
    const expectedUnused = WATCHED_CHANNELS.filter(
      (name) => (!HTTP2_SERVER_CHANNELS && name.startsWith('http2.server.')) || (!HTTP2_CLIENT_CHANNELS && name.startsWith('http2.client.')),
    );
    expect(unused).toEqual(expectedUnused);
  });

  it('watches every channel that can be a first need; each of the others follows one of those', () => {
    const followed = followers();
    expect(new Set(WATCHED_CHANNELS).size).toBe(WATCHED_CHANNELS.length);
    expect(FIRST_NEED_CHANNELS.filter((name) => name in followed)).toEqual([]);
    expect(Object.entries(followed).filter(([, leader]) => !FIRST_NEED_CHANNELS.includes(leader))).toEqual([]);
  });

  it("drops, on each of the others, an event whose first-need channel it never saw: the preload's placeholders lose nothing there", async () => {
    started = await start();
    const pipeline = await started!.pipeline();
    const recorded = async (): Promise<string[]> => {
      const { resourceMetrics } = await pipeline!.readers[0]!.collect();
      return resourceMetrics.scopeMetrics.flatMap((scope) => scope.metrics.map((m) => `${m.descriptor.name} ${JSON.stringify(m.dataPoints)}`));
    };
    const before = await recorded();
    // One object in every shape these channels publish, none of it seen on a first-need channel.
    const error = Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
    const unseen = {
      request: { method: 'GET' },
      response: { statusCode: 200 },
      socket: {},
      stream: { id: 1, session: {}, rstCode: 0 },
      headers: { ':status': 200 },
      error,
      clientId: 'client-1',
      waitStartTimestamp: 0,
    };
    for (const name of Object.keys(followers())) replay(name, unseen);
    expect(await recorded()).toEqual(before);
  });

  it("names the files whose require() is a first need: the frameworks' that are watched by module load, and no other", () => {
    const routes = new FrameworkRoutes();
    const watches = [koaWatch(routes), hapiWatch(routes)];
    expect([...WATCHED_REQUIRES].sort()).toEqual(watches.map((w) => [w.id, w.parent]).sort());
    expect(isWatchedRequire({ id: './context', parentFilename: '/app/node_modules/koa/lib/application.js' })).toBe(true);
    expect(isWatchedRequire({ id: './request', parentFilename: 'C:\\app\\node_modules\\@hapi\\hapi\\lib\\core.js' })).toBe(true);
    // A './context' of any other package (the OpenTelemetry API has one) is not.
    expect(isWatchedRequire({ id: './context', parentFilename: '/app/node_modules/@opentelemetry/api/build/src/api/context.js' })).toBe(false);
    expect(isWatchedRequire(undefined)).toBe(false);
  });
});

describe('replay', () => {
  it("hands an event to mon's handlers on its channel only, each once", () => {
    const got: string[] = [];
    const a = (message: unknown): void => void got.push(`a:${String(message)}`);
    const b = (message: unknown): void => void got.push(`b:${String(message)}`);
    subscribe('mon:test:one', a);
    subscribe('mon:test:two', b);
    replay('mon:test:one', 'first');
    unsubscribe('mon:test:one', a);
    replay('mon:test:one', 'gone');
    unsubscribe('mon:test:two', b);
    expect(got).toEqual(['a:first']);
  });
});
