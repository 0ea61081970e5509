// The streams in flight on one HTTP/2 session, keyed by stream id, for the server recorder
// (server.ts): one table per session, made when its first stream starts, so that a stream costs no
// allocation. A WeakMap keyed by the ServerHttp2Stream cost ~90 B per stream in V8's table
// (test/bench/http2.mjs, the floor+WeakMap row); here a stream writes a few numbers into arrays
// made once, which grow (never shrink) to the most streams the session had in flight at once.
//
// Open addressing with linear probing, at most half full, deletion by backward shift (no
// tombstones: a long-lived session with streams coming and going never needs a rebuild). Stream ids
// are positive 31-bit integers (RFC 9113 §5.1.1), so 0 marks a free slot; ids are odd from the
// client and even from the server (push), so id >>> 1 spreads consecutive streams over
// consecutive slots. The table goes with its session: nothing outlives a session that closes.
const INITIAL_CAPACITY = 8;

export class StreamTable {
  /** Stream ids, 0 where free. */
  ids = new Int32Array(INITIAL_CAPACITY);
  /** What the recorder keeps per stream: its packed timing id and slot (server.ts). */
  packed = new Float64Array(INITIAL_CAPACITY);
  /** A gRPC call's deadline in milliseconds (grpc-timeout), -1 for none. */
  deadlines = new Float64Array(INITIAL_CAPACITY);
  /** The stream's :path when the recorder needs it later, else undefined. */
  paths: Array<string | undefined> = new Array<string | undefined>(INITIAL_CAPACITY).fill(undefined);
  count = 0;
  private mask = INITIAL_CAPACITY - 1;

  /** Set once, when the session's first stream starts: a session is encrypted or not for life. */
  constructor(readonly encrypted: boolean) {}

  /** The slot of stream `id`, or -1. */
  find(id: number): number {
    const { ids, mask } = this;
    for (let i = (id >>> 1) & mask; ; i = (i + 1) & mask) {
      const at = ids[i]!;
      if (at === id) return i;
      if (at === 0) return -1;
    }
  }

  /** Adds stream `id` (not in the table). */
  add(id: number, packed: number, deadline: number, path: string | undefined): void {
    if ((this.count + 1) * 2 > this.ids.length) this.grow();
    const { ids, mask } = this;
    let i = (id >>> 1) & mask;
    while (ids[i] !== 0) i = (i + 1) & mask;
    ids[i] = id;
    this.packed[i] = packed;
    this.deadlines[i] = deadline;
    this.paths[i] = path;
    this.count++;
  }

  /** Frees slot `i` (from find), moving back the entries that probed past it. */
  removeAt(i: number): void {
    const { ids, packed, deadlines, paths, mask } = this;
    for (let j = (i + 1) & mask; ids[j] !== 0; j = (j + 1) & mask) {
      const home = (ids[j]! >>> 1) & mask;
      // The entry at j stays if its home slot lies cyclically in (i, j]: a lookup still reaches it.
      if (i <= j ? i < home && home <= j : i < home || home <= j) continue;
      ids[i] = ids[j]!;
      packed[i] = packed[j]!;
      deadlines[i] = deadlines[j]!;
      paths[i] = paths[j];
      i = j;
    }
    ids[i] = 0;
    // Not kept alive by a finished stream.
    paths[i] = undefined;
    this.count--;
  }

  private grow(): void {
    const { ids, packed, deadlines, paths } = this;
    const capacity = ids.length * 2;
    this.ids = new Int32Array(capacity);
    this.packed = new Float64Array(capacity);
    this.deadlines = new Float64Array(capacity);
    this.paths = new Array<string | undefined>(capacity).fill(undefined);
    this.mask = capacity - 1;
    this.count = 0;
    for (let i = 0; i < ids.length; i++) if (ids[i] !== 0) this.add(ids[i]!, packed[i]!, deadlines[i]!, paths[i]);
  }
}
