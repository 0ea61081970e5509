// A floor of soak.mjs's RSS figure: `node --import ./gc-observer-floor.mjs hello.mjs` is bare plus a
// PerformanceObserver on 'gc' entries that does nothing, as mon's v8js.gc.duration histogram observes
// them. Node builds an entry per GC; even ignored, a few KB of them survive each scavenge (measured with
// --trace-gc-nvp: ~3.2 KB promoted and +3.5 KB survived per scavenge of the hello-world server), and
// on an app whose own objects hardly survive that is enough for V8 to double its young generation.
import { PerformanceObserver } from 'node:perf_hooks';

new PerformanceObserver(() => {}).observe({ entryTypes: ['gc'] });
