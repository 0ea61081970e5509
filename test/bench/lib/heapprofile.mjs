// Reads a sampling heap profile (HeapProfiler.stopSampling, as servers/gc-window.mjs writes it): the
// bytes per request allocated while a frame of one file (mon's bundle) was on the stack, by that
// file's function nearest to the allocation. Only these are attributed: an allocation in Node's own
// frames moves between frames from one process to the next as V8 inlines differently, so comparing
// two profiles function by function shows differences of hundreds of bytes that are not there.
import { locate } from './cpuprofile.mjs';

/** { own: bytes per request under a frame whose URL contains `file`, sites: [{ site, bytes }] largest first }. */
export function ownAllocations(profile, requests, file) {
  const bySite = new Map();
  let own = 0;
  const walk = (node, owner) => {
    const frame = node.callFrame;
    const here = frame.url.includes(file) ? frame : owner;
    if (node.selfSize > 0 && here !== undefined) {
      const { where } = locate(here);
      const allocating = frame === here ? '' : `, in ${frame.functionName || '(anonymous)'}`;
      const site = `${here.functionName || '(anonymous)'} (${where})${allocating}`;
      bySite.set(site, (bySite.get(site) ?? 0) + node.selfSize / requests);
      own += node.selfSize / requests;
    }
    for (const child of node.children ?? []) walk(child, here);
  };
  walk(profile.head, undefined);
  return {
    own,
    sites: [...bySite].sort((a, b) => b[1] - a[1]).map(([site, bytes]) => ({ site, bytes })),
  };
}
