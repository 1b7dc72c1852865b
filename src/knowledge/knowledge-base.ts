import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import type { Clock } from '../core/clock.js';
import { writeFileAtomic } from '../core/atomic-file.js';
import { CancelledError, errorMessage, UsageError } from '../core/errors.js';
import { BatchWriter } from './batch-writer.js';
import { chunkDocument, DEFAULT_CHUNKING } from './chunking.js';
import type { ChunkOptions } from './chunking.js';
import { fuseRankings, fusionReadsText, toHits } from './fusion.js';
import { LanceChunkIndex } from './lance-index.js';
import type { ChunkTable, OptimizeResult } from './lance-index.js';
import { InvalidDocumentError, normalize } from './normalize.js';
import type { RawFormat } from './normalize.js';
import { SOURCE_PATTERN, StageFiles } from './stages.js';
import type { ProcessedDocument, SourceEntry, SourceManifest } from './stages.js';
import type { Chunk, Embedder, IndexedChunk, KnowledgeDocument, ProgressSink, SearchPort, SearchQuery, SearchResponse } from './types.js';
import { WriterLock } from './writer-lock.js';

/**
 * The knowledge store: runs the stages (raw → processed → indexed) for a
 * source's items and answers searches. LanceDB is opened on first use. All
 * writes go through one WriterLock, so ingest jobs, rebuilds and optimize
 * never interleave.
 */

export const DEFAULT_SEARCH_LIMIT = 10;
export const MAX_SEARCH_LIMIT = 100;
/** Chunks embedded and written per LanceDB write: few, large writes spare the SD card. */
const WRITE_BATCH_CHUNKS = 512;
const EMBED_BATCH = 32;
/** Candidates fetched from each ranking before fusion. */
const CANDIDATES_PER_RANKING = 50;
const PROGRESS_EVERY_MS = 2_000;
/** Unindexed rows after an ingest above which the ingest refreshes the indexes itself. */
const REINDEX_AFTER_UNINDEXED_ROWS = 2_000;
/** Table versions younger than this survive an ingest's own optimize (a search may be reading them). */
const RECENT_VERSIONS_KEPT_MS = 60 * 60 * 1000;

/** One item a source offers; its bytes are read only if size or mtime changed. */
export interface SourceItem {
  key: string;
  format: RawFormat;
  mtimeMs: number;
  size: number;
  path?: string;
  read(): Promise<Uint8Array>;
}

export interface SyncOptions {
  /** Items of the source not offered this time are deleted (a folder scan); false for append-only feeds. */
  removeMissing: boolean;
  progress?: ProgressSink;
  signal?: AbortSignal;
}

export interface SyncReport {
  source: string;
  documents: number;
  added: number;
  changed: number;
  unchanged: number;
  removed: number;
  invalid: number;
  chunksEmbedded: number;
  chunksRemoved: number;
  chunksTotal: number;
  tookMs: number;
}

export interface IndexMeta {
  table: string;
  embedder: string;
  dim: number;
  createdAt: string;
}

export interface KnowledgeStatus {
  root: string;
  embedder: { configured: string; indexed?: string; dim?: number; reembedNeeded: boolean };
  chunks: number;
  sources: Array<{ name: string; documents: number; chunks: number }>;
}

export interface KnowledgeBaseOptions {
  /** `<dataDir>/knowledge`. */
  root: string;
  embedder: Embedder;
  clock: Clock;
  chunking?: ChunkOptions;
  /** See ChunkIndexOptions.prewarm (default true). */
  prewarm?: boolean;
}

interface PendingDoc {
  manifestEntry: SourceEntry;
  processed: ProcessedDocument;
  /** Chunk ids that must be embedded and written (the rest are in the index already). */
  toEmbed: Set<string>;
  /** True when the index may hold chunks of this document that are no longer current. */
  hadEntry: boolean;
}

export class KnowledgeBase implements SearchPort {
  private readonly files: StageFiles;
  private readonly lock: WriterLock;
  private readonly clock: Clock;
  private readonly chunking: ChunkOptions;
  private indexPromise: Promise<LanceChunkIndex> | undefined;
  private tableCache: { name: string; table: ChunkTable } | undefined;

