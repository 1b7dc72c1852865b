import type { Stats } from 'node:fs';
import { closeSync, fstatSync, fsync, openSync, readdirSync, readSync, unlinkSync, write } from 'node:fs';
import { open as openFile, rename } from 'node:fs/promises';
import { promisify } from 'node:util';
import { randomBytes } from 'node:crypto';
import { endianness } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { processAlive } from './writer-lock.js';

/**
 * A side file beside a LanceDB table holding, for every row of one table
 * version and in the vector copy's row order, what a search reads of the
 * rows it ranked: the chunk id, the exact float32 vector, the text, title,
 * author and url. A search reads its ~150 rows with positioned reads (a few
 * microseconds each from the page cache) instead of LanceDB takes (~0.3 ms a
 * call, ~0.5 ms a column and ~25 µs a cell at 100k: 8–9 ms of CPU a search).
 *
 * It is a cache of the table, never the truth: written with the vector copy
 * (from the same scan of the table) to a temp file, fsynced and renamed over
 * the old one, so a crash leaves the old file or the new one. The header
 * names the table version, the row count and the dimensions; a file that does
 * not match the version the copy was read at, or whose length is not the one
 * it claims, is not used and is written again. Every record starts with its
 * chunk id, and a read checks it against the copy's (from LanceDB): a record
 * that does not match (a damaged file, another process's table) makes the
 * caller drop the file and read the table again.
 *
 * Layout (little-endian): a 64-byte header (magic, dim, rows, table version,
 * file length), rows + 1 record offsets (float64), then the records: five
 * uint32 lengths (id, text, title, author, url in UTF-8), the vector (dim ×
 * float32), then the five strings.
 */

const MAGIC = 'HEARTHR1';
const HEADER_BYTES = 64;
const RECORD_PREFIX = 5 * 4;
const LITTLE_ENDIAN = endianness() === 'LE';
const writeAt = promisify(write);
const fsyncFd = promisify(fsync);

export interface RowRecord {
  id: string;
  vector: Float32Array;
  text: string;
  title: string;
  author: string;
  url: string;
}

export interface RowFileShape {
  dim: number;
  rows: number;
  version: number;
}

/** The side file's name for a table in a LanceDB folder. */
export function rowFilePath(dir: string, table: string): string {
  return join(dir, `${table}.rows`);
}

/**
 * Writes a new row file record by record (`flush` after each batch of rows);
 * `finish` renames it into place, `abort` removes it. Writes and the fsync
 * run on libuv's thread pool: ~190 MB at 100k dense chunks must not block the
 * event loop the scheduler runs on.
 */
export class RowFileWriter {
  private readonly fd: number;
  private readonly temp: string;
  private readonly offsets: Float64Array;
  private rows = 0;
  private position: number;
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private done = false;
  /** A write failed (a full disk, say): the rest is not buffered and `finish` throws it. */
  private failure: unknown;

  constructor(
    private readonly path: string,
    private readonly dim: number,
    private readonly capacity: number,
  ) {
    removeStaleTemps(path);
    this.temp = join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
    this.fd = openSync(this.temp, 'w', 0o644);
    this.offsets = new Float64Array(capacity + 1);
    this.position = HEADER_BYTES + this.offsets.byteLength;
  }

  add(record: RowRecord): void {
    if (this.rows >= this.capacity) throw new RangeError(`the row file is full (${this.capacity} rows)`);
    if (record.vector.length !== this.dim) throw new RangeError(`vector has ${record.vector.length} dimensions, expected ${this.dim}`);
    if (this.failure !== undefined) {
      this.rows++;
      return;
    }
    const strings = [record.id, record.text, record.title, record.author, record.url].map((value) => Buffer.from(value, 'utf8'));
    const bytes = RECORD_PREFIX + this.dim * 4 + strings.reduce((sum, value) => sum + value.length, 0);
    const out = Buffer.allocUnsafe(bytes);
    strings.forEach((value, i) => out.writeUInt32LE(value.length, i * 4));
    let at = RECORD_PREFIX;
    for (let d = 0; d < this.dim; d++, at += 4) out.writeFloatLE(record.vector[d]!, at);
    for (const value of strings) at += value.copy(out, at);
    this.offsets[this.rows++] = this.position;
    this.position += bytes;
    this.pending.push(out);
    this.pendingBytes += bytes;
  }

