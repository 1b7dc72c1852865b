import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { IdColumn, QuantizedVectors } from './quantized-vectors.js';

function cosine(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let dot = 0;
  let aa = 0;
  let bb = 0;
  for (let i = 0; i < a.length; i++) {
    dot += a[i]! * b[i]!;
    aa += a[i]! * a[i]!;
    bb += b[i]! * b[i]!;
  }
  return aa > 0 && bb > 0 ? dot / Math.sqrt(aa * bb) : 0;
}

/** Every row's exact cosine with the query, best first, rows passing `keep` only. */
function exactRanking(rows: number[][], query: number[], keep: (row: number) => boolean = () => true): Array<{ row: number; similarity: number }> {
  return rows
    .map((vector, row) => ({ row, similarity: cosine(vector, query) }))
    .filter(({ row }) => keep(row))
    .sort((a, b) => b.similarity - a.similarity || a.row - b.row);
}

function fill(rows: number[][], sources: string[] = [], timestamps: number[] = []): QuantizedVectors {
  const copy = new QuantizedVectors(rows.length, rows[0]?.length ?? 4);
  rows.forEach((vector, row) => copy.add(1000 + row, sources[row] ?? 'notes', timestamps[row] ?? 0, vector));
  return copy;
}

const vectorOf = (dim: number) => fc.array(fc.integer({ min: -1000, max: 1000 }).map((n) => n / 1000), { minLength: dim, maxLength: dim });

