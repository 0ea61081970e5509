// The live page: polls the same-origin /metrics every few seconds, keeps the last minutes of
// figures in memory and redraws the cards. On opening it first fetches the recent past the
// process kept for it (history.ts, when the page is served with one), so it never starts empty.
import { drawLineChart, niceBytes, type LineSeries } from './charts.js';
import { parseExposition } from './exposition.js';
import {
  computePoint,
  computeStatus,
  hostStats,
  dbStats,
  PRIMARY_PROCESS,
  routeStats,
  methodStats,
  type MethodStats,
  SERIES,
  type HostStats,
  type DbStats,
  type Point,
  type RouteStats,
  type Snapshot,
  type Status,
} from './figures.js';
import { formatBytes, formatCount, formatDuration, formatPercent, formatRate, formatSeconds } from './format.js';

type NumericKey = { [K in keyof Point]-?: Point[K] extends number | undefined ? K : never }[keyof Point];

interface Card {
  id: string;
  title: string;
  /** `cluster`: the label in a cluster, where the line is not one process's. */
  lines: Array<{ key: Exclude<NumericKey, 'time'>; label: string; className: string; cluster?: string }>;
  format: (value: number) => string;
  minMax: number;
  nice?: (value: number) => number;
  /** A request chart: shows the empty state until the first request. */
  http?: boolean;
  /** The series whose absence means this card has nothing to show. */
  needs: string;
  /** Hidden, rather than "not collected", while `needs` is absent (the container card, outside a limited cgroup). */
  optional?: boolean;
  /** Per-process figures: in a cluster, which process the lines are (the worst one), for the title. */
  process?: (point: Point) => string | undefined;
  processRole?: string;
}

const CARDS: Card[] = [
  {
    id: 'requests',
    title: 'Requests',
    lines: [
      { key: 'requestRate', label: 'all', className: 's1' },
      { key: 'clientErrorRate', label: '4xx', className: 's3' },
      { key: 'serverErrorRate', label: '5xx & aborted', className: 's4' },
    ],
    format: formatRate,
    minMax: 1,
    http: true,
    needs: SERIES.requests,
  },
  {
    id: 'latency',
    title: 'Latency (last 10 s)',
    lines: [
      { key: 'p50', label: 'p50', className: 's1' },
      { key: 'p95', label: 'p95', className: 's2' },
      { key: 'p99', label: 'p99', className: 's4' },
    ],
    format: formatSeconds,
    minMax: 0.001,
    http: true,
    needs: `${SERIES.duration}_bucket`,
  },
  {
    id: 'errors',
    title: 'Error ratio (last 10 s)',
    lines: [{ key: 'errorRatio', label: '5xx & aborted', className: 's4' }],
    format: formatPercent,
    minMax: 0.01,
    http: true,
    needs: SERIES.requests,
  },
  {
    id: 'active',
    title: 'In-flight requests',
    lines: [{ key: 'active', label: 'in flight', className: 's1' }],
    format: formatCount,
    minMax: 1,
    http: true,
    needs: SERIES.active,
  },
  {
    id: 'cpu',
    title: 'CPU (share of all cores)',
    lines: [
      { key: 'cpuProcess', label: 'this process', className: 's1', cluster: 'all processes' },
      { key: 'cpuSystem', label: 'whole system', className: 's5' },
    ],
    format: formatPercent,
    minMax: 0.05,
    needs: SERIES.processCpuTime,
  },
  {
    id: 'memory',
    title: 'Process memory',
    lines: [
      { key: 'rss', label: 'resident (RSS)', className: 's1' },
      { key: 'heapSize', label: 'V8 heap reserved', className: 's5' },
      { key: 'heapUsed', label: 'V8 heap used', className: 's2' },
    ],
    format: formatBytes,
    minMax: 1024 * 1024,
    nice: niceBytes,
    needs: SERIES.rss,
    process: (point) => point.memoryProcess,
    processRole: 'largest',
  },
  {
    id: 'container',
    title: 'Container (share of its limits)',
    lines: [
      { key: 'containerMemory', label: 'memory (working set)', className: 's1' },
      { key: 'containerCpu', label: 'CPU', className: 's2' },
      { key: 'containerThrottled', label: 'periods throttled', className: 's4' },
    ],
    format: formatPercent,
    minMax: 0.05,
    needs: SERIES.containerWorkingSet,
    optional: true,
  },
  {
    id: 'loop-delay',
    title: 'Event loop delay',
    lines: [
      { key: 'loopDelayP50', label: 'p50', className: 's1' },
      { key: 'loopDelayP99', label: 'p99', className: 's2' },
      { key: 'loopDelayMax', label: 'max', className: 's4' },
    ],
    format: formatSeconds,
    minMax: 0.005,
    needs: SERIES.loopDelayP99,
    process: (point) => point.loopProcess,
    processRole: 'slowest',
  },
  {
    id: 'loop-utilization',
    title: 'Event loop utilization & GC',
    lines: [
      { key: 'loopUtilization', label: 'busy', className: 's1', cluster: 'busy (busiest process)' },
      { key: 'gcShare', label: 'in GC', className: 's3', cluster: 'in GC (average process)' },
    ],
    format: formatPercent,
    minMax: 0.05,
    needs: SERIES.loopTime,
  },
];

