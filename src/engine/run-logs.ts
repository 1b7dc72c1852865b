import { createWriteStream, readdirSync, statSync, type WriteStream } from 'node:fs';
import { appendFile, mkdir, open, unlink, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { isoTime } from '../core/clock.js';
import type { Clock, Timer } from '../core/clock.js';
import type { LogSubscription } from './port.js';
import { LOG_CHUNK_BYTES, bufferLogReader, forEachLine, readRange, tailOffset, type LogReader } from '../core/log-reader.js';
import { LogPacks } from './log-packs.js';
import type { Logger } from '../core/logger.js';

/** The default per-run cap (`logs.maxRunSize` in hearth.yaml). */
export const DEFAULT_MAX_RUN_LOG_BYTES = 16 * 1024 * 1024;
/**
 * Live lines a follower holds back while it replays the file; beyond this a
 * slow follower skips lines (and is told how many) rather than buffering a
 * fast task's output without bound.
 */
export const FOLLOW_HELD_BYTES = 1024 * 1024;

interface Listener {
  onLine: (line: string) => void;
  onEnd: () => void;
}

/** One file the open log writes to: the head (`<run>.log`) or a tail segment (`<run>.log.tail.<n>`). */
interface Part {
  path: string;
  stream: WriteStream;
  /** Bytes handed to the stream (plus what the file held when it was opened). */
  bytes: number;
  /** Resolves once the stream is closed (ended or failed). */
  closed: Promise<void>;
}

/** A log that has only Hearth's own lines so far, held in memory (see RunLogs, "Silent runs"). */
interface Held {
  text: string;
  bytes: number;
  /** When the first line was held (clock ms). */
  since: number;
}

interface OpenLog {
  runId: string;
  /** The cap in force when the run's log was opened. */
  cap: number;
  /** Set exactly when `held` is not: the log's own file. */
  head: Part | undefined;
  /** The log's lines while it has no file yet. */
  held: Held | undefined;
  /** Tail segments, oldest first; at most two. */
  segments: Part[];
  nextSegment: number;
  /** Bytes of output dropped between the head and the oldest kept segment. */
  dropped: number;
  /** Segments were already on disk when the log was reopened after a restart: what they dropped is unknown. */
  droppedBefore: boolean;
  listeners: Set<Listener>;
  /** Why writing stopped (the first write error, e.g. ENOSPC); later lines reach followers only. */
  cut?: string;
  /** Lines not written after the cut. */
  lost: number;
  /** Snapshots still opening their files: a segment is not deleted under them. */
  opening: Set<Promise<unknown>>;
}

export interface RunLogsOptions {
  /** Per-run cap on the log file, in bytes; read for each new run, so a reload applies to the next run. */
  maxRunBytes?: number | (() => number);
  /** Finished logs up to this size go into the day's pack (log-packs.ts); 0 keeps every log in its own file. */
  packMaxBytes?: number;
  /** How long a finished log waits for others to share a pack batch (default 5 s; 0: at once). */
  packDelayMs?: number;
  /** Longest a line stays in memory only (a silent run's log before its file or its pack; default 1 s). */
  heldMs?: number;
  logger?: Logger;
}

/**
 * One log file per run under `logs/`, with live subscribers. Every line is
 * `<ISO time> [<task>] <text>` (stderr lines are tagged `[<task>!]`), so a
 * person reading the file over SSH sees what happened in order.
 *
 * The cap. A run's log keeps its first half (the head, in `<run>.log`) and
 * its last half (the tail), with one line saying how many bytes were dropped
 * in between. The tail is kept on disk, not in memory, so it survives a
 * crash and costs no RAM: once the head is full, output goes to segment files
 * `<run>.log.tail.<n>` of a quarter of the cap each; when a third segment
 * starts, the oldest is deleted. The files of a running run therefore never
 * exceed the cap (plus one line), and at the end the marker and the last
 * half-cap of the segments (from a line start) are appended to `<run>.log`
 * and the segments deleted: a finished run is one file of at most the cap.
 * Readers of a running run see head + marker + segments as one log.
 *
 * Errors. A write error (a full disk: ENOSPC) never escapes as an uncaught
 * stream error: the log is cut there, Hearth's own log says so, later lines
 * still reach live followers, readers see a marker line, and at the end a
 * marker is appended to the file if the disk takes it by then.
 *
 * Small logs. When a run finishes, a log of at most `packMaxBytes` (16 KB)
 * moves into the day's pack under `logs/packs/` and its file is removed
 * (see log-packs.ts): a run that printed a few lines costs its bytes on the
 * disk instead of a 4 KB block and an inode. Readers look for the run's own
 * file first, then the pack, so every API reads a log the same wherever it is.
 *
 * Silent runs. Until a task prints (or `heldMs`, 1 s, has passed, or the log
 * reaches HELD_MAX_BYTES), a run's log holds only Hearth's own lines (run
 * started, task started, succeeded …) and stays in memory: a run that prints
 * nothing and ends within the second never has a file of its own, and its
 * lines go straight into the day's pack, held in memory until that batch is
 * on the disk (at most `heldMs` more). Creating, writing, reading back and
 * removing a file cost a dirtied 4 KB page, an inode and about ten system
 * calls per no-op run. What a crash of the process (kill -9) can lose is Hearth's
 * own lines of the last second; a power cut could lose them before too, as
 * a run's own file is not synced. Followers and readers see held lines like
 * any others.
 */
/** Unwritten log bytes beyond which a task's output is held back (see RunLogs.backlog). */
const BACKLOG_BYTES = 1024 * 1024;
/** A held log (see "Silent runs") gets its file once it would grow past this. */
export const HELD_MAX_BYTES = 4096;
/** The default longest time a line is held in memory only. */
export const DEFAULT_HELD_MS = 1_000;
/** The source of Hearth's own lines in a run's log. */
const HEARTH = 'hearth';

export class RunLogs {
  private readonly open = new Map<string, OpenLog>();
  private readonly closing = new Map<string, Promise<void>>();
  private readonly maxRunBytes: () => number;
  private readonly logger: Logger | undefined;
  private readonly packs: LogPacks;
  private readonly heldMs: number;
  /** Armed while a log is held: gives held logs older than heldMs their file. */
  private heldTimer: Timer | undefined;
  /** Open logs that are held. */
  private heldCount = 0;

  constructor(private readonly dir: string, private readonly clock: Clock, options: RunLogsOptions = {}) {
    const max = options.maxRunBytes ?? DEFAULT_MAX_RUN_LOG_BYTES;
    this.maxRunBytes = typeof max === 'function' ? max : () => max;
    this.logger = options.logger;
    this.heldMs = options.heldMs ?? DEFAULT_HELD_MS;
    this.packs = new LogPacks(join(dir, 'packs'), clock, {
      ...(options.packMaxBytes === undefined ? {} : { maxBytes: options.packMaxBytes }),
      ...(options.packDelayMs === undefined ? {} : { delayMs: options.packDelayMs }),
      heldDelayMs: this.heldMs,
      ...(options.logger ? { logger: options.logger } : {}),
    });
  }

  get directory(): string {
    return this.dir;
  }

  async init(): Promise<void> {
    await mkdir(this.dir, { recursive: true });
  }

  pathOf(runId: string): string {
    return join(this.dir, `${runId}.log`);
  }

  /** Appends one line; `source` is a task name or `hearth` for the engine's own notes. */
  write(runId: string, source: string, text: string, stream: 'stdout' | 'stderr' = 'stdout'): void {
    const prefix = `${this.timestamp()} [${source}${stream === 'stderr' ? '!' : ''}] `;
    const log = this.ensureOpen(runId);
    // A task's output goes to the log's file at once (a crash keeps it); Hearth's own lines may wait in memory.
    if (log.held && (source !== HEARTH || stream !== 'stdout')) this.unhold(log);
    for (const part of text.split(/\r?\n/)) {
      const line = prefix + part;
      this.append(log, line + '\n');
      for (const listener of log.listeners) listener.onLine(line);
    }
  }

  /**
   * The run parked (a workflow sleeps or waits): its file is closed unless
   * someone follows it, so a thousand suspended workflows hold no file
   * handles or stream buffers. The next write reopens it (prepare), as after
   * a restart. A log already past its head (tail segments open) stays open:
   * its readers need the segments' bookkeeping.
   */
  async release(runId: string): Promise<void> {
    const log = this.open.get(runId);
    if (!log || log.listeners.size > 0 || log.segments.length > 0) return;
    this.open.delete(runId);
    // A parked run may wait for days: its lines go to its file rather than stay in memory.
    if (log.held) this.unhold(log);
    await closePart(log.head!);
  }

  /**
   * A promise while more than BACKLOG_BYTES of the run's log wait to reach the
   * disk (a task printing faster than the SD card writes), undefined when the
   * writer may go on. The shell stops reading the task's pipes until it
   * settles, so the task waits on a full pipe instead of Hearth buffering its
   * output in memory.
   */
  backlog(runId: string): Promise<void> | undefined {
    const log = this.open.get(runId);
    if (!log || log.cut || log.held) return undefined;
    const part = log.segments[log.segments.length - 1] ?? log.head!;
    if (part.stream.writableLength <= BACKLOG_BYTES) return undefined;
    return new Promise<void>((resolve) => {
      const done = () => {
        part.stream.off('drain', done).off('close', done).off('error', done);
        resolve();
      };
      // 'close' and 'error' too: a part that is rotated away or fails never drains.
      part.stream.on('drain', done).on('close', done).on('error', done);
    });
  }

  /**
   * The run is over: flush, keep the tail, close the file and end every
   * follower. A small log is then queued for the day's pack (packed within
   * `packDelayMs`; `flushPacks` or shutdown packs it at once).
   */
  finish(runId: string): Promise<void> {
    return this.close(runId, true);
  }

  private async close(runId: string, over: boolean): Promise<void> {
    const log = this.open.get(runId);
    if (!log) return;
    this.open.delete(runId);
    if (log.held) {
      const held = log.held;
      // A silent run's log goes straight into the day's pack (the packs keep it readable until it is there).
      if (over && this.packs.accepts(runId, held.bytes)) {
        this.dropHeld(log);
        for (const listener of log.listeners) listener.onEnd();
        void this.packs.packHeld(runId, this.pathOf(runId), Buffer.from(held.text));
        return;
      }
      this.unhold(log);
    }
    // Readers that come while the file is completed wait for it (the run's final status is already out).
    const done = this.complete(log);
    this.closing.set(runId, done);
    try {
      await done;
    } finally {
      if (this.closing.get(runId) === done) this.closing.delete(runId);
    }
    // A cut log stays where it is: the disk was full, and its marker says so.
    if (over && !log.cut && !this.open.has(runId)) void this.packs.pack(runId, this.pathOf(runId));
  }

  /** Packs the finished logs that wait for their batch now; resolves once they are in the packs. */
  flushPacks(): Promise<void> {
    return this.packs.idle();
  }

  /**
   * Housekeeping: packs a finished run's own file that a crash (or an older
   * Hearth) left behind, or removes it if the pack already holds the same
   * bytes. Resolves true if the file went.
   */
  packLeftover(runId: string): Promise<boolean> {
    if (this.open.has(runId) || this.closing.has(runId)) return Promise.resolve(false);
    const packed = this.packs.pack(runId, this.pathOf(runId), { verify: true });
    this.packs.flush();
    return packed;
  }

  /** Housekeeping: deletes the days of packed logs last written before `cutoff`; returns how many logs went. */
  prunePacks(cutoff: number): Promise<number> {
    return this.packs.prune(cutoff);
  }

  private async complete(log: OpenLog): Promise<void> {
    try {
      await Promise.all(parts(log).map((part) => closePart(part)));
      await Promise.allSettled([...log.opening]);
      if (log.segments.length > 0 && !log.cut) await this.keepTail(log);
      if (log.cut) await this.appendCutMarker(log);
    } finally {
      for (const listener of log.listeners) listener.onEnd();
    }
  }

  /** The whole log as text (at most the cap). For tests and small logs: the API streams through `openReader`. */
  async read(runId: string): Promise<string> {
    const reader = await this.openReader(runId);
    try {
      return (await readRange(reader, 0, reader.size)).toString('utf8');
    } finally {
      await reader.close();
    }
  }

  /** A snapshot of the log for chunked reading; an absent log reads as empty. */
  async openReader(runId: string): Promise<LogReader> {
    const log = this.open.get(runId);
    if (log) return this.snapshot(log);
    await this.closing.get(runId)?.catch(() => {});
    try {
      return await fileParts([{ path: this.pathOf(runId), length: Infinity, required: true }]);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
    // Its own file is removed only after the pack and its index are on the disk: no gap between the two.
    return bufferLogReader((await this.packs.find(runId)) ?? Buffer.alloc(0));
  }

  /**
   * Existing lines first, then live ones. The listener is registered before
   * the snapshot is taken, so the snapshot supplies exactly the lines written
   * before registration and the held-back live lines the rest: nothing is
   * lost or repeated (unless the follower is too slow, see FOLLOW_HELD_BYTES).
   * The replay reads the file in chunks and awaits `onLine` when it returns a
   * promise. With `tail`, the replay starts at the last `tail` lines.
   */
  async follow(
    runId: string,
    runIsActive: boolean,
    onLine: (line: string) => void | Promise<void>,
    onEnd: () => void,
    options: { tail?: number } = {},
  ): Promise<LogSubscription> {
    if (runIsActive) this.prepare(runId);
    const log = this.open.get(runId);
    if (!log) {
      await replay(await this.openReader(runId), onLine, options.tail);
      onEnd();
      return { close() {} };
    }
    const held: string[] = [];
    let heldBytes = 0;
    let skipped = 0;
    let replaying = true;
    let ended = false;
    const listener: Listener = {
      onLine: (line) => {
        if (!replaying) return void onLine(line);
        if (heldBytes + line.length > FOLLOW_HELD_BYTES) {
          skipped++;
          return;
        }
        held.push(line);
        heldBytes += line.length;
      },
      onEnd: () => {
        ended = true;
        if (!replaying) onEnd();
      },
    };
    log.listeners.add(listener);
    try {
      await replay(await this.snapshot(log), onLine, options.tail);
      if (skipped > 0) await onLine(`${this.timestamp()} [hearth] … ${skipped} lines skipped: this reader fell behind the task's output …`);
      for (const line of held) await onLine(line);
    } catch (error) {
      log.listeners.delete(listener);
      throw error;
    }
    replaying = false;
    if (ended) onEnd();
    return { close: () => log.listeners.delete(listener) };
  }

  async closeAll(): Promise<void> {
    // Shutdown: a run still going resumes after the restart, appending to its file, so nothing is packed here.
    await Promise.all([...this.open.keys()].map((id) => this.close(id, false)));
    await Promise.allSettled([...this.closing.values()]);
    await this.packs.idle();
  }

  /**
   * Opens (or reopens, after a restart) the run's log for appending. A
   * resumed run whose head is full carries on in its tail segments. `fresh`:
   * the run never started before, so nothing can have written its log yet.
   */
  prepare(runId: string, options: { fresh?: boolean } = {}): void {
    if (this.open.has(runId)) return;
    // Synchronous on purpose: the engine calls this between steps and must not
    // yield to the event loop there (a stat, and a directory listing only when the head is full).
    // A run starting for the first time has no log on disk yet: no stat for it (a system call per run).
    const size = options.fresh ? 0 : (statSync(this.pathOf(runId), { throwIfNoEntry: false })?.size ?? 0);
    const log = this.newLog(runId, size);
    if (size > 0 && size >= this.headLimit(log) - LOG_CHUNK_BYTES) this.adoptSegments(log);
  }

  private ensureOpen(runId: string): OpenLog {
    // Not prepared: a brand-new run, or a recovered one whose first line is the engine's note.
    this.prepare(runId);
    return this.open.get(runId)!;
  }

  /** A log with no file (or an empty one) starts held in memory; one a previous process wrote to is appended to. */
  private newLog(runId: string, headBytes: number): OpenLog {
    const held = headBytes === 0 && this.heldMs > 0;
    const log: OpenLog = {
      runId,
      // The stream reports errors asynchronously, by which time `log` is set.
      head: held ? undefined : this.openPart(() => log, this.pathOf(runId), headBytes),
      held: held ? { text: '', bytes: 0, since: this.clock.now() } : undefined,
      segments: [],
      nextSegment: 0,
      dropped: 0,
      droppedBefore: false,
      listeners: new Set(),
      lost: 0,
      opening: new Set(),
      cap: this.maxRunBytes(),
    };
    this.open.set(runId, log);
    if (held) {
      this.heldCount++;
      this.heldTimer ??= this.clock.setTimer(this.heldMs, () => this.unholdOld());
    }
    return log;
  }

  /** The log is held no more; the timer goes with the last held log. */
  private dropHeld(log: OpenLog): void {
    if (!log.held) return;
    log.held = undefined;
    if (--this.heldCount > 0) return;
    this.heldTimer?.cancel();
    this.heldTimer = undefined;
  }

  /** The held log gets its file, with what it held so far. */
  private unhold(log: OpenLog): void {
    const held = log.held;
    if (!held) return;
    this.dropHeld(log);
    log.head = this.openPart(() => log, this.pathOf(log.runId), 0);
    if (held.bytes > 0) {
      log.head.stream.write(held.text);
      log.head.bytes = held.bytes;
    }
  }

  /** Gives every log held for heldMs its file; re-arms for the rest. */
  private unholdOld(): void {
    this.heldTimer = undefined;
    const now = this.clock.now();
    let oldest = Infinity;
    for (const log of this.open.values()) {
      if (!log.held) continue;
      if (now - log.held.since >= this.heldMs) this.unhold(log);
      else oldest = Math.min(oldest, log.held.since);
    }
    if (oldest !== Infinity) this.heldTimer ??= this.clock.setTimer(oldest + this.heldMs - now, () => this.unholdOld());
  }

  private headLimit(log: OpenLog): number {
    return Math.floor(capOf(log) / 2);
  }

  /** A resumed run: the segments a previous process left are the tail so far. */
  private adoptSegments(log: OpenLog): void {
    const prefix = `${log.runId}.log.tail.`;
    let found: number[];
    try {
      found = readdirSync(this.dir)
        .filter((name) => name.startsWith(prefix) && /^\d+$/.test(name.slice(prefix.length)))
        .map((name) => Number(name.slice(prefix.length)))
        .sort((a, b) => a - b);
    } catch {
      return;
    }
    if (found.length === 0) return;
    log.droppedBefore = found.length > 1 || found[0] !== 0;
    for (const n of found.slice(0, -2)) void unlink(this.segmentPath(log.runId, n)).catch(() => {});
    for (const n of found.slice(-2)) {
      let size = 0;
      try {
        size = statSync(this.segmentPath(log.runId, n)).size;
      } catch {
        continue;
      }
      log.segments.push(this.openPart(() => log, this.segmentPath(log.runId, n), size));
    }
    log.nextSegment = found[found.length - 1]! + 1;
  }

  private segmentPath(runId: string, n: number): string {
    return join(this.dir, `${runId}.log.tail.${n}`);
  }

  private openPart(log: () => OpenLog, path: string, bytes: number): Part {
    const stream = createWriteStream(path, { flags: 'a', mode: 0o600 });
    // Without this listener a full disk is an uncaught exception that ends the process.
    stream.on('error', (error) => this.cutLog(log(), error));
    const closed = new Promise<void>((resolve) => stream.once('close', () => resolve()));
    return { path, stream, bytes, closed };
  }

  private append(log: OpenLog, text: string): void {
    if (log.cut) {
      log.lost++;
      return;
    }
    const bytes = Buffer.byteLength(text);
    const held = log.held;
    if (held) {
      if (held.bytes + bytes <= Math.min(HELD_MAX_BYTES, this.headLimit(log))) {
        held.text += text;
        held.bytes += bytes;
        return;
      }
      this.unhold(log);
    }
    const head = log.head!;
    let part = head;
    if (log.segments.length > 0 || head.bytes + bytes > this.headLimit(log)) {
      part = log.segments[log.segments.length - 1]!;
      if (!part || part.bytes >= Math.floor(capOf(log) / 4)) part = this.rotate(log);
    }
    part.stream.write(text);
    part.bytes += bytes;
  }

  /** Starts the next tail segment, deleting the oldest once two are kept. */
  private rotate(log: OpenLog): Part {
    const previous = log.segments[log.segments.length - 1];
    if (previous) previous.stream.end();
    if (log.segments.length === 2) {
      const oldest = log.segments.shift()!;
      log.dropped += oldest.bytes;
      // After it closed and no snapshot is still opening it; a reader that has it open keeps reading.
      void Promise.allSettled([oldest.closed, ...log.opening]).then(() => unlink(oldest.path).catch(() => {}));
    }
    const part = this.openPart(() => log, this.segmentPath(log.runId, log.nextSegment++), 0);
    log.segments.push(part);
    return part;
  }

  private cutLog(log: OpenLog, error: Error): void {
    if (log.cut) return;
    const code = (error as NodeJS.ErrnoException).code;
    log.cut = code ? `${code}: ${error.message}` : error.message;
    this.logger?.warn('a run log cannot be written; the log is cut here and the run goes on', { runId: log.runId, error: log.cut });
    for (const part of parts(log)) part.stream.destroy();
  }

  private cutMarker(log: OpenLog): string {
    const lost = log.lost > 0 ? `; ${log.lost} later lines were not written` : '';
    return `${this.timestamp()} [hearth] … the log is cut here: writing it failed (${log.cut})${lost} …`;
  }

  private droppedMarker(log: OpenLog, dropped: number): string {
    const cap = formatBytes(capOf(log));
    const count = log.droppedBefore ? `at least ${dropped}` : String(dropped);
    return `${this.timestamp()} [hearth] … ${count} bytes of output dropped here: a run's log keeps its first and last ${formatBytes(capOf(log) / 2)} (logs.maxRunSize ${cap}) …`;
  }

  /** Best effort: after a write error the disk may still be full. */
  private async appendCutMarker(log: OpenLog): Promise<void> {
    await appendFile(this.pathOf(log.runId), `\n${this.cutMarker(log)}\n`, { mode: 0o600 }).catch(() => {});
    for (const part of log.segments) await unlink(part.path).catch(() => {});
  }

  /**
   * Appends the marker and the last half-cap of the segments to the head file,
   * starting at a line, then deletes the segments. Copied in chunks.
   */
  private async keepTail(log: OpenLog): Promise<void> {
    const keep = Math.floor(capOf(log) / 2);
    const parts = log.segments;
    try {
      const total = parts.reduce((sum, part) => sum + part.bytes, 0);
      let skip = Math.max(0, total - keep);
      const reader = await fileParts(parts.map((part) => ({ path: part.path, length: part.bytes })));
      try {
        if (skip > 0) skip = await nextLineStart(reader, skip);
        const out = createWriteStream(this.pathOf(log.runId), { flags: 'a', mode: 0o600 });
        const marker = Buffer.from(this.droppedMarker(log, log.dropped + skip) + '\n');
        await pipeline(async function* () {
          yield marker;
          yield* reader.chunks(skip);
        }, out);
      } finally {
        await reader.close();
      }
      for (const part of parts) await unlink(part.path).catch(() => {});
    } catch (error) {
      // The segments stay; the head file is intact and a reader sees them no more. Say so once.
      this.logger?.warn('keeping the tail of a capped run log failed', { runId: log.runId, error: String(error) });
      await appendFile(this.pathOf(log.runId), `\n${this.timestamp()} [hearth] … the end of this log could not be kept (${String(error)}) …\n`).catch(() => {});
      for (const part of parts) await unlink(part.path).catch(() => {});
    }
  }

  /**
   * The log as it is now: head, marker and segments (or the cut marker).
   * The byte counts are taken synchronously, then the streams are flushed up
   * to them before the files are opened.
   */
  private async snapshot(log: OpenLog): Promise<LogReader> {
    if (log.held) return fileParts([{ text: log.held.text }]);
    const head = log.head!;
    const specs: Array<{ path: string; length: number } | { text: string }> = [{ path: head.path, length: head.bytes }];
    if (log.segments.length > 0) specs.push({ text: this.droppedMarker(log, log.dropped) + '\n' });
    for (const part of log.segments) specs.push({ path: part.path, length: part.bytes });
    if (log.cut) specs.push({ text: `${this.cutMarker(log)}\n` });
    const opening = (async () => {
      await Promise.all(parts(log).map((part) => flushed(part)));
      return fileParts(specs);
    })();
    log.opening.add(opening);
    try {
      return await opening;
    } finally {
      log.opening.delete(opening);
    }
  }

  private timestamp(): string {
    return isoTime(this.clock.now());
  }
}

function capOf(log: OpenLog): number {
  return log.cap;
}

/** The files a log writes to: its head (once it has one) and its tail segments. */
function parts(log: OpenLog): Part[] {
  return log.head ? [log.head, ...log.segments] : log.segments;
}

async function replay(reader: LogReader, onLine: (line: string) => void | Promise<void>, tail: number | undefined): Promise<void> {
  try {
    const start = tail === undefined ? 0 : await tailOffset(reader, tail);
    await forEachLine(reader, onLine, start);
  } finally {
    await reader.close();
  }
}

/** Everything handed to the part's stream is in the file (or the stream failed). */
function flushed(part: Part): Promise<void> {
  const { stream } = part;
  if (stream.destroyed || stream.writableEnded) return part.closed;
  return new Promise((resolve) => {
    stream.write('', () => resolve());
  });
}

async function closePart(part: Part): Promise<void> {
  if (!part.stream.destroyed && !part.stream.writableEnded) part.stream.end();
  await part.closed;
}

/** Where the first line at or after `offset` starts (the end, if none does). */
async function nextLineStart(reader: LogReader, offset: number): Promise<number> {
  if (offset === 0) return 0;
  for (let at = offset - 1; at < reader.size; at += LOG_CHUNK_BYTES) {
    const chunk = await readRange(reader, at, at + LOG_CHUNK_BYTES);
    const newline = chunk.indexOf(0x0a);
    if (newline !== -1) return at + newline + 1;
  }
  return reader.size;
}

/**
 * A reader over files (each up to `length` bytes; Infinity: its size now) and
 * literal text, as one log. A missing file reads as empty (a segment deleted
 * before the snapshot opened it was dropped output) unless it is `required`.
 */
async function fileParts(specs: Array<{ path: string; length: number; required?: boolean } | { text: string }>): Promise<LogReader> {
  interface Opened {
    length: number;
    handle?: FileHandle;
    text?: Buffer;
  }
  const parts: Opened[] = [];
  try {
    for (const spec of specs) {
      if ('text' in spec) {
        parts.push({ length: Buffer.byteLength(spec.text), text: Buffer.from(spec.text) });
        continue;
      }
      let handle: FileHandle;
      try {
        handle = await open(spec.path, 'r');
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT' && !spec.required) continue;
        throw error;
      }
      const size = (await handle.stat()).size;
      parts.push({ length: Math.min(size, spec.length), handle });
    }
  } catch (error) {
    await Promise.all(parts.map((part) => part.handle?.close()));
    throw error;
  }
  const size = parts.reduce((sum, part) => sum + part.length, 0);
  let closed = false;
  return {
    size,
    async *chunks(start = 0, end = size) {
      const stop = Math.min(end, size);
      let base = 0;
      for (const part of parts) {
        const from = Math.max(start, base);
        const to = Math.min(stop, base + part.length);
        for (let at = from; at < to; ) {
          const length = Math.min(LOG_CHUNK_BYTES, to - at);
          if (part.text) {
            yield part.text.subarray(at - base, at - base + length);
            at += length;
            continue;
          }
          const buffer = Buffer.allocUnsafe(length);
          const { bytesRead } = await part.handle!.read(buffer, 0, length, at - base);
          if (bytesRead === 0) return; // the file shrank (deleted by retention): stop rather than spin
          yield buffer.subarray(0, bytesRead);
          at += bytesRead;
        }
        base += part.length;
      }
    },
    async close() {
      if (closed) return;
      closed = true;
      await Promise.all(parts.map((part) => part.handle?.close().catch(() => {})));
    },
  };
}

export function formatBytes(bytes: number): string {
  if (bytes >= 1024 * 1024 && bytes % (1024 * 1024) === 0) return `${bytes / (1024 * 1024)} MB`;
  if (bytes >= 1024 && bytes % 1024 === 0) return `${bytes / 1024} KB`;
  return `${bytes} B`;
}
