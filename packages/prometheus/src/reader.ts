// PrometheusReader: a pull MetricReader with its own small HTTP server. It runs inside other
// people's processes, so the server never keeps the app alive, never throws on a busy port, and
// never lets a slow client hold a connection.
import http from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { debuglog } from 'node:util';
import {
  AggregationTemporality,
  MetricReader,
  type CollectionResult,
  type MetricProducer,
} from '@opentelemetry/sdk-metrics';
import { MON_CALLBACK_FAILED, MON_METRIC_DROPPED, MON_METRICS_PORT, processWarning, type Warn, type WarningCode } from '@mon/warnings';
import { createHostCheck } from './allowed-host.js';
import { contentType, negotiate, type ScrapeFormat } from './negotiate.js';
import { serializeProtobufChunks } from './serialize-protobuf.js';
import { serializeChunks, type SerializeOptions } from './serialize.js';
import { sharedRendering, type SharedRendering } from './shared-rendering.js';
import { TELEMETRY_SERVER } from './telemetry-server.js';

export interface PrometheusReaderOptions {
  /**
   * Interface to listen on. Default: all interfaces (Node's default, `::` with IPv4 mapped, else
   * `0.0.0.0`), as the OpenTelemetry Prometheus exporter does: the scraper usually runs elsewhere.
   * Bound to a loopback address (whatever name resolved to it), the server answers only requests
   * whose Host names a loopback address, `localhost`, the bound address or this name (421
   * otherwise): see allowed-host.ts (DNS rebinding).
   */
  host?: string;
  /** Default 9464, the port registered for the OpenTelemetry Prometheus exporter; 0 picks a free one. */
  port?: number;
  /** Path that answers scrapes. Default `/metrics`. */
  endpoint?: string;
  /** Add `otel_scope_name` / `otel_scope_version` labels. Default false. */
  withScopeLabels?: boolean;
  /** Emit `target_info` with the resource attributes. Default true. */
  withTargetInfo?: boolean;
  /** Extra sources of pre-aggregated metrics, collected with the SDK's own. */
  metricProducers?: MetricProducer[];
  /**
   * Called once if the server cannot listen (EADDRINUSE, EACCES, bad host or port). Default: one
   * MON_METRICS_PORT warning through `warn`, naming the port, the cause and the fix. Nothing is thrown.
   */
  onServerError?: (error: NodeJS.ErrnoException) => void;
  /**
   * Offered every request for a path other than `endpoint`, on the same server (same bind
   * address, timeouts and unref). Returns true when it has answered (or will answer) the request;
   * false leaves the usual 404. A throw answers 500. Example: `createLivePage()` from `@mon/live`.
   */
  fallback?: RequestHandler;
  /**
   * Require credentials on every path of the server: a bearer token, or a user and password for
   * basic auth. Checked in constant time, the scheme in any case (RFC 7235); anything else gets
   * 401 with `WWW-Authenticate`.
   */
  auth?: { bearer: string } | { username: string; password: string };
  /**
   * How the reader reports what a user should know (a metric left out, a metric callback that
   * failed, a port it cannot listen on): once per cause, with a code from @mon/warnings. Default: a
   * `MonWarning` process warning. @mon/register passes its own (one line on stderr).
   */
  warn?: Warn;
  /**
   * Wraps the collection of a scrape of `endpoint?peek=1` (a live view that polls often): given the
   * collect call, runs it so that window figures cover a short recent window instead of the
   * scrapers' long one, e.g. `(collect) => hostMetrics.peek(collect)` from `@mon/host` (the last
   * 5-10 s instead of 60-65 s). Without it, peek scrapes are ordinary scrapes.
   */
  peek?: Peek;
}

// The type of `Peek` in @mon/host, declared here rather than imported: @mon/prometheus does not
// depend on @mon/host, and a type-only import would still name '@mon/host' in the published
// reader.d.ts, so every TypeScript user of this package would need @mon/host installed (or
// skipLibCheck) for an option they may never use. Function types are structural: a host's
// `peek` is accepted as it is, and @mon/register, which passes one to the other, type-checks
// that they still agree.
type Peek = <T>(collect: () => T) => T;

/** Answers a request it owns and returns true, or returns false without touching `res`. */
export type RequestHandler = (req: http.IncomingMessage, res: http.ServerResponse) => boolean;

export interface CollectedText {
  contentType: string;
  body: string;
}

