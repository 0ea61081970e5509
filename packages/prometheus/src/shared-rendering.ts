// One rendering of one collection in one format, read by every scrape that shares the collection.
// A burst of scrapes shares a collection (reader.ts); without this each would still render the
// whole text again. Chunks are rendered lazily, once, by whichever reader gets to them first (so a
// large exposition still costs one chunk per event-loop turn), and kept as bytes: every scrape
// writes the same Buffers, encoded once (text) or as the protobuf encoder made them.

export class SharedRendering {
  readonly #chunks: Buffer[] = [];
  #source: Generator<string | Buffer, void> | undefined;
  #failure: { error: unknown } | undefined;

  constructor(source: Generator<string | Buffer, void>) {
    this.#source = source;
  }

  /** A reader from the first chunk; a rendering error reaches every reader that gets that far. */
  *read(): Generator<Buffer, void> {
    for (let i = 0; ; i++) {
      if (i < this.#chunks.length) {
        yield this.#chunks[i]!;
        continue;
      }
      if (this.#failure !== undefined) throw this.#failure.error;
      const source = this.#source;
      if (source === undefined) return;
      let next: IteratorResult<string | Buffer, void>;
      try {
        next = source.next();
      } catch (error) {
        this.#failure = { error };
        this.#source = undefined;
        throw error;
      }
      if (next.done === true) {
        this.#source = undefined;
        return;
      }
      const chunk = typeof next.value === 'string' ? Buffer.from(next.value) : next.value;
      this.#chunks.push(chunk);
      yield chunk;
    }
  }
}

/** The rendering of `collection` in `format`, made by `render` the first time it is asked for. */
export function sharedRendering(
  cache: WeakMap<object, Map<string, SharedRendering>>,
  collection: object,
  format: string,
  render: () => Generator<string | Buffer, void>,
): SharedRendering {
  let byFormat = cache.get(collection);
  if (byFormat === undefined) cache.set(collection, (byFormat = new Map()));
  let rendering = byFormat.get(format);
  if (rendering === undefined) byFormat.set(format, (rendering = new SharedRendering(render())));
  return rendering;
}
