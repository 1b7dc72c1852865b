import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { RowFileWriter } from './row-file.js';

describe('RowFileReader', () => {
  const dirs: string[] = [];
  afterEach(() => dirs.splice(0).forEach((dir) => rmSync(dir, { recursive: true, force: true })));

  it('copies a row’s vector into a caller’s array (a view into a larger buffer too) with the same floats as a fresh one', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hearth-row-file-'));
    dirs.push(dir);
    const dim = 5;
    const writer = new RowFileWriter(join(dir, 'chunks.rows'), dim, 3);
    const vectors = [0, 1, 2].map((row) => Float32Array.from({ length: dim }, (_, d) => row * 10 + d + 0.25));
    // Texts of odd lengths: the vectors of later records do not start on a 4-byte boundary of the file.
    vectors.forEach((vector, row) => writer.add({ id: `c${row}`, vector, text: 'x'.repeat(row * 3 + 1), title: `t${row}`, author: '', url: 'é' }));
    await writer.flush();
    const file = await writer.finish(7);
    const reader = file.reader()!;
    try {
      const into = new Float32Array(new ArrayBuffer(4 * (dim + 3)), 8, dim); // not at its buffer's start
      for (const row of [2, 0, 1]) {
        const fresh = reader.read(row, `c${row}`)!;
        const copied = reader.read(row, `c${row}`, into)!;
        expect(copied.vector).toBe(into);
        expect([...into]).toEqual([...vectors[row]!]);
        expect([...fresh.vector]).toEqual([...vectors[row]!]);
        expect({ ...copied, vector: undefined }).toEqual({ ...fresh, vector: undefined });
      }
      expect(new Float32Array(into.buffer, 0, 2)).toEqual(new Float32Array(2)); // nothing written before the view
      expect(reader.read(1, 'c0', into)).toBeUndefined(); // another chunk's id: not this row
    } finally {
      reader.close();
    }
  });
});