describe('QuantizedVectors', () => {
  it('finds the exact nearest rows, up to int8 rounding, for dense and sparse queries', () => {
    fc.assert(
      fc.property(
        fc.array(vectorOf(16), { minLength: 1, maxLength: 60 }),
        vectorOf(16),
        fc.array(fc.boolean(), { minLength: 16, maxLength: 16 }),
        fc.integer({ min: 1, max: 10 }),
        (rows, dense, zeroed, k) => {
          const query = dense.map((value, d) => (zeroed[d] ? 0 : value));
          const found = fill(rows).nearest(Float32Array.from(query), {}, k);
          const exact = exactRanking(rows, query);
          expect(found).toHaveLength(Math.min(k, rows.length));
          // Rounding moves a row's score by at most ½/127 per unit of the query's L1 norm over its L2
          // norm (≤ √dim), so each result is within twice that of the k-th best exact similarity.
          const kth = exact[found.length - 1]!.similarity;
          const queryNorm = Math.hypot(...query);
          for (const { rowId, score } of found) {
            const row = rowId - 1000;
            expect(cosine(rows[row]!, query)).toBeGreaterThanOrEqual(kth - 2 * (0.5 / 127) * Math.sqrt(16));
            if (queryNorm > 0) expect(score / queryNorm).toBeCloseTo(cosine(rows[row]!, query), 1);
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it('orders by similarity, not by raw dot product (rows of any length)', () => {
    const copy = fill([
      [10, 10, 0, 0], // long, 45° off
      [0.1, 0, 0, 0], // short, parallel
      [0, 0, 3, 0], // orthogonal
    ]);
    expect(copy.nearest(Float32Array.from([1, 0, 0, 0]), {}, 3).map((row) => row.rowId)).toEqual([1001, 1000, 1002]);
  });

  it('filters by source and time range before picking the best', () => {
    const rows = [
      [1, 0],
      [0.9, 0.1],
      [0.8, 0.2],
      [0.7, 0.3],
    ];
    const copy = fill(rows, ['mail', 'notes', 'mail', 'slack'], [10, 20, 30, 40]);
    const query = Float32Array.from([1, 0]);
    expect(copy.nearest(query, { sources: ['mail'] }, 5).map((row) => row.rowId)).toEqual([1000, 1002]);
    expect(copy.nearest(query, { since: 20, until: 40 }, 5).map((row) => row.rowId)).toEqual([1001, 1002]);
    expect(copy.nearest(query, { sources: ['slack', 'notes'], since: 25 }, 5).map((row) => row.rowId)).toEqual([1003]);
    expect(copy.nearest(query, { sources: ['nowhere'] }, 5)).toEqual([]);
  });

  it('keeps zero vectors last and rejects rows or queries of the wrong width', () => {
    const copy = fill([
      [0, 0, 0],
      [0, 1, 0],
    ]);
    expect(copy.nearest(Float32Array.from([0, 1, 0]), {}, 2).map((row) => row.rowId)).toEqual([1001, 1000]);
    expect(() => copy.nearest(Float32Array.from([1, 0]), {}, 2)).toThrow(/2 dimensions, expected 3/);
    expect(() => new QuantizedVectors(1, 3).add(1, 'notes', 0, [1, 2])).toThrow(/2 dimensions, expected 3/);
    expect(() => copy.add(9, 'notes', 0, [1, 0, 0])).toThrow(/full \(2 rows\)/);
  });

  it('returns nothing for k = 0 and every row when k exceeds them', () => {
    const copy = fill([
      [1, 0],
      [0, 1],
    ]);
    expect(copy.nearest(Float32Array.from([1, 1]), {}, 0)).toEqual([]);
    expect(copy.nearest(Float32Array.from([1, 1]), {}, 10)).toHaveLength(2);
  });

  it('scans with WebAssembly SIMD here, and ranks exactly as the JavaScript scan does', () => {
    expect(new QuantizedVectors(10, 8).simd).toBe(true);
    expect(new QuantizedVectors(10, 8, { simd: false }).simd).toBe(false);
    fc.assert(
      fc.property(
        fc.array(vectorOf(40), { minLength: 1, maxLength: 90 }),
        vectorOf(40),
        fc.array(fc.boolean(), { minLength: 40, maxLength: 40 }),
        (rows, query, keep) => {
          const simd = fill(rows);
          const plain = new QuantizedVectors(rows.length, 40, { simd: false });
          rows.forEach((vector, row) => plain.add(1000 + row, 'notes', 0, vector));
          // Some queries sparse (the hashing embedder's), some dense (a model's).
          const asked = query.map((value, d) => (keep[d] ? value : 0));
          const a = simd.nearest(asked, {}, rows.length);
          const b = plain.nearest(asked, {}, rows.length);
          // Same order up to ties the query's integer rounding may break differently.
          a.forEach((hit, i) => expect(hit.score).toBeCloseTo(b[i]!.score, 2));
          expect(new Set(a.map((hit) => hit.rowId))).toEqual(new Set(b.map((hit) => hit.rowId)));
        },
      ),
    );
  });

  it('names each row (ids, source, time) and finds it by row id, in whatever order rows came', () => {
    fc.assert(
      fc.property(fc.uniqueArray(fc.integer({ min: 0, max: 2 ** 40 }), { minLength: 1, maxLength: 50 }), fc.boolean(), (rowIds, hex) => {
        const copy = new QuantizedVectors(rowIds.length, 2);
        const idOf = (i: number) => (hex ? (i * 2654435761).toString(16).padStart(32, '0').slice(-32) : `chunk-${i}`);
        rowIds.forEach((rowId, i) => copy.add(rowId, i % 2 ? 'mail' : 'notes', i * 10, [1, i], { id: idOf(i), docId: `${idOf(i >> 1)}` }));
        rowIds.forEach((rowId, i) => {
          const row = copy.rowOf(rowId);
          expect(copy.describe(row)).toEqual({ rowId, id: idOf(i), docId: idOf(i >> 1), source: i % 2 ? 'mail' : 'notes', timestamp: i * 10 });
        });
        expect(copy.rowOf(2 ** 41)).toBe(-1);
        const [best] = copy.nearest(Float32Array.from([0, 1]), {}, 1);
        expect(copy.describe(best!.row).rowId).toBe(best!.rowId);
      }),
    );
  });
});

describe('IdColumn', () => {
  it('keeps hex ids as bytes and any other id as it is, also after a mix', () => {
    const hex = ['0123456789abcdef0123456789abcdef', 'ffffffffffffffffffffffffffffffff', '00000000000000000000000000000000'];
    const column = new IdColumn(6);
    hex.forEach((id, row) => column.set(row, id));
    expect(hex.map((_, row) => column.get(row))).toEqual(hex);
    expect((column as unknown as { packed?: Uint8Array }).packed).toHaveLength(6 * 16); // 16 bytes an id, not a string
    // Upper-case hex, a shorter id or a non-hex one of the same length: kept as strings, the earlier ids too.
    const others = ['0123456789ABCDEF0123456789ABCDEF', 'c1', 'zz23456789abcdef0123456789abcdef'];
    others.forEach((id, i) => column.set(3 + i, id));
    expect([0, 1, 2, 3, 4, 5].map((row) => column.get(row))).toEqual([...hex, ...others]);
  });
});