  constructor(private readonly options: KnowledgeBaseOptions) {
    this.files = new StageFiles(options.root);
    this.lock = new WriterLock(this.files.lockFile);
    this.clock = options.clock;
    this.chunking = options.chunking ?? DEFAULT_CHUNKING;
  }

  get embedder(): Embedder {
    return this.options.embedder;
  }

  get stageFiles(): StageFiles {
    return this.files;
  }

  // ── ingest ──────────────────────────────────────────────────────────────

  /**
   * Brings one source up to date with `items`: new and changed items go
   * through every stage, unchanged ones (same size and mtime, or same
   * content) are skipped, and with `removeMissing` items that are gone have
   * their chunks deleted. Running it twice changes nothing the second time.
   */
  async sync(source: string, items: SourceItem[], options: SyncOptions): Promise<SyncReport> {
    checkSource(source);
    return this.lock.run(async () => {
      const table = await this.writableTable(options.progress);
      const report = await this.syncLocked(source, items, options, table);
      table.refreshVectorCopy();
      return report;
    });
  }

  private async syncLocked(source: string, items: SourceItem[], options: SyncOptions, table: ChunkTable): Promise<SyncReport> {
    const started = this.clock.now();
    const progress = options.progress ?? (() => {});
    const manifest = await this.files.readManifest(source);
    const report: SyncReport = { source, documents: items.length, added: 0, changed: 0, unchanged: 0, removed: 0, invalid: 0, chunksEmbedded: 0, chunksRemoved: 0, chunksTotal: 0, tookMs: 0 };
    progress(`${source}: ${items.length} documents offered, ${Object.keys(manifest.entries).length} known`);

    let pending: PendingDoc[] = [];
    let pendingChunks = 0;
    const batch = new BatchWriter();
    let lastProgress = this.clock.now();
    let done = 0;
    const flush = async () => {
      await this.writeBatch(table, pending, batch, options.signal, report);
      for (const doc of pending) manifest.entries[doc.manifestEntry.key] = doc.manifestEntry;
      await this.files.writeManifest(manifest);
      pending = [];
      pendingChunks = 0;
    };

    for (const item of items) {
      throwIfAborted(options.signal);
      done++;
      const previous = manifest.entries[item.key];
      if (previous && previous.mtimeMs === item.mtimeMs && previous.size === item.size) {
        report.unchanged++;
      } else {
        const prepared = await this.prepare(source, item, previous, batch, report, progress);
        if (prepared === 'unchanged') {
          report.unchanged++;
          manifest.entries[item.key] = { ...previous!, mtimeMs: item.mtimeMs, size: item.size };
        } else if (prepared) {
          if (previous) report.changed++;
          else report.added++;
          pending.push(prepared);
          pendingChunks += prepared.toEmbed.size;
          if (pendingChunks >= WRITE_BATCH_CHUNKS) await flush();
        }
      }
      if (this.clock.now() - lastProgress >= PROGRESS_EVERY_MS) {
        lastProgress = this.clock.now();
        progress(`${source}: documents ${done}/${items.length}, chunks embedded ${report.chunksEmbedded + pendingChunks}`);
      }
    }
    if (pending.length > 0 || report.unchanged > 0) await flush();

    if (options.removeMissing) await this.removeMissing(source, manifest, items, table, report);
    await this.refreshIndexesIfBehind(table, progress);
    report.chunksTotal = Object.values(manifest.entries).reduce((sum, entry) => sum + entry.chunkIds.length, 0);
    report.tookMs = this.clock.now() - started;
    progress(
      `${source}: done — ${items.length} documents (${report.added} new, ${report.changed} changed, ${report.unchanged} unchanged, ` +
        `${report.removed} removed${report.invalid ? `, ${report.invalid} invalid` : ''}); ${report.chunksEmbedded} chunks embedded, ` +
        `${report.chunksRemoved} removed, ${report.chunksTotal} in the source; ${report.tookMs} ms`,
    );
    return report;
  }

