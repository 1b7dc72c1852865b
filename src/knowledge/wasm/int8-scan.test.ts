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
    expect(scanner.stride).toBe(48);
    for (let row = 0; row < rows; row++) {
      scanner.columns[0 * scanner.stride + row] = row - 18;
      scanner.columns[1 * scanner.stride + row] = 127;
      scanner.columns[2 * scanner.stride + row] = -128;
    }
    const scores = scanner.scan(rows, [0, 2], [16_383, -3]);
    for (let row = 0; row < rows; row++) expect(scores[row]).toBe((row - 18) * 16_383 + -128 * -3);
    expect(Array.from(scanner.scan(rows, [1], [2]).subarray(0, rows))).toEqual(new Array(rows).fill(254));
  });
});
