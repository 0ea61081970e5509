// Where framework route sources leave the template of each request, for routes.ts to read when
// the response ends. Templates are as the framework wrote them (unbounded here: routes.ts bounds
// them). Apps without any of these frameworks pay one length check per request.
import type { IncomingMessage } from 'node:http';

/** Reads a template at the end of a request (for frameworks that keep it on their own objects). */
export type RouteLookup = (request: IncomingMessage, status: number) => string | undefined;

export class FrameworkRoutes {
  /** Routes handed over while a request was handled (Fastify's hook, hapi's event, h3's channel). */
  private readonly recorded = new WeakMap<IncomingMessage, string>();
  private readonly lookups: RouteLookup[] = [];

  /** Adds a lookup the first time its framework shows up in the process. */
  addLookup(lookup: RouteLookup): void {
    if (!this.lookups.includes(lookup)) this.lookups.push(lookup);
  }

  private recording = false;

  record(request: IncomingMessage, template: string): void {
    if (!this.recording) {
      this.recording = true;
      this.lookups.push(this.readRecorded);
    }
    // An HTTP/2 compatibility request (Fastify with `http2: true` hands it over as request.raw)
    // is kept under its stream: the HTTP/2 recorder sees streams only (http2/server.ts).
    const stream = (request as { stream?: unknown }).stream;
    this.recorded.set(typeof stream === 'object' && stream !== null ? (stream as IncomingMessage) : request, template);
  }

  private readonly readRecorded: RouteLookup = (request) => this.recorded.get(request);

  routeOf(request: IncomingMessage, status: number): string | undefined {
    const lookups = this.lookups;
    if (lookups.length === 0) return undefined;
    for (let i = 0; i < lookups.length; i++) {
      const template = lookups[i]!(request, status);
      if (template !== undefined) return template;
    }
    return undefined;
  }
}
