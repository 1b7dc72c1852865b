import { createReadStream } from 'node:fs';
import { mkdir, open, readdir, readFile, stat, type FileHandle } from 'node:fs/promises';
import { dirname, join, relative, sep } from 'node:path';
import { fsyncDirectory, writeFileAtomic } from '../../core/atomic-file.js';
import { isNotFound } from '../../core/errors.js';

/**
 * The local copy of a mailbox, in GYB's layout: `dir/YYYY/M/D/<id>.eml`
 * (the message's Gmail date in UTC; the file's bytes are exactly the raw
 * message), plus
 *
 *   hearth-index.jsonl   one line per change: a stored message with its
 *                        labels, a label change, a deletion on the server
 *   hearth-state.json    the history id, the knowledge cursor, a rate-limit
 *                        not-before time
 *   hearth-labels.json   label id → name
 *   msg-db.sqlite        GYB's index, derived from hearth-index.jsonl (gyb-db.ts)
 *
 * The .eml files are the truth: an index line is appended only after its
 * file (and the directory entry) is on disk, and a run that was cut short
 * (`dirty`) re-scans the folder, so a file written just before a kill -9 is
 * adopted instead of fetched again.
 */

export interface IndexEntry {
  id: string;
  /** Relative path of the .eml file, `/`-separated. */
  file: string;
  /** internalDate, epoch ms. */
  date: number;
  labels: string[];
  thread?: string;
  /** ISO time the server was seen without it (the file is kept). */
  deleted?: string;
}

/** One line of hearth-index.jsonl. */
export type IndexRecord =
  | { id: string; f: string; d: number; l: string[]; t?: string }
  | { id: string; l: string[] }
  | { id: string; x: string };

export interface BackupState {
  version: 1;
  email?: string;
  /** Where the next incremental run starts (set once a full sync completed). */
  historyId?: string;
  /** The history id taken when the current full sync began; becomes historyId when it completes. */
  pendingHistoryId?: string;
  /** A run was fetching when it stopped: the next one scans the folder for files the index lacks. */
  dirty?: boolean;
  /** No request before this time (epoch ms): a rate limit's Retry-After, kept across restarts. */
  notBefore?: number;
  /** Bytes of the index already offered to the knowledge store. */
  knowledgeOffset?: number;
  lastRun?: string;
  /** Size of the index when msg-db.sqlite (GYB's index) was last written from it. */
  gybIndexSize?: number;
  /** The durable pauses (step.sleepUntil) the current run took, in order, so its replays call the same steps. */
  parks?: { runId: string; until: number[] };
}

export const INDEX_FILE = 'hearth-index.jsonl';
export const STATE_FILE = 'hearth-state.json';
export const LABELS_FILE = 'hearth-labels.json';

export class MailStore {
  private appendHandle: FileHandle | undefined;
  private dirsToSync = new Set<string>();
  /** Index lines on disk (counted on load and on every append). */
  lines = 0;
  bytesWritten = 0;

  constructor(readonly dir: string) {}

  async readState(): Promise<BackupState> {
    try {
      const parsed = JSON.parse(await readFile(join(this.dir, STATE_FILE), 'utf8')) as BackupState;
      return { ...parsed, version: 1 };
    } catch (error) {
      if (isNotFound(error)) return { version: 1 };
      throw new Error(`${join(this.dir, STATE_FILE)}: unreadable backup state (delete it to start a full sync again)`, { cause: error });
    }
  }

  async writeState(state: BackupState): Promise<void> {
    await mkdir(this.dir, { recursive: true });
    const text = `${JSON.stringify(state, null, 1)}\n`;
    await writeFileAtomic(join(this.dir, STATE_FILE), text, 0o600);
    this.bytesWritten += text.length;
  }

  async readLabels(): Promise<Record<string, string>> {
    try {
      return JSON.parse(await readFile(join(this.dir, LABELS_FILE), 'utf8')) as Record<string, string>;
    } catch (error) {
      if (isNotFound(error)) return {};
      throw error;
    }
  }

  async writeLabels(labels: Record<string, string>): Promise<void> {
    await mkdir(this.dir, { recursive: true });
    await writeFileAtomic(join(this.dir, LABELS_FILE), `${JSON.stringify(labels, null, 1)}\n`, 0o600);
  }

  /** The index folded: one entry per message ever stored. */
  async loadIndex(): Promise<Map<string, IndexEntry>> {
    const entries = new Map<string, IndexEntry>();
    this.lines = 0;
    let input;
    try {
      const handle = await open(join(this.dir, INDEX_FILE), 'r');
      input = handle.createReadStream({ encoding: 'utf8' });
    } catch (error) {
      if (isNotFound(error)) return entries;
      throw error;
    }
    // Imported here, not at the top: the idle appliance does not load readline (issue 13, item 7).
    const { createInterface } = await import('node:readline');
    const reader = createInterface({ input, crlfDelay: Infinity });
    let lineNo = 0;
    for await (const line of reader) {
      lineNo++;
      const record = parseIndexLine(line);
      if (record === undefined) continue;
      this.lines = lineNo;
      applyRecord(entries, record);
    }
    this.lines = lineNo;
    return entries;
  }

