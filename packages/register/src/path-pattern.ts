// Path patterns from config (MON_IGNORE_PATHS globs, MON_ROUTE_PATTERNS templates) matched against
// request paths, which an attacker chooses. No regular expression ever sees the path: a pattern with
// several `**` became a regex with several `.*`, and one crafted 16 KB path then held the event loop
// for tens of seconds (backtracking). Here a pattern is a list of segment matchers cut into blocks by
// its `**`s, and a path is matched segment by segment:
// - the first block must match the first segments, the last block the last segments;
// - each block in between is placed at its leftmost fit after the previous one. Leftmost is always
//   right for "any number of segments" gaps (a later fit leaves less room, never more), so there is
//   no backtracking: each path segment is compared with each matcher of a block at most once per
//   block, O(path length x pattern size), and the pattern size is fixed at start.
// Within a segment, `*` globs are matched the same way (first and last pieces anchored, the pieces
// between at their leftmost fit), scanning only that segment.

export interface PathPattern {
  /** Whether `path.slice(0, end)` matches; `end` (default: the whole string) skips a query string. */
  matches: (path: string, end?: number) => boolean;
}

/** One segment of a pattern: what a single path segment (between two `/`) must be. */
type SegmentMatcher =
  | { kind: 'literal'; text: string }
  /** Any segment, empty included. */
  | { kind: 'any' }
  /** Any segment but the empty one (a `:param`). */
  | { kind: 'non-empty' }
  /** `*` within a segment: the pieces between the stars, in order. */
  | { kind: 'glob'; pieces: string[]; minLength: number };

/** Segment matchers, cut into blocks by `**` (any number of whole segments, none included). */
type Blocks = SegmentMatcher[][];

/**
 * What makes a MON_IGNORE_PATHS glob unusable, or undefined when it is fine. `*` matches within a
 * segment, `**` as a whole segment any number of segments (`/static/**\/*.map` matches
 * `/static/app.js.map` and `/static/a/b/app.js.map`); a trailing `/**` everything below.
 */
export function globProblem(glob: string): string | undefined {
  if (!glob.startsWith('/')) return 'it does not start with "/"';
  const segments = glob.split('/');
  for (let i = 0; i < segments.length; i++) {
    const segment = segments[i]!;
    // `/ready**` (a prefix) is fine: only the last segment may end in stars next to other text.
    if (segment.includes('**') && segment !== '**' && !(i === segments.length - 1 && isPrefixGlob(glob))) {
      return `"**" must be a whole segment ("/a/**/b"), not part of "${segment}"`;
    }
  }
  return undefined;
}

/** `/ready*` or `/ready**`: text, then only stars to the end. Matched as a plain prefix. */
export function isPrefixGlob(glob: string): boolean {
  const star = glob.indexOf('*');
  if (star === -1) return false;
  for (let i = star; i < glob.length; i++) if (glob[i] !== '*') return false;
  return !glob.endsWith('/**');
}

/** Compiles a MON_IGNORE_PATHS glob that `globProblem` accepted. */
export function compileGlob(glob: string): PathPattern {
  const blocks: Blocks = [[]];
  const segments = glob.split('/');
  segments.forEach((segment, i) => {
    if (segment === '**') {
      // A trailing `/**` is everything below, not the parent itself: one segment at least.
      if (i === segments.length - 1) blocks.at(-1)!.push({ kind: 'any' });
      // `**/**` is one gap.
      if (blocks.at(-1)!.length > 0) blocks.push([]);
    } else if (segment.includes('*')) {
      const pieces = segment.split(/\*+/);
      blocks.at(-1)!.push({ kind: 'glob', pieces, minLength: pieces.reduce((n, p) => n + p.length, 0) });
    } else {
      blocks.at(-1)!.push({ kind: 'literal', text: segment });
    }
  });
  // The text before the first star and after the last one is literal: most paths fail these two
  // checks, and then cost no walk over their segments (this runs per request, before the app).
  const head = glob.slice(0, glob.indexOf('*'));
  const tail = glob.slice(glob.lastIndexOf('*') + 1);
  return {
    matches: (path, end = path.length) =>
      end >= head.length + tail.length && path.startsWith(head) && path.startsWith(tail, end - tail.length) && matchBlocks(blocks, path, end),
  };
}

/**
 * What makes a MON_ROUTE_PATTERNS template unusable, or undefined. `:name` is one non-empty segment,
 * `*` as a whole segment the rest (one segment or more); other segments are literal.
 */