const debug = debuglog('mon');
const DEFAULT_PORT = 9464;
// Observable callbacks that hang must not hang scrapes; Prometheus gives up after 10 s by default.
const COLLECT_TIMEOUT_MS = 5_000;
const PEEK_QUERY = /(?:^|&)peek=1(?:&|$)/;
// Pacing of collections (a scrape flood must not take the app's event loop): after a collection
// that cost t ms (CPU), the next starts no sooner than PAUSE_PER_COST * t ms later, so collecting takes
// at most 1 / (1 + PAUSE_PER_COST) of the loop, whatever the rate of scrapes; scrapes that arrive
// meanwhile wait and share the next one, which starts after they arrived (fresh values, never a
// cached answer). MAX_PAUSE_MS bounds the wait when t is mostly waiting (a cluster primary asking
// its workers), well inside Prometheus's 10 s scrape timeout.
const PAUSE_PER_COST = 9;
const MAX_PAUSE_MS = 1_000;

export class PrometheusReader extends MetricReader {
  /** Resolves once the server listens; rejects (after `onServerError`) if it cannot. */
  readonly ready: Promise<void>;
  readonly #server: http.Server;
  readonly #endpoint: string;
  readonly #fallback: RequestHandler | undefined;
  readonly #peek: Peek | undefined;
  readonly #serializeOptions: SerializeOptions;
  readonly #warned = new Set<string>();
  readonly #warn: Warn;
  /** sha256 of the one Authorization header accepted, and the challenge sent otherwise. */
  readonly #auth: { digest: Buffer; challenge: string } | undefined;
  /** Set once listening, from the address bound (allowed-host.ts); no request comes before. */
  #hostAllowed: ((host: string | undefined) => boolean) | undefined;
  #collecting: Promise<CollectionResult> | undefined;
  #peeking: Promise<CollectionResult> | undefined;
  /** performance.now() before which no collection starts (see PAUSE_PER_COST). */
  #notBefore = 0;
  /** Each shared collection's text, per format: rendered once for all the scrapes sharing it. */
  readonly #renderings = new WeakMap<object, Map<string, SharedRendering>>();