  /** Raw and processed stages for one item; undefined when the item cannot be read as a document. */
  private async prepare(
    source: string,
    item: SourceItem,
    previous: SourceEntry | undefined,
    batch: BatchWriter,
    report: SyncReport,
    progress: ProgressSink,
  ): Promise<PendingDoc | 'unchanged' | undefined> {
    const bytes = await item.read();
    const blob = await this.files.writeRaw(source, bytes, item.format, batch);
    if (previous && previous.blob === blob) return 'unchanged';
    let document: KnowledgeDocument;
    try {
      document = normalize({ source, key: item.key, format: item.format, text: Buffer.from(bytes).toString('utf8'), mtimeMs: item.mtimeMs, ...(item.path ? { path: item.path } : {}) });
    } catch (error) {
      if (!(error instanceof InvalidDocumentError)) throw error;
      report.invalid++;
      progress(`${source}: skipped ${item.key}: ${error.message}`);
      return undefined;
    }
    const chunks = chunkDocument(document.id, document.text, this.chunking);
    const known = new Set(previous?.chunkIds ?? []);
    return {
      manifestEntry: { key: item.key, format: item.format, blob, mtimeMs: item.mtimeMs, size: item.size, ...(item.path ? { path: item.path } : {}), docId: document.id, chunkIds: chunks.map((chunk) => chunk.id) },
      processed: { document, chunks },
      toEmbed: new Set(chunks.filter((chunk) => !known.has(chunk.id)).map((chunk) => chunk.id)),
      hadEntry: previous !== undefined,
    };
  }

  /** Processed files first, then the index (upsert new chunks, delete stale ones); the caller writes the manifest last. */
  private async writeBatch(table: ChunkTable, docs: PendingDoc[], batch: BatchWriter, signal: AbortSignal | undefined, report: SyncReport): Promise<void> {
    const rows: IndexedChunk[] = [];
    for (const doc of docs) {
      await this.files.writeProcessed(doc.processed, batch);
      const fresh = doc.processed.chunks.filter((chunk) => doc.toEmbed.has(chunk.id));
      rows.push(...(await this.embedChunks(doc.processed.document, fresh, signal)));
    }
    // Raw and processed files are on disk before the index or the manifest can point at them.
    await batch.commit();
    await table.upsert(rows);
    report.chunksEmbedded += rows.length;
    for (const doc of docs) {
      if (!doc.hadEntry) continue;
      const before = await table.count(`doc_id = '${doc.processed.document.id}'`);
      await table.deleteDocChunks(doc.processed.document.id, doc.manifestEntry.chunkIds);
      report.chunksRemoved += Math.max(0, before - doc.manifestEntry.chunkIds.length);
    }
  }

  /**
   * A big ingest leaves many rows outside the full-text index, and keyword
   * search scans those slowly (10k unindexed rows: ~200 ms a query). Past a
   * threshold the ingest folds them in itself rather than waiting for the
   * nightly maintenance job.
   */
  private async refreshIndexesIfBehind(table: ChunkTable, progress: ProgressSink): Promise<void> {
    const behind = await table.rowsOutsideTextIndex();
    if (behind < REINDEX_AFTER_UNINDEXED_ROWS) return;
    const started = this.clock.now();
    await table.optimize(new Date(this.clock.now() - RECENT_VERSIONS_KEPT_MS));
    progress(`folded ${behind} new chunks into the search indexes in ${this.clock.now() - started} ms`);
  }

  private async removeMissing(source: string, manifest: SourceManifest, items: SourceItem[], table: ChunkTable, report: SyncReport): Promise<void> {
    const offered = new Set(items.map((item) => item.key));
    const gone = Object.values(manifest.entries).filter((entry) => !offered.has(entry.key));
    if (gone.length === 0) return;
    for (const entry of gone) {
      await table.deleteDocChunks(entry.docId);
      await this.files.deleteProcessed(source, entry.docId);
      report.chunksRemoved += entry.chunkIds.length;
      report.removed++;
      delete manifest.entries[entry.key];
    }
    await this.files.writeManifest(manifest);
  }