const metricsPath = document.querySelector<HTMLMetaElement>('meta[name="mon-metrics-path"]')?.content || '/metrics';
// What the page tells the user: the endpoint, without the query it polls with (mon's `?peek=1`).
const shownPath = metricsPath.split('?')[0] || metricsPath;
const interval = Number(document.querySelector<HTMLMetaElement>('meta[name="mon-interval"]')?.content) || 2000;
const historyPath = document.querySelector<HTMLMetaElement>('meta[name="mon-history-path"]')?.content;
// As far back as the process's history reaches (HISTORY_SPAN_MS).
const HISTORY_MS = 15 * 60_000;
const LATENCY_WINDOW_MS = 10_000;
const MAX_ROUTES = 10;
const MIN_SPAN_MS = 30_000;

const points: Point[] = [];
const snapshots: Snapshot[] = [];
let status: Status | undefined;
let routes: RouteStats[] = [];
let methods: MethodStats[] = [];
let hosts: HostStats[] = [];
let databases: DbStats[] = [];
let failure: string | undefined;
let lastSuccess = 0;
const views = new Map<string, { card: HTMLElement; title: HTMLElement; svg: SVGSVGElement; legend: HTMLElement; message: HTMLElement }>();

function build(): void {
  const grid = document.getElementById('cards')!;
  for (const card of CARDS) {
    const section = el('section', 'card');
    section.id = `card-${card.id}`;
    const head = el('header');
    const title = el('h2');
    title.textContent = card.title;
    const legend = el('div', 'legend');
    head.append(title, legend);
    const plot = el('div', 'plot');
    const svg = document.createElementNS('http://www.w3.org/2000/svg', 'svg');
    svg.setAttribute('role', 'img');
    svg.setAttribute('aria-label', card.title);
    const empty = el('div', 'empty');
    const message = el('span');
    empty.append(message);
    plot.append(svg, empty);
    section.append(head, plot);
    grid.append(section);
    views.set(card.id, { card: section, title, svg, legend, message });
  }
  const disks = el('section', 'card');
  disks.id = 'card-disks';
  const head = el('header');
  const title = el('h2');
  title.textContent = 'Disk usage per mount';
  head.append(title);
  const list = el('div', 'disks');
  list.id = 'disk-list';
  disks.append(head, list);
  grid.append(disks);
  grid.append(
    tableCard('card-routes', 'route-list', `Routes (last ${LATENCY_WINDOW_MS / 1000} s, busiest first)`),
    tableCard('card-hosts', 'host-list', `Outgoing calls by host (last ${LATENCY_WINDOW_MS / 1000} s, busiest first)`),
    tableCard('card-databases', 'db-list', `Database calls by system and operation (last ${LATENCY_WINDOW_MS / 1000} s, busiest first)`),
  );
  document.getElementById('metrics-link')!.setAttribute('href', shownPath);
  document.getElementById('metrics-link')!.textContent = shownPath;
}

/** The points the process kept before the page opened, with ages turned into this clock's times. */
async function loadHistory(): Promise<void> {
  if (historyPath === undefined) return;
  try {
    const response = await fetch(historyPath, { cache: 'no-store' });
    if (!response.ok) return;
    const body = (await response.json()) as { points?: Array<Omit<Point, 'time'> & { age: number }> };
    const now = Date.now();
    const past = (body.points ?? []).map(({ age, ...figures }) => ({ ...figures, time: now - age }));
    points.unshift(...past.filter((p) => p.time > now - HISTORY_MS));
  } catch {
    // No history: the charts start now, as they would without one.
  }
}

