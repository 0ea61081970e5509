// cgroup files kept open, as proc-file.ts keeps /proc files: each collection reads some ten of them,
// and one pread into a kept buffer costs a fraction of open + read + close.
import { openProcFile, type ProcFile } from '../proc-file.js';

export interface CgroupFiles {
  /** The file's current text; undefined where it does not exist (the root cgroup has no memory.max). */
  read(path: string): string | undefined;
  close(): void;
}

export function cgroupFiles(): CgroupFiles {
  // undefined: tried and absent; remembered, so a missing file costs one failed open, not one per collection.
  const files = new Map<string, ProcFile | undefined>();
  return {
    read(path) {
      let file = files.get(path);
      if (file === undefined && !files.has(path)) {
        try {
          file = openProcFile(path);
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
        }
        files.set(path, file);
      }
      return file?.read();
    },
    close() {
      for (const file of files.values()) file?.close();
      files.clear();
    },
  };
}

/** The number after `key ` in a flat-keyed file (memory.stat, cpu.stat, memory.events); undefined if absent. */
export function field(text: string, key: string): number | undefined {
  let at = text.startsWith(`${key} `) ? 0 : text.indexOf(`\n${key} `);
  if (at < 0) return undefined;
  if (at > 0) at++;
  const start = at + key.length + 1;
  const end = text.indexOf('\n', start);
  const value = Number(text.slice(start, end < 0 ? undefined : end));
  return Number.isFinite(value) ? value : undefined;
}