  private async embedChunks(document: KnowledgeDocument, chunks: Chunk[], signal: AbortSignal | undefined): Promise<IndexedChunk[]> {
    const out: IndexedChunk[] = [];
    for (let i = 0; i < chunks.length; i += EMBED_BATCH) {
      throwIfAborted(signal);
      const batch = chunks.slice(i, i + EMBED_BATCH);
      // The title travels with every chunk: "Boiler service" says what a chunk about "the valve" is about.
      const vectors = await this.embedder.embed(batch.map((chunk) => `${document.title}\n${chunk.text}`), 'document', signal);
      batch.forEach((chunk, j) => out.push(indexedChunk(document, chunk, vectors[j]!)));
    }
    return out;
  }

  /**
   * Removes documents of a source by key (their chunks leave the index):
   * for feeds such as Slack whose items disappear one at a time (a deleted
   * message) rather than by a full listing. Unknown keys are ignored.
   */
  async remove(source: string, keys: string[]): Promise<number> {
    checkSource(source);
    return this.lock.run(async () => {
      const manifest = await this.files.readManifest(source);
      const gone = keys.map((key) => manifest.entries[key]).filter((entry): entry is SourceEntry => entry !== undefined);
      if (gone.length === 0) return 0;
      const table = await this.writableTable(undefined);
      for (const entry of gone) {
        await table.deleteDocChunks(entry.docId);
        await this.files.deleteProcessed(source, entry.docId);
        delete manifest.entries[entry.key];
      }
      await this.files.writeManifest(manifest);
      table.refreshVectorCopy();
      return gone.length;
    });
  }

  // ── search ──────────────────────────────────────────────────────────────

  async search(query: SearchQuery): Promise<SearchResponse> {
    const started = performance.now();
    const text = query.text.trim();
    if (!text) throw new UsageError('the search query is empty');
    const limit = Math.min(query.limit ?? DEFAULT_SEARCH_LIMIT, MAX_SEARCH_LIMIT);
    const meta = await this.readMeta();
    const base = { query: text, embedder: this.embedder.id };
    if (!meta) return { ...base, hits: [], mode: 'hybrid', tookMs: 0, totalChunks: 0, note: 'the knowledge store is empty: run an ingest job first' };
    const table = await this.openTable(meta);
    const filter = { ...(query.sources ? { sources: query.sources } : {}), ...(query.since !== undefined ? { since: query.since } : {}), ...(query.until !== undefined ? { until: query.until } : {}) };
    const candidates = Math.max(CANDIDATES_PER_RANKING, limit * 3);
    const sameEmbedder = meta.embedder === this.embedder.id;
    const queryVector = sameEmbedder ? this.embedder.embed([text], 'query').then(([vec]) => vec!) : undefined;
    queryVector?.catch(() => {}); // awaited in hybridSearch; a failure is reported from there
    const texts = fusionReadsText(text);
    const { vector, keyword, total } = await table.hybridSearch(text, queryVector, filter, candidates, { texts });
    const fused = fuseRankings(text, { vector, keyword }, limit);
    const rows = await table.completeRows(fused.map((candidate) => candidate.row), { text: !texts });
    const complete = new Map(rows.map((row) => [row.id, row]));
    const hits = toHits(
      text,
      fused.flatMap((candidate) => {
        const row = complete.get(candidate.row.id);
        return row ? [{ ...candidate, row }] : [];
      }),
    );
    return {
      ...base,
      hits,
      mode: sameEmbedder ? 'hybrid' : 'keyword',
      tookMs: Math.round((performance.now() - started) * 10) / 10,
      totalChunks: total ?? (await table.count()),
      ...(sameEmbedder ? {} : { note: `the index holds ${meta.embedder} vectors; keyword search only until it is re-embedded with ${this.embedder.id} (next ingest, or hearth knowledge rebuild)` }),
    };
  }

  // ── rebuild, re-embed, optimize ─────────────────────────────────────────

  /**
   * Rebuilds stages from the one before: `raw` re-normalises and re-chunks
   * every raw item into the processed stage and then re-indexes; `processed`
   * re-embeds the processed stage into a fresh table.
   */
  async rebuild(from: 'raw' | 'processed', progress: ProgressSink = () => {}, signal?: AbortSignal): Promise<{ documents: number; chunks: number }> {
    return this.lock.run(async () => {
      if (from === 'raw') await this.reprocessRaw(progress, signal);
      return this.reindex(progress, signal);
    });
  }