  constructor(options: PrometheusReaderOptions = {}) {
    super({
      // Prometheus expects cumulative counters and histograms whatever the instrument.
      aggregationTemporalitySelector: () => AggregationTemporality.CUMULATIVE,
      metricProducers: options.metricProducers,
    });
    this.#endpoint = options.endpoint ?? '/metrics';
    this.#fallback = options.fallback;
    this.#peek = options.peek;
    this.#warn = options.warn ?? processWarning;
    if (options.auth !== undefined) {
      const expected =
        'bearer' in options.auth
          ? `bearer ${options.auth.bearer}`
          : `basic ${Buffer.from(`${options.auth.username}:${options.auth.password}`).toString('base64')}`;
      this.#auth = {
        digest: sha256(expected),
        challenge: 'bearer' in options.auth ? 'Bearer realm="metrics"' : 'Basic realm="metrics", charset="UTF-8"',
      };
    }
    this.#serializeOptions = {
      withScopeLabels: options.withScopeLabels === true,
      withTargetInfo: options.withTargetInfo !== false,
      onDrop: (name, reason) => this.#warnDropped(name, reason),
    };

    const server = http.createServer(
      {
        // A client that trickles its request is cut off after a few seconds, checked every second.
        headersTimeout: 5_000,
        requestTimeout: 10_000,
        connectionsCheckingInterval: 1_000,
        keepAliveTimeout: 5_000,
      },
      (req, res) => this.#handle(req, res),
    );
    // A client that stops reading its response is dropped after 30 s of silence.
    server.setTimeout(30_000);
    // A client may half-close once its request is sent (`curl` over some proxies, raw sockets). By
    // default Node then ends the connection at once, which cut a body written a chunk per turn short;
    // with this (an http.Server field Node reads in its 'end' handler) the response completes first
    // and the connection ends after it.
    (server as http.Server & { httpAllowHalfOpen: boolean }).httpAllowHalfOpen = true;
    Object.defineProperty(server, TELEMETRY_SERVER, { value: true });
    // unref the server and every connection: a metrics endpoint must never keep the app alive,
    // not even while Prometheus holds a keep-alive connection open between scrapes.
    server.on('connection', (socket) => socket.unref());
    this.#server = server;

    const port = options.port ?? DEFAULT_PORT;
    const host = options.host;
    const onServerError = options.onServerError ?? ((error) => this.#once(MON_METRICS_PORT, serverErrorMessage(error, host, port)));
    this.ready = new Promise<void>((resolve, reject) => {
      let settled = false;
      server.on('error', (error: NodeJS.ErrnoException) => {
        if (settled) {
          debug('prometheus: server error: %s', error.message);
          return;
        }
        settled = true;
        reject(error);
        report(onServerError, error);
      });
      server.on('listening', () => {
        settled = true;
        this.#hostAllowed = createHostCheck(this.address()?.address, host);
        resolve();
      });
      try {
        // exclusive: in a cluster worker a shared port would hand each scrape to a random worker,
        // mixing their counters; each process binds its own port, a busy one is reported.
        server.listen({ port, host, exclusive: true });
      } catch (error) {
        // A malformed port throws synchronously (ERR_SOCKET_BAD_PORT); route it the same way.
        settled = true;
        reject(error);
        report(onServerError, error as NodeJS.ErrnoException);
      }
    });
    // Whoever awaits `ready` sees the failure; nobody awaiting it must not crash the app.
    this.ready.catch(() => {});
    server.unref();
  }

  /** The bound address (the actual port when `port: 0`), or undefined when not listening. */
  address(): AddressInfo | undefined {
    const address = this.#server.address();
    return address !== null && typeof address === 'object' ? address : undefined;
  }

  /**
   * Collects and renders the exposition for an `Accept` header, for serving from the app's own
   * server. Callback errors leave their metrics out but do not fail the scrape. `peek: true`
   * collects as a scrape of `endpoint?peek=1` does (see the `peek` option).
   */
  async collectText(accept?: string, options: { peek?: boolean } = {}): Promise<CollectedText> {
    // Text only: a client preferring protobuf gets text 0.0.4, which every scraper also reads.
    const format = negotiate(accept);
    const { contentType, chunks } = await this.#collectChunks(format === 'protobuf' ? 'text' : format, options.peek === true);
    let body = '';
    for (const chunk of chunks) body += chunk.toString();
    return { contentType, body };
  }

  /**
   * As collectText, the text in pieces of about 64 KiB (whole lines), each rendered when it is
   * taken: a large exposition never exists as one string (the live page's history reads it so).
   */
  async collectTextChunks(accept?: string, options: { peek?: boolean } = {}): Promise<{ contentType: string; chunks: Iterable<string> }> {
    const format = negotiate(accept);
    const { contentType, chunks } = await this.#collectChunks(format === 'protobuf' ? 'text' : format, options.peek === true);
    return { contentType, chunks: (function* () { for (const chunk of chunks) yield chunk.toString(); })() };
  }

  async #collectChunks(format: ScrapeFormat, peek: boolean): Promise<{ contentType: string; chunks: Generator<Buffer, void> }> {
    const collection = await this.#collectShared(peek);
    const { resourceMetrics, errors } = collection;
    if (errors.length > 0) {
      debug('prometheus: %d collection error(s): %o', errors.length, errors);
      for (const error of errors) {
        const what = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
        this.#once(MON_CALLBACK_FAILED, `a metric callback failed (${what}); its metrics are left out, the rest is served.`);
      }
    }
    const rendering = sharedRendering(this.#renderings, collection, format, () =>
      this.#timed(
        format === 'protobuf'
          ? serializeProtobufChunks(resourceMetrics, this.#serializeOptions)
          : serializeChunks(resourceMetrics, { ...this.#serializeOptions, format }),
      ),
    );
    return { contentType: contentType(format), chunks: rendering.read() };
  }

  protected override async onShutdown(): Promise<void> {
    await this.ready.catch(() => {});
    if (!this.#server.listening) return;
    await new Promise<void>((resolve) => {
      this.#server.close(() => resolve());
      // close() alone waits for keep-alive connections to go idle and time out.
      this.#server.closeAllConnections();
    });
  }

  protected override async onForceFlush(): Promise<void> {
    // Pull reader: there is nothing to push.
  }

  // Scrapes that arrive while a collection runs share it, so a burst of scrapers (or a retry storm)
  // runs the observable callbacks once; peeks share theirs the same way. A peek never shares with a
  // scrape (one would decide for the other whether a new interval starts), and the two never
  // overlap: sdk-metrics empties an instrument's storage for whichever collection gets there first,
  // so with a slow (async) callback in between their values would mix. Each waits for the other.
  // Both kinds are paced together (PAUSE_PER_COST), and rendered once per format (#renderings).
  #collectShared(peek: boolean): Promise<CollectionResult> {
    const collect = () => this.collect({ timeoutMillis: COLLECT_TIMEOUT_MS });
    const peekWith = this.#peek;
    if (peek && peekWith !== undefined) {
      this.#peeking ??= after(this.#collecting, () => this.#paced(() => peekWith(collect))).finally(() => {
        this.#peeking = undefined;
      });
      return this.#peeking;
    }
    this.#collecting ??= after(this.#peeking, () => this.#paced(collect)).finally(() => {
      this.#collecting = undefined;
    });
    return this.#collecting;
  }

  /** Runs `collect` once the pause after the previous collection is over, and sets the next pause. */
  async #paced(collect: () => Promise<CollectionResult>): Promise<CollectionResult> {
    const wait = this.#notBefore - performance.now();
    // unref: a scrape waiting for its turn must not keep the app alive.
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait).unref());
    // The cost is the CPU time the process spent meanwhile, not the wall time: a cluster primary
    // mostly waits for its workers (up to a second for a hung one), which costs the loop nothing.
    // CPU time counts the app's own work in between too, and other threads: a longer pause, never
    // a shorter one. The wall time bounds it.
    const started = performance.now();
    const cpu = process.cpuUsage();
    try {
      return await collect();
    } finally {
      const used = process.cpuUsage(cpu);
      this.#charge(Math.min(performance.now() - started, (used.user + used.system) / 1000));
    }
  }

  /** Pushes the next collection back by PAUSE_PER_COST times `ms` spent collecting or rendering. */
  #charge(ms: number): void {
    const now = performance.now();
    this.#notBefore = Math.min(Math.max(this.#notBefore, now) + ms * PAUSE_PER_COST, now + MAX_PAUSE_MS);
  }

  /** `chunks`, with the time spent rendering each charged to the pacing like collection time. */
  *#timed(chunks: Generator<string | Buffer, void>): Generator<string | Buffer, void> {
    for (;;) {
      const started = performance.now();
      const next = chunks.next();
      this.#charge(performance.now() - started);
      if (next.done === true) return;
      yield next.value;
    }
  }

  #handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    try {
      const url = req.url ?? '/';
      const query = url.indexOf('?');
      const path = query === -1 ? url : url.slice(0, query);
      // Every response, the live page's included: browsers must take the declared type as is.
      res.setHeader('X-Content-Type-Options', 'nosniff');
      if (this.#hostAllowed !== undefined && !this.#hostAllowed(req.headers.host)) {
        // Before auth: a rebinding page must learn nothing, not even whether credentials are needed.
        reply(res, 421, 'Misdirected Request: this server answers to localhost only\n');
      } else if (this.#auth !== undefined && !this.#authorized(req.headers.authorization)) {
        reply(res, 401, 'Unauthorized\n', { 'WWW-Authenticate': this.#auth.challenge });
      } else if (path !== this.#endpoint) {
        if (this.#fallback === undefined || !this.#fallback(req, res)) reply(res, 404, 'Not Found\n');
      } else if (req.method === 'GET') {
        const peek = query !== -1 && PEEK_QUERY.test(url.slice(query + 1));
        this.#collectChunks(negotiate(req.headers.accept), peek).then(
          ({ contentType, chunks }) => sendExposition(res, contentType, chunks),
          (error: unknown) => {
            debug('prometheus: collection failed: %o', error);
            reply(res, 500, 'Metrics collection failed\n');
          },
        );
      } else if (req.method === 'HEAD') {
        // A probe: answer with the headers a GET would have, without running a collection.
        res.writeHead(200, { 'Content-Type': contentType(negotiate(req.headers.accept)) });
        res.end();
      } else {
        reply(res, 405, 'Method Not Allowed\n', { Allow: 'GET, HEAD' });
      }
    } catch (error) {
      // The handler runs from an event: a throw here would be an uncaught exception in the app.
      debug('prometheus: request failed: %o', error);
      if (!res.headersSent) reply(res, 500, 'Internal Server Error\n');
    }
  }

  // Hashing both sides makes the comparison constant-time whatever the lengths. The scheme is
  // case-insensitive (RFC 7235: `bearer x` is `Bearer x`); the credentials are compared as sent.
  #authorized(header: string | undefined): boolean {
    if (header === undefined) return false;
    const space = header.indexOf(' ');
    const normalized = space === -1 ? header : `${header.slice(0, space).toLowerCase()}${header.slice(space)}`;
    return crypto().timingSafeEqual(sha256(normalized), this.#auth!.digest);
  }

  #warnDropped(name: string, reason: string): void {
    this.#once(MON_METRIC_DROPPED, `${this.#endpoint} leaves out ${name}: ${reason}.`);
  }

  // Once per message: the same cause repeats on every scrape. Bounded, like everything kept per cause.
  #once(code: WarningCode, message: string): void {
    if (this.#warned.has(message) || this.#warned.size >= 1000) return;
    this.#warned.add(message);
    try {
      this.#warn(code, message);
    } catch (error) {
      debug('prometheus: warn threw: %o', error);
    }
  }
}

