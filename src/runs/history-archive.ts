import { mkdir, open, readdir, readFile, stat, unlink } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { fsyncDirectory, writeFileAtomic } from '../core/atomic-file.js';
import { isRunId } from '../core/ids.js';
import type { Logger } from '../core/logger.js';
import { ACTIVE_RUN_STATUSES } from './model.js';
import type { Run, RunStatus } from './model.js';
import { matchesQuery, newestFirst } from './run-query.js';
import type { NormalizedQuery } from './run-query.js';
import { isRunRecord } from './run-state.js';
import { isMissingFile } from './state-file.js';

/**
 * history/<YYYY-MM>.jsonl: finished runs that left state.json, one per line,
 * filed by the month of their createdAt (UTC). Files are only ever appended
 * to. A run may appear twice (a crash between the history append and its
 * removal from state); readers keep one copy per id.
 *
 * Nothing is read at start-up but the directory listing. A month file gets an
 * index the first time a query needs it (a new month starts one with its first
 * append): its lines are grouped into blocks of about 64 KB, and for every job
 * and every status the index lists the blocks holding such runs with the time
 * range of their ids. A query reads only the blocks that can still change its
 * page, newest first, with positioned reads; a month with no block for the job
 * or status is skipped without opening it. The index is derived data: it lives
 * in memory and is saved beside the month as `<YYYY-MM>.idx.json` (atomically,
 * every SIDECAR_EVERY bytes of new history), so a restart does not scan the
 * month again. A sidecar is used only for the bytes it says it covers, and only
 * when the month file is at least that long; before its block offsets are
 * read, its covered bytes must end on a line boundary with the run it names
 * last; whatever was appended after it is scanned and indexed; a sidecar that
 * fails a check is deleted and the month re-indexed from its lines. The month
 * files stay the only authority.
 */

const MONTH_FILE = /^(\d{4})-(\d{2})\.jsonl$/;
const DAY_MS = 86_400_000;
/** Slack around month boundaries, in case a run's createdAt and the time in its id differ slightly. */
const BOUNDARY_MARGIN_MS = DAY_MS;
/** Lines are grouped into blocks of about this many bytes; a query reads whole blocks. */
const BLOCK_BYTES = 64 * 1024;
/** Size of the reused read buffers: a block (a line longer than a block gets a buffer of its own). */
const READ_BUFFER_BYTES = 2 * BLOCK_BYTES;
/** Read size when scanning a month file to index it: one read buffer. */
const SCAN_CHUNK = READ_BUFFER_BYTES;
/** The sidecar is rewritten once the index covers this many bytes more than the saved one. */
export const SIDECAR_EVERY = 512 * 1024;
const SIDECAR_VERSION = 1;
/** No archived run is active: queries for these statuses never read history. */
const ACTIVE = new Set<RunStatus>(ACTIVE_RUN_STATUSES);
const STATUS_BITS: Record<RunStatus, number> = { queued: 1, running: 2, waiting: 4, succeeded: 8, failed: 16, cancelled: 32 };
const ALL = '*';

/**
 * Blocks holding runs of one key (a job, a status, or every run), with the time range of their ids: one plain
 * array of [block, minT, maxT] triples. A month of 1,000 jobs has ~1,000 postings of a few blocks each; three
 * typed arrays apiece (object, buffer and backing store each) cost ~0.9 KB per posting, this ~0.2 KB.
 */
class Posting {
  private readonly triples: number[] = [];

  get length(): number {
    return this.triples.length / 3;
  }

  block(i: number): number {
    return this.triples[i * 3]!;
  }

  minT(i: number): number {
    return this.triples[i * 3 + 1]!;
  }

  maxT(i: number): number {
    return this.triples[i * 3 + 2]!;
  }

  add(block: number, time: number): void {
    const t = this.triples;
    const last = t.length - 3;
    if (last >= 0 && t[last] === block) {
      if (time < t[last + 1]!) t[last + 1] = time;
      if (time > t[last + 2]!) t[last + 2] = time;
      return;
    }
    t.push(block, time, time);
  }
}

