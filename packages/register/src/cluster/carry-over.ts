// Under pm2, a restarted instance carries on from its predecessor's totals, so no counter of an instance ever goes backwards.
//
// pm2 restarts an instance that dies as a new process with the same pm_id and instance number, on
// the same metrics port (config.ts instancePort): to Prometheus the same series, which would
// otherwise fall to zero. So every instance keeps what it serves as totals (counters, histograms)
// in a small file, rewritten when they change: at each scrape, and between scrapes at most once a
// second (CARRY_INTERVAL_MS) with its HTTP metrics read afresh (pre-aggregated, cheap to read;
// the SDK's are read at scrapes only, as a cluster worker does, so that interval values keep
// covering the time between scrapes). Its successor adds them to its own, as a cluster primary
// adds a dead worker's. A death loses what changed since the last write: at most a second of the
// instance's HTTP traffic, and its other counters since the last scrape.
// `generation` (pm2's created_at for the app) tells a restart from a new app reusing the pm_id.
// fs.promises read where used, not imported: node:fs/promises loads Node's promise file API (and
// readline) at start-up in every process, and only pm2 instances carry totals over
// (test/startup.e2e.test.ts).
import fs from 'node:fs';
import path from 'node:path';
import { hrTime } from '@opentelemetry/core';
import type { CollectionResult, MetricCollectOptions, MetricProducer, ScopeMetrics } from '@opentelemetry/sdk-metrics';
import { MON_PM2_CARRY_OVER } from '@mon/warnings';
import { debug, describe, warn } from '../warn.js';
import { ClusterMerge } from './merge.js';
import { mergeRule } from './merge-rule.js';
import { decodeScopes, encodeScopes } from './wire.js';

/** How often the totals are written between scrapes, when they changed. */
export const CARRY_INTERVAL_MS = 1_000;
/**
 * How long a scrape waits for its totals to be on disk. A write (8-60 KB, temporary file and
 * rename, ext4) took 0.34-0.41 ms median, 0.25-0.30 ms of CPU, but 5-170 ms at p99 on a loaded
 * machine: past this bound the scrape is answered with the totals last on disk (never more than
 * the successor will start from), and the write finishes alone.
 */
const WRITE_WAIT_MS = 50;

interface CarryFile {
  generation: string;
  /** encodeScopes of the totals. */
  totals: string;
}

export interface CarryOverOptions {
  file: string;
  generation: string;
  /** The pre-aggregated producers (HTTP) that `inner` reads too: read alone between scrapes. */
  producers: MetricProducer[];
  intervalMillis?: number;
  /** WRITE_WAIT_MS (tests). */
  writeWaitMillis?: number;
}

/**
 * The largest file read or written, and the most points in it. A real app's totals are 8-60 KB;
 * the HTTP server's instruments at their caps (2000 series, 128-character routes that all need
 * escaping) measured 3.45 MB and 4009 points, and 160 native buckets a series and the client's
 * 1000 series would add about 2 MB more. The probe's hand-made 37 MB file of 200 000 series held
 * the app's start for seconds, then took it to 2.5 GB.
 */
export const MAX_CARRY_BYTES = 16 * 1024 * 1024;
export const MAX_CARRY_POINTS = 20_000;

const { O_RDONLY, O_WRONLY, O_CREAT, O_EXCL } = fs.constants;
// Not on Windows (0 there: no such flag to pass); pm2 instances run on POSIX systems in practice.
const O_NOFOLLOW = fs.constants.O_NOFOLLOW ?? 0;
const O_NONBLOCK = fs.constants.O_NONBLOCK ?? 0;

/**
 * Reads the predecessor's totals; undefined when there are none (a first start, another app, no
 * file) or when they cannot be trusted. Never throws. The file is input like any other: in a
 * directory someone else controls it is not read; a symlink, a FIFO or device, a file over
 * MAX_CARRY_BYTES or anything decodeScopes rejects is set aside (renamed `<file>.bad`) with one
 * warning, and the counters start from zero.
 */
