// Per-request state kept on the request itself, in private class fields, rather than in a WeakMap
// keyed by the request. A subclass of Stamp declares the fields; `new Sub(request)` adds them to the
// request (the base constructor returns it, so the fields land there), and only code inside that
// subclass can read them: no key, symbol or descriptor the app could see (Object.keys,
// Reflect.ownKeys, JSON, util.inspect and structuredClone show nothing). Why not a WeakMap: each
// fresh request needs an identity hash and an ephemeron-table entry, whose young key V8 records in a
// C++ hash set until the next scavenge, and dead entries leave the table only at a full GC, so it
// grows and rehashes in between: ~1-1.5 k instructions a set on Node 24 (callgrind of the Express
// app, test/bench/RESULTS.md "Instructions per request"), against a map transition V8 caches.
// Fields can be added to any object, frozen ones included (Node 20-26).
// Not a general replacement, measured: stamped on Fastify's raw IncomingMessage (the route of its
// handler channel) it cost +26 k instructions a request on Node 24 once warm (requests 5 001-20 000,
// 18 calls a request into V8's Runtime_DefineKeyedOwnPropertyInLiteral and map migrations, growing
// with the requests), where the WeakMap costs ~1 k; frameworks/framework-routes.ts keeps its WeakMap.
// Express's requests (another prototype) showed none of it; each new use needs its own callgrind run.
export class Stamp {
  constructor(target: object) {
    // A constructor that returns an object makes it `this` for the subclass's field initializers.
    return target as Stamp;
  }
}