export function routeTemplateProblem(template: string): string | undefined {
  if (!template.startsWith('/')) return 'it does not start with "/"';
  for (const segment of template.split('/')) {
    if (segment.includes('*') && segment !== '*') return `"*" must be a whole segment ("/files/*"), not part of "${segment}"`;
  }
  return undefined;
}

/** Compiles a MON_ROUTE_PATTERNS template that `routeTemplateProblem` accepted. */
export function compileRouteTemplate(template: string): PathPattern {
  const blocks: Blocks = [[]];
  for (const segment of template.split('/')) {
    if (segment === '*') {
      blocks.at(-1)!.push({ kind: 'any' });
      blocks.push([]);
    } else if (segment.startsWith(':')) {
      blocks.at(-1)!.push({ kind: 'non-empty' });
    } else {
      blocks.at(-1)!.push({ kind: 'literal', text: segment });
    }
  }
  // A trailing slash on the request (`/users/7/`) matches the template without it.
  return {
    matches: (path, end = path.length) =>
      matchBlocks(blocks, path, end) || (end > 1 && path.charCodeAt(end - 1) === SLASH && matchBlocks(blocks, path, end - 1)),
  };
}

const SLASH = 0x2f;

// Where each path segment starts, for the path being matched. Reused across calls (matching is
// synchronous), so a request costs no allocation once it has grown to the longest path seen.
// Pure: the preload's bundle (bundle.mjs) takes config.ts, which imports this file, and uses none
// of it; so marked, esbuild leaves the array out there.
let starts = /* @__PURE__ */ new Int32Array(64);

/** Fills `starts` with the start of each segment of path[0, end); returns how many there are. */
function splitSegments(path: string, end: number): number {
  let count = 0;
  let at = 0;
  for (;;) {
    if (count === starts.length) {
      const grown = new Int32Array(starts.length * 2);
      grown.set(starts);
      starts = grown;
    }
    starts[count++] = at;
    const slash = path.indexOf('/', at);
    if (slash === -1 || slash >= end) return count;
    at = slash + 1;
  }
}

function matchBlocks(blocks: Blocks, path: string, end: number): boolean {
  const count = splitSegments(path, end);
  const first = blocks[0]!;
  if (blocks.length === 1) return count === first.length && blockFits(first, path, end, count, 0);
  const last = blocks[blocks.length - 1]!;
  let from = first.length;
  const lastAt = count - last.length;
  if (lastAt < from || !blockFits(first, path, end, count, 0) || !blockFits(last, path, end, count, lastAt)) return false;
  for (let b = 1; b < blocks.length - 1; b++) {
    const block = blocks[b]!;
    let at = from;
    while (at + block.length <= lastAt && !blockFits(block, path, end, count, at)) at++;
    if (at + block.length > lastAt) return false;
    from = at + block.length;
  }
  return true;
}

function blockFits(block: SegmentMatcher[], path: string, end: number, count: number, at: number): boolean {
  for (let i = 0; i < block.length; i++) {
    const s = at + i;
    const segmentStart = starts[s]!;
    // A segment ends where the next one starts, minus its '/'; the last one at `end`.
    const segmentEnd = s + 1 < count ? starts[s + 1]! - 1 : end;
    if (!segmentFits(block[i]!, path, segmentStart, segmentEnd)) return false;
  }
  return true;
}

function segmentFits(matcher: SegmentMatcher, path: string, start: number, end: number): boolean {
  switch (matcher.kind) {
    case 'any':
      return true;
    case 'non-empty':
      return end > start;
    case 'literal':
      return end - start === matcher.text.length && path.startsWith(matcher.text, start);
    case 'glob': {
      const { pieces, minLength } = matcher;
      if (end - start < minLength) return false;
      const head = pieces[0]!;
      const tail = pieces[pieces.length - 1]!;
      if (!path.startsWith(head, start) || !path.startsWith(tail, end - tail.length)) return false;
      let at = start + head.length;
      const limit = end - tail.length;
      for (let p = 1; p < pieces.length - 1; p++) {
        const piece = pieces[p]!;
        // Leftmost fit inside this segment only: indexOf would scan the rest of a long path.
        while (at + piece.length <= limit && !path.startsWith(piece, at)) at++;
        if (at + piece.length > limit) return false;
        at += piece.length;
      }
      return true;
    }
  }
}