/**
 * Renders and writes the body one chunk per event-loop turn (or per 'drain' when the client reads
 * slowly), so a large exposition never holds the app for long: at 10 000 series, rendering and
 * writing the whole text at once held the event loop 6 ms (median) to 13 ms (longest), most of it
 * flattening and writing 1.35 MB in one go. A body of one chunk goes out with a Content-Length, a
 * longer one chunked. The next chunk is rendered before the current one is written, to know which
 * is the last.
 */
function sendExposition(res: http.ServerResponse, contentType: string, chunks: Generator<Buffer, void>): void {
  let current: Buffer;
  let following: IteratorResult<Buffer, void>;
  try {
    current = chunks.next().value ?? Buffer.alloc(0);
    following = chunks.next();
  } catch (error) {
    debug('prometheus: rendering failed: %o', error);
    reply(res, 500, 'Metrics collection failed\n');
    return;
  }
  // Headers are stored, not written: end() of a lone chunk can then add its Content-Length.
  res.statusCode = 200;
  res.setHeader('Content-Type', contentType);
  const writeNext = (): void => {
    if (res.destroyed) {
      chunks.return();
      return;
    }
    if (following.done === true) {
      res.end(current);
      return;
    }
    const written = res.write(current);
    current = following.value;
    try {
      following = chunks.next();
    } catch (error) {
      // Headers are out: all that is left is to cut the response short, which a scraper reports.
      debug('prometheus: rendering failed: %o', error);
      res.destroy();
      return;
    }
    // 'drain' comes from a nextTick when the socket took the bytes at once: writing again from
    // there would put the whole body back into one event-loop turn.
    if (written) setImmediate(writeNext);
    else res.once('drain', afterDrain);
  };
  const afterDrain = (): void => {
    setImmediate(writeNext);
  };
  writeNext();
}