export async function readCarried(file: string, generation: string): Promise<ScopeMetrics[] | undefined> {
  try {
    return await readChecked(file, generation);
  } catch (error) {
    // Unusable: set aside, so that the next start does not meet it again and the next write replaces it.
    const aside = `${file}.bad`;
    const setAside = await fs.promises.rename(file, aside).then(
      () => true,
      (renameError: unknown) => (debug('pm2: cannot set %s aside: %s', file, describe(renameError)), false),
    );
    warn(
      MON_PM2_CARRY_OVER,
      `the pm2 carry-over file ${file} is unusable (${describe(error)})${setAside ? `; it is set aside as ${aside}` : ''}, and this instance's counters start from zero. Nothing to do unless it happens again (then the file was edited, or another program writes there).`,
    );
    return undefined;
  }
}

async function readChecked(file: string, generation: string): Promise<ScopeMetrics[] | undefined> {
  // A directory another user can write to is neither read nor written (CarryOver warns when it writes).
  const unsafe = await directoryProblem(path.dirname(file), false);
  if (unsafe !== undefined) {
    debug('pm2: not reading %s: %s', file, unsafe);
    return undefined;
  }
  let handle: fs.promises.FileHandle;
  try {
    // O_NOFOLLOW: a symlink fails (ELOOP). O_NONBLOCK: opening a FIFO does not wait for a writer.
    handle = await fs.promises.open(file, O_RDONLY | O_NOFOLLOW | O_NONBLOCK);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    if ((error as NodeJS.ErrnoException).code === 'ELOOP') throw new Error('a symbolic link');
    throw error;
  }
  let text: string;
  try {
    const stat = await handle.stat();
    if (!stat.isFile()) throw new Error('not a regular file');
    if (stat.size > MAX_CARRY_BYTES) throw new Error(`${stat.size} bytes, over ${MAX_CARRY_BYTES}`);
    // One byte more than it said: a file that grew meanwhile is caught, never read unbounded.
    const buffer = Buffer.alloc(stat.size + 1);
    let length = 0;
    for (;;) {
      const { bytesRead } = await handle.read(buffer, length, buffer.length - length, length);
      if (bytesRead === 0) break;
      length += bytesRead;
      if (length > stat.size) throw new Error(`over ${stat.size} bytes`);
    }
    text = buffer.toString('utf8', 0, length);
  } finally {
    await handle.close().catch(() => {});
  }
  const carried = JSON.parse(text) as unknown;
  if (typeof carried !== 'object' || carried === null) throw new Error('not an object');
  const { generation: written, totals } = carried as Partial<Record<keyof CarryFile, unknown>>;
  if (typeof written !== 'string' || typeof totals !== 'string') throw new Error('no generation or totals');
  // Another app's totals (pm2 gave it this pm_id): not ours to add; the next write replaces them.
  if (written !== generation) return undefined;
  return decodeScopes(totals, hrTime(), { totalsOnly: true, maxPoints: MAX_CARRY_POINTS });
}

/**
 * Why `dir` cannot hold the totals: not a directory (a symlink included), another user's, or
 * writable by others (anyone could plant files or read the totals). `create`: made 0700 if missing,
 * and an older mon's 0755 narrowed to 0700. Undefined when it is fine or (without `create`) missing.
 */
