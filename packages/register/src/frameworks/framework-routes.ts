// Where framework route sources leave the template of each request, for routes.ts to read when
// the response ends. Templates are as the framework wrote them (unbounded here: routes.ts bounds
// them). Apps without any of these frameworks pay one length check per request.
import type { IncomingMessage } from 'node:http';

/** Reads a template at the end of a request (for frameworks that keep it on their own objects). */
export type RouteLookup = (request: IncomingMessage, status: number) => string | undefined;

export class FrameworkRoutes {
  /**
   * Routes handed over while a request was handled (Fastify's channel or hook, h3's channel), by
   * request. The latest one waits in `pending` instead: a request's end usually comes before the
   * next request's handler runs (a handler that answers at once), and a WeakMap entry for a fresh
   * request (V8 gives it an identity hash, then an ephemeron-table entry) costs ~1 k instructions
   * (test/bench/RESULTS.md, "Instructions per request"). Only when another route is handed over
   * first (a handler still waiting on I/O) does the pending one move into the WeakMap. `pending`
   * holds at most one request alive, until the next route or its own end.
   */
  private readonly recorded = new WeakMap<IncomingMessage, string>();
  private pending: IncomingMessage | undefined = undefined;
  private pendingTemplate = '';
  private recording = false;
  private readonly lookups: RouteLookup[] = [];

  /** Adds a lookup the first time its framework shows up in the process. */
  addLookup(lookup: RouteLookup): void {
    if (!this.lookups.includes(lookup)) this.lookups.push(lookup);
  }

  record(request: IncomingMessage, template: string): void {
    this.recording = true;
    // An HTTP/2 compatibility request (Fastify with `http2: true` hands it over as request.raw)
    // is kept under its stream: the HTTP/2 recorder sees streams only (http2/server.ts).
    const stream = (request as { stream?: unknown }).stream;
    const key = typeof stream === 'object' && stream !== null ? (stream as IncomingMessage) : request;
    const pending = this.pending;
    if (pending !== undefined && pending !== key) this.recorded.set(pending, this.pendingTemplate);
    this.pending = key;
    this.pendingTemplate = template;
  }

  /**
   * A route recorded for the request comes first: the framework named it while handling that very
   * request, and the other lookups (Fastify 5's router lookups for requests answered before their
   * handler, below all) cost more and must not run when it did.
   */
  routeOf(request: IncomingMessage, status: number): string | undefined {
    if (this.recording) {
      if (request === this.pending) {
        this.pending = undefined;
        return this.pendingTemplate;
      }
      const template = this.recorded.get(request);
      if (template !== undefined) return template;
    }
    const lookups = this.lookups;
    for (let i = 0; i < lookups.length; i++) {
      const template = lookups[i]!(request, status);
      if (template !== undefined) return template;
    }
    return undefined;
  }
}
