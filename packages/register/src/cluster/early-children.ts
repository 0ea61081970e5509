// The children a process starts before its pipeline is built (start.ts loads the SDK only on first
// need). A cluster primary forks its workers at once, mostly; ClusterPrimary, which watches every
// child from the `child_process` channel, comes with the SDK. So the preload watches that channel
// itself, cheaply: the first child that speaks mon's protocol (a worker's hello) starts loading the
// pipeline, and what mon's workers say in the meantime (their hello comes once) is kept for
// ClusterPrimary to read first (primary.ts `start`). Any other child (a CLI shelling out to git, a
// test runner's forks) builds nothing: building at the first child cost a process that ends within
// the start-up grace the whole SDK (a script starting one `true` and living 300 ms, median CPU time
// of 10 runs: Node 22 140 -> 100 ms, 24 130 -> 110, 26 130 -> 110; bare 55-65).
import type { ChildProcess } from 'node:child_process';
import { subscribe, unsubscribe } from '../channels.js';
import { isOurs } from './protocol.js';

/** Node publishes every ChildProcess it creates here (cluster workers too), before it spawns. */
export const CHILD_PROCESS_CHANNEL = 'child_process';

export interface EarlyChild {
  child: ChildProcess;
  /** mon's messages from it so far, in order. */
  messages: unknown[];
}

export interface EarlyChildren {
  /** Stops watching and hands over the children still running, with what they said. */
  take(): EarlyChild[];
}

/** Watches from now on; `onFirstWorker` runs once, at the first message of mon's from any child. */
export function watchEarlyChildren(onFirstWorker: () => void): EarlyChildren {
  const children = new Map<ChildProcess, { messages: unknown[]; stop: () => void }>();
  let first = true;
  const onChild = (message: unknown): void => {
    const child = (message as { process: ChildProcess }).process;
    const messages: unknown[] = [];
    const onMessage = (m: unknown): void => {
      if (!isOurs(m)) return;
      messages.push(m);
      if (first) {
        first = false;
        onFirstWorker();
      }
    };
    const stop = (): void => {
      child.removeListener('internalMessage', onMessage);
      child.removeListener('exit', onExit);
    };
    // A child gone before the pipeline was built never took part in a scrape.
    const onExit = (): void => {
      stop();
      children.delete(child);
    };
    child.on('internalMessage', onMessage);
    child.once('exit', onExit);
    children.set(child, { messages, stop });
  };
  subscribe(CHILD_PROCESS_CHANNEL, onChild);
  return {
    take: () => {
      unsubscribe(CHILD_PROCESS_CHANNEL, onChild);
      const taken = [...children].map(([child, { messages, stop }]) => {
        stop();
        return { child, messages };
      });
      children.clear();
      return taken;
    },
  };
}