/** The index of one month file: blocks (byte ranges and status bits) and postings per key. */
class MonthIndex {
  /** Bytes of the month file indexed; always just after a newline (or 0). */
  size = 0;
  /** Bytes the saved sidecar covers. */
  savedSize = 0;
  lastId: string | undefined;
  blockStart: number[] = [];
  blockEnd: number[] = [];
  blockStatus: number[] = [];
  readonly postings = new Map<string, Posting>();

  /** Indexes one run whose line is the bytes [start, end) (end includes the newline). */
  add(run: Run, start: number, end: number): void {
    let block = this.blockStart.length - 1;
    if (block < 0 || end - this.blockStart[block]! > BLOCK_BYTES) {
      block++;
      this.blockStart.push(start);
      this.blockEnd.push(end);
      this.blockStatus.push(0);
    }
    this.blockEnd[block] = end;
    this.blockStatus[block]! |= STATUS_BITS[run.status] ?? 0;
    const time = timeOfId(run.id);
    for (const key of [ALL, `j:${run.job}`, `s:${run.status}`]) {
      let posting = this.postings.get(key);
      if (!posting) this.postings.set(key, (posting = new Posting()));
      if (time === undefined) {
        posting.add(block, -Infinity);
        posting.add(block, Infinity);
      } else posting.add(block, time);
    }
    this.lastId = run.id;
  }

  toJSON(): unknown {
    const blocks: number[] = [];
    for (let i = 0; i < this.blockStart.length; i++) blocks.push(this.blockStart[i]!, this.blockEnd[i]!, this.blockStatus[i]!);
    const postings: Record<string, (number | null)[]> = {};
    for (const [key, posting] of this.postings) {
      const flat: (number | null)[] = [];
      // ±Infinity (ids that are not run ids) do not survive JSON: null stands for "unbounded".
      for (let i = 0; i < posting.length; i++) flat.push(posting.block(i), finiteOrNull(posting.minT(i)), finiteOrNull(posting.maxT(i)));
      postings[key] = flat;
    }
    return { v: SIDECAR_VERSION, size: this.size, lastId: this.lastId, blocks, postings };
  }

  /** Rebuilds an index from a sidecar's JSON; undefined when anything about it is off. */
  static fromJSON(value: unknown): MonthIndex | undefined {
    if (typeof value !== 'object' || value === null) return undefined;
    const doc = value as Record<string, unknown>;
    const { size, lastId, blocks, postings } = doc;
    if (doc.v !== SIDECAR_VERSION || !Number.isSafeInteger(size) || (size as number) < 0) return undefined;
    if (lastId !== undefined && typeof lastId !== 'string') return undefined;
    if (!Array.isArray(blocks) || blocks.length % 3 !== 0 || typeof postings !== 'object' || postings === null) return undefined;
    const index = new MonthIndex();
    index.size = index.savedSize = size as number;
    index.lastId = lastId;
    let previousEnd = 0;
    for (let i = 0; i < blocks.length; i += 3) {
      const [start, end, status] = [blocks[i], blocks[i + 1], blocks[i + 2]];
      if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end) || !Number.isSafeInteger(status)) return undefined;
      if (start < previousEnd || end <= start || end > index.size) return undefined;
      previousEnd = end;
      index.blockStart.push(start);
      index.blockEnd.push(end);
      index.blockStatus.push(status);
    }
    if ((index.blockStart.length === 0) !== (index.lastId === undefined)) return undefined;
    for (const [key, flat] of Object.entries(postings as Record<string, unknown>)) {
      if (!Array.isArray(flat) || flat.length % 3 !== 0) return undefined;
      const posting = new Posting();
      for (let i = 0; i < flat.length; i += 3) {
        const block = flat[i];
        if (!Number.isSafeInteger(block) || block < 0 || block >= index.blockStart.length) return undefined;
        if (posting.length > 0 && block <= posting.block(posting.length - 1)) return undefined;
        const min = flat[i + 1] === null ? -Infinity : flat[i + 1];
        const max = flat[i + 2] === null ? Infinity : flat[i + 2];
        if (typeof min !== 'number' || typeof max !== 'number' || Number.isNaN(min) || Number.isNaN(max) || min > max) return undefined;
        posting.add(block, min);
        posting.add(block, max);
      }
      index.postings.set(key, posting);
    }
    return index;
  }
}

