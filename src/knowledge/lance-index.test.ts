import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createHashingEmbedder } from './embedders/hashing.js';
import { LanceChunkIndex } from './lance-index.js';
import type { ChunkFilter, ChunkTable } from './lance-index.js';
import type { IndexedChunk } from './types.js';

// Real LanceDB in a temporary folder. The same table is searched through the
// in-memory vector copy and through LanceDB's own scan (a copy capped at 0
// bytes), and the two must agree.

const DIM = 64;
const embedder = createHashingEmbedder(DIM);
const WORDS = 'boiler pressure radiator valve garden shed roof felt bread starter oven flour bike chain tyre pump invoice energy meter reading school trip'.split(' ');

let dir: string;
let indexes: LanceChunkIndex[];

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'hearth-lance-'));
  indexes = [];
});

afterEach(async () => {
  for (const index of indexes) index.close();
  await rm(dir, { recursive: true, force: true });
});

async function open(maxVectorCopyBytes?: number): Promise<ChunkTable> {
  const index = await LanceChunkIndex.open(dir, maxVectorCopyBytes === undefined ? {} : { maxVectorCopyBytes });
  indexes.push(index);
  return index.table('chunks', DIM);
}

async function chunk(n: number, text: string, source = ['mail', 'notes', 'slack'][n % 3]!): Promise<IndexedChunk> {
  const [vector] = await embedder.embed([text], 'document');
  return { id: `c${n}`, docId: `d${n}`, index: 0, text, source, title: `doc ${n}`, author: '', url: '', timestamp: Date.UTC(2024, 0, 1) + n * 86_400_000, vector: vector! };
}

/** 300 chunks of four words from WORDS and a word of their own, so no two vectors tie. */
async function corpus(): Promise<IndexedChunk[]> {
  return Promise.all(Array.from({ length: 300 }, (_, n) => chunk(n, [...[0, 7, 13, 29].map((step) => WORDS[(n * step + step) % WORDS.length]), `item${n}`].join(' '))));
}

async function query(text: string): Promise<Float32Array> {
  return (await embedder.embed([text], 'query'))[0]!;
}

describe('ChunkTable vector search', () => {
  it('answers like LanceDB’s exact scan, with and without filters', async () => {
    const copied = await open();
    await copied.upsert(await corpus());
    const lanceOnly = await open(0);
    const filters: ChunkFilter[] = [{}, { sources: ['mail'] }, { since: Date.UTC(2024, 3, 1), until: Date.UTC(2024, 6, 1) }, { sources: ['notes', 'slack'], since: Date.UTC(2024, 5, 1) }];
    for (const text of ['boiler pressure', 'bread', 'school trip invoice']) {
      for (const filter of filters) {
        const viaCopy = await copied.vectorSearch(await query(text), filter, 10);
        const viaScan = await lanceOnly.vectorSearch(await query(text), filter, 10);
        expect(viaCopy.length).toBe(viaScan.length);
        // Rank by rank the same distances. Rows at equal distance may come back in either order, and
        // the cut after the 10th may keep different ones of a tie; every other row is in both.
        viaCopy.forEach((row, i) => expect(row.score).toBeCloseTo(viaScan[i]!.score, 5));
        const cutoff = viaScan.at(-1)?.score ?? 0;
        const scanned = new Set(viaScan.map((row) => row.id));
        for (const row of viaCopy.filter((row) => cutoff - row.score > 1e-5)) expect(scanned, `${text} ${JSON.stringify(filter)}`).toContain(row.id);
      }
    }
    expect(copied.vectorCopyInUse()).toEqual({ rows: 300, bytes: expect.any(Number) });
    expect(lanceOnly.vectorCopyInUse()).toBeUndefined();
  });

  it('sees rows added and deleted after its copy was loaded, by this handle or another', async () => {
    const table = await open();
    await table.upsert(await corpus());
    const probe = 'tortoise hibernation box';
    expect((await table.vectorSearch(await query(probe), {}, 1))[0]?.text).not.toBe(probe);

    await table.upsert([await chunk(1000, probe, 'notes')]);
    expect((await table.vectorSearch(await query(probe), {}, 1))[0]).toMatchObject({ id: 'c1000', text: probe, source: 'notes' });

    // Another process (hearth knowledge rebuild, say) writing the same table.
    const other = await open();
    await other.deleteIds(['c1000']);
    await other.upsert([await chunk(1001, `${probe} lid`, 'mail')]);
    const found = await table.vectorSearch(await query(probe), {}, 3);
    expect(found.map((row) => row.id)).not.toContain('c1000');
    expect(found[0]).toMatchObject({ id: 'c1001', source: 'mail' });
  });

  it('keeps answering after optimize() rewrites the fragments and the row ids', async () => {
    const table = await open();
    const rows = await corpus();
    for (let i = 0; i < rows.length; i += 50) await table.upsert(rows.slice(i, i + 50));
    const before = await table.vectorSearch(await query('garden shed roof'), {}, 5);
    await table.deleteIds(['c0', 'c1', 'c2']);
    await table.optimize(new Date());
    const after = await table.vectorSearch(await query('garden shed roof'), {}, 5);
    expect(after.map((row) => row.id)).not.toEqual(expect.arrayContaining(['c0', 'c1', 'c2']));
    expect(after[0]!.score).toBeCloseTo(before.find((row) => !['c0', 'c1', 'c2'].includes(row.id))!.score, 5);
    for (const row of after) expect(row.text).toBe(rows.find((candidate) => candidate.id === row.id)!.text);
  });
});
