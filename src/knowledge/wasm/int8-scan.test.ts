import { execFile } from 'node:child_process';
import { resolve } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { createInt8Scanner } from './int8-scan.js';

const root = resolve(import.meta.dirname, '..', '..', '..');

describe('int8 SIMD scan', () => {
  it('is compiled from the committed int8-scan.wat (scripts/make-wasm.mjs --check)', async () => {
    await expect(promisify(execFile)(process.execPath, [resolve(root, 'scripts/make-wasm.mjs'), '--check'])).resolves.toBeDefined();
  });

  it('adds column × weight for the listed dimensions, for row counts that are not a multiple of 16', () => {
    const rows = 37;
    const scanner = createInt8Scanner(rows, 3)!;
    for (let row = 0; row < rows; row++) {
      scanner.cells[scanner.cell(row, 0)] = row - 18;
      scanner.cells[scanner.cell(row, 1)] = 127;
      scanner.cells[scanner.cell(row, 2)] = -128;
    }
    const scores = scanner.scan(rows, [0, 2], [16_383, -3]);
    for (let row = 0; row < rows; row++) expect(scores[row]).toBe((row - 18) * 16_383 + -128 * -3);
    expect(Array.from(scanner.scan(rows, [1], [2]).subarray(0, rows))).toEqual(new Array(rows).fill(254));
    expect(Array.from(scanner.scan(rows, [], []).subarray(0, rows))).toEqual(new Array(rows).fill(0));
  });

  it('keeps every cell of every row apart: tiles of 32 rows, two dimensions at a time within a tile', () => {
    const rows = 50;
    const dim = 7;
    const scanner = createInt8Scanner(rows, dim)!;
    const cells = new Set<number>();
    for (let row = 0; row < rows; row++) for (let d = 0; d < dim; d++) cells.add(scanner.cell(row, d));
    expect(cells.size).toBe(rows * dim);
    expect(Math.max(...cells)).toBeLessThan(scanner.cells.length);
    // Dimensions 2 and 3 of a row sit side by side, after dimensions 0 and 1 of the tile's 32 rows; rows two bytes apart.
    expect(scanner.cell(17, 2) - scanner.cell(16, 0)).toBe(2 * scanner.tileRows + 2);
    expect(scanner.cell(17, 3) - scanner.cell(17, 2)).toBe(1);
    // Each row's value is its own: row × dimension products, summed with distinct weights per dimension.
    for (let row = 0; row < rows; row++) for (let d = 0; d < dim; d++) scanner.cells[scanner.cell(row, d)] = ((row * 7 + d * 13) % 255) - 127;
    const weights = [3, -5, 7, 11, -13, 17, 19];
    const dims = [6, 0, 3, 1, 5, 2, 4];
    const scores = scanner.scan(rows, dims, dims.map((d) => weights[d]!));
    for (let row = 0; row < rows; row++) {
      let expected = 0;
      for (let d = 0; d < dim; d++) expected += (((row * 7 + d * 13) % 255) - 127) * weights[d]!;
      expect(scores[row]).toBe(expected);
    }
  });

  it("counts a pair's other dimension as zero when the query lacks it, and keeps no weight from one scan to the next", () => {
    const rows = 40;
    const scanner = createInt8Scanner(rows, 5)!;
    const rowValues = (row: number) => [row - 20, 100 - row, 3, -7, row % 5];
    for (let row = 0; row < rows; row++) scanner.setRow(row, rowValues(row));
    const expected = (dims: number[], weights: number[]) => Array.from({ length: rows }, (_, row) => dims.reduce((sum, d, k) => sum + rowValues(row)[d]! * weights[k]!, 0));
    // Both dimensions of pair 0, then one of pair 1, the last (unpaired) dimension, and one of pair 0 alone.
    expect(Array.from(scanner.scan(rows, [1, 4, 0, 3], [5, 2, -9, 11]).subarray(0, rows))).toEqual(expected([1, 4, 0, 3], [5, 2, -9, 11]));
    expect(Array.from(scanner.scan(rows, [0], [7]).subarray(0, rows))).toEqual(expected([0], [7]));
    expect(Array.from(scanner.scan(rows, [3], [-1]).subarray(0, rows))).toEqual(expected([3], [-1]));
    for (let row = 0; row < rows; row++) for (let d = 0; d < 5; d++) expect(scanner.cells[scanner.cell(row, d)]).toBe(rowValues(row)[d]);
  });
});
