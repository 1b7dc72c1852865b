import { createWriteStream, existsSync, readFileSync, type WriteStream } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Clock } from '../core/clock.js';
import type { LogSubscription } from '../core/appliance.js';

interface Listener {
  onLine: (line: string) => void;
  onEnd: () => void;
}

interface OpenLog {
  stream: WriteStream;
  listeners: Set<Listener>;
  /** Lines handed to the stream so far (including any already in the file when it was opened). */
  written: number;
}

/**
 * One log file per run under `logs/`, with live subscribers. Every line is
 * `<ISO time> [<task>] <text>` (stderr lines are tagged `[<task>!]`), so a
 * person reading the file over SSH sees what happened in order.
 */
export class RunLogs {
  private readonly open = new Map<string, OpenLog>();
  /** Runs whose file was closed while they wait (release): reopened, and their lines counted, on the next write. */
  private readonly released = new Set<string>();

  constructor(private readonly dir: string, private readonly clock: Clock) {}

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
    const prefix = `${new Date(this.clock.now()).toISOString()} [${source}${stream === 'stderr' ? '!' : ''}] `;
    const log = this.ensureOpen(runId);
    for (const part of text.split(/\r?\n/)) {
      const line = prefix + part;
      log.stream.write(line + '\n');
      log.written++;
      for (const listener of log.listeners) listener.onLine(line);
    }
  }

  /**
   * The run parked (a workflow sleeps or waits): its file is closed unless
   * someone follows it, so a thousand suspended workflows hold no file
   * handles or stream buffers. The next write reopens it.
   */
  async release(runId: string): Promise<void> {
    const log = this.open.get(runId);
    if (!log || log.listeners.size > 0) return;
    this.open.delete(runId);
    this.released.add(runId);
    await new Promise<void>((resolve) => log.stream.end(resolve));
  }

  /** The run is over: flush, close the file and end every follower. */
  async finish(runId: string): Promise<void> {
    this.released.delete(runId);
    const log = this.open.get(runId);
    if (!log) return;
    this.open.delete(runId);
    await new Promise<void>((resolve) => log.stream.end(resolve));
    for (const listener of log.listeners) listener.onEnd();
  }

  async read(runId: string): Promise<string> {
    const log = this.open.get(runId);
    if (log) await drained(log.stream);
    try {
      return await readFile(this.pathOf(runId), 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return '';
      throw error;
    }
  }

  /**
   * Existing lines first, then live ones. The listener is registered before
   * the file is read; the file supplies exactly the lines written before
   * registration and the held-back live lines the rest, so nothing is lost or
   * repeated.
   */
  async follow(runId: string, runIsActive: boolean, onLine: (line: string) => void, onEnd: () => void): Promise<LogSubscription> {
    if (runIsActive) this.prepare(runId);
    const log = this.open.get(runId);
    if (!log) {
      const text = await this.read(runId);
      for (const line of splitLines(text)) onLine(line);
      onEnd();
      return { close() {} };
    }
    const held: string[] = [];
    let replaying = true;
    let ended = false;
    const listener: Listener = {
      onLine: (line) => (replaying ? held.push(line) : onLine(line)),
      onEnd: () => {
        ended = true;
        if (!replaying) onEnd();
      },
    };
    log.listeners.add(listener);
    const writtenBefore = log.written;
    await drained(log.stream);
    const existing = splitLines(await readFile(this.pathOf(runId), 'utf8').catch(() => ''));
    for (const line of existing.slice(0, writtenBefore)) onLine(line);
    for (const line of held) onLine(line);
    replaying = false;
    if (ended) onEnd();
    return { close: () => log.listeners.delete(listener) };
  }

  async closeAll(): Promise<void> {
    await Promise.all([...this.open.keys()].map((id) => this.finish(id)));
  }

  /**
   * Opens (or reopens, after a restart) the run's log for appending. A
   * resumed run's earlier lines are counted so followers get them from the file.
   */
  prepare(runId: string): void {
    this.released.delete(runId);
    if (this.open.has(runId)) return;
    // Synchronous on purpose: the engine calls this between steps and must not
    // yield to the event loop there (a resumed run's log is small).
    const existing = existsSync(this.pathOf(runId)) ? splitLines(readFileSync(this.pathOf(runId), 'utf8')).length : 0;
    this.open.set(runId, { stream: createWriteStream(this.pathOf(runId), { flags: 'a' }), listeners: new Set(), written: existing });
  }

  private ensureOpen(runId: string): OpenLog {
    let log = this.open.get(runId);
    if (!log && this.released.has(runId)) {
      this.prepare(runId);
      log = this.open.get(runId);
    }
    if (!log) {
      // Not prepared (a brand-new run): the file is empty, so nothing to count.
      log = { stream: createWriteStream(this.pathOf(runId), { flags: 'a' }), listeners: new Set(), written: 0 };
      this.open.set(runId, log);
    }
    return log;
  }
}

function drained(stream: WriteStream): Promise<void> {
  return new Promise((resolve) => stream.write('', () => resolve()));
}

function splitLines(text: string): string[] {
  if (!text) return [];
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  return lines;
}