  /** Writes the header and offsets, fsyncs and renames the file into place; the rows must be all `capacity`. */
  async finish(version: number): Promise<RowFile> {
    if (this.rows !== this.capacity) throw new Error(`the row file has ${this.rows} rows, expected ${this.capacity}`);
    await this.flush();
    if (this.failure !== undefined) throw this.failure;
    this.offsets[this.rows] = this.position;
    const header = Buffer.alloc(HEADER_BYTES);
    header.write(MAGIC, 0, 'latin1');
    header.writeUInt32LE(this.dim, 8);
    header.writeDoubleLE(this.rows, 16);
    header.writeDoubleLE(version, 24);
    header.writeDoubleLE(this.position, 32);
    await writeAll(this.fd, Buffer.from(this.offsets.buffer), HEADER_BYTES);
    await writeAll(this.fd, header, 0);
    await fsyncFd(this.fd);
    closeSync(this.fd);
    this.done = true;
    try {
      await rename(this.temp, this.path);
    } catch (error) {
      removeFile(this.temp);
      throw error;
    }
    return new RowFile(this.path, this.dim, this.offsets, identityOf(this.path));
  }

  abort(): void {
    if (this.done) return;
    this.done = true;
    closeSync(this.fd);
    removeFile(this.temp);
  }

  /** Writes the records added since the last flush; a failure is kept for `finish` (searches then take rows from LanceDB). */
  async flush(): Promise<void> {
    if (this.pending.length === 0 || this.failure !== undefined) return;
    const data = Buffer.concat(this.pending, this.pendingBytes);
    const start = this.position - this.pendingBytes;
    this.pending = [];
    this.pendingBytes = 0;
    try {
      await writeAll(this.fd, data, start);
    } catch (error) {
      this.failure = error;
    }
  }
}

/** A row file that matched its table version when opened; reads records by the copy's row number. */
export class RowFile {
  constructor(
    readonly path: string,
    readonly dim: number,
    /** Where each record starts (and, last, the file's length): 8 bytes a row in memory. */
    private readonly offsets: Float64Array,
    /** The file this was opened as (inode, size, mtime): a file renamed over it since is another one. */
    private readonly identity: string,
  ) {}

  /** Opens `path` if it holds exactly `shape` (dimensions, rows, table version) and is as long as it says; else undefined. */
  static open(path: string, shape: RowFileShape): RowFile | undefined {
    let fd: number;
    try {
      fd = openSync(path, 'r');
    } catch {
      return undefined;
    }
    try {
      const stat = fstatSync(fd);
      const header = Buffer.alloc(HEADER_BYTES);
      if (readSync(fd, header, 0, HEADER_BYTES, 0) !== HEADER_BYTES) return undefined;
      if (header.toString('latin1', 0, 8) !== MAGIC || header.readUInt32LE(8) !== shape.dim || header.readDoubleLE(16) !== shape.rows || header.readDoubleLE(24) !== shape.version) return undefined;
      const length = header.readDoubleLE(32);
      if (length !== stat.size) return undefined;
      const offsets = new Float64Array(shape.rows + 1);
      const bytes = Buffer.from(offsets.buffer);
      if (readSync(fd, bytes, 0, bytes.length, HEADER_BYTES) !== bytes.length) return undefined;
      const first = HEADER_BYTES + bytes.length;
      for (let row = 0; row <= shape.rows; row++) {
        const at = offsets[row]!;
        if (!(at >= (row === 0 ? first : offsets[row - 1]! + RECORD_PREFIX + shape.dim * 4))) return undefined;
      }
      if (offsets[0] !== first || offsets[shape.rows] !== length) return undefined;
      return new RowFile(path, shape.dim, offsets, identity(stat));
    } catch {
      return undefined; // not a file this can read (a folder, say): written again, or searches take from LanceDB
    } finally {
      closeSync(fd);
    }
  }

  /** Bytes this keeps in memory (the offsets). */
  get memoryBytes(): number {
    return this.offsets.byteLength;
  }

  /**
   * Opens the file for a search's reads; undefined if another file has been
   * renamed over it (another process wrote the table's next version).
   */
  reader(): RowFileReader | undefined {
    let fd: number;
    try {
      fd = openSync(this.path, 'r');
    } catch {
      return undefined;
    }
    if (identity(fstatSync(fd)) !== this.identity) {
      closeSync(fd);
      return undefined;
    }
    return new RowFileReader(fd, this.dim, this.offsets);
  }