async function directoryProblem(dir: string, create: boolean): Promise<string | undefined> {
  if (create) await fs.promises.mkdir(dir, { recursive: true, mode: 0o700 });
  let stat: fs.Stats;
  try {
    stat = await fs.promises.lstat(dir);
  } catch (error) {
    if (!create && (error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  if (!stat.isDirectory()) return `${dir} is not a directory`;
  const uid = process.getuid?.();
  if (uid !== undefined && stat.uid !== uid) return `${dir} belongs to another user (uid ${stat.uid})`;
  if ((stat.mode & 0o022) !== 0) return `${dir} is writable by other users`;
  if (create && (stat.mode & 0o077) !== 0) await fs.promises.chmod(dir, 0o700);
  return undefined;
}

/** The producer behind a pm2 instance's /metrics: `inner` plus the predecessor's totals, written on for the successor. */
export class CarryOver implements MetricProducer {
  readonly #inner: MetricProducer;
  readonly #options: CarryOverOptions;
  readonly #merge = new ClusterMerge();
  readonly #carried: boolean;
  #written: string | undefined;
  /** The totals on disk (those of `#written`): a scrape whose own write is late shows these. */
  #onDisk: ScopeMetrics[] | undefined;
  /**
   * Snapshots are numbered when their collection starts, and one older than what is on disk is
   * never written: a refresh that read its producers before a scrape must not overwrite what the
   * scrape served with less.
   */
  #taken = 0;
  #queuedSeq = 0;
  #writtenSeq = 0;
  /** Scrapes in progress: no refresh starts meanwhile, so a refresh's SDK part is never older than a scrape it follows. */
  #scraping = 0;
  /** Writes one after the other. */
  #writes: Promise<void> = Promise.resolve();
  #madeDirectory = false;
  /** The last scrape's scopes (carried totals added), for the SDK's totals between scrapes. */
  #scraped: ScopeMetrics[] | undefined;
  #failed = false;

  constructor(inner: MetricProducer, carried: ScopeMetrics[] | undefined, options: CarryOverOptions) {
    this.#inner = inner;
    this.#options = options;
    this.#carried = carried !== undefined;
    if (carried !== undefined) this.#merge.retire(carried);
    this.#onDisk = carried;
  }

  /** Writes the totals on a timer (unref'd); returns the function that stops it. */
  start(): () => void {
    const timer = setInterval(() => void this.#refresh(), this.#options.intervalMillis ?? CARRY_INTERVAL_MS);
    timer.unref();
    return () => clearInterval(timer);
  }

  async collect(options?: MetricCollectOptions): Promise<CollectionResult> {
    this.#scraping++;
    try {
      return await this.#scrape(options);
    } finally {
      this.#scraping--;
    }
  }

  async #scrape(options?: MetricCollectOptions): Promise<CollectionResult> {
    const seq = ++this.#taken;
    const result = this.#add(await this.#inner.collect(options));
    this.#scraped = result.resourceMetrics.scopeMetrics;
    // Written before it is served: whatever a scraper has seen, the successor starts from, so a
    // counter never goes backwards. A write slower than WRITE_WAIT_MS: the totals on disk instead
    // (older, never more than the successor's start; none at all before a first write).
    let waited: NodeJS.Timeout | undefined;
    const wait = this.#options.writeWaitMillis ?? WRITE_WAIT_MS;
    await Promise.race([this.#save(this.#scraped, seq), new Promise((resolve) => (waited = setTimeout(resolve, wait)))]);
    clearTimeout(waited);
    if (this.#failed || this.#writtenSeq >= seq) return result;
    debug('pm2: totals not on disk within %d ms; this scrape shows the last ones written', wait);
    return { resourceMetrics: { ...result.resourceMetrics, scopeMetrics: [...withoutTotals(this.#scraped), ...(this.#onDisk ?? [])] }, errors: result.errors };
  }

  /** Between scrapes: the producers read afresh, the rest as the last scrape saw it. */
  async #refresh(): Promise<void> {
    if (this.#scraping > 0) return;
    const seq = ++this.#taken;
    try {
      const results = await Promise.all(this.#options.producers.map((p) => p.collect()));
      const fresh = results.flatMap((r) => r.resourceMetrics.scopeMetrics);
      const produced = new Set(fresh.map((s) => s.scope.name));
      // With the carried totals added: all of them, the SDK's included, until a first scrape.
      const added = this.#add({ resourceMetrics: { resource: undefined as never, scopeMetrics: fresh }, errors: [] }).resourceMetrics.scopeMetrics;
      const scopes =
        this.#scraped === undefined
          ? added
          : [...this.#scraped.filter((s) => !produced.has(s.scope.name)), ...added.filter((s) => produced.has(s.scope.name))];
      await this.#save(scopes, seq);
    } catch (error) {
      debug('pm2: collecting totals failed: %s', describe(error));
    }
  }

  #add(result: CollectionResult): CollectionResult {
    // Nothing carried: the collection as it is (its per-process series stay unlabelled either way).
    if (!this.#carried) return result;
    const scopeMetrics = this.#merge.merge([{ label: undefined, scopes: result.resourceMetrics.scopeMetrics }], hrTime());
    return { resourceMetrics: { ...result.resourceMetrics, scopeMetrics }, errors: result.errors };
  }

  /** Writes the totals if they changed: to a temporary file, then renamed, so a reader never sees half. */
  #save(scopes: ScopeMetrics[], seq: number): Promise<void> {
    const totalScopes = scopes.map(({ scope, metrics }) => ({ scope, metrics: metrics.filter((m) => mergeRule(scope, m) === 'total') }));
    const totals = encodeScopes(totalScopes);
    this.#queuedSeq = Math.max(this.#queuedSeq, seq);
    this.#writes = this.#writes.then(() => this.#write(totals, totalScopes, seq));
    return this.#writes;
  }

  async #write(totals: string, totalScopes: ScopeMetrics[], seq: number): Promise<void> {
    // Snapshots queue up while the disk is slow: only the newest one is worth writing.
    if (this.#failed || seq <= this.#writtenSeq || seq < this.#queuedSeq) return;
    if (totals === this.#written) {
      this.#writtenSeq = seq;
      return;
    }
    const { file, generation } = this.#options;
    let temporary: string | undefined;
    try {
      if (!this.#madeDirectory) {
        const problem = await directoryProblem(path.dirname(file), true);
        if (problem !== undefined) throw new Error(problem);
      }
      this.#madeDirectory = true;
      const text = JSON.stringify({ generation, totals } satisfies CarryFile);
      if (Buffer.byteLength(text) > MAX_CARRY_BYTES || pointsIn(totalScopes) > MAX_CARRY_POINTS) {
        // Its successor would refuse it: no file at all rather than older totals.
        await fs.promises.rm(file, { force: true });
        throw new Error(`more than ${MAX_CARRY_POINTS} series or ${MAX_CARRY_BYTES} bytes of totals`);
      }
      // An unpredictable name, created only if nothing is there (a planted symlink included), 0600:
      // nobody else can have it written elsewhere, or read it.
      temporary = `${file}.${(await randomName())}.tmp`;
      const handle = await fs.promises.open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0o600);
      try {
        await handle.writeFile(text);
      } finally {
        await handle.close();
      }
      await fs.promises.rename(temporary, file);
      temporary = undefined;
      this.#written = totals;
      this.#onDisk = totalScopes;
      this.#writtenSeq = seq;
    } catch (error) {
      this.#failed = true;
      if (temporary !== undefined) await fs.promises.rm(temporary, { force: true }).catch(() => {});
      warn(
        MON_PM2_CARRY_OVER,
        `cannot keep this pm2 instance's totals in ${file} (${describe(error)}); its counters start from zero when pm2 restarts it. Make the directory yours, private (chmod 700) and writable, or set PM2_HOME.`,
      );
    }
  }
}

const pointsIn = (scopes: ScopeMetrics[]): number => scopes.reduce((n, s) => n + s.metrics.reduce((m, metric) => m + metric.dataPoints.length, 0), 0);

/** 16 random hex digits. node:crypto loaded on the first write: only pm2 instances write. */
async function randomName(): Promise<string> {
  const { randomBytes } = await import('node:crypto');
  return randomBytes(8).toString('hex');
}

/** The scopes without their totals (counters, histograms): what stays fresh in a late scrape. */
function withoutTotals(scopes: ScopeMetrics[]): ScopeMetrics[] {
  return scopes
    .map(({ scope, metrics }) => ({ scope, metrics: metrics.filter((m) => mergeRule(scope, m) !== 'total') }))
    .filter(({ metrics }) => metrics.length > 0);
}