async function poll(): Promise<void> {
  try {
    const response = await fetch(metricsPath, { cache: 'no-store', headers: { accept: 'text/plain; version=0.0.4' } });
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    const text = await response.text();
    const snapshot: Snapshot = { time: Date.now(), samples: parseExposition(text) };
    const previous = snapshots[snapshots.length - 1];
    snapshots.push(snapshot);
    // Keep only what the latency window needs; the page's memory stays flat however long it is open.
    while (snapshots.length > 2 && snapshots[1]!.time <= snapshot.time - LATENCY_WINDOW_MS) snapshots.shift();
    const windowStart = snapshots.length > 1 ? snapshots[0] : undefined;
    points.push(computePoint(snapshot, previous, windowStart));
    routes = windowStart === undefined ? [] : routeStats(windowStart, snapshot);
    methods = windowStart === undefined ? [] : methodStats(windowStart, snapshot);
    hosts = windowStart === undefined ? [] : hostStats(windowStart, snapshot);
    databases = windowStart === undefined ? [] : dbStats(windowStart, snapshot);
    while (points.length > 0 && points[0]!.time < snapshot.time - HISTORY_MS) points.shift();
    status = computeStatus(snapshot.samples);
    failure = undefined;
    lastSuccess = snapshot.time;
  } catch (error) {
    failure = error instanceof Error ? error.message : String(error);
  }
  render();
}

function render(): void {
  const now = Date.now();
  renderHeader(now);
  const first = points[0]?.time ?? now;
  // The time axis grows from 30 s to fifteen minutes as history builds up, so early data is not a sliver.
  const span = Math.min(HISTORY_MS, Math.max(MIN_SPAN_MS, now - first));
  const times = points.map((p) => p.time);
  const latest = points[points.length - 1];
  const samplesNow = snapshots[snapshots.length - 1]?.samples;
  const waitingForRequests = status !== undefined && status.totalRequests === 0;

  for (const card of CARDS) {
    const view = views.get(card.id)!;
    const process = latest === undefined ? undefined : card.process?.(latest);
    // In a cluster, per-process lines are one process's, never a sum: say whose.
    view.title.textContent =
      process === undefined || status === undefined ? card.title : `${card.title} · ${card.processRole} of ${status.processes} processes: ${processName(process)}`;
    const series: LineSeries[] = card.lines.map((line) => ({ className: line.className, values: points.map((p) => p[line.key]) }));
    drawLineChart(view.svg, series, { times, now, span, format: card.format, minMax: card.minMax, nice: card.nice });

    view.legend.replaceChildren(
      ...card.lines.map((line) => {
        const item = el('span', `key ${line.className}`);
        const value = latest?.[line.key];
        const label = line.cluster !== undefined && (status?.processes ?? 1) > 1 ? line.cluster : line.label;
        item.textContent = `${label} ${value === undefined ? '–' : card.format(value)}`;
        return item;
      }),
    );

    let message = '';
    if (samplesNow === undefined) message = failure === undefined ? 'Connecting…' : 'No data: /metrics is unreachable';
    else if (card.http && waitingForRequests) message = 'Waiting for the first request to the app…';
    else if (!samplesNow.has(card.needs)) message = `Not collected: ${card.needs} is not on ${shownPath}`;
    else if (!card.lines.some((line) => points.some((p) => p[line.key] !== undefined))) message = 'Collecting… (needs two scrapes)';
    view.message.textContent = message;
    view.card.classList.toggle('is-empty', message !== '');
    view.card.hidden = card.optional === true && samplesNow?.has(card.needs) !== true;
  }
  renderDisks();
  renderRoutes();
  renderHosts();
  renderDatabases();
}

