// The app of scrape-impact.mjs: hello.mjs's hello world plus BENCH_SERIES custom series created at
// start through @opentelemetry/api (servers/synthetic-series.mjs: 20 series per attribute set), as an
// app with its own metrics does. Under `--import @mon/register` they land in mon's MeterProvider;
// without a preload the API is a no-op and there are none.
//
// It measures its own event loop, because that is what a scrape can block: a
// monitorEventLoopDelay histogram at 1 ms resolution, reported and reset by GET /__bench/stats
// (JSON, ms, the resolution subtracted: the time the loop was late), with the GC pauses of the same
// interval (a PerformanceObserver on 'gc'). GET /__bench/profile/start and
// /__bench/profile/stop run the V8 CPU profiler (the one behind --cpu-prof) over a window, so a
// profile covers the scrapes and not the start-up; stop answers the .cpuprofile JSON.
import http from 'node:http';
import { Session } from 'node:inspector/promises';
import { monitorEventLoopDelay, performance, PerformanceObserver } from 'node:perf_hooks';
import { metrics } from '@opentelemetry/api';
import { record, SERIES_PER_SET } from './synthetic-series.mjs';

const series = Number(process.env.BENCH_SERIES ?? 10_000);
record(metrics.getMeter('bench-app', '1.0.0'), Math.round(series / SERIES_PER_SET));

const RESOLUTION_MS = 1;
const delay = monitorEventLoopDelay({ resolution: RESOLUTION_MS });
delay.enable();
let elu = performance.eventLoopUtilization();
let session;
// GC pauses, to tell a long loop delay caused by a collection from one caused by the scrape's own code.
let gc = { count: 0, totalMs: 0, maxMs: 0 };
new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) {
    gc.count++;
    gc.totalMs += entry.duration;
    gc.maxMs = Math.max(gc.maxMs, entry.duration);
  }
}).observe({ entryTypes: ['gc'] });

const late = (ns) => Math.max(0, ns / 1e6 - RESOLUTION_MS);

/** Share of the delay samples that were more than `ms` late. */
function shareOver(ms) {
  let atOrBelow = 0;
  for (const [percentile, ns] of delay.percentiles) if (late(ns) <= ms) atOrBelow = Math.max(atOrBelow, percentile);
  return 1 - atOrBelow / 100;
}

function stats() {
  const now = performance.eventLoopUtilization();
  const out = {
    samples: delay.count,
    maxMs: late(delay.max),
    p99Ms: late(delay.percentile(99)),
    p50Ms: late(delay.percentile(50)),
    over10: Math.round(shareOver(10) * delay.count),
    utilization: performance.eventLoopUtilization(now, elu).utilization,
    gc,
  };
  delay.reset();
  elu = now;
  gc = { count: 0, totalMs: 0, maxMs: 0 };
  return out;
}

async function bench(url) {
  if (url === '/__bench/stats') return stats();
  if (url === '/__bench/profile/start') {
    session = new Session();
    session.connect();
    await session.post('Profiler.enable');
    await session.post('Profiler.setSamplingInterval', { interval: 100 }); // µs
    await session.post('Profiler.start');
    return { started: true };
  }
  if (url === '/__bench/profile/stop') {
    const { profile } = await session.post('Profiler.stop');
    session.disconnect();
    return profile;
  }
  return undefined;
}

const body = 'hello world\n';
const server = http.createServer((req, res) => {
  if (req.url.startsWith('/__bench/')) {
    bench(req.url).then(
      (result) => {
        res.writeHead(result === undefined ? 404 : 200, { 'content-type': 'application/json' });
        res.end(JSON.stringify(result ?? null));
      },
      (error) => {
        res.writeHead(500);
        res.end(String(error));
      },
    );
    return;
  }
  res.setHeader('content-type', 'text/plain');
  res.end(body);
});

server.listen(Number(process.env.PORT ?? 8080), '127.0.0.1', () => {
  console.log(`listening ${server.address().port}`);
});
