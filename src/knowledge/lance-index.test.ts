import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, readSync, statSync, truncateSync, writeFileSync, writeSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createHashingEmbedder } from './embedders/hashing.js';
import { fuseRankings, fusionReadsText, toHits } from './fusion.js';
import { LanceChunkIndex, ROW_FILE_REWRITE_MS } from './lance-index.js';
import { QuantizedVectors } from './quantized-vectors.js';
import { RowFile } from './row-file.js';
import type { ChunkFilter, ChunkTable, RankedRow } from './lance-index.js';
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

async function open(maxVectorCopyBytes?: number, options: { rowFile?: boolean; rowFileRewriteMs?: number; prewarm?: boolean } = {}): Promise<ChunkTable> {
  const index = await LanceChunkIndex.open(dir, { ...(maxVectorCopyBytes === undefined ? {} : { maxVectorCopyBytes }), ...options });
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

/** Records every takeRowIds call on the LanceDB table under a ChunkTable: the row ids and the columns asked for. */
function recordTakes(table: ChunkTable): Array<{ rowIds: number[]; columns: string[] }> {
  const lance = (table as unknown as { table: { takeRowIds(ids: readonly number[]): { select(columns: string[]): unknown } } }).table;
  const takes: Array<{ rowIds: number[]; columns: string[] }> = [];
  const original = lance.takeRowIds.bind(lance);
  lance.takeRowIds = (ids) => {
    const take = { rowIds: ids.map(Number), columns: [] as string[] };
    takes.push(take);
    const query = original(ids);
    const select = query.select.bind(query);
    query.select = (columns: string[]) => {
      take.columns = columns;
      return select(columns);
    };
    return query;
  };
  return takes;
}

/** Records the columns every full-text search on the LanceDB table under a ChunkTable asks for. */
function recordKeywordSelects(table: ChunkTable): string[][] {
  const selects: string[][] = [];
  onKeywordSearch(table, (_native, query) => {
    const select = (query.select as (columns: string[]) => unknown).bind(query);
    query.select = (columns: string[]) => {
      selects.push(columns);
      return select(columns);
    };
  });
  return selects;
}

/** LanceDB's native query object of a keyword search: what runs it, however the JS side drives it. */
type NativeKeywordQuery = { execute(...args: unknown[]): Promise<{ next(): Promise<unknown> }> };

/** Calls `hook` with the native query of each keyword search `table` builds, before it runs; returns the undo. */
function onKeywordSearch(table: ChunkTable, hook: (native: NativeKeywordQuery, query: Record<string, unknown>) => void): () => void {
  type Query = { fullTextSearch(...args: unknown[]): { inner: NativeKeywordQuery } & Record<string, unknown> };
  const lance = (table as unknown as { table: { query(): Query } }).table;
  const original = lance.query.bind(lance);
  lance.query = () => {
    const query = original();
    const search = query.fullTextSearch.bind(query);
    query.fullTextSearch = (...args) => {
      const found = search(...args);
      hook(found.inner, found);
      return found;
    };
    return query;
  };
  return () => delete (lance as { query?: unknown }).query; // the table's own method again
}

/**
 * Rows at equal distance or score (to 5 decimals: LanceDB's float32 and this
 * module's float64 arithmetic round differently) may come back in either
 * order; both sides of a comparison put them in chunk id order.
 */
function canonical<R extends { id: string; score: number }>(vector: R[], keyword: R[]): { vector: R[]; keyword: R[] } {
  const key = (row: R) => Math.round(row.score * 1e5);
  return {
    vector: [...vector].sort((a, b) => key(a) - key(b) || a.id.localeCompare(b.id)),
    keyword: [...keyword].sort((a, b) => key(b) - key(a) || a.id.localeCompare(b.id)),
  };
}

describe('ChunkTable hybrid search', () => {
  const filters: ChunkFilter[] = [{}, { sources: ['mail'] }, { sources: ['notes', 'slack'], since: Date.UTC(2024, 5, 1) }];
  const texts = ['boiler pressure', 'garden shed roof felt', 'school trip invoice', 'bread'];

  it.each([true, false])('fuses to the same hits as fusion over LanceDB’s own exact scan and keyword search (row file: %s)', async (rowFile) => {
    const copied = await open(undefined, { rowFile });
    await copied.upsert(await corpus());
    const lanceOnly = await open(0);
    for (const text of texts) {
      for (const filter of filters) {
        const exact = fuseRankings(text, canonical(await lanceOnly.vectorSearch(await query(text), filter, 50), await lanceOnly.keywordSearch(text, filter, 50)), 10);
        const rankings = await copied.hybridSearch(text, query(text), filter, 50);
        const fused = fuseRankings(text, canonical(rankings.vector, rankings.keyword), 10);
        const rows = await copied.completeRows(fused.map((candidate) => candidate.row));
        const hits = toHits(text, fused.map((candidate, i) => ({ ...candidate, row: rows[i]! })));
        expect(hits, `${text} ${JSON.stringify(filter)}`).toEqual(toHits(text, exact));
        expect(hits.length).toBeGreaterThan(0);
      }
    }
  });

  it('asks for the keyword search’s rows before the int8 scan holds the main thread, and not for the stream’s end once the limit came', async () => {
    const table = await open();
    await table.upsert(await corpus());
    const text = 'boiler pressure';
    await table.hybridSearch(text, query(text), {}, 50); // loads the vector copy and its row file
    const events: string[] = [];
    onKeywordSearch(table, (native) => {
      const execute = native.execute.bind(native);
      native.execute = async (...args) => {
        const batches = await execute(...args);
        const next = batches.next.bind(batches);
        batches.next = () => (events.push('keyword rows asked for'), next());
        return batches;
      };
    });
    const nearest = QuantizedVectors.prototype.nearest;
    QuantizedVectors.prototype.nearest = function (this: QuantizedVectors, ...args: Parameters<typeof nearest>) {
      events.push('int8 scan');
      return nearest.apply(this, args);
    };
    try {
      const rankings = await table.hybridSearch(text, query(text), {}, 50);
      expect(rankings.keyword).toHaveLength(50); // more rows match: LanceDB cut at the limit
    } finally {
      QuantizedVectors.prototype.nearest = nearest;
    }
    // One batch holds the 50: the search ran on LanceDB's threads while the scan ran, and no round trip asked for the end.
    expect(events).toEqual(['keyword rows asked for', 'int8 scan']);
  });

  it('finds the same keyword rows without LanceDB’s native iterator (through toArrow)', async () => {
    const table = await open();
    await table.upsert(await corpus());
    for (const text of texts) {
      for (const filter of filters) {
        const driven = await table.hybridSearch(text, query(text), filter, 50);
        let hooked = 0;
        const undo = onKeywordSearch(table, (_native, found) => {
          hooked++;
          found.nativeExecute = undefined; // as if a LanceDB version had no such method
        });
        const viaToArrow = await table.hybridSearch(text, query(text), filter, 50);
        expect(hooked).toBe(1);
        expect(viaToArrow, `${text} ${JSON.stringify(filter)}`).toEqual(driven);
        expect(driven.keyword.length).toBeGreaterThan(0);
        undo();
      }
    }
  });

  it('reads only what the vector copy lacks: the vector candidates’ exact vectors, the text of both rankings’ rows, then the fused top 10’s titles', async () => {
    const table = await open(undefined, { rowFile: false });
    await table.upsert(await corpus());
    await table.vectorSearch(await query('warm up'), {}, 1); // loads the vector copy
    const takes = recordTakes(table);
    const keywordSelects = recordKeywordSelects(table);
    const text = 'boiler pressure';
    const rankings = await table.hybridSearch(text, query(text), {}, 50);
    expect(keywordSelects).toEqual([['_score']]); // and the row id
    expect(takes.map((take) => take.columns)).toEqual([['vector'], ['text']]);
    expect(takes[0]!.rowIds).toHaveLength(75); // 1.5 × 50 int8 candidates, re-ranked with their exact vectors
    expect(rankings.vector).toHaveLength(50);
    expect(rankings.keyword.length).toBeGreaterThan(0);
    // The keyword search reads no column; the text of its rows and of the re-ranked 50 comes in one take, each row once.
    const ranked = new Set([...rankings.vector, ...rankings.keyword].map((row) => row.rowId!));
    expect(ranked.size).toBeLessThan(rankings.vector.length + rankings.keyword.length); // some rows are in both
    expect(takes[1]!.rowIds).toHaveLength(ranked.size);
    expect(new Set(takes[1]!.rowIds)).toEqual(ranked);
    expect(rankings.total).toBe(300);
    for (const row of [...rankings.vector, ...rankings.keyword]) {
      expect(Object.keys(row).sort()).toEqual(['docId', 'id', 'rowId', 'score', 'source', 'text', 'timestamp']);
      expect(row).toMatchObject({ docId: `d${row.id.slice(1)}`, source: ['mail', 'notes', 'slack'][Number(row.id.slice(1)) % 3], timestamp: Date.UTC(2024, 0, 1) + Number(row.id.slice(1)) * 86_400_000 });
    }

    takes.length = 0;
    const fused = fuseRankings(text, rankings, 10);
    const rows = await table.completeRows(fused.map((candidate) => candidate.row));
    expect(takes).toHaveLength(1);
    expect(takes[0]!.rowIds).toEqual(fused.map((candidate) => candidate.row.rowId));
    expect(takes[0]!.columns).toEqual(['id', 'title', 'author', 'url']); // source and time came from the copy
    expect(rows.map((row) => row.id)).toEqual(fused.map((candidate) => candidate.row.id));
    for (const row of rows) expect(row).toMatchObject({ title: `doc ${row.id.slice(1)}`, source: ['mail', 'notes', 'slack'][Number(row.id.slice(1)) % 3], timestamp: Date.UTC(2024, 0, 1) + Number(row.id.slice(1)) * 86_400_000 });
  });

  it('reads no text before fusion for a one-word query, and the fused top 10’s text with their titles: the same hits', async () => {
    const table = await open(undefined, { rowFile: false });
    await table.upsert(await corpus());
    await table.vectorSearch(await query('warm up'), {}, 1); // loads the vector copy
    const takes = recordTakes(table);
    for (const text of ['bread', 'boiler']) {
      expect(fusionReadsText(text)).toBe(false);
      for (const filter of filters) {
        const usual = fuseRankings(text, await table.hybridSearch(text, query(text), filter, 50), 10);
        const usualRows = await table.completeRows(usual.map((candidate) => candidate.row));
        takes.length = 0;
        const rankings = await table.hybridSearch(text, query(text), filter, 50, { texts: false });
        const fused = fuseRankings(text, rankings, 10);
        const rows = await table.completeRows(fused.map((candidate) => candidate.row), { text: true });
        expect(takes.map((take) => take.columns)).toEqual([['vector'], ['id', 'title', 'author', 'url', 'text']]);
        const hits = toHits(text, fused.map((candidate, i) => ({ ...candidate, row: rows[i]! })));
        expect(hits, `${text} ${JSON.stringify(filter)}`).toEqual(toHits(text, usual.map((candidate, i) => ({ ...candidate, row: usualRows[i]! }))));
        expect(hits.length).toBeGreaterThan(0);
      }
    }
    expect(fusionReadsText('boiler pressure')).toBe(true);
  });

  it('ranks the same rows when another handle rewrote the table, also in the middle of a search (rows taken from LanceDB)', async () => {
    const table = await open(undefined, { rowFile: false });
    const chunks = await corpus();
    for (let i = 0; i < chunks.length; i += 50) await table.upsert(chunks.slice(i, i + 50)); // six fragments
    const lanceOnly = await open(0);
    const text = 'garden shed roof';
    const written = new Map(chunks.map((chunk) => [chunk.id, chunk]));
    /** Each row is the chunk it names, the vector ranking is the exact one, and the keyword one LanceDB's with columns (up to a tie at its cut). */
    const searchAndCheck = async (compareKeyword = true) => {
      const rankings = await table.hybridSearch(text, query(text), {}, 50);
      for (const row of [...rankings.vector, ...rankings.keyword]) {
        const chunk = written.get(row.id);
        expect([row.docId, row.text, row.source, row.timestamp]).toEqual([chunk?.docId, chunk?.text, chunk?.source, chunk?.timestamp]);
      }
      // Keyword rows as this handle's keyword search reads them with their columns (another handle's FTS may lag a write).
      const exact = canonical(await lanceOnly.vectorSearch(await query(text), {}, 50), await table.keywordSearch(text, {}, 50));
      const ids = (rows: Array<{ id: string }>) => rows.map((row) => row.id);
      expect(ids(canonical(rankings.vector, []).vector)).toEqual(ids(exact.vector));
      const cut = exact.keyword.at(-1)!.score;
      if (compareKeyword) expect(ids(rankings.keyword.filter((row) => row.score > cut + 1e-5))).toEqual(ids(exact.keyword.filter((row) => row.score > cut + 1e-5)));
      return rankings;
    };
    await searchAndCheck(); // loads the copy

    // Another process deletes rows and compacts: every row id the copy holds now points elsewhere.
    const other = await open();
    await other.deleteIds(['c3', 'c4']);
    await other.optimize(new Date());
    await searchAndCheck();

    // The same, landing after this search read the version and its copy, before its takes read the rows.
    type Take = { select(columns: string[]): { withRowId(): { toArray(): Promise<unknown[]> } } };
    const lance = (table as unknown as { table: { takeRowIds(ids: readonly number[]): Take } }).table;
    const take = lance.takeRowIds.bind(lance);
    const searchWhile = async (write: () => Promise<void>, compareKeyword: boolean) => {
      let takes = 0;
      let landed: Promise<void> | undefined;
      lance.takeRowIds = (ids) => {
        takes++;
        landed ??= write();
        const written = landed;
        return { select: (columns) => ({ withRowId: () => ({ toArray: async () => (await written, take(ids).select(columns).withRowId().toArray()) }) }) };
      };
      const rankings = await searchAndCheck(compareKeyword);
      expect(takes).toBeGreaterThan(2); // the search saw the version change and ran again
      return rankings;
    };
    // A deletion: row ids stay, but the best vector row is gone (LanceDB's take still returns a deleted row).
    const best = (await table.hybridSearch(text, query(text), {}, 50)).vector[0]!.id;
    const afterDelete = await searchWhile(() => other.deleteIds([best]), true);
    expect([...afterDelete.vector, ...afterDelete.keyword].map((row) => row.id)).not.toContain(best);
    // A new fragment, then a compaction of both into one: every row id moves.
    const afterCompaction = await searchWhile(async () => {
      const added = [await chunk(1000, 'garden shed roof tiles'), await chunk(1001, 'shed roof')];
      for (const chunk of added) written.set(chunk.id, chunk);
      await other.upsert(added);
      await other.optimize(new Date());
    }, false); // (LanceDB's keyword search right after rows were added and indexed ranks them differently from one call to the next)
    expect(afterCompaction.vector.map((row) => row.id)).toContain('c1000');
  });

  it('completes rows by chunk id when the table changed since they were ranked', async () => {
    const table = await open();
    const chunks = await corpus();
    for (let i = 0; i < chunks.length; i += 50) await table.upsert(chunks.slice(i, i + 50)); // six fragments
    const text = 'garden shed roof';
    const fused = fuseRankings(text, await table.hybridSearch(text, query(text), {}, 50), 10);
    const gone = fused[0]!.row.id;
    await table.deleteIds([gone]);
    await table.optimize(new Date()); // compacts the six fragments into one: the ranked row ids now point elsewhere or nowhere
    const rows = await table.completeRows(fused.map((candidate) => candidate.row));
    expect(rows.map((row) => row.id)).toEqual(fused.map((candidate) => candidate.row.id).filter((id) => id !== gone));
    for (const row of rows) expect(row.title).toBe(`doc ${row.id.slice(1)}`);
  });

  it('indexes source and ts for filtered keyword search, also on a table made before those indexes', async () => {
    const table = await open();
    await table.upsert(await corpus());
    const lance = (table as unknown as { table: { listIndices(): Promise<Array<{ name: string; columns: string[] }>>; dropIndex(name: string): Promise<void> } }).table;
    const columns = async () => (await lance.listIndices()).flatMap((index) => index.columns).sort();
    expect(await columns()).toEqual(['source', 'text', 'ts']);
    for (const index of await lance.listIndices()) if (!index.columns.includes('text')) await lance.dropIndex(index.name);
    const older = await open(); // a new handle, as after a restart
    expect(await columns()).toEqual(['text']);
    await older.optimize(new Date());
    expect(await columns()).toEqual(['source', 'text', 'ts']);
    expect((await older.keywordSearch('boiler', { sources: ['mail'], since: Date.UTC(2024, 5, 1) }, 50)).every((row) => row.source === 'mail' && row.timestamp >= Date.UTC(2024, 5, 1))).toBe(true);
  });
});

describe('ChunkTable row file', () => {
  const rowsPath = () => join(dir, 'chunks.rows');
  /** The row file's header: the table version it was written for, its rows, and the file's inode (a new inode: written again). */
  const header = () => {
    const bytes = readFileSync(rowsPath());
    return { rows: bytes.readDoubleLE(16), version: bytes.readDoubleLE(24), ino: statSync(rowsPath()).ino, size: bytes.length };
  };
  /** Hits of a whole hybrid search on `table`, and the LanceDB takes it made. */
  const search = async (table: ChunkTable, text: string, filter: ChunkFilter = {}) => {
    const takes = recordTakes(table);
    const fused = fuseRankings(text, canonical(...(Object.values(await table.hybridSearch(text, query(text), filter, 50)).slice(0, 2) as [RankedRow[], RankedRow[]])), 10);
    const rows = await table.completeRows(fused.map((candidate) => candidate.row));
    return { hits: toHits(text, fused.map((candidate, i) => ({ ...candidate, row: rows[i]! }))), takes };
  };
  const texts = ['boiler pressure', 'garden shed roof felt', 'bread'];

  it('reads no row from LanceDB: the ranked rows’ vectors, text and titles come from the row file, with the same hits', async () => {
    const table = await open();
    await table.upsert(await corpus());
    const takesFrom = await open(undefined, { rowFile: false });
    const keywordSelects = recordKeywordSelects(table);
    for (const text of texts) {
      for (const filter of [{}, { sources: ['notes', 'slack'], since: Date.UTC(2024, 5, 1) }]) {
        const { hits, takes } = await search(table, text, filter);
        expect(takes, text).toEqual([]);
        expect(hits.length).toBeGreaterThan(0);
        expect(hits).toEqual((await search(takesFrom, text, filter)).hits);
      }
    }
    expect(keywordSelects.length).toBeGreaterThan(0);
    expect(keywordSelects.every((columns) => columns.length === 1 && columns[0] === '_score')).toBe(true);
    expect(header()).toMatchObject({ rows: 300 });
  });

  // The bound on row file writes is per process and a restart starts without one: a new handle here is a restart
  // only with rowFileRewriteMs: 0.
  const unbounded = { rowFileRewriteMs: 0 };

  it('is written again for a new table version, and reused as it is after a restart', async () => {
    const table = await open(undefined, unbounded);
    await table.upsert(await corpus());
    await search(table, 'warm up');
    const first = header();
    const probe = 'tortoise hibernation box';
    await table.upsert([await chunk(1000, probe, 'notes')]);
    const { hits, takes } = await search(table, probe);
    expect(takes).toEqual([]);
    expect(hits[0]).toMatchObject({ chunkId: 'c1000', title: 'doc 1000' });
    const second = header();
    expect(second.version).toBeGreaterThan(first.version);
    expect(second.rows).toBe(301);
    expect(second.ino).not.toBe(first.ino);

    const restarted = await open(undefined, unbounded); // a new handle, as after a restart: the file matches the table, so it is read, not written
    const again = await search(restarted, probe);
    expect(again.takes).toEqual([]);
    expect(again.hits).toEqual(hits);
    expect(header()).toEqual(second);
  });

  it('is rebuilt from LanceDB when a record is damaged, also while a handle is using it', async () => {
    const table = await open();
    await table.upsert(await corpus());
    const expected = await Promise.all(texts.map(async (text) => (await search(await open(undefined, { rowFile: false }), text)).hits));
    await search(table, 'warm up');
    const intact = readFileSync(rowsPath());
    const damage = () => {
      const { rows } = header();
      const fd = openSync(rowsPath(), 'r+');
      try {
        // Every record's chunk id (after five lengths and the vector) overwritten with another id's bytes.
        const offsets = Buffer.alloc((rows + 1) * 8);
        readSync(fd, offsets, 0, offsets.length, 64);
        for (let row = 0; row < rows; row++) writeSync(fd, Buffer.from('zz'), 0, 2, offsets.readDoubleLE(row * 8) + 20 + DIM * 4);
      } finally {
        closeSync(fd);
      }
      expect(readFileSync(rowsPath()).equals(intact)).toBe(false);
    };
    damage();
    for (const [i, text] of texts.entries()) expect((await search(table, text)).hits).toEqual(expected[i]);
    expect(readFileSync(rowsPath()).equals(intact)).toBe(true); // written again, as it was
    expect((await search(table, texts[0]!)).takes).toEqual([]);

    damage();
    const restarted = await open();
    for (const [i, text] of texts.entries()) expect((await search(restarted, text)).hits).toEqual(expected[i]);
    expect(readFileSync(rowsPath()).equals(intact)).toBe(true);
  });

  it('is not used when cut short (a crash mid-write) or written for another version, and is written again', async () => {
    const table = await open(undefined, unbounded);
    await table.upsert(await corpus());
    const { hits } = await search(table, 'boiler pressure');
    const whole = header();
    truncateSync(rowsPath(), Math.floor(whole.size / 2));
    const stale = join(dir, `.chunks.rows.${2 ** 22 + 1}.0123abcd.tmp`); // a writer that died (no such pid: above Linux's pid_max)
    writeFileSync(stale, 'half a file');
    const restarted = await open(undefined, unbounded);
    expect((await search(restarted, 'boiler pressure')).hits).toEqual(hits);
    expect(header()).toMatchObject({ rows: whole.rows, version: whole.version, size: whole.size });
    expect(existsSync(stale)).toBe(false);

    // A file of the version before (renamed over this one, say) is not this version's.
    const bytes = readFileSync(rowsPath());
    bytes.writeDoubleLE(whole.version - 1, 24);
    writeFileSync(rowsPath(), bytes);
    const older = header().ino;
    expect((await search(await open(undefined, unbounded), 'boiler pressure')).hits).toEqual(hits);
    expect(header()).toMatchObject({ version: whole.version });
    expect(header().ino).not.toBe(older);
  });

  it('is written at most once an hour: writes after each ingest batch leave it, searches take rows from LanceDB meanwhile, with the same hits', async () => {
    const table = await open(); // the default bound, ROW_FILE_REWRITE_MS
    await table.upsert(await corpus());
    expect((await search(table, 'warm up')).takes).toEqual([]);
    const written = header();
    const probes = ['tortoise hibernation box', 'kettle descaling vinegar', 'bicycle chain oil'];
    for (const [i, probe] of probes.entries()) {
      await table.upsert([await chunk(1000 + i, probe, 'notes')]);
      table.refreshVectorCopy(); // what the store does after each sync: loads the copy ahead, never with a row file
      const { hits, takes } = await search(table, probe);
      expect(takes.length).toBeGreaterThan(0);
      expect(hits).toEqual((await search(await open(undefined, { rowFile: false }), probe)).hits);
      expect(hits[0]).toMatchObject({ chunkId: `c${1000 + i}` });
    }
    expect(header()).toEqual(written); // not one byte written since

    // An hour later the next search loads its copy again, with a row file of this version.
    const now = Date.now();
    const later = vi.spyOn(Date, 'now').mockReturnValue(now + ROW_FILE_REWRITE_MS);
    try {
      const { hits, takes } = await search(table, probes[2]!);
      expect(takes).toEqual([]);
      expect(hits[0]).toMatchObject({ chunkId: 'c1002' });
    } finally {
      later.mockRestore();
    }
    expect(header()).toMatchObject({ rows: 303 });
    expect(header().version).toBeGreaterThan(written.version);
  });

  it.each([false, true])('runs again when another handle writes the table during the keyword search (and compacts it: %s)', async (compact) => {
    const table = await open();
    const chunks = await corpus();
    for (let i = 0; i < chunks.length; i += 50) await table.upsert(chunks.slice(i, i + 50)); // six fragments
    const other = await open();
    const text = 'garden shed roof';
    const best = (await table.hybridSearch(text, query(text), {}, 50)).vector[0]!.id;
    // The write lands after the search read the version and its copy, before its keyword search runs.
    let searches = 0;
    let landed: Promise<void> | undefined;
    onKeywordSearch(table, (native) => {
      searches++;
      landed ??= (async () => {
        await other.deleteIds([best]); // row ids stay; the copy still has the row
        if (compact) await other.optimize(new Date()); // one fragment: every row id moves
      })();
      const written = landed;
      const execute = native.execute.bind(native);
      native.execute = async (...args) => (await written, execute(...args));
    });
    const rankings = await table.hybridSearch(text, query(text), {}, 50);
    expect(searches).toBeGreaterThan(1); // the search saw the version change and ran again
    const written = new Map(chunks.map((chunk) => [chunk.id, chunk]));
    const ranked = [...rankings.vector, ...rankings.keyword];
    expect(ranked.map((row) => row.id)).not.toContain(best);
    for (const row of ranked) expect([row.docId, row.text, row.source, row.timestamp]).toEqual([written.get(row.id)?.docId, written.get(row.id)?.text, written.get(row.id)?.source, written.get(row.id)?.timestamp]);
    const exact = await (await open(0)).vectorSearch(await query(text), {}, 50);
    expect(canonical(rankings.vector, []).vector.map((row) => row.id)).toEqual(canonical(exact, []).vector.map((row) => row.id));
  });
});

/** Names of the indexes each `table` asks LanceDB to prewarm, in order; `fail` makes every prewarm reject. */
function recordPrewarms(tables: ChunkTable[], fail = false): string[] {
  const names: string[] = [];
  for (const table of tables) {
    const lance = (table as unknown as { table: { prewarmIndex(name: string): Promise<void> } }).table;
    const original = lance.prewarmIndex.bind(lance);
    lance.prewarmIndex = async (name) => {
      names.push(name);
      if (fail) throw new Error('prewarm failed (test)');
      return original(name);
    };
  }
  return names;
}

describe('ChunkTable index prewarm', () => {
  it('loads every index into LanceDB’s cache with the first vector copy, once per table and process', async () => {
    const table = await open();
    await table.upsert(await corpus());
    const later = await open(); // another handle on the same table, as each store operation makes
    const prewarmed = recordPrewarms([table, later]);
    await table.hybridSearch('bread', query('bread'), {}, 50);
    expect(prewarmed.sort()).toEqual(['source_idx', 'text_idx', 'ts_idx']);
    await table.upsert([await chunk(1000, 'bread oven flour')]);
    expect((await table.hybridSearch('bread oven', query('bread oven'), {}, 50)).vector.map((row) => row.id)).toContain('c1000'); // a new copy for the new version
    await later.hybridSearch('bread', query('bread'), {}, 50);
    expect(prewarmed).toHaveLength(3); // a second prewarm would read and cache every index again
  });

  it('reads the row file the first copy found on disk through the page cache, once per table and process', async () => {
    const writer = await open(undefined, { prewarm: false }); // another process: it wrote the row file
    await writer.upsert(await corpus());
    await writer.hybridSearch('bread', query('bread'), {}, 50);
    const warmed = vi.spyOn(RowFile.prototype, 'warmPageCache');
    try {
      const table = await open();
      await table.hybridSearch('bread', query('bread'), {}, 50);
      expect(warmed).toHaveBeenCalledTimes(1);
      expect(await warmed.mock.results[0]!.value).toBe(statSync(join(dir, 'chunks.rows')).size);
      await (await open()).hybridSearch('garden shed', query('garden shed'), {}, 50);
      expect(warmed).toHaveBeenCalledTimes(1);
    } finally {
      warmed.mockRestore();
    }
  });

  it('only for a table whose vector copy fits its memory cap (the cap bounds what the prewarm holds too)', async () => {
    const table = await open(0); // no copy: LanceDB's own scan
    await table.upsert(await corpus());
    const prewarmed = recordPrewarms([table]);
    const warmed = vi.spyOn(RowFile.prototype, 'warmPageCache');
    try {
      expect((await table.hybridSearch('bread', query('bread'), {}, 50)).keyword.length).toBeGreaterThan(0);
      expect(prewarmed).toEqual([]);
      expect(warmed).not.toHaveBeenCalled();
    } finally {
      warmed.mockRestore();
    }
  });

  it('leaves the indexes to the searches when told not to prewarm (a one-shot CLI search)', async () => {
    const table = await open(undefined, { prewarm: false });
    await table.upsert(await corpus());
    const prewarmed = recordPrewarms([table]);
    expect((await table.hybridSearch('bread', query('bread'), {}, 50)).keyword.length).toBeGreaterThan(0);
    expect(prewarmed).toEqual([]);
  });

  it('searches as without it when prewarming fails', async () => {
    const table = await open();
    await table.upsert(await corpus());
    const prewarmed = recordPrewarms([table], true);
    const rankings = await table.hybridSearch('boiler pressure', query('boiler pressure'), {}, 50);
    expect(prewarmed).toHaveLength(1); // the first failure ends the prewarm
    expect(rankings.keyword.length).toBeGreaterThan(0);
    expect(rankings.vector.length).toBeGreaterThan(0);
  });
});

describe('ChunkTable without a row file', () => {
  it('takes the rows from LanceDB when the row file cannot be written, with the same hits', async () => {
    mkdirSync(join(dir, 'chunks.rows')); // a folder where the file would go: the rename into place fails
    const table = await open();
    await table.upsert(await corpus());
    const takes = recordTakes(table);
    const text = 'boiler pressure';
    const rankings = await table.hybridSearch(text, query(text), {}, 50);
    expect(takes.map((take) => take.columns)).toEqual([['vector'], ['text']]);
    const fused = fuseRankings(text, canonical(rankings.vector, rankings.keyword), 10);
    const rows = await table.completeRows(fused.map((candidate) => candidate.row));
    const lanceOnly = await open(0);
    const exact = fuseRankings(text, canonical(await lanceOnly.vectorSearch(await query(text), {}, 50), await lanceOnly.keywordSearch(text, {}, 50)), 10);
    expect(toHits(text, fused.map((candidate, i) => ({ ...candidate, row: rows[i]! })))).toEqual(toHits(text, exact));
    expect(readdirSync(dir).filter((name) => name.endsWith('.tmp'))).toEqual([]); // the temp file removed
  });
});

describe('LanceChunkIndex.dropTable', () => {
  it('removes the table’s row file with it (a new table’s versions start again at 1)', async () => {
    const table = await open();
    await table.upsert(await corpus());
    await table.hybridSearch('bread', query('bread'), {}, 50);
    expect(existsSync(join(dir, 'chunks.rows'))).toBe(true);
    await indexes.at(-1)!.dropTable('chunks');
    expect(existsSync(join(dir, 'chunks.rows'))).toBe(false);
  });
});