function renderHeader(now: number): void {
  const banner = document.getElementById('banner')!;
  let text = '';
  let kind = '';
  if (failure !== undefined) {
    text = `Cannot read ${shownPath} (${failure}). Retrying every ${interval / 1000} s; the charts keep what they had.`;
    kind = 'error';
  } else if (status === undefined) {
    text = `Connecting to ${shownPath}…`;
  } else if (status.totalRequests === 0) {
    text =
      'No HTTP requests yet. Send a request to your app and the request charts fill in within a few seconds; CPU, memory and the event loop are already live. (Still empty after requests? Check that MON_METRICS includes "http".)';
    kind = 'info';
  }
  banner.textContent = text;
  banner.className = kind;
  banner.hidden = text === '';

  const service = document.getElementById('service')!;
  service.textContent = status?.service ?? 'mon';
  if (status?.service !== undefined) document.title = `${status.service} · mon live`;
  const facts: string[] = [];
  if (status?.pid !== undefined) facts.push(`pid ${status.pid}`);
  if (status?.runtimeVersion !== undefined) facts.push(`Node.js ${status.runtimeVersion}`);
  if (status !== undefined && status.processes > 1) facts.push(`${status.processes} processes`);
  if (status?.uptime !== undefined) facts.push(`up ${formatDuration(status.uptime)}${status.processes > 1 ? ' (primary)' : ''}`);
  if (status !== undefined) facts.push(`${formatCount(status.totalRequests)} requests`);
  if (status?.systemMemoryUsed !== undefined && status.systemMemoryTotal) {
    facts.push(`system memory ${formatPercent(status.systemMemoryUsed / status.systemMemoryTotal)} of ${formatBytes(status.systemMemoryTotal)}`);
  }
  const limits: string[] = [];
  if (status?.containerMemoryLimit !== undefined) limits.push(formatBytes(status.containerMemoryLimit));
  if (status?.containerCpuLimit !== undefined) limits.push(`${Number(status.containerCpuLimit.toFixed(2))} CPU`);
  if (limits.length > 0) facts.push(`container limit ${limits.join(', ')}`);
  document.getElementById('facts')!.textContent = facts.join(' · ');
  const live = document.getElementById('live')!;
  const fresh = lastSuccess > 0 && now - lastSuccess < interval * 3;
  live.textContent = fresh ? `live · every ${interval / 1000} s` : lastSuccess > 0 ? 'stale' : 'connecting';
  live.className = fresh ? 'ok' : 'stale';
}

function renderDisks(): void {
  const list = document.getElementById('disk-list')!;
  const disks = status?.disks ?? [];
  if (disks.length === 0) {
    const empty = el('p', 'disk-empty');
    empty.textContent = status === undefined ? 'Connecting…' : `Not collected: ${SERIES.filesystemUsage} is not on ${shownPath}`;
    list.replaceChildren(empty);
    return;
  }
  list.replaceChildren(
    ...disks.map((disk) => {
      const row = el('div', 'disk');
      const name = el('div', 'disk-name');
      name.textContent = disk.mountpoint;
      name.title = disk.device;
      const bar = el('div', 'bar');
      const fill = el('div', `fill${disk.utilization >= 0.9 ? ' high' : ''}`);
      // CSSOM, not a style attribute: allowed under the page's Content-Security-Policy.
      fill.style.width = `${(disk.utilization * 100).toFixed(1)}%`;
      bar.append(fill);
      const figures = el('div', 'disk-figures');
      figures.textContent = `${formatPercent(disk.utilization)} · ${formatBytes(disk.used)} of ${formatBytes(disk.used + disk.free)}`;
      row.append(name, bar, figures);
      return row;
    }),
  );
}

/** A wide card holding a table (routes, hosts), filled by renderTable. */
function tableCard(id: string, listId: string, title: string): HTMLElement {
  const card = el('section', 'card wide');
  card.id = id;
  const head = el('header');
  const heading = el('h2');
  heading.textContent = title;
  head.append(heading);
  const body = el('div', 'routes');
  body.id = listId;
  card.append(head, body);
  return card;
}

function renderRoutes(): void {
  const empty =
    status === undefined
      ? 'Connecting…'
      : status.totalRequests === 0
        ? 'Waiting for the first request to the app…'
        : `No requests in the last ${LATENCY_WINDOW_MS / 1000} s.`;
  renderTable(
    'route-list',
    ['route', 'requests'],
    // gRPC methods served sit beside the routes (they are not HTTP requests: docs/http2-grpc.md).
    [
      ...routes.map((r) => ({ name: r.route === '' ? '(no route: plain node:http, or not matched)' : r.route, none: r.route === '', ...r })),
      ...methods.map((m) => ({ name: `gRPC ${m.method}`, none: false, ...m })),
    ].sort((a, b) => b.rate - a.rate),
    empty,
  );
}