  /**
   * Reads the whole file once, front to back, into one reused 1 MiB buffer, so the page cache holds it: after a
   * reboot a search's ~120 positioned reads would each wait for the disk (an SD card's random reads are ~0.3 ms),
   * while one sequential read costs seconds at most. Nothing is kept in this process's memory. Returns the bytes read.
   */
  async warmPageCache(): Promise<number> {
    const handle = await openFile(this.path, 'r');
    try {
      const buffer = Buffer.allocUnsafe(1024 * 1024);
      let total = 0;
      for (;;) {
        const { bytesRead } = await handle.read(buffer, 0, buffer.length, total);
        if (bytesRead === 0) return total;
        total += bytesRead;
      }
    } finally {
      await handle.close();
    }
  }

  /** Removes the file if it is still the one this opened (a damaged record was found in it). */
  discard(): void {
    try {
      if (identityOf(this.path) === this.identity) unlinkSync(this.path);
    } catch {
      // already gone or replaced
    }
  }
}

/** Positioned reads of one open row file; `close` when the search is done. */
export class RowFileReader {
  private buffer = Buffer.allocUnsafe(16 * 1024);

  constructor(
    private readonly fd: number,
    private readonly dim: number,
    private readonly offsets: Float64Array,
  ) {}

  /**
   * Row `row`'s record, or undefined if it is not there or its chunk id is not `id` (the file is damaged or stale).
   * With `into` (dim floats), the vector is copied into it and the record's `vector` is `into`: a search that
   * only measures a distance with it allocates no vector a row.
   */
  read(row: number, id: string, into?: Float32Array): RowRecord | undefined {
    if (!(row >= 0 && row + 1 < this.offsets.length)) return undefined;
    const start = this.offsets[row]!;
    const bytes = this.offsets[row + 1]! - start;
    if (this.buffer.length < bytes) this.buffer = Buffer.allocUnsafe(bytes);
    const buffer = this.buffer;
    if (readSync(this.fd, buffer, 0, bytes, start) !== bytes) return undefined;
    const lengths = [0, 1, 2, 3, 4].map((i) => buffer.readUInt32LE(i * 4));
    let at = RECORD_PREFIX + this.dim * 4;
    if (at + lengths.reduce((sum, length) => sum + length, 0) !== bytes) return undefined;
    const [recordId, text, title, author, url] = lengths.map((length) => {
      const value = buffer.toString('utf8', at, at + length);
      at += length;
      return value;
    });
    if (recordId !== id) return undefined;
    const vector = into?.length === this.dim ? into : new Float32Array(this.dim);
    if (LITTLE_ENDIAN) {
      // The file's floats are this machine's: one copy of the bytes, not a readFloatLE call each (~50k calls a search).
      new Uint8Array(vector.buffer, vector.byteOffset, this.dim * 4).set(buffer.subarray(RECORD_PREFIX, RECORD_PREFIX + this.dim * 4));
    } else {
      for (let d = 0; d < this.dim; d++) vector[d] = buffer.readFloatLE(RECORD_PREFIX + d * 4);
    }
    return { id: recordId, vector, text: text!, title: title!, author: author!, url: url! };
  }

  close(): void {
    closeSync(this.fd);
  }
}

function removeFile(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // already gone
  }
}

async function writeAll(fd: number, data: Buffer, position: number): Promise<void> {
  for (let written = 0; written < data.length; ) written += (await writeAt(fd, data, written, data.length - written, position + written)).bytesWritten;
}

function identityOf(path: string): string {
  const fd = openSync(path, 'r');
  try {
    return identity(fstatSync(fd));
  } finally {
    closeSync(fd);
  }
}

/** Inode, size and mtime: an inode number alone can be reused by the next file once the last is deleted. */
function identity(stat: Stats): string {
  return `${stat.ino}:${stat.size}:${stat.mtimeMs}`;
}

/** Temp files of `path` left by a process that died while writing one (its pid is in the name). */
function removeStaleTemps(path: string): void {
  const prefix = `.${basename(path)}.`;
  let names: string[];
  try {
    names = readdirSync(dirname(path));
  } catch {
    return;
  }
  for (const name of names) {
    if (!name.startsWith(prefix) || !name.endsWith('.tmp')) continue;
    const pid = Number(name.slice(prefix.length).split('.')[0]);
    if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && processAlive(pid)) continue;
    if (pid === process.pid) continue; // this process's own writer (a concurrent load) removes its own
    try {
      unlinkSync(join(dirname(path), name));
    } catch {
      // another process removed it
    }
  }
}