interface MonthFile {
  month: string;
  path: string;
  sidecar: string;
  index?: MonthIndex;
  /** Set while the index is being loaded or extended: one at a time per file. */
  indexing?: Promise<MonthIndex | undefined>;
  /** Whether the sidecar's claim about its bytes was checked against the month file in this process. */
  verified: boolean;
  /** The month file's length after our last append (we are its only writer). */
  knownSize?: number;
  saving: boolean;
  /** Whether we made sure the file ends in a newline before our first append. */
  tailChecked: boolean;
  warnedAboutBadLines: boolean;
}

export interface HistoryArchiveOptions {
  dir: string;
  logger: Logger;
  /** Called after every fsync of a history file (for stats). */
  onSync?: () => void;
  /** Rewrite a month's sidecar index once it lags by this many bytes (default SIDECAR_EVERY). */
  sidecarEvery?: number;
}

/**
 * The buffers month files are read into, reused from query to query. A query's Reader takes one on its first read
 * and gives it back when closed (or before it waits for another query's indexing), so reading history costs at most
 * `max` buffers for the life of the process, not a new ~64 KB buffer per block: those were garbage only a GC could
 * free, and V8 collects for outside memory only every ~64 MB of it, which glibc then kept (an hour of dashboard use
 * at 100k runs grew the main malloc arena by ~70 MB; docs/benchmarks.md). Queries beyond `max` at once (the home
 * page asks for 50 jobs' strips together) wait for a buffer: a query holds one at a time, so they all get one.
 */
export class ReadBuffers {
  private readonly free: Buffer[] = [];
  private readonly waiting: Array<(buffer: Buffer) => void> = [];
  /** Pooled buffers allocated so far (never more than `max`; oversized ones are not counted). */
  allocated = 0;
  /** Reads larger than a buffer (a line longer than a block): a buffer of their own, dropped after use. */
  oversized = 0;
  /** The most buffers in use at once. */
  busiest = 0;
  private inUse = 0;

  constructor(readonly size: number = READ_BUFFER_BYTES, readonly max = 4) {}

  async take(): Promise<Buffer> {
    let buffer = this.free.pop();
    if (!buffer && this.allocated < this.max) {
      this.allocated++;
      buffer = Buffer.allocUnsafeSlow(this.size);
    }
    buffer ??= await new Promise<Buffer>((resolve) => this.waiting.push(resolve));
    this.inUse++;
    this.busiest = Math.max(this.busiest, this.inUse);
    return buffer;
  }

  give(buffer: Buffer): void {
    this.inUse--;
    const next = this.waiting.shift();
    if (next) next(buffer);
    else this.free.push(buffer);
  }
}

/**
 * One query's open month file: opened on the first read it needs, closed when the query is done. What read()
 * returns is valid until the next read(), release() or close() (it is the reused buffer): use it before then.
 */
class Reader {
  private handle: FileHandle | undefined;
  private buffer: Buffer | undefined;
  constructor(private readonly path: string, private readonly counts: { opens: number; bytes: number }, private readonly buffers: ReadBuffers) {}

  private last: { start: number; end: number; bytes: Buffer } | undefined;