  private async reprocessRaw(progress: ProgressSink, signal?: AbortSignal): Promise<void> {
    await this.files.clearProcessed();
    const batch = new BatchWriter();
    for (const source of await this.files.sources()) {
      const manifest = await this.files.readManifest(source);
      const entries = Object.values(manifest.entries);
      progress(`${source}: re-processing ${entries.length} raw documents`);
      for (const entry of entries) {
        throwIfAborted(signal);
        const bytes = await this.files.readRaw(source, entry.blob);
        try {
          const document = normalize({ source, key: entry.key, format: entry.format, text: bytes.toString('utf8'), mtimeMs: entry.mtimeMs, ...(entry.path ? { path: entry.path } : {}) });
          const chunks = chunkDocument(document.id, document.text, this.chunking);
          await this.files.writeProcessed({ document, chunks }, batch);
          entry.chunkIds = chunks.map((chunk) => chunk.id);
        } catch (error) {
          if (!(error instanceof InvalidDocumentError)) throw error;
          progress(`${source}: dropped ${entry.key}: ${error.message}`);
          delete manifest.entries[entry.key];
        }
      }
      await batch.commit();
      await this.files.writeManifest(manifest);
    }
  }

  /** Embeds the whole processed stage into a new table, then switches to it; the old table serves searches until then. */
  private async reindex(progress: ProgressSink, signal?: AbortSignal): Promise<{ documents: number; chunks: number }> {
    const index = await this.index();
    const name = `chunks_${this.clock.now()}`;
    await index.dropTable(name);
    const table = await index.table(name, this.embedder.dim);
    const started = this.clock.now();
    let documents = 0;
    let chunks = 0;
    const sources = await this.files.sources();
    const total = await this.countProcessedChunks(sources);
    progress(`re-embedding ${total} chunks with ${this.embedder.id}`);
    let lastProgress = this.clock.now();
    for (const source of sources) {
      const manifest = await this.files.readManifest(source);
      let rows: IndexedChunk[] = [];
      for (const entry of Object.values(manifest.entries)) {
        const processed = await this.files.readProcessed(source, entry.docId);
        if (!processed) continue;
        rows.push(...(await this.embedChunks(processed.document, processed.chunks, signal)));
        documents++;
        if (rows.length >= WRITE_BATCH_CHUNKS) {
          await table.upsert(rows);
          chunks += rows.length;
          rows = [];
        }
        if (this.clock.now() - lastProgress >= PROGRESS_EVERY_MS) {
          lastProgress = this.clock.now();
          progress(`re-embedding: chunks ${chunks + rows.length}/${total}`);
        }
      }
      await table.upsert(rows);
      chunks += rows.length;
    }
    const previous = await this.readMeta();
    await this.writeMeta({ table: name, embedder: this.embedder.id, dim: this.embedder.dim, createdAt: new Date(this.clock.now()).toISOString() });
    if (previous && previous.table !== name) await index.dropTable(previous.table);
    progress(`indexed ${documents} documents, ${chunks} chunks with ${this.embedder.id} in ${this.clock.now() - started} ms`);
    return { documents, chunks };
  }

  private async countProcessedChunks(sources: string[]): Promise<number> {
    let total = 0;
    for (const source of sources) {
      const manifest = await this.files.readManifest(source);
      for (const entry of Object.values(manifest.entries)) total += entry.chunkIds.length;
    }
    return total;
  }

  /** Compaction, index refresh, old-version cleanup and raw garbage collection. */
  async optimize(options: { keepVersionsMs: number; progress?: ProgressSink }): Promise<OptimizeResult & { rawBlobsRemoved: number }> {
    return this.lock.run(async () => {
      const progress = options.progress ?? (() => {});
      const table = await this.writableTable(progress);
      const result = await table.optimize(new Date(this.clock.now() - options.keepVersionsMs));
      table.refreshVectorCopy();
      const rawBlobsRemoved = await this.files.collectRawGarbage();
      progress(
        `optimized: ${result.fragmentsRemoved} fragments compacted into ${result.fragmentsAdded}, ${result.versionsRemoved} old versions ` +
          `(${Math.round(result.bytesRemoved / 1024)} KiB) and ${rawBlobsRemoved} unused raw files removed`,
      );
      return { ...result, rawBlobsRemoved };
    });
  }

