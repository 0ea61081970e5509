// cgroup files kept open, as proc-file.ts keeps /proc files: each collection reads some eight of them,
// and one pread into a kept buffer costs a fraction of open + read + close. The figures are parsed
// from the bytes, without a string per file (collect.bench.mjs, RESULTS.md "Container collection"):
// the kernel's formatting of each file is most of what a read costs, the rest should be nothing.
//
// A collection comes every 15-60 s, so this code runs with cold caches: what counts is what it
// touches, not how fast it loops. A read hands back one Bytes object, the same each time, rather
// than a Buffer view of what was read (`subarray` made one per file), and callers index the arrays
// fields() fills rather than destructure them (an iterator per file). Each cost 5-15 µs per
// collection one read after a 15 ms sleep, against 5-6 µs for a whole read of a small file.
import fs from 'node:fs';

/** What the last read of a CgroupFiles put in its buffer: `buffer[0 .. length)`. */
export interface Bytes {
  buffer: Buffer;
  length: number;
}

/** A key of a flat-keyed file (memory.stat, cpu.stat, memory.events), made once: `key(name)`. */
export type Key = Buffer & { readonly __key: true };

/** `name` as it starts a line of a flat-keyed file, followed by its space. */
export const key = (name: string): Key => Buffer.from(`${name} `, 'latin1') as Key;

export interface CgroupFile {
  /**
   * The file's current bytes, valid until the next read of any file of the same CgroupFiles (the
   * same object each time); undefined where it does not exist (the root cgroup has no memory.max).
   */
  read(): Bytes | undefined;
  /** The same; throws where the file does not exist. */
  require(): Bytes;
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
  const opened: number[] = [];
  // One buffer for every file: each is parsed before the next is read. 4 KiB holds a v2
  // memory.stat (about 1.6 KiB on Linux 6); a larger file grows it once.
  const bytes: Bytes = { buffer: Buffer.allocUnsafe(4096), length: 0 };
  let closed = false;
  const readAll = (fd: number): Bytes => {
    for (;;) {
      // cgroupfs, like procfs, regenerates the text on a read at offset 0, so this is always current.
      const n = fs.readSync(fd, bytes.buffer, 0, bytes.buffer.length, 0);
      if (n < bytes.buffer.length) {
        bytes.length = n;
        return bytes;
      }
      bytes.buffer = Buffer.allocUnsafe(bytes.buffer.length * 2); // did not fit: grow and read again
    }
  };
  return {
    file(path) {
      // undefined: not tried yet; null: tried and absent, remembered, so a missing file costs one
      // failed open, not one per collection.
      let fd: number | null | undefined;
      const read = () => {
        if (closed) throw new Error(`${path}: closed`);
        if (fd === undefined) {
          try {
            fd = fs.openSync(path, 'r');
            opened.push(fd);
          } catch (error) {
            if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
            fd = null;
          }
        }
        return fd === null ? undefined : readAll(fd);
      };
      return {
        read,
        require() {
          const bytes = read();
          if (bytes === undefined) throw new Error(`${path} does not exist`);
          return bytes;
        },
      };
    },
    close() {
      if (closed) return;
      closed = true;
      for (const fd of opened) fs.closeSync(fd);
      opened.length = 0;
    },
  };
}

const SPACE = 0x20;
const NEWLINE = 0x0a;
const MINUS = 0x2d;
const ZERO = 0x30;

/**
 * The decimal integer at `at` (a '-' allowed); NaN where none starts there ("max"). Exact up to
 * 2^53, and near enough beyond (v1's "no limit", 2^63 - 4096, is only compared with 2^62).
 */
export function numberAt({ buffer, length }: Bytes, at: number): number {
  const negative = at < length && buffer[at] === MINUS;
  let i = negative ? at + 1 : at;
  let value = 0;
  const start = i;
  for (; i < length; i++) {
    const digit = buffer[i]! - ZERO;
    if (digit < 0 || digit > 9) break;
    value = value * 10 + digit;
  }
  if (i === start) return NaN;
  // Anything but the end of the line after the digits ("12abc") is not a number.
  if (i < length && buffer[i] !== NEWLINE && buffer[i] !== SPACE) return NaN;
  return negative ? -value : value;
}

/** The number a single-value file holds (memory.current, memory.failcnt); undefined where the file does not exist. */
export function numberIn(bytes: Bytes | undefined): number | undefined {
  return bytes === undefined ? undefined : numberAt(bytes, 0);
}

/** Where the first space is (cpu.max's "$QUOTA $PERIOD"), or -1. */
export function spaceIn({ buffer, length }: Bytes): number {
  for (let i = 0; i < length; i++) if (buffer[i] === SPACE) return i;
  return -1;
}

/**
 * The numbers after each of `names` at the start of a line (memory.stat, cpu.stat, memory.events),
 * in one pass, into `out` (undefined where absent or not a number); returns `out`. A plain loop
 * over the bytes: Buffer#indexOf crosses into C++ at each call, 2-5 µs a call when collections are
 * 15 ms apart (cold caches), and a pass per name would walk memory.stat's 900 bytes three times.
 */
export function fields(bytes: Bytes | undefined, names: readonly Key[], out: Array<number | undefined>): Array<number | undefined> {
  for (let k = 0; k < out.length; k++) out[k] = undefined;
  if (bytes === undefined) return out;
  const { buffer, length } = bytes;
  let left = names.length;
  for (let at = 0; at < length && left > 0; ) {
    const first = buffer[at];
    for (let k = 0; k < names.length; k++) {
      const name = names[k]!;
      if (name[0] !== first) continue;
      let j = 1;
      while (j < name.length && at + j < length && buffer[at + j] === name[j]) j++;
      if (j < name.length) continue;
      const value = numberAt(bytes, at + j);
      out[k] = value === value ? value : undefined; // NaN: not a number there
      left--;
      break;
    }
    // Only at the start of a line: `rss ` must not match the end of `total_rss `.
    while (at < length && buffer[at] !== NEWLINE) at++;
    at++;
  }
  return out;
}

const one: Array<number | undefined> = [undefined];
const oneName: Key[] = [];

/** fields() for one name, with no array made per call (v1 reads oom_kill so at each collection). */
export function field(bytes: Bytes | undefined, name: Key): number | undefined {
  oneName[0] = name;
  return fields(bytes, oneName, one)[0];
}
