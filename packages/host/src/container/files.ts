// cgroup files kept open, as proc-file.ts keeps /proc files: each collection reads some eight of them,
// and one pread into a kept buffer costs a fraction of open + read + close.
import { openProcFile, type ProcFile } from '../proc-file.js';

export interface CgroupFile {
  /** The file's current text; undefined where it does not exist (the root cgroup has no memory.max). */
  read(): string | undefined;
  /** The file's current text; throws where it does not exist. */
  require(): string;
}

export interface CgroupFiles {
  /**
   * A file, opened at its first read. Each cgroup file is looked up once, at start, and kept: a
   * collection then costs one pread per file and nothing else (measured in collect.bench.mjs).
   */
  file(path: string): CgroupFile;
  close(): void;
}

export function cgroupFiles(): CgroupFiles {
  const opened: ProcFile[] = [];
  return {
    file(path) {
      // undefined: not tried yet; null: tried and absent, remembered, so a missing file costs one
      // failed open, not one per collection.
      let file: ProcFile | null | undefined;
      const read = () => {
        if (file === undefined) {
          try {
            file = openProcFile(path);
            opened.push(file);
          } catch (error) {
            if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
            file = null;
          }
        }
        return file === null ? undefined : file.read();
      };
      return {
        read,
        require() {
          const text = read();
          if (text === undefined) throw new Error(`${path} does not exist`);
          return text;
        },
      };
    },
    close() {
      for (const file of opened) file.close();
      opened.length = 0;
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