  async status(): Promise<KnowledgeStatus> {
    const meta = await this.readMeta();
    const sources = [];
    for (const name of await this.files.sources()) {
      const entries = Object.values((await this.files.readManifest(name)).entries);
      sources.push({ name, documents: entries.length, chunks: entries.reduce((sum, entry) => sum + entry.chunkIds.length, 0) });
    }
    const chunks = meta ? await (await this.openTable(meta)).count() : 0;
    return {
      root: this.options.root,
      embedder: { configured: this.embedder.id, ...(meta ? { indexed: meta.embedder, dim: meta.dim } : {}), reembedNeeded: meta !== undefined && meta.embedder !== this.embedder.id },
      chunks,
      sources,
    };
  }

  /** For tests and maintenance: the ids of one document's chunks in the index. */
  async indexedChunkIds(docId: string): Promise<string[]> {
    const meta = await this.readMeta();
    return meta ? (await this.openTable(meta)).docChunkIds(docId) : [];
  }

  async close(): Promise<void> {
    const index = this.indexPromise;
    this.indexPromise = undefined;
    this.tableCache = undefined;
    if (index) (await index.catch(() => undefined))?.close();
    await this.embedder.close?.();
  }

  // ── the table and its meta ──────────────────────────────────────────────

  /**
   * The table writes go to. A table of another embedder's vectors is
   * re-embedded first (with progress), never mixed with new vectors.
   */
  private async writableTable(progress: ProgressSink | undefined): Promise<ChunkTable> {
    const meta = await this.readMeta();
    if (meta && meta.embedder !== this.embedder.id) {
      progress?.(`embedder changed from ${meta.embedder} to ${this.embedder.id}: re-embedding the index first`);
      await this.reindex(progress ?? (() => {}));
    }
    const current = await this.readMeta();
    if (current) return this.openTable(current);
    const fresh: IndexMeta = { table: 'chunks', embedder: this.embedder.id, dim: this.embedder.dim, createdAt: new Date(this.clock.now()).toISOString() };
    const table = await (await this.index()).table(fresh.table, fresh.dim);
    await this.writeMeta(fresh);
    return table;
  }

  private async openTable(meta: IndexMeta): Promise<ChunkTable> {
    if (this.tableCache?.name === meta.table) return this.tableCache.table;
    const table = await (await this.index()).table(meta.table, meta.dim);
    this.tableCache = { name: meta.table, table };
    return table;
  }

  private index(): Promise<LanceChunkIndex> {
    this.indexPromise ??= LanceChunkIndex.open(this.files.indexDir, { prewarm: this.options.prewarm });
    return this.indexPromise;
  }

  /**
   * Read on every search (another process may have re-indexed), and
   * synchronously: fs/promises' readFile is four trips through libuv's
   * thread pool, which waited 15–23 ms behind LanceDB's threads in the
   * slowest 5 % of 100k-chunk searches on a busy 2-core machine; this file is
   * ~150 bytes in the page cache.
   */
  private async readMeta(): Promise<IndexMeta | undefined> {
    try {
      return JSON.parse(readFileSync(join(this.files.indexDir, 'meta.json'), 'utf8')) as IndexMeta;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw new Error(`cannot read ${join(this.files.indexDir, 'meta.json')}: ${errorMessage(error)}`, { cause: error });
    }
  }

  private async writeMeta(meta: IndexMeta): Promise<void> {
    await writeFileAtomic(join(this.files.indexDir, 'meta.json'), JSON.stringify(meta, null, 2));
  }
}

function indexedChunk(document: KnowledgeDocument, chunk: Chunk, vector: Float32Array): IndexedChunk {
  return {
    ...chunk,
    source: document.source,
    title: document.title,
    author: document.author ?? '',
    url: document.url ?? '',
    timestamp: document.timestamp,
    vector,
  };
}

function checkSource(source: string): void {
  if (!SOURCE_PATTERN.test(source)) {
    throw new UsageError(`invalid source name "${source}": use 1-63 letters, digits, ".", "-" or "_", starting with a letter or digit`);
  }
}

function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new CancelledError('cancelled');
}
