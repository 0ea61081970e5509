// The one owner of the peek flag: set while the live page's /metrics?peek=1 collects, so a primary asks its workers for a peek too.

// Set while a peek (register's `peek`: the live page's /metrics?peek=1) runs its collection: the
// primary then asks its workers for a peek too. Read synchronously at the start of a collection.
let peeking = false;

/** Runs `collect` (called synchronously) as a peek, for this process and its workers. */
export function asPeek<T>(collect: () => T): T {
  const was = peeking;
  peeking = true;
  try {
    return collect();
  } finally {
    peeking = was;
  }
}

/** Whether the collection running now is a peek. Read synchronously at the start of a collection. */
export function isPeeking(): boolean {
  return peeking;
}
