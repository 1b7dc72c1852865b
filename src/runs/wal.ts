import { open, readFile } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { writeFileAtomic } from '../core/atomic-file.js';
import type { Run, ScheduleState } from './model.js';
import { isRunDelta } from './run-delta.js';
import type { RunDelta } from './run-delta.js';
import { describeRunProblem } from './run-state.js';
import { isMissingFile } from './state-file.js';

/**
 * state.wal: one JSON record per line, appended between checkpoints so a
 * change costs one short append instead of a state.json rewrite. A `run`,
 * `sched` or `meta` record is a full snapshot of what it names, so replaying
 * it twice is harmless.
 *
 * A run's later changes are `upd` records: only the fields (and task fields)
 * that changed since the run's previous line in the same file, numbered `n`
 * (the run's first line in a file is always a full `run` record, number 1).
 * A replay applies an `upd` only onto line n-1 of the same run and file; if
 * that line is missing (damaged), the run's later changes in the file are
 * skipped, and the run stays as its last readable line left it, as if the
 * power had gone then (recovery already handles that state).
 *
 * The first line names the WAL generation. A checkpoint writes state.json
 * with generation N+1 and then replaces the WAL with a fresh N+1 header; if
 * the power goes between the two, the old WAL (generation N) is recognised as
 * already folded into state.json and ignored.
 */
export type WalRecord =
  | { t: 'run'; run: Run }
  /** The changes of a run since its line n-1 in this file (see above). */
  | ({ t: 'upd'; id: string; n: number } & RunDelta)
  | { t: 'sched'; job: string; state: ScheduleState }
  | { t: 'meta'; key: string; value?: unknown }
  /** These runs were appended (and fsynced) to history/ and left state. */
  | { t: 'archive'; ids: string[] };

interface WalHeader {
  t: 'wal';
  gen: number;
}

export interface WalContents {
  /** Undefined when the file is missing or has no readable header. */
  generation?: number;
  records: WalRecord[];
  /** Unreadable lines at the end: an append cut short by a power cut. */
  tornTail: number;
  /** Unreadable lines followed by good ones (1-based line numbers): real damage. */
  damagedLines: number[];
}

export async function readWal(path: string): Promise<WalContents> {
  try {
    return parseWal(await readFile(path, 'utf8'));
  } catch (error) {
    if (isMissingFile(error)) return { records: [], tornTail: 0, damagedLines: [] };
    throw error;
  }
}

export function parseWal(text: string): WalContents {
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  const parsed = lines.map(parseLine);
  let lastGood = -1;
  parsed.forEach((entry, index) => {
    if (entry !== undefined) lastGood = index;
  });
  const contents: WalContents = { records: [], tornTail: lines.length - 1 - lastGood, damagedLines: [] };
  parsed.forEach((entry, index) => {
    if (entry === undefined) {
      if (index < lastGood) contents.damagedLines.push(index + 1);
    } else if (entry.t === 'wal') {
      if (index === 0) contents.generation = entry.gen;
    } else {
      contents.records.push(entry);
    }
  });
  return contents;
}

function parseLine(line: string): WalRecord | WalHeader | undefined {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return undefined;
  }
  return isWalEntry(value) ? value : undefined;
}

function isWalEntry(value: unknown): value is WalRecord | WalHeader {
  if (typeof value !== 'object' || value === null) return false;
  const entry = value as Record<string, unknown>;
  switch (entry.t) {
    case 'wal':
      return Number.isInteger(entry.gen);
    case 'run':
      return describeRunProblem(entry.run) === undefined;
    case 'upd':
      return typeof entry.id === 'string' && Number.isInteger(entry.n) && (entry.n as number) >= 2 && isRunDelta(entry);
    case 'sched':
      return typeof entry.job === 'string' && typeof entry.state === 'object' && entry.state !== null;
    case 'meta':
      return typeof entry.key === 'string';
    case 'archive':
      return Array.isArray(entry.ids) && entry.ids.every((id) => typeof id === 'string');
    default:
      return false;
  }
}

export function walHeaderLine(generation: number): string {
  return JSON.stringify({ t: 'wal', gen: generation } satisfies WalHeader);
}

/** Appends batches of lines to state.wal; each batch is one write and one fsync. */
export class WalWriter {
  private handle: FileHandle | undefined;
  private appendedBytes = 0;
  /** A failed write may have left half a line; the next batch starts on a fresh line. */
  private startOnNewLine = false;
  /**
   * A failed append could not be cut back off the file: lines of a batch that
   * was refused may be on disk. The file must be replaced (a checkpoint)
   * before anything else is appended, or a replay would bring them back.
   */
  private tailUntrusted = false;

  constructor(
    private readonly path: string,
    private readonly onSync: (bytes: number) => void = () => {},
  ) {}

  /** Size of the file: what the checkpoint threshold is measured against. */
  get bytes(): number {
    return this.appendedBytes;
  }

  /** False until openExisting/reset succeeded, and after close. */
  get isOpen(): boolean {
    return this.handle !== undefined;
  }

  /** True when a failed append may have left part of a refused batch in the file (see append). */
  get needsReset(): boolean {
    return this.tailUntrusted;
  }

  /** Continues appending to the existing file (its generation matches state.json). */
  async openExisting(): Promise<void> {
    await this.close();
    this.handle = await open(this.path, 'a');
    this.appendedBytes = (await this.handle.stat()).size;
  }

  /** Atomically replaces the file with an empty WAL of `generation` and appends to that. */
  async reset(generation: number): Promise<void> {
    await this.close();
    const header = walHeaderLine(generation) + '\n';
    await writeFileAtomic(this.path, header);
    this.handle = await open(this.path, 'a');
    this.appendedBytes = Buffer.byteLength(header);
    this.startOnNewLine = false;
    this.tailUntrusted = false;
  }

  /**
   * Appends one batch. When it fails (ENOSPC, EIO) the caller refuses the
   * batch, so none of it may survive: a write cut short can have put whole
   * lines on disk, which a replay after a restart would apply. The file is cut
   * back to its last acknowledged size (shrinking needs no free space); if
   * even that fails the writer says `needsReset` and must be reset first.
   */
  async append(lines: string[]): Promise<void> {
    const handle = this.handle;
    if (!handle) throw new Error('state.wal is not open');
    if (this.tailUntrusted) throw new Error('state.wal holds part of a refused write; it must be rewritten first');
    if (lines.length === 0) return;
    const text = (this.startOnNewLine ? '\n' : '') + lines.join('\n') + '\n';
    try {
      await handle.writeFile(text);
      await handle.datasync();
    } catch (error) {
      try {
        await handle.truncate(this.appendedBytes);
        await handle.datasync();
        this.startOnNewLine = false;
      } catch {
        this.startOnNewLine = true;
        this.tailUntrusted = true;
      }
      throw error;
    }
    this.startOnNewLine = false;
    const bytes = Buffer.byteLength(text);
    this.appendedBytes += bytes;
    this.onSync(bytes);
  }

  async close(): Promise<void> {
    const handle = this.handle;
    this.handle = undefined;
    await handle?.close();
  }
}