function renderHosts(): void {
  const samplesNow = snapshots[snapshots.length - 1]?.samples;
  const empty =
    status === undefined
      ? 'Connecting…'
      : samplesNow?.has(`${SERIES.clientDuration}_count`) !== true
        ? 'No outgoing HTTP calls yet (fetch, undici, http.request): they show here, per host, once the app makes one.'
        : `No outgoing calls in the last ${LATENCY_WINDOW_MS / 1000} s.`;
  renderTable(
    'host-list',
    ['host', 'calls'],
    hosts.map((h) => ({ name: h.host === '_OTHER' ? '(other hosts, past MON_MAX_CLIENT_HOSTS)' : h.host, none: h.host === '_OTHER', ...h })),
    empty,
  );
}

function renderDatabases(): void {
  const samplesNow = snapshots[snapshots.length - 1]?.samples;
  const empty =
    status === undefined
      ? 'Connecting…'
      : samplesNow?.has(`${SERIES.dbDuration}_count`) !== true
        ? 'No database calls yet (mysql2, ioredis, node-redis): they show here, per system and operation, once the app makes one.'
        : `No database calls in the last ${LATENCY_WINDOW_MS / 1000} s.`;
  renderTable(
    'db-list',
    ['operation', 'calls'],
    databases.map((d) => ({ name: d.operation, none: d.operation.endsWith(' _OTHER'), ...d })),
    empty,
  );
}

/** Rows of name, rate, p95 and error share, busiest first, the first MAX_ROUTES of them. */
function renderTable(
  listId: string,
  [nameLabel, rateLabel]: [string, string],
  rows: Array<{ name: string; none: boolean; rate: number; p95?: number; errorRatio: number }>,
  emptyText: string,
): void {
  const list = document.getElementById(listId)!;
  if (rows.length === 0) {
    const empty = el('p', 'routes-empty');
    empty.textContent = emptyText;
    list.replaceChildren(empty);
    return;
  }
  const table = el('table');
  const head = el('tr');
  for (const [label, numeric] of [[nameLabel, false], [rateLabel, true], ['p95', true], ['errors', true]] as const) {
    const th = el('th');
    th.textContent = label;
    if (numeric) th.className = 'num';
    head.append(th);
  }
  const thead = el('thead');
  thead.append(head);
  const tbody = el('tbody');
  for (const row of rows.slice(0, MAX_ROUTES)) {
    const tr = el('tr');
    const cells: Array<[string, string]> = [
      [row.name, row.none ? 'none' : ''],
      [formatRate(row.rate), 'num'],
      [row.p95 === undefined ? '–' : formatSeconds(row.p95), 'num'],
      [formatPercent(row.errorRatio), row.errorRatio > 0 ? 'num bad' : 'num'],
    ];
    for (const [text, className] of cells) {
      const td = el('td', className || undefined);
      td.textContent = text;
      tr.append(td);
    }
    tbody.append(tr);
  }
  table.append(thead, tbody);
  const more = rows.length > MAX_ROUTES ? el('p', 'routes-more') : undefined;
  if (more) more.textContent = `and ${rows.length - MAX_ROUTES} more`;
  list.replaceChildren(table, ...(more ? [more] : []));
}

/** A PROCESS_LABEL value as a person reads it. */
function processName(label: string): string {
  return label === PRIMARY_PROCESS ? 'the primary' : `worker ${label}`;
}

function el<K extends keyof HTMLElementTagNameMap>(tag: K, className?: string): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  if (className !== undefined) node.className = className;
  return node;
}

// One request at a time, the next one `interval` after the previous answer: a slow collection
// never piles up requests on the app. Paused while the tab is hidden: every poll runs the app's
// observable callbacks.
let timer: ReturnType<typeof setTimeout> | undefined;
let polling = false;
async function loop(): Promise<void> {
  timer = undefined;
  polling = true;
  await poll();
  polling = false;
  if (!document.hidden) timer = setTimeout(loop, interval);
}
document.addEventListener('visibilitychange', () => {
  if (!document.hidden && timer === undefined && !polling) void loop();
});
let resizing: ReturnType<typeof setTimeout> | undefined;
window.addEventListener('resize', () => {
  clearTimeout(resizing);
  resizing = setTimeout(render, 100);
});

build();
render();
void loadHistory().then(loop);