  async read(start: number, end: number): Promise<Buffer> {
    // The index check reads the last block, which is often the first block a query then needs.
    if (this.last && this.last.start === start && this.last.end === end) return this.last.bytes;
    this.last = undefined;
    if (!this.handle) {
      this.handle = await open(this.path, 'r');
      this.counts.opens++;
    }
    const length = end - start;
    let target: Buffer;
    if (length <= this.buffers.size) target = this.buffer ??= await this.buffers.take();
    else {
      this.buffers.oversized++;
      target = Buffer.allocUnsafeSlow(length);
    }
    let filled = 0;
    while (filled < length) {
      const { bytesRead } = await this.handle.read(target, filled, length - filled, start + filled);
      if (bytesRead === 0) break;
      filled += bytesRead;
    }
    this.counts.bytes += filled;
    const bytes = target.subarray(0, filled);
    this.last = { start, end, bytes };
    return bytes;
  }

  /** Gives the buffer back (before waiting on another query, which may need one); the next read takes one again. */
  release(): void {
    this.last = undefined;
    if (this.buffer) this.buffers.give(this.buffer);
    this.buffer = undefined;
  }

  async close(): Promise<void> {
    const handle = this.handle;
    this.handle = undefined;
    this.release();
    await handle?.close();
  }
}

export class HistoryArchive {
  private readonly files = new Map<string, MonthFile>();
  private readonly reads = { opens: 0, bytes: 0 };
  private readonly buffers = new ReadBuffers();
  private readonly saving = new Set<Promise<void>>();

  constructor(private readonly options: HistoryArchiveOptions) {}

  /** How many times a month file was opened for reading (to check that small pages stay cheap). */
  get filesRead(): number {
    return this.reads.opens;
  }

  /** Read buffers allocated so far (at most 4, however many queries run at once), the most in use at once, and `oversized` reads. */
  get readBuffers(): { allocated: number; busiest: number; oversized: number; size: number } {
    const { allocated, busiest, oversized, size } = this.buffers;
    return { allocated, busiest, oversized, size };
  }

  /** Bytes read from month files (index checks, scans and blocks). */
  get bytesRead(): number {
    return this.reads.bytes;
  }

  /** Resolves when no sidecar write is in flight (for close and tests). */
  async settled(): Promise<void> {
    while (this.saving.size > 0) await Promise.all([...this.saving]);
  }

  async open(): Promise<void> {
    await mkdir(this.options.dir, { recursive: true });
    for (const name of await readdir(this.options.dir)) {
      const match = MONTH_FILE.exec(name);
      if (match) this.trackFile(`${match[1]}-${match[2]}`);
    }
  }

  /** Appends and fsyncs `runs`; when this resolves they are safe to drop from state. */
  async append(runs: readonly Run[]): Promise<void> {
    // Serialise now: the caller compares identities afterwards to see what changed meanwhile.
    const byMonth = new Map<string, { lines: string[]; runs: Run[] }>();
    for (const run of runs) {
      const month = monthOfRun(run);
      const group = byMonth.get(month) ?? { lines: [], runs: [] };
      group.lines.push(JSON.stringify(run));
      group.runs.push(run);
      byMonth.set(month, group);
    }
    for (const [month, group] of byMonth) await this.appendToMonth(month, group.lines, group.runs);
  }

  /** Finds an archived run by id: the id's time names the month file, the index the blocks. */
  async find(id: string): Promise<Run | undefined> {
    const time = timeOfId(id);
    if (time === undefined) return undefined;
    const needle = `"id":${JSON.stringify(id)}`;
    for (const month of monthsForId(id)) {
      const file = this.files.get(month);
      if (!file) continue;
      const reader = new Reader(file.path, this.reads, this.buffers);
      try {
        const loaded = await this.indexFor(file, reader);
        const index = loaded && (await this.verifiedIndex(file, reader, loaded));
        const posting = index?.postings.get(ALL);
        if (!index || !posting) continue;
        let found: Run | undefined;
        for (let i = 0; i < posting.length && !found; i++) {
          if (time < posting.minT(i) || time > posting.maxT(i)) continue;
          await this.readBlock(file, reader, index, posting.block(i), needle, (run) => {
            if (run.id === id) found = run;
          });
        }
        if (found) return found;
      } finally {
        await reader.close();
      }
    }
    return undefined;
  }

