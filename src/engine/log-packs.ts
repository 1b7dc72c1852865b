import { appendFile, mkdir, open, readdir, readFile, stat, unlink, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import type { Clock, Timer } from '../core/clock.js';
import type { Logger } from '../core/logger.js';

/**
 * Small finished run logs, packed many to a file. A run that prints a few
 * lines leaves ~260 bytes of text, and one file per run made each cost a
 * 4 KB block, an inode and a directory entry on the SD card (10,000 runs:
 * 40 MB in logs/). So a run's log is written to its own file while the run
 * goes on (streaming, the cap and the tail segments are unchanged), and when
 * it finishes a log of at most `maxBytes` is appended to the pack of the
 * day the run was created (UTC, from its id) and its file removed:
 *
 *   logs/packs/2026-03-01.log   the logs, one after another, as written
 *   logs/packs/2026-03-01.idx   one line per log: `<runId> <offset> <length> <crc32>`
 *
 * The day comes from the run id, so finding a run's packed log reads one
 * index file and needs no index in memory. Retention drops whole days (a
 * day's files go when both were last written before the cutoff).
 *
 * Durability, in this order per batch: the logs are appended to the day's
 * .log and synced, then their index lines are appended and synced, then
 * their files are removed. A power cut or a crash at any point leaves each
 * log in its own file, in the pack, or in both with the same bytes: readers
 * prefer the own file, so nothing is lost or shown twice, and the next
 * housekeeping pass (`adopt`) removes the file the index already has (or
 * packs it again). An index line whose bytes are torn, or that points at
 * bytes that did not reach the disk, fails its length or CRC check and is
 * ignored; other runs' entries are never rewritten, so a torn append cannot
 * damage them.
 *
 * Batches: a finished log waits up to `delayMs` (5 s) for others, or until
 * BATCH_MAX are waiting, and the batch then costs one append and two fsyncs
 * per day, not per run: a thousand runs a second cost a handful of fsyncs,
 * and a file removed within seconds of its writing never has its blocks
 * allocated (ext4 allocates at writeback). Shutdown packs what waits.
 *
 * Held logs. A silent run's log never had a file (run-logs.ts, "Silent
 * runs"): its bytes come in memory (`packHeld`), wait at most `heldDelayMs`
 * (1 s) for their batch, and `find` answers from memory until the batch is on
 * the disk. If the batch fails they are written to the run's own file
 * instead, so the log stays where readers look.
 */

/** Logs up to this size are packed; larger ones keep their own file (the block overhead is small next to them). */
export const DEFAULT_PACK_MAX_BYTES = 16 * 1024;
/** At most this many logs in one batch (bounds the memory a batch holds: 256 × 16 KB). */
const BATCH_MAX = 256;
/** How long a finished log waits for others to share its batch. */
export const DEFAULT_PACK_DELAY_MS = 5_000;

const DAY_MS = 86_400_000;

interface Pending {
  runId: string;
  path: string;
  /** A leftover found by housekeeping: check the index before appending it again. */
  verify: boolean;
  /** A held log: its bytes (there is no file at `path`). */
  bytes?: Buffer;
  resolve: (packed: boolean) => void;
}

interface Loaded {
  item: Pending;
  bytes: Buffer;
  crc: number;
}

export interface LogPacksOptions {
  maxBytes?: number;
  delayMs?: number;
  /** Longest a held log (packHeld) waits for its batch (default 1 s). */
  heldDelayMs?: number;
  logger?: Logger;
}

export class LogPacks {
  readonly maxBytes: number;
  private readonly logger: Logger | undefined;
  private readonly delayMs: number;
  private readonly heldDelayMs: number;
  private queue: Pending[] = [];
  private draining: Promise<void> | undefined;
  private timer: Timer | undefined;
  private timerDue = Infinity;
  private dirReady = false;
  /** Held logs not yet in a pack on the disk, by run. */
  private readonly held = new Map<string, Pending & { bytes: Buffer }>();

  constructor(readonly dir: string, private readonly clock: Clock, options: LogPacksOptions = {}) {
    this.maxBytes = options.maxBytes ?? DEFAULT_PACK_MAX_BYTES;
    this.delayMs = options.delayMs ?? DEFAULT_PACK_DELAY_MS;
    this.heldDelayMs = options.heldDelayMs ?? 1_000;
    this.logger = options.logger;
  }

  /** Whether a finished log of `bytes` goes into a pack. */
  accepts(runId: string, bytes: number): boolean {
    return this.packable(runId) && bytes <= this.maxBytes;
  }

  /**
   * Packs a log that has no file: `bytes` (call accepts() first). Readers find
   * it through `find` from now on. Resolves true once it is in the pack,
   * false if it went to its own file at `path` instead.
   */
  packHeld(runId: string, path: string, bytes: Buffer): Promise<boolean> {
    const waiting = this.held.get(runId);
    if (waiting && this.queue.includes(waiting)) {
      // More lines of a log still waiting (the run's log was reopened and finished again): one entry.
      waiting.bytes = Buffer.concat([waiting.bytes, bytes]);
      const first = waiting.resolve;
      return new Promise<boolean>((resolve) => {
        waiting.resolve = (packed) => {
          first(packed);
          resolve(packed);
        };
      });
    }
    return new Promise<boolean>((resolve) => {
      const item = { runId, path, verify: false, bytes, resolve };
      this.held.set(runId, item);
      this.enqueue(item, this.heldDelayMs);
    });
  }

  /** Whether a run's log can be packed at all (its id names the day; packing is on). */
  packable(runId: string): boolean {
    return this.maxBytes > 0 && dayOf(runId) !== undefined;
  }

  /**
   * Packs the finished run's file if it is small enough; resolves true once
   * the log is in the pack and its file removed, false if it was left alone
   * (too large, gone, or packing failed: the file stays, which loses nothing).
   */
  pack(runId: string, path: string, options: { verify?: boolean } = {}): Promise<boolean> {
    if (!this.packable(runId)) return Promise.resolve(false);
    return new Promise<boolean>((resolve) => this.enqueue({ runId, path, verify: options.verify ?? false, resolve }, this.delayMs));
  }

  /** Queues `item` to be packed within `delayMs` (sooner if the batch fills). */
  private enqueue(item: Pending, delayMs: number): void {
    this.queue.push(item);
    if (this.queue.length >= BATCH_MAX || delayMs <= 0) return this.flush();
    const due = this.clock.now() + delayMs;
    if (this.timer && this.timerDue <= due) return;
    this.timer?.cancel();
    this.timerDue = due;
    this.timer = this.clock.setTimer(delayMs, () => this.flush());
  }

  /** Packs what waits now, without waiting for the batch to fill. */
  flush(): void {
    this.timer?.cancel();
    this.timer = undefined;
    this.timerDue = Infinity;
    this.drain();
  }

  /** Packs what waits now and resolves when every queued log is packed (or left alone). */
  async idle(): Promise<void> {
    this.flush();
    while (this.draining) await this.draining;
  }

  /** The bytes of the run's packed log, or undefined if no pack holds it intact. */
  async find(runId: string): Promise<Buffer | undefined> {
    const held = this.held.get(runId);
    if (held) return held.bytes;
    const day = dayOf(runId);
    if (!day) return undefined;
    let index: string;
    try {
      index = await readFile(this.indexPath(day), 'latin1');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
    const entries = entriesFor(index, runId);
    if (entries.length === 0) return undefined;
    let handle: FileHandle;
    try {
      handle = await open(this.dataPath(day), 'r');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
    try {
      for (const entry of entries) {
        const bytes = Buffer.alloc(entry.length);
        const { bytesRead } = await handle.read(bytes, 0, entry.length, entry.offset);
        if (bytesRead === entry.length && crc32(bytes) === entry.crc) return bytes;
      }
      return undefined;
    } finally {
      await handle.close();
    }
  }

  /**
   * Deletes the days whose pack and index were both last written before
   * `cutoff`; returns how many logs they held.
   */
  async prune(cutoff: number): Promise<number> {
    let removed = 0;
    const names = await readdir(this.dir).catch(() => [] as string[]);
    const days = new Set(names.map((name) => /^(\d{4}-\d{2}-\d{2})\.(?:log|idx)$/.exec(name)?.[1]).filter((day): day is string => !!day));
    for (const day of [...days].sort()) {
      const times = await Promise.all([this.indexPath(day), this.dataPath(day)].map((path) => stat(path).then((info) => info.mtimeMs, () => 0)));
      if (Math.max(...times) >= cutoff) continue;
      const index = await readFile(this.indexPath(day), 'latin1').catch(() => '');
      // The index first: a crash between the two leaves bytes nobody points at, never an entry without its bytes.
      await unlink(this.indexPath(day)).catch(() => {});
      await unlink(this.dataPath(day)).catch(() => {});
      removed += new Set(index.split('\n').map((line) => line.split(' ')[0]).filter((id) => !!id)).size;
    }
    return removed;
  }

  private drain(): void {
    if (this.draining) return;
    this.draining = (async () => {
      while (this.queue.length > 0) {
        const batch = this.queue.splice(0, BATCH_MAX);
        let packed = new Set<Pending>();
        try {
          packed = await this.packBatch(batch);
        } catch (error) {
          this.logger?.warn('packing finished run logs failed; they keep their own files', { error: String(error) });
        }
        for (const item of batch) {
          if (item.bytes && !packed.has(item)) await this.keepOwnFile(item, item.bytes);
          if (this.held.get(item.runId) === item) this.held.delete(item.runId);
          item.resolve(packed.has(item));
        }
      }
    })().finally(() => {
      this.draining = undefined;
      // A log queued after the loop's last check and before this line.
      if (this.queue.length > 0) this.drain();
    });
  }

  private async packBatch(batch: Pending[]): Promise<Set<Pending>> {
    const packed = new Set<Pending>();
    const byDay = new Map<string, Loaded[]>();
    const seen = new Set<string>();
    for (const item of batch) {
      if (seen.has(item.runId) && !item.bytes) continue; // asked twice: once is enough (the other resolves false)
      const bytes = item.bytes ?? (await readSmall(item.path, this.maxBytes));
      if (!bytes) continue;
      seen.add(item.runId);
      const day = dayOf(item.runId)!;
      const list = byDay.get(day) ?? [];
      list.push({ item, bytes, crc: crc32(bytes) });
      byDay.set(day, list);
    }
    for (const [day, logs] of byDay) {
      try {
        for (const item of await this.appendDay(day, logs)) packed.add(item);
      } catch (error) {
        this.logger?.warn('packing finished run logs failed; they keep their own files', { day, error: String(error) });
      }
    }
    return packed;
  }

  /** Appends the day's logs (those the index does not hold already), syncs, indexes, syncs, removes their files. */
  private async appendDay(day: string, logs: Loaded[]): Promise<Pending[]> {
    await this.ensureDir();
    let fresh = logs;
    const held = logs.some((log) => log.item.verify) ? await this.indexed(day) : undefined;
    const already: Loaded[] = [];
    if (held) {
      fresh = [];
      for (const log of logs) {
        if (log.item.verify && (await this.holds(day, held, log))) already.push(log);
        else fresh.push(log);
      }
    }
    if (fresh.length > 0) {
      const lines: string[] = [];
      const data = await open(this.dataPath(day), 'a', 0o600);
      let created = false;
      try {
        let offset = (await data.stat()).size;
        created = offset === 0;
        for (const log of fresh) {
          lines.push(`${log.item.runId} ${offset} ${log.bytes.length} ${log.crc.toString(16).padStart(8, '0')}\n`);
          offset += log.bytes.length;
        }
        await data.writev(fresh.map((log) => log.bytes));
        await data.datasync();
      } finally {
        await data.close();
      }
      const index = await open(this.indexPath(day), 'a+', 0o600);
      try {
        const size = (await index.stat()).size;
        created ||= size === 0;
        let lead = '';
        if (size > 0) {
          // A torn last line (a power cut mid-append) must not swallow the next entry.
          const last = Buffer.alloc(1);
          await index.read(last, 0, 1, size - 1);
          if (last[0] !== 0x0a) lead = '\n';
        }
        await index.write(lead + lines.join(''));
        await index.datasync();
      } finally {
        await index.close();
      }
      if (created) await syncDir(this.dir);
    }
    const done = [...already, ...fresh];
    for (const log of done) if (!log.item.bytes) await unlink(log.item.path).catch(() => {});
    return done.map((log) => log.item);
  }

  /** A held log whose batch failed goes to the run's own file, where readers look first. */
  private async keepOwnFile(item: Pending, bytes: Buffer): Promise<void> {
    try {
      await appendFile(item.path, bytes, { mode: 0o600 });
    } catch (error) {
      this.logger?.warn('a finished run log could not be written to its pack or its own file; it is lost', { runId: item.runId, error: String(error) });
    }
  }

  /** The day's index as runId → entries (only for housekeeping's leftovers). */
  private async indexed(day: string): Promise<Map<string, Entry[]>> {
    const map = new Map<string, Entry[]>();
    const text = await readFile(this.indexPath(day), 'latin1').catch(() => '');
    for (const line of text.split('\n')) {
      const entry = parseEntry(line);
      if (!entry) continue;
      const list = map.get(entry.runId) ?? [];
      list.push(entry);
      map.set(entry.runId, list);
    }
    return map;
  }

  /** The pack already holds exactly these bytes for the run (a crash came between the index and the file's removal). */
  private async holds(day: string, held: Map<string, Entry[]>, log: Loaded): Promise<boolean> {
    const entries = (held.get(log.item.runId) ?? []).filter((entry) => entry.length === log.bytes.length && entry.crc === log.crc);
    if (entries.length === 0) return false;
    const found = await this.find(log.item.runId);
    return !!found && found.equals(log.bytes);
  }

  private async ensureDir(): Promise<void> {
    if (this.dirReady) return;
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    this.dirReady = true;
  }

  private dataPath(day: string): string {
    return join(this.dir, `${day}.log`);
  }

  private indexPath(day: string): string {
    return join(this.dir, `${day}.idx`);
  }
}

interface Entry {
  runId: string;
  offset: number;
  length: number;
  crc: number;
}

function parseEntry(line: string): Entry | undefined {
  const match = /^(\S+) (\d+) (\d+) ([0-9a-f]{8})$/.exec(line);
  if (!match) return undefined;
  return { runId: match[1]!, offset: Number(match[2]), length: Number(match[3]), crc: parseInt(match[4]!, 16) };
}

/** The run's entries in an index, in the order they were written. */
function entriesFor(index: string, runId: string): Entry[] {
  const entries: Entry[] = [];
  const key = `${runId} `;
  for (let at = index.indexOf(key); at !== -1; at = index.indexOf(key, at + 1)) {
    if (at > 0 && index[at - 1] !== '\n') continue;
    const end = index.indexOf('\n', at);
    if (end === -1) break; // a torn last line
    const entry = parseEntry(index.slice(at, end));
    if (entry && entry.runId === runId) entries.push(entry);
  }
  return entries;
}

/** The UTC day a run was created, from its id (`r_` + 10 base36 digits of ms …); undefined for other ids. */
export function dayOf(runId: string): string | undefined {
  const match = /^r_([0-9a-z]{10})[0-9a-f]{8}$/.exec(runId);
  if (!match) return undefined;
  const ms = parseInt(match[1]!, 36);
  if (!Number.isFinite(ms) || ms > 8.64e15) return undefined;
  const day = Math.floor(ms / DAY_MS);
  // Asked three times for every run, nearly always about today.
  if (day !== lastDay.number) lastDay = { number: day, text: new Date(day * DAY_MS).toISOString().slice(0, 10) };
  return lastDay.text;
}

let lastDay = { number: Number.NaN, text: '' };

/** The file's bytes if it exists and holds at most `max`, else undefined. */
async function readSmall(path: string, max: number): Promise<Buffer | undefined> {
  let handle: FileHandle;
  try {
    handle = await open(path, 'r');
  } catch {
    return undefined;
  }
  try {
    const size = (await handle.stat()).size;
    if (size > max) return undefined;
    const bytes = Buffer.alloc(size);
    const { bytesRead } = await handle.read(bytes, 0, size, 0);
    return bytesRead === size ? bytes : undefined;
  } finally {
    await handle.close();
  }
}

async function syncDir(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } catch {
    // Some file systems refuse fsync on a directory; the entry reaches the disk with the next commit.
  } finally {
    await handle.close();
  }
}

const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

/** CRC-32 (IEEE), as zlib and `crc32` compute it. */
export function crc32(bytes: Uint8Array): number {
  let crc = 0xffffffff;
  for (let i = 0; i < bytes.length; i++) crc = CRC_TABLE[(crc ^ bytes[i]!) & 0xff]! ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}
