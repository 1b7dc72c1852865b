import { link, readFile, rename, unlink } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import type { Adapter, Low } from 'lowdb';
import { fsyncDirectory, writeFileAtomic } from '../core/atomic-file.js';
import type { Clock } from '../core/clock.js';
import { errorMessage } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import { emptyStateDocument } from './run-state.js';
import type { StateDocument } from './run-state.js';

/** A JSON file that exists but cannot be used: invalid JSON, truncated, or the wrong shape. */
export class CorruptStateError extends Error {
  override name = 'CorruptStateError';
  constructor(readonly path: string, readonly reason: string, options?: ErrorOptions) {
    super(`${basename(path)} is unusable: ${reason}`, options);
  }
}

export interface AtomicJsonFileOptions {
  path: string;
  /** Where the previous good file is kept before each replacement; no backup when absent. */
  backupPath?: string;
  /** Returns why a parsed value has the wrong shape, or undefined when it is fine. */
  validate: (value: unknown) => string | undefined;
}

/**
 * A lowdb adapter whose writes survive a power cut: the new content goes
 * through writeFileAtomic (temp file, fsync, rename, fsync dir), and the file
 * it replaces is first kept as `<name>.bak` by hard link + rename, so there is
 * always a complete previous version. Reads reject unusable files with
 * CorruptStateError instead of handing lowdb half a document.
 */
export class AtomicJsonFile<T> implements Adapter<T> {
  /** Set once the file at `path` is known to be good (we read it, or we wrote it). */
  private currentIsGood = false;

  constructor(private readonly options: AtomicJsonFileOptions) {}

  async read(): Promise<T | null> {
    let text: string;
    try {
      text = await readFile(this.options.path, 'utf8');
    } catch (error) {
      if (isMissingFile(error)) return null;
      throw error;
    }
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (error) {
      const reason = text.length === 0 ? 'the file is empty' : `invalid JSON (${errorMessage(error)})`;
      throw new CorruptStateError(this.options.path, reason, { cause: error });
    }
    const problem = this.options.validate(value);
    if (problem) throw new CorruptStateError(this.options.path, `wrong shape: ${problem}`);
    this.currentIsGood = true;
    return value as T;
  }

  async write(data: T): Promise<void> {
    // Serialise before any await so the snapshot is the state at the call.
    const text = JSON.stringify(data);
    if (this.options.backupPath && this.currentIsGood) await this.keepBackup(this.options.backupPath);
    await writeFileAtomic(this.options.path, text);
    this.currentIsGood = true;
  }

  private async keepBackup(backupPath: string): Promise<void> {
    await keepCopyAs(this.options.path, backupPath);
  }
}

/**
 * Makes `copyPath` another name for the file at `path` (hard link + rename:
 * the old copy is replaced in one step, `path` itself never disappears, and
 * no data is copied, so it works on a full disk). Returns false when `path`
 * does not exist. The caller fsyncs the directory when the order matters.
 */
export async function keepCopyAs(path: string, copyPath: string): Promise<boolean> {
  const temp = `${copyPath}.tmp`;
  await unlink(temp).catch(ignoreMissing);
  try {
    await link(path, temp);
  } catch (error) {
    if (isMissingFile(error)) return false;
    throw error;
  }
  await rename(temp, copyPath);
  // rename() between two names of one file does nothing (the copy already was this file): drop the temp name.
  await unlink(temp).catch(ignoreMissing);
  return true;
}

export interface StatePaths {
  state: string;
  backup: string;
}

export interface LoadedState {
  doc: StateDocument;
  /** Which file the state came from: `none` when the store starts empty. */
  source: 'state' | 'backup' | 'none';
  /** Files moved aside because they were unusable. */
  quarantined: string[];
}

export interface LoadStateOptions {
  db: Low<StateDocument>;
  backup: Adapter<StateDocument>;
  paths: StatePaths;
  clock: Clock;
  logger: Logger;
}

/**
 * Reads state.json through lowdb. An unusable state.json is moved aside
 * (never deleted) and state.json.bak is used instead; if that is unusable
 * too it is moved aside as well and the store starts empty. Every step is
 * logged with the files involved.
 */
export async function loadStateWithRecovery(options: LoadStateOptions): Promise<LoadedState> {
  const { db, paths, logger } = options;
  const quarantined: string[] = [];
  const placeholder = emptyStateDocument();
  db.data = placeholder;
  try {
    await db.read();
    // lowdb leaves `data` untouched when the adapter finds no file.
    if (db.data !== placeholder) return { doc: db.data, source: 'state', quarantined };
  } catch (error) {
    if (!(error instanceof CorruptStateError)) throw error;
    const movedTo = await quarantine(paths.state, options.clock);
    quarantined.push(movedTo);
    logger.error(`state.json is unusable (${error.reason}); moved it to ${basename(movedTo)}, trying state.json.bak`, {
      file: paths.state,
      movedTo,
      reason: error.reason,
    });
  }
  return loadBackup(options, quarantined);
}

async function loadBackup(options: LoadStateOptions, quarantined: string[]): Promise<LoadedState> {
  const { paths, logger } = options;
  const stateWasCorrupt = quarantined.length > 0;
  try {
    const doc = await options.backup.read();
    if (doc) {
      logger.warn(
        stateWasCorrupt
          ? 'recovered the run state from state.json.bak; the WAL generations that follow it are replayed next'
          : 'state.json is missing; recovered the run state from state.json.bak',
        { loaded: paths.backup, quarantined },
      );
      return { doc, source: 'backup', quarantined };
    }
    if (stateWasCorrupt) {
      logger.error('no state.json.bak to recover from; starting with an empty run state (history/ is kept)', {
        quarantined,
      });
    }
  } catch (error) {
    if (!(error instanceof CorruptStateError)) throw error;
    const movedTo = await quarantine(paths.backup, options.clock);
    quarantined.push(movedTo);
    logger.error(
      `state.json.bak is unusable too (${error.reason}); moved it to ${basename(movedTo)}; ` +
        'starting with an empty run state (history/ is kept)',
      { file: paths.backup, movedTo, reason: error.reason, quarantined },
    );
  }
  return { doc: emptyStateDocument(), source: 'none', quarantined };
}

/**
 * Moves `path` to `<path>.corrupt-<timestamp>` without ever overwriting an
 * earlier copy (link fails if the name is taken), then removes the original.
 */
export async function quarantine(path: string, clock: Clock): Promise<string> {
  const stamp = new Date(clock.now()).toISOString().replace(/[:.]/g, '-');
  for (let attempt = 0; ; attempt++) {
    const target = `${path}.corrupt-${stamp}${attempt === 0 ? '' : `-${attempt}`}`;
    try {
      await link(path, target);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EEXIST') continue;
      throw error;
    }
    await unlink(path);
    await fsyncDirectory(dirname(path));
    return target;
  }
}

export function isMissingFile(error: unknown): boolean {
  return (error as NodeJS.ErrnoException | undefined)?.code === 'ENOENT';
}

function ignoreMissing(error: unknown): void {
  if (!isMissingFile(error)) throw error;
}