  /** Size of the index file in bytes (0 when there is none). */
  async indexSize(): Promise<number> {
    try {
      return (await stat(join(this.dir, INDEX_FILE))).size;
    } catch (error) {
      if (isNotFound(error)) return 0;
      throw error;
    }
  }

  /**
   * Records from byte `offset` of the index on, each with the byte offset
   * just past its line (the knowledge cursor). A last line without its
   * newline (being written) is left for next time.
   */
  async *recordsFrom(offset: number): AsyncGenerator<[number, IndexRecord]> {
    const size = await this.indexSize();
    if (size <= offset) return;
    const input = createReadStream(join(this.dir, INDEX_FILE), { start: offset, end: size - 1 });
    let position = offset;
    let rest = Buffer.alloc(0);
    for await (const chunk of input) {
      let buffer = Buffer.concat([rest, chunk as Buffer]);
      let newline: number;
      while ((newline = buffer.indexOf(0x0a)) >= 0) {
        const line = buffer.subarray(0, newline).toString('utf8');
        buffer = buffer.subarray(newline + 1);
        position += newline + 1;
        const record = parseIndexLine(line);
        if (record !== undefined) yield [position, record];
      }
      rest = buffer;
    }
  }

  /** Where a message's file goes: `YYYY/M/D/<id>.eml` of its date in UTC (GYB's layout). */
  static pathFor(id: string, internalDate: number): string {
    const d = new Date(internalDate);
    return `${d.getUTCFullYear()}/${d.getUTCMonth() + 1}/${d.getUTCDate()}/${id}.eml`;
  }

  /**
   * Writes a message's raw bytes: temp file, fsync, rename. The directory
   * entry is made durable by the next `commit` (before its index line is),
   * so many messages share one directory fsync.
   */
  async writeMessage(file: string, raw: Uint8Array): Promise<void> {
    const path = join(this.dir, ...file.split('/'));
    await writeFileAtomic(path, raw, 0o600, { syncDirectory: false });
    this.dirsToSync.add(dirname(path));
    this.bytesWritten += raw.byteLength;
  }

  /** Makes written files' directory entries durable, then appends `records` to the index and fsyncs it. */
  async commit(records: IndexRecord[]): Promise<void> {
    const dirs = [...this.dirsToSync];
    this.dirsToSync.clear();
    for (const folder of dirs) await fsyncDirectory(folder);
    if (records.length === 0) return;
    if (!this.appendHandle) {
      await mkdir(this.dir, { recursive: true });
      this.appendHandle = await open(join(this.dir, INDEX_FILE), 'a', 0o600);
    }
    const text = records.map((r) => JSON.stringify(r)).join('\n') + '\n';
    await this.appendHandle.write(text);
    await this.appendHandle.sync();
    this.lines += records.length;
    this.bytesWritten += Buffer.byteLength(text);
  }

  /**
   * Rewrites the index as one line per message (atomically), dropping the
   * label-change and deletion lines folded into them. Returns the new size.
   */
  async compact(entries: Map<string, IndexEntry>): Promise<number> {
    await this.close();
    const lines: string[] = [];
    for (const e of entries.values()) {
      lines.push(JSON.stringify({ id: e.id, f: e.file, d: e.date, l: e.labels, ...(e.thread ? { t: e.thread } : {}) }));
      if (e.deleted) lines.push(JSON.stringify({ id: e.id, x: e.deleted }));
    }
    const text = lines.length ? `${lines.join('\n')}\n` : '';
    await writeFileAtomic(join(this.dir, INDEX_FILE), text, 0o600);
    this.lines = lines.length;
    this.bytesWritten += Buffer.byteLength(text);
    return Buffer.byteLength(text);
  }

  /** Every `<id>.eml` under the folder, id → relative path (after a cut-short run). */
  async scanFiles(): Promise<Map<string, string>> {
    const found = new Map<string, string>();
    let names: string[];
    try {
      names = (await readdir(this.dir, { recursive: true })) as string[];
    } catch (error) {
      if (isNotFound(error)) return found;
      throw error;
    }
    for (const name of names) {
      if (!name.endsWith('.eml')) continue;
      const base = name.slice(name.lastIndexOf(sep) + 1);
      if (base.startsWith('.')) continue;
      found.set(base.slice(0, -4), relative(this.dir, join(this.dir, name)).split(sep).join('/'));
    }
    return found;
  }

  async readMessage(file: string): Promise<Buffer> {
    return readFile(join(this.dir, ...file.split('/')));
  }

  async close(): Promise<void> {
    const handle = this.appendHandle;
    this.appendHandle = undefined;
    await handle?.close();
  }
}

/**
 * One line of the index as a record; undefined for a blank line or one that is
 * not JSON (a line cut short by a power cut is the last one), which readers skip.
 */
function parseIndexLine(line: string): IndexRecord | undefined {
  if (line.trim() === '') return undefined;
  try {
    return JSON.parse(line) as IndexRecord;
  } catch {
    return undefined;
  }
}

export function applyRecord(entries: Map<string, IndexEntry>, record: IndexRecord): void {
  if ('f' in record) {
    entries.set(record.id, { id: record.id, file: record.f, date: record.d, labels: record.l, ...(record.t ? { thread: record.t } : {}) });
    return;
  }
  const entry = entries.get(record.id);
  if (!entry) return;
  if ('x' in record) entry.deleted = record.x;
  else entry.labels = record.l;
}