  /**
   * Adds the newest archived runs matching `query` to `candidates` (which
   * already holds the matches from state), keeping at most `want` of them.
   * Months are visited newest first; in each, only the blocks that hold runs
   * of the query's job (or status) and can still make it into the page are
   * read, newest first. Active statuses never read history: no archived run
   * is queued, running or waiting.
   */
  async collectNewest(
    query: NormalizedQuery,
    want: number,
    candidates: Map<string, Run>,
    isInState: (id: string) => boolean,
  ): Promise<void> {
    if (query.status !== undefined && ACTIVE.has(query.status)) return;
    const key = query.job !== undefined ? `j:${query.job}` : query.status !== undefined ? `s:${query.status}` : ALL;
    const statusBit = query.job !== undefined && query.status !== undefined ? STATUS_BITS[query.status] : 0;
    const needle = query.job !== undefined ? `"job":${JSON.stringify(query.job)}` : query.status !== undefined ? `"status":${JSON.stringify(query.status)}` : undefined;
    const beforeTime = query.before === undefined ? Infinity : (timeOfId(query.before) ?? Infinity);
    const newestMonthFirst = [...this.files.values()].sort((a, b) => b.month.localeCompare(a.month));
    let cutoffTime = candidates.size >= want ? cutoffOf(candidates) : -Infinity;
    for (const file of newestMonthFirst) {
      const bounds = monthTimeBounds(file.month);
      if (bounds.min > beforeTime || bounds.max < cutoffTime) continue;
      const reader = new Reader(file.path, this.reads, this.buffers);
      try {
        let index = await this.indexFor(file, reader);
        let posting = index?.postings.get(key);
        let blocks = index && posting ? blocksToRead(index, posting, beforeTime, cutoffTime, statusBit) : [];
        if (index && blocks.length > 0 && !file.verified) {
          index = await this.verifiedIndex(file, reader, index);
          posting = index?.postings.get(key);
          blocks = index && posting ? blocksToRead(index, posting, beforeTime, cutoffTime, statusBit) : [];
        }
        if (!index || !posting) continue;
        for (const i of blocks) {
          // Newest block first: once the page is full, a block whose newest run is older than its oldest is done with.
          if (posting.maxT(i) < cutoffTime) continue;
          await this.readBlock(file, reader, index, posting.block(i), needle, (run) => {
            if (!matchesQuery(run, query) || isInState(run.id)) return;
            candidates.set(run.id, run);
          });
          keepNewest(candidates, want);
          if (candidates.size >= want) cutoffTime = cutoffOf(candidates);
        }
      } finally {
        await reader.close();
      }
    }
  }

  /**
   * Deletes the month files whose every run is older than `before` (a month
   * ends, with the boundary margin, before it), except the months in `keep`.
   * Returns the months deleted. Whole files go: they are never rewritten.
   */
  async pruneBefore(before: number, keep: ReadonlySet<string>): Promise<string[]> {
    const deleted: string[] = [];
    for (const file of [...this.files.values()]) {
      if (keep.has(file.month) || monthEnd(file.month) + BOUNDARY_MARGIN_MS > before) continue;
      for (const path of [file.path, file.sidecar]) {
        try {
          await unlink(path);
        } catch (error) {
          if (!isMissingFile(error)) throw error;
        }
      }
      this.files.delete(file.month);
      deleted.push(file.month);
    }
    if (deleted.length > 0) await fsyncDirectory(this.options.dir);
    return deleted.sort();
  }

  private trackFile(month: string): MonthFile {
    const existing = this.files.get(month);
    if (existing) return existing;
    const file: MonthFile = {
      month,
      path: join(this.options.dir, `${month}.jsonl`),
      sidecar: join(this.options.dir, `${month}.idx.json`),
      verified: false,
      saving: false,
      tailChecked: false,
      warnedAboutBadLines: false,
    };
    this.files.set(month, file);
    return file;
  }

