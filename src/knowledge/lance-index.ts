import { mkdir } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import type { Connection, Table } from '@lancedb/lancedb';
import type { IndexedChunk } from './types.js';

/**
 * The indexed stage: one LanceDB table of chunks with a vector column and a
 * full-text (BM25) index on the text. LanceDB and Arrow are imported only
 * when a table is opened, so an appliance that never searches never pays
 * for them. This is the only file that knows LanceDB's API.
 */

export interface ChunkFilter {
  sources?: string[];
  since?: number;
  until?: number;
}

export interface IndexRow {
  id: string;
  docId: string;
  source: string;
  title: string;
  author: string;
  url: string;
  timestamp: number;
  text: string;
  /** Cosine distance (vector search) or BM25 score (keyword search). */
  score: number;
}

export interface OptimizeResult {
  fragmentsRemoved: number;
  fragmentsAdded: number;
  versionsRemoved: number;
  bytesRemoved: number;
}

const COLUMNS = ['id', 'doc_id', 'source', 'title', 'author', 'url', 'ts', 'text'];

type LanceModule = typeof import('@lancedb/lancedb');
type ArrowModule = typeof import('apache-arrow');

/** Loads LanceDB once per store; Rust's own log lines stay quiet unless asked for. */
async function loadLance(): Promise<{ lance: LanceModule; arrow: ArrowModule }> {
  // LanceDB reads LANCEDB_LOG when it loads; its warnings ("No existing dataset ...") are not for users.
  process.env.LANCEDB_LOG ??= 'error';
  // Measured with 0.31.0 on a 2-core machine: building the full-text index over 100k rows never
  // returns (every thread parked) with Lance's default compute pool of 2 threads, and finishes in
  // ~8 s with 3 or 8. A Pi 4 has 4 cores, so the pool is at least 4. Lance reads this once, on first
  // use, so it is set before the module loads; an explicit LANCE_CPU_THREADS wins.
  process.env.LANCE_CPU_THREADS ??= String(Math.max(4, availableParallelism()));
  const [lance, arrow] = await Promise.all([import('@lancedb/lancedb'), import('apache-arrow')]);
  return { lance, arrow };
}

export class LanceChunkIndex {
  private constructor(
    private readonly lance: LanceModule,
    private readonly arrow: ArrowModule,
    private readonly db: Connection,
    readonly dir: string,
  ) {}

  static async open(dir: string): Promise<LanceChunkIndex> {
    await mkdir(dir, { recursive: true });
    const { lance, arrow } = await loadLance();
    // Always read the latest version: another process (hearth knowledge rebuild / optimize) may have
    // written the table, and a stale handle could point at files its cleanup removed.
    const db = await lance.connect(dir, { readConsistencyInterval: 0 });
    return new LanceChunkIndex(lance, arrow, db, dir);
  }

  async tableNames(): Promise<string[]> {
    return this.db.tableNames();
  }

  /** Opens a table, creating it empty with the right vector width if it does not exist. */
  async table(name: string, dim: number): Promise<ChunkTable> {
    const names = await this.db.tableNames();
    const table = names.includes(name) ? await this.db.openTable(name) : await this.db.createEmptyTable(name, this.schema(dim));
    return new ChunkTable(this.lance, table, dim);
  }

  async dropTable(name: string): Promise<void> {
    if ((await this.db.tableNames()).includes(name)) await this.db.dropTable(name);
  }

  close(): void {
    this.db.close();
  }

  private schema(dim: number) {
    const { Schema, Field, Utf8, Float64, Int32, Float32, FixedSizeList } = this.arrow;
    return new Schema([
      new Field('id', new Utf8(), false),
      new Field('doc_id', new Utf8(), false),
      new Field('chunk', new Int32(), false),
      new Field('source', new Utf8(), false),
      new Field('title', new Utf8(), false),
      new Field('author', new Utf8(), false),
      new Field('url', new Utf8(), false),
      new Field('ts', new Float64(), false),
      new Field('text', new Utf8(), false),
      new Field('vector', new FixedSizeList(dim, new Field('item', new Float32(), true)), false),
    ]);
  }
}

export class ChunkTable {
  constructor(
    private readonly lance: LanceModule,
    private readonly table: Table,
    readonly dim: number,
  ) {}

  async count(filter?: string): Promise<number> {
    return this.table.countRows(filter);
  }

  /** Insert or replace by chunk id: running the same batch twice leaves one row per chunk. */
  async upsert(chunks: IndexedChunk[]): Promise<void> {
    if (chunks.length === 0) return;
    const rows = chunks.map((chunk) => ({
      id: chunk.id,
      doc_id: chunk.docId,
      chunk: chunk.index,
      source: chunk.source,
      title: chunk.title,
      author: chunk.author,
      url: chunk.url,
      ts: chunk.timestamp,
      text: chunk.text,
      vector: Array.from(chunk.vector),
    }));
    if ((await this.table.countRows()) === 0) await this.table.add(rows);
    else await this.table.mergeInsert('id').whenMatchedUpdateAll().whenNotMatchedInsertAll().execute(rows);
    await this.ensureTextIndex();
  }

