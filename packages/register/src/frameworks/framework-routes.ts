// Where framework route sources leave the template of each request, for routes.ts to read when
// the response ends. Templates are as the framework wrote them (unbounded here: routes.ts bounds
// them). Apps without any of these frameworks pay one flag check and one property read per request.
import type { IncomingMessage } from 'node:http';
import { Stamp } from '../stamp.js';

/** Reads a template at the end of a request (for frameworks that keep it on their own objects). */
export type RouteLookup = (request: IncomingMessage, status: number) => string | undefined;

/**
 * A route handed over while a request was handled (Fastify's channel or hook, h3's channel), in a
 * private field of the request (stamp.ts: no WeakMap entry per request).
 */
class Recorded extends Stamp {
  #template = '';

  static set(request: object, template: string): void {
    if (#template in request) (request as Recorded).#template = template;
    else new Recorded(request).#template = template;
  }

  static get(request: object): string | undefined {
    return #template in request ? (request as Recorded).#template : undefined;
  }
}

export class FrameworkRoutes {
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
    Recorded.set(typeof stream === 'object' && stream !== null ? stream : request, template);
  }

  /**
   * A route recorded for the request comes first: the framework named it while handling that very
   * request, and the other lookups (Fastify 5's router lookups for requests answered before their
   * handler, above all) cost more and must not run when it did.
   */
  routeOf(request: IncomingMessage, status: number): string | undefined {
    if (this.recording) {
      const template = Recorded.get(request);
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