  private async appendToMonth(month: string, lines: string[], runs: Run[]): Promise<void> {
    const isNewFile = !this.files.has(month);
    const file = this.trackFile(month);
    // a+: append, and read the last byte to see whether a previous append was cut short.
    const handle = await open(file.path, 'a+');
    let start: number;
    let prefix: string;
    const text = lines.join('\n') + '\n';
    try {
      const { size } = await handle.stat();
      // A power cut mid-append can leave half a line; never glue our first line onto it.
      prefix = !file.tailChecked && (await endsMidLine(handle, size)) ? '\n' : '';
      file.tailChecked = false;
      file.knownSize = undefined;
      start = size + prefix.length;
      await handle.writeFile(prefix + text);
      await handle.datasync();
      file.tailChecked = true;
      file.knownSize = start + Buffer.byteLength(text);
    } finally {
      await handle.close();
    }
    if (isNewFile) await fsyncDirectory(this.options.dir);
    this.options.onSync?.();
    // Keep a loaded index current without reading back what we just wrote; a new month starts its index here.
    if (!file.index && !file.indexing && start === 0) {
      file.index = new MonthIndex();
      file.verified = true;
    }
    const index = file.index;
    if (index && !file.indexing && prefix === '' && index.size === start) {
      let offset = start;
      for (let i = 0; i < runs.length; i++) {
        const end = offset + Buffer.byteLength(lines[i]!) + 1;
        index.add(runs[i]!, offset, end);
        offset = end;
      }
      index.size = offset;
      this.maybeSave(file, index);
    }
  }

  /**
   * The month's index, covering the whole file: loaded from the sidecar (checked) or
   * built by scanning, then extended over whatever was appended since. One at a time per file.
   */
  private async indexFor(file: MonthFile, reader: Reader): Promise<MonthIndex | undefined> {
    if (file.indexing) reader.release(); // the query indexing this file may be waiting for a read buffer
    while (file.indexing) await file.indexing.catch(() => undefined);
    const current = file.index;
    if (current && (file.knownSize === undefined || current.size >= file.knownSize)) return current;
    const work = this.refreshIndex(file, reader);
    file.indexing = work;
    try {
      return await work;
    } finally {
      file.indexing = undefined;
    }
  }

  private async refreshIndex(file: MonthFile, reader: Reader): Promise<MonthIndex | undefined> {
    let size: number;
    try {
      size = (await stat(file.path)).size;
    } catch (error) {
      if (!isMissingFile(error)) throw error;
      this.options.logger.warn('history file disappeared', { file: file.path });
      file.index = undefined;
      return undefined;
    }
    let index = file.index ?? (await this.loadSidecar(file, size));
    if (index && index.size < size && !file.verified) {
      // The month grew since the sidecar was saved: the file is opened anyway, so check it now.
      if (!(await this.verify(file, reader, index))) index = undefined;
    }
    if (!index) {
      index = new MonthIndex();
      file.verified = true;
    }
    if (index.size < size) await this.scanInto(file, reader, index, size);
    file.index = index;
    this.maybeSave(file, index);
    return index;
  }

  /**
   * The index to read blocks with. A sidecar that matched the month file's length was trusted to
   * skip months without opening them; before its block offsets are used, its last line is checked
   * against the month file, and a mismatch drops it and re-indexes the month from its lines.
   */
  private async verifiedIndex(file: MonthFile, reader: Reader, index: MonthIndex): Promise<MonthIndex | undefined> {
    if (file.verified) return index;
    if (await this.verify(file, reader, index)) return index;
    if (file.index === index) file.index = undefined;
    return this.indexFor(file, reader);
  }

  /** Checks a sidecar's index against its month file; false (and the sidecar deleted) when it does not match. */
  private async verify(file: MonthFile, reader: Reader, index: MonthIndex): Promise<boolean> {
    if (await this.sidecarMatches(reader, index)) {
      file.verified = true;
      return true;
    }
    this.options.logger.warn('history index does not match its month file; rebuilding it', { file: file.sidecar });
    await unlink(file.sidecar).catch(() => undefined);
    file.verified = true;
    return false;
  }

