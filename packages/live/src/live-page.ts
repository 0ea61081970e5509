// The request handler behind the live page: `GET /` and the page's own scripts under /live/.
// It answers only those paths and returns false for every other, so it can sit behind the
// Prometheus reader's server (`new PrometheusReader({ fallback: createLivePage() })`) and share
// its bind address, timeouts and unref'd sockets. It reads no files (the scripts are embedded
// strings, see bundle.mjs), so it works bundled into the preload; the page and its headers are
// built at the first request, so a process that never opens the page pays nothing more.
import { createRequire } from 'node:module';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { ASSET_SOURCES } from './assets.js';
import type { LiveHistory } from './history.js';
import { renderPage, STYLE } from './page.js';

export interface LivePageOptions {
  /** Where the page fetches the exposition from, on the same origin. Default `/metrics`. */
  metricsPath?: string;
  /** How often the page polls, in ms. Default 2000; at least 500. */
  intervalMs?: number;
  /**
   * The recent past the page shows on opening (`createLiveHistory`), served as JSON on
   * HISTORY_PATH. Without it, the page's charts start when it is opened.
   */
  history?: LiveHistory;
}

/** Answers a request it owns and returns true, or returns false without touching `res`. */
export type LivePageHandler = (req: IncomingMessage, res: ServerResponse) => boolean;

/** The page's scripts are served under this path; the page itself on `/`. */
export const ASSET_PREFIX = '/live/';
/** The file names served under ASSET_PREFIX: the compiled browser modules of src/client. */
export const ASSETS: readonly string[] = Object.keys(ASSET_SOURCES);
/** Where the page fetches the history from, once, when it opens. */
export const HISTORY_PATH = `${ASSET_PREFIX}history`;

interface Files {
  page: Buffer;
  assets: Map<string, Buffer>;
  headers: Record<string, string>;
}

export function createLivePage(options: LivePageOptions = {}): LivePageHandler {
  const metricsPath = options.metricsPath ?? '/metrics';
  const intervalMs = Math.max(500, options.intervalMs ?? 2000);
  const history = options.history;
  let files: Files | undefined;

  const load = (): Files => ({
    page: Buffer.from(renderPage({ metricsPath, intervalMs, assetPrefix: ASSET_PREFIX, historyPath: history === undefined ? undefined : HISTORY_PATH })),
    assets: new Map(Object.entries(ASSET_SOURCES).map(([name, source]) => [name, Buffer.from(source)])),
    headers: securityHeaders(),
  });

  return (req, res) => {
    const url = req.url ?? '/';
    const query = url.indexOf('?');
    const path = query === -1 ? url : url.slice(0, query);
    const isPage = path === '/';
    const isHistory = history !== undefined && path === HISTORY_PATH;
    const asset = path.startsWith(ASSET_PREFIX) ? path.slice(ASSET_PREFIX.length) : undefined;
    if (!isPage && !isHistory && (asset === undefined || !Object.hasOwn(ASSET_SOURCES, asset))) return false;

    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { Allow: 'GET, HEAD', 'Content-Type': 'text/plain; charset=utf-8' });
      res.end('Method Not Allowed\n');
      return true;
    }
    files ??= load();
    // Someone looks: the history samples finely while the page may be open (history.ts).
    if (isPage || isHistory) history?.watched();
    if (isHistory) {
      const body = Buffer.from(JSON.stringify({ points: history.points() }));
      res.writeHead(200, { ...files.headers, 'Content-Type': 'application/json', 'Content-Length': body.length, 'Cache-Control': 'no-store' });
      res.end(req.method === 'HEAD' ? undefined : body);
      return true;
    }
    const body = isPage ? files.page : files.assets.get(asset!)!;
    res.writeHead(200, {
      ...files.headers,
      'Content-Type': isPage ? 'text/html; charset=utf-8' : 'text/javascript; charset=utf-8',
      'Content-Length': body.length,
      // The page is a few KB and changes with the installed version: always revalidate.
      'Cache-Control': 'no-cache',
    });
    res.end(req.method === 'HEAD' ? undefined : body);
    return true;
  };
}

// The page loads only its own scripts, talks only to its own origin, and cannot be framed: it
// shows whatever the app's metrics say, so it gets no more reach than /metrics itself has.
function securityHeaders(): Record<string, string> {
  // node:crypto is loaded here, at the first request, not at import: it costs ~5 ms of start-up
  // (Node 24) in every process that loads the preload, and most never open the page.
  const { createHash } = createRequire(import.meta.url)('node:crypto') as typeof import('node:crypto');
  const styleHash = createHash('sha256').update(STYLE).digest('base64');
  return {
    'Content-Security-Policy': [
      "default-src 'none'",
      "script-src 'self'",
      "connect-src 'self'",
      `style-src 'sha256-${styleHash}'`,
      'img-src data:',
      "base-uri 'none'",
      "form-action 'none'",
      "frame-ancestors 'none'",
    ].join('; '),
    'X-Content-Type-Options': 'nosniff',
    'Referrer-Policy': 'no-referrer',
    'Cross-Origin-Resource-Policy': 'same-origin',
    'X-Frame-Options': 'DENY',
  };
}
