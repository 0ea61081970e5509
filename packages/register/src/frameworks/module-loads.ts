// Framework modules as the app loads them, from Node's `tracing:module.require` channel (Node 22.5+,
// 23, 24, 26; Node 20 has none, and there nothing here ever fires). It fires for every require()
// in the process, including the ones a CommonJS framework makes from its own files when the app
// imports it from ESM, so a watcher names a file inside the framework (`./context` required from
// `koa/lib/application.js`) rather than the package the app imports. Cost: one Map lookup per
// require(), at start-up; nothing per request.
import { MODULE_REQUIRE_END, subscribe, unsubscribe } from '../channels.js';
import { debug } from '../warn.js';

const CHANNEL = MODULE_REQUIRE_END;

export interface ModuleWatch {
  /** The specifier exactly as the framework writes it: `./context`. */
  id: string;
  /** The requiring file, ending: `/koa/lib/application.js` (matched with either path separator). */
  parent: string;
  /** Gets what require() returned; called once per loaded copy of the framework. */
  loaded: (exports: unknown) => void;
}

interface RequireEnd {
  id?: unknown;
  parentFilename?: unknown;
  result?: unknown;
}

export function watchModuleLoads(watches: ModuleWatch[]): () => void {
  const byId = new Map<string, ModuleWatch[]>();
  for (const watch of watches) byId.set(watch.id, [...(byId.get(watch.id) ?? []), watch]);
  const onRequireEnd = (message: unknown): void => {
    const { id, parentFilename, result } = message as RequireEnd;
    const matching = byId.get(id as string);
    if (matching === undefined || typeof parentFilename !== 'string' || result === undefined) return;
    const parent = parentFilename.replaceAll('\\', '/');
    for (const watch of matching) {
      if (!parent.endsWith(watch.parent)) continue;
      // Runs inside the app's require(): a throw here would surface as an uncaught exception.
      try {
        watch.loaded(result);
      } catch (error) {
        debug('module load watcher for %s failed: %o', watch.parent, error);
      }
    }
  };
  subscribe(CHANNEL, onRequireEnd);
  return () => unsubscribe(CHANNEL, onRequireEnd);
}
