import { describe, expect, it } from 'vitest';
import { findCycles, topologicalOrder } from './task-graph.js';

const graph = (edges: Record<string, string[]>) => new Map(Object.entries(edges));

describe('topologicalOrder', () => {
  it('puts dependencies first and keeps declaration order among ready tasks', () => {
    const names = ['d', 'c', 'b', 'a'];
    expect(topologicalOrder(names, graph({ d: ['b', 'c'], c: ['a'], b: [], a: [] }))).toEqual(['b', 'a', 'c', 'd']);
  });

  it('keeps independent tasks in declaration order', () => {
    expect(topologicalOrder(['z', 'y', 'x'], graph({}))).toEqual(['z', 'y', 'x']);
  });

  it('throws on a cycle rather than looping', () => {
    expect(() => topologicalOrder(['a', 'b'], graph({ a: ['b'], b: ['a'] }))).toThrow(/cycle among a, b/);
  });
});

describe('findCycles', () => {
  it('finds nothing in a DAG', () => {
    expect(findCycles(['a', 'b', 'c'], graph({ c: ['a', 'b'], b: ['a'] }))).toEqual([]);
  });

  it('returns each cycle from its first-declared member, following depends-on edges', () => {
    const names = ['x', 'c', 'a', 'b'];
    expect(findCycles(names, graph({ a: ['b'], b: ['c'], c: ['a'], x: [] }))).toEqual([['c', 'a', 'b', 'c']]);
  });

  it('reports the shortest way round and one cycle per tangled group', () => {
    const names = ['a', 'b', 'c', 'd', 'e', 'f'];
    const edges = graph({ a: ['b', 'd'], b: ['c'], c: ['a'], d: ['a'], e: ['f'], f: ['e'] });
    expect(findCycles(names, edges)).toEqual([
      ['a', 'd', 'a'],
      ['e', 'f', 'e'],
    ]);
  });

  it('ignores edges to unknown tasks', () => {
    expect(findCycles(['a'], graph({ a: ['ghost'] }))).toEqual([]);
  });
});
