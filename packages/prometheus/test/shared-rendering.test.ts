import { describe, expect, it } from 'vitest';
import { SharedRendering, sharedRendering } from '../src/shared-rendering.js';

function* counted(pieces: string[], calls: { n: number }, failAt = -1): Generator<string, void> {
  for (let i = 0; i < pieces.length; i++) {
    calls.n++;
    if (i === failAt) throw new Error('render failed');
    yield pieces[i]!;
  }
}

describe('SharedRendering', () => {
  it('renders each chunk once for any number of readers, interleaved or not, as the same bytes', () => {
    const calls = { n: 0 };
    const rendering = new SharedRendering(counted(['a', 'bé', 'c'], calls));
    const first = rendering.read();
    const second = rendering.read();
    const a1 = first.next().value!;
    const a2 = second.next().value!;
    expect(a1).toBe(a2);
    expect([...first].map(String)).toEqual(['bé', 'c']);
    expect([...second].map(String)).toEqual(['bé', 'c']);
    expect([...rendering.read()].map(String)).toEqual(['a', 'bé', 'c']);
    expect(calls.n).toBe(3);
  });

  it('a rendering error reaches every reader that gets that far, after the chunks before it', () => {
    const rendering = new SharedRendering(counted(['a', 'b', 'c'], { n: 0 }, 1));
    const first = rendering.read();
    expect(String(first.next().value)).toBe('a');
    expect(() => first.next()).toThrow('render failed');
    const second = rendering.read();
    expect(String(second.next().value)).toBe('a');
    expect(() => second.next()).toThrow('render failed');
  });

  it('one rendering per collection and format', () => {
    const cache = new WeakMap<object, Map<string, SharedRendering>>();
    const collection = {};
    let made = 0;
    const render = (): Generator<string, void> => {
      made++;
      return counted(['x'], { n: 0 });
    };
    const text = sharedRendering(cache, collection, 'text', render);
    expect(sharedRendering(cache, collection, 'text', render)).toBe(text);
    expect(sharedRendering(cache, collection, 'openmetrics', render)).not.toBe(text);
    expect(sharedRendering(cache, {}, 'text', render)).not.toBe(text);
    expect(made).toBe(3);
  });
});