/** `next()` once `previous` (if any) has settled, whichever way. */
function after<T>(previous: Promise<unknown> | undefined, next: () => Promise<T>): Promise<T> {
  return previous === undefined ? next() : previous.then(next, next);
}

// node:crypto only where auth is configured: loading it costs ~5 ms of start-up (Node 24) in every
// process that loads the preload.
let cryptoModule: typeof import('node:crypto') | undefined;
const crypto = (): typeof import('node:crypto') => (cryptoModule ??= createRequire(import.meta.url)('node:crypto'));

function sha256(text: string): Buffer {
  return crypto().createHash('sha256').update(text).digest();
}

function reply(res: http.ServerResponse, status: number, body: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, { ...headers, 'Content-Type': 'text/plain; charset=utf-8' });
  res.end(body);
}

function report(onServerError: (error: NodeJS.ErrnoException) => void, error: NodeJS.ErrnoException): void {
  try {
    onServerError(error);
  } catch (thrown) {
    debug('prometheus: onServerError threw: %o', thrown);
  }
}

// The cause and the fix for the listen errors a user can act on; others name both variables. One
// code for all of them, MON_METRICS_PORT, as under the preload: the same failure, however mon runs.
const LISTEN_ERRORS: Record<string, { cause: string; fix: string }> = {
  EADDRINUSE: { cause: 'the port is in use', fix: 'set OTEL_EXPORTER_PROMETHEUS_PORT to a free port' },
  EACCES: { cause: 'permission denied', fix: 'set OTEL_EXPORTER_PROMETHEUS_PORT to a port above 1023' },
  ERR_SOCKET_BAD_PORT: { cause: 'not a port', fix: 'set OTEL_EXPORTER_PROMETHEUS_PORT to 1-65535' },
  EADDRNOTAVAIL: { cause: 'not an address of this machine', fix: 'set OTEL_EXPORTER_PROMETHEUS_HOST to one' },
  ENOTFOUND: { cause: 'unknown host', fix: 'set OTEL_EXPORTER_PROMETHEUS_HOST to an address of this machine' },
};

function serverErrorMessage(error: NodeJS.ErrnoException, host: string | undefined, port: number): string {
  const where = host === undefined ? `port ${port}` : `${host}:${port}`;
  const known = error.code === undefined ? undefined : LISTEN_ERRORS[error.code];
  const cause = known?.cause ?? error.message;
  const fix = known?.fix ?? 'check OTEL_EXPORTER_PROMETHEUS_HOST and OTEL_EXPORTER_PROMETHEUS_PORT';
  // No `mon: ` lead of its own: the sink adds what its output needs, as for the reader's other warnings.
  return `cannot serve Prometheus metrics on ${where} (${cause}); ${fix}. The app runs on without /metrics.`;
}