  private async loadSidecar(file: MonthFile, size: number): Promise<MonthIndex | undefined> {
    let text: string;
    try {
      text = await readFile(file.sidecar, 'utf8');
    } catch (error) {
      if (isMissingFile(error)) return undefined;
      throw error;
    }
    let index: MonthIndex | undefined;
    try {
      index = MonthIndex.fromJSON(JSON.parse(text));
    } catch {
      index = undefined;
    }
    if (!index || index.size > size) {
      this.options.logger.warn('history index is unreadable or longer than its month file; rebuilding it', { file: file.sidecar });
      return undefined;
    }
    file.verified = false;
    return index;
  }

  /** The sidecar's covered bytes end with a newline, and the last of its lines is the run it names. */
  private async sidecarMatches(reader: Reader, index: MonthIndex): Promise<boolean> {
    if (index.size === 0) return index.lastId === undefined;
    const last = index.blockStart.length - 1;
    if (last < 0 || index.lastId === undefined) return false;
    // The last indexed line starts in the last block.
    const tail = await reader.read(Math.min(index.blockStart[last]!, index.size - 1), index.size);
    if (tail.length === 0 || tail[tail.length - 1] !== 0x0a) return false;
    const lineStart = tail.lastIndexOf(0x0a, tail.length - 2) + 1;
    const run = parseRunLine(tail.toString('utf8', lineStart, tail.length - 1));
    return run?.id === index.lastId;
  }

  /** Reads the month file from index.size to `size` and indexes every whole line. */
  private async scanInto(file: MonthFile, reader: Reader, index: MonthIndex, size: number): Promise<void> {
    let badLines = 0;
    let want = SCAN_CHUNK;
    while (index.size < size) {
      const chunk = await reader.read(index.size, Math.min(size, index.size + want));
      const lastNewline = chunk.lastIndexOf(0x0a);
      if (lastNewline < 0) {
        if (chunk.length < want) break; // a torn line at the end: indexed once it is completed
        want *= 2; // a line longer than the chunk
        continue;
      }
      want = SCAN_CHUNK;
      let pos = 0;
      while (pos <= lastNewline) {
        const newline = chunk.indexOf(0x0a, pos);
        if (newline > pos) {
          const run = parseRunLine(chunk.toString('utf8', pos, newline));
          if (run) index.add(run, index.size + pos, index.size + newline + 1);
          else badLines++;
        }
        pos = newline + 1;
      }
      index.size += lastNewline + 1;
    }
    if (badLines > 0) this.warnBadLines(file, badLines);
  }

  /** Visits the runs of one block (whose line contains `needle`, when given). */
  private async readBlock(file: MonthFile, reader: Reader, index: MonthIndex, block: number, needle: string | undefined, visit: (run: Run) => void): Promise<void> {
    let bytes: Buffer;
    try {
      bytes = await reader.read(index.blockStart[block]!, index.blockEnd[block]!);
    } catch (error) {
      if (!isMissingFile(error)) throw error;
      this.options.logger.warn('history file disappeared while reading it', { file: file.path });
      return;
    }
    const text = bytes.toString('utf8');
    let pos = 0;
    while (pos < text.length) {
      let newline = text.indexOf('\n', pos);
      if (newline < 0) newline = text.length;
      if (newline > pos) {
        const line = text.slice(pos, newline);
        if (needle === undefined || line.includes(needle)) {
          const run = parseRunLine(line);
          if (run) visit(run);
        }
      }
      pos = newline + 1;
    }
  }

  private warnBadLines(file: MonthFile, lines: number): void {
    if (file.warnedAboutBadLines) return;
    file.warnedAboutBadLines = true;
    this.options.logger.warn('skipped unreadable lines in a history file (an append cut short?)', { file: file.path, lines });
  }