  async deleteIds(ids: string[]): Promise<void> {
    for (let i = 0; i < ids.length; i += 500) {
      const batch = ids.slice(i, i + 500);
      await this.table.delete(`id IN (${batch.map(sqlString).join(', ')})`);
    }
  }

  /** Removes a document's chunks except `keep` (its current ones). */
  async deleteDocChunks(docId: string, keep: string[] = []): Promise<void> {
    const keepClause = keep.length > 0 ? ` AND id NOT IN (${keep.map(sqlString).join(', ')})` : '';
    await this.table.delete(`doc_id = ${sqlString(docId)}${keepClause}`);
  }

  async deleteSource(source: string): Promise<void> {
    await this.table.delete(`source = ${sqlString(source)}`);
  }

  async vectorSearch(vector: Float32Array, filter: ChunkFilter, limit: number): Promise<IndexRow[]> {
    let query = this.table.vectorSearch(Array.from(vector)).distanceType('cosine').limit(limit).select([...COLUMNS, '_distance']);
    const where = filterSql(filter);
    if (where) query = query.where(where);
    const rows = await query.toArray();
    return rows.map((row) => toIndexRow(row, Number(row._distance)));
  }

  async keywordSearch(text: string, filter: ChunkFilter, limit: number): Promise<IndexRow[]> {
    if (!(await this.hasTextIndex())) return [];
    let query = this.table.query().fullTextSearch(text, { columns: ['text'] }).limit(limit).select([...COLUMNS, '_score']);
    const where = filterSql(filter);
    if (where) query = query.where(where);
    const rows = await query.toArray();
    return rows.map((row) => toIndexRow(row, Number(row._score)));
  }

  /** Every chunk of one document, in order (for rebuilds and tests). */
  async docChunkIds(docId: string): Promise<string[]> {
    const rows = await this.table.query().where(`doc_id = ${sqlString(docId)}`).select(['id', 'chunk']).toArray();
    return rows.sort((a, b) => Number(a.chunk) - Number(b.chunk)).map((row) => String(row.id));
  }

  async allIds(): Promise<string[]> {
    const rows = await this.table.query().select(['id']).toArray();
    return rows.map((row) => String(row.id));
  }

  /**
   * Compacts small fragments, folds new rows into the indexes and deletes
   * table versions older than `cleanupOlderThan`: what keeps an SD card from
   * filling with one fragment and one version per ingest.
   */
  async optimize(cleanupOlderThan: Date): Promise<OptimizeResult> {
    const stats = await this.table.optimize({ cleanupOlderThan });
    return {
      fragmentsRemoved: stats.compaction.fragmentsRemoved,
      fragmentsAdded: stats.compaction.fragmentsAdded,
      versionsRemoved: stats.prune.oldVersionsRemoved,
      bytesRemoved: stats.prune.bytesRemoved,
    };
  }

  /** Rows the full-text index does not cover yet (searched by a slower scan until optimize folds them in). */
  async rowsOutsideTextIndex(): Promise<number> {
    const indices = await this.table.listIndices();
    const text = indices.find((index) => index.columns.includes('text'));
    if (!text) return await this.table.countRows();
    const stats = await this.table.indexStats(text.name);
    return stats?.numUnindexedRows ?? 0;
  }

  private textIndexKnown = false;

  private async hasTextIndex(): Promise<boolean> {
    if (this.textIndexKnown) return true;
    const indices = await this.table.listIndices();
    this.textIndexKnown = indices.some((index) => index.indexType === 'FTS' || index.columns.includes('text'));
    return this.textIndexKnown;
  }

  /** The FTS index is created with the first rows (LanceDB cannot index an empty column). */
  private async ensureTextIndex(): Promise<void> {
    if (await this.hasTextIndex()) return;
    await this.table.createIndex('text', { config: this.lance.Index.fts({ withPosition: false }) });
    this.textIndexKnown = true;
  }
}

function toIndexRow(row: Record<string, unknown>, score: number): IndexRow {
  return {
    id: String(row.id),
    docId: String(row.doc_id),
    source: String(row.source),
    title: String(row.title),
    author: String(row.author),
    url: String(row.url),
    timestamp: Number(row.ts),
    text: String(row.text),
    score,
  };
}

/** A filter as LanceDB SQL; values are quoted here and nowhere else. */
export function filterSql(filter: ChunkFilter): string | undefined {
  const parts: string[] = [];
  if (filter.sources && filter.sources.length > 0) parts.push(`source IN (${filter.sources.map(sqlString).join(', ')})`);
  if (filter.since !== undefined) parts.push(`ts >= ${Number(filter.since)}`);
  if (filter.until !== undefined) parts.push(`ts < ${Number(filter.until)}`);
  return parts.length > 0 ? parts.join(' AND ') : undefined;
}

function sqlString(value: string): string {
  return `'${value.replaceAll("'", "''")}'`;
}