  /** Saves the sidecar (atomically, in the background) once it lags the index by SIDECAR_EVERY bytes. */
  private maybeSave(file: MonthFile, index: MonthIndex): void {
    if (file.saving || index.size - index.savedSize < (this.options.sidecarEvery ?? SIDECAR_EVERY)) return;
    file.saving = true;
    const size = index.size;
    const text = JSON.stringify(index);
    const save = writeFileAtomic(file.sidecar, text)
      .then(() => {
        index.savedSize = size;
      })
      .catch((error: unknown) => this.options.logger.warn('could not save a history index (it is rebuilt when needed)', { file: file.sidecar, error }))
      .finally(() => {
        file.saving = false;
        this.saving.delete(save);
        // Appends that came in while this one was being written (after a failed write, the next append retries).
        if (file.index === index && index.savedSize === size && index.size > size) this.maybeSave(file, index);
      });
    this.saving.add(save);
  }
}

function parseRunLine(line: string): Run | undefined {
  try {
    const value: unknown = JSON.parse(line);
    return isRunRecord(value) ? value : undefined;
  } catch {
    return undefined;
  }
}

async function endsMidLine(handle: FileHandle, size: number): Promise<boolean> {
  if (size === 0) return false;
  const last = Buffer.alloc(1);
  await handle.read(last, 0, 1, size - 1);
  return last[0] !== 0x0a;
}

/** The posting entries that can hold runs for the page, newest block first. */
function blocksToRead(index: MonthIndex, posting: Posting, beforeTime: number, cutoffTime: number, statusBit: number): number[] {
  const entries: number[] = [];
  for (let i = 0; i < posting.length; i++) {
    if (posting.minT(i) > beforeTime || posting.maxT(i) < cutoffTime) continue;
    if (statusBit !== 0 && (index.blockStatus[posting.block(i)]! & statusBit) === 0) continue;
    entries.push(i);
  }
  return entries.sort((a, b) => posting.maxT(b) - posting.maxT(a));
}

/** The time of the oldest candidate's id: blocks entirely older than it cannot change the page. */
function cutoffOf(candidates: Map<string, Run>): number {
  let oldest: string | undefined;
  for (const id of candidates.keys()) if (oldest === undefined || id < oldest) oldest = id;
  return oldest === undefined ? -Infinity : (timeOfId(oldest) ?? -Infinity);
}

function finiteOrNull(value: number): number | null {
  return Number.isFinite(value) ? value : null;
}

function keepNewest(candidates: Map<string, Run>, want: number): void {
  if (candidates.size <= want) return;
  const dropped = [...candidates.values()].sort(newestFirst).slice(want);
  for (const run of dropped) candidates.delete(run.id);
}

/** The first instant after `month` ("YYYY-MM", UTC). */
function monthEnd(month: string): number {
  const [year, monthNumber] = month.split('-').map(Number) as [number, number];
  return Date.UTC(year, monthNumber, 1);
}

/** The id times a month file can hold, with the boundary margin. */
function monthTimeBounds(month: string): { min: number; max: number } {
  const [year, monthNumber] = month.split('-').map(Number) as [number, number];
  return { min: Date.UTC(year, monthNumber - 1, 1) - BOUNDARY_MARGIN_MS, max: monthEnd(month) + BOUNDARY_MARGIN_MS };
}

function monthOf(ms: number): string {
  return new Date(ms).toISOString().slice(0, 7);
}

function timeOfId(id: string): number | undefined {
  return isRunId(id) ? parseInt(id.slice(2, 12), 36) : undefined;
}

/** The month file a run is filed in: its createdAt month, UTC. */
export function monthOfRun(run: Pick<Run, 'id' | 'createdAt'>): string {
  const created = Date.parse(run.createdAt);
  if (Number.isFinite(created)) return monthOf(created);
  return monthOf(timeOfId(run.id) ?? 0);
}

/** Where an archived run with this id can be: its id's month, and a neighbour when it is near the edge. */
export function monthsForId(id: string): string[] {
  const time = timeOfId(id);
  if (time === undefined) return [];
  const months = [monthOf(time), monthOf(time - BOUNDARY_MARGIN_MS), monthOf(time + BOUNDARY_MARGIN_MS)];
  return [...new Set(months)];
}
