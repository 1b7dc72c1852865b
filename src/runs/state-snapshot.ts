import { chmod, copyFile, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { isMissingFile } from './state-file.js';
import { readWal } from './wal.js';

/**
 * Copies the run store's state files out of a data directory while the
 * appliance may be writing them, so that the copy opens like the state after
 * a power cut at one instant (see FileRunStore.checkpoint for the chain).
 *
 * Order: state.json, state.json.bak, state.wal.prev, then state.wal. Every
 * one of them is replaced by rename, never rewritten in place, except
 * state.wal, which is appended to: a copy taken mid-append ends in a torn
 * line, which replay ignores like the tail of a power cut. A checkpoint
 * between the copies turns the old state.wal into state.wal.prev, which is
 * copied after state.json, so the WAL generations still lead from the copied
 * state.json to the end. The copy is then checked (state generation S needs
 * state.wal at S, or state.wal.prev at S and state.wal at S+1) and taken
 * again if two checkpoints overtook it.
 *
 * history/ must be read after this returns: runs leave state only after
 * they were appended to history/, so a run missing from the copied state is
 * in history/ by then (a run in both is read once).
 */

export const STATE_FILES = ['state.json', 'state.json.bak', 'state.wal.prev', 'state.wal'] as const;

const ATTEMPTS = 5;

export class StateSnapshotError extends Error {
  override name = 'StateSnapshotError';
}

export interface SnapshotOptions {
  /** Called after each file is copied (tests let the store write in between). */
  afterCopy?: (name: string, attempt: number) => Promise<void>;
}

/** Copies the state files present in `dataDir` into `destDir` (mode 0600); returns the names copied. */
export async function snapshotStateFiles(dataDir: string, destDir: string, options: SnapshotOptions = {}): Promise<string[]> {
  for (let attempt = 1; ; attempt++) {
    const copied: string[] = [];
    for (const name of STATE_FILES) {
      if (await copyIfPresent(join(dataDir, name), join(destDir, name))) copied.push(name);
      await options.afterCopy?.(name, attempt);
    }
    if (await chainIsComplete(destDir)) return copied;
    if (attempt >= ATTEMPTS) {
      throw new StateSnapshotError(`the run state in ${dataDir} kept changing under the copy (${ATTEMPTS} tries); try again`);
    }
  }
}

/** Whether the copied WAL generations lead from the copied state.json to the end. */
export async function chainIsComplete(dir: string): Promise<boolean> {
  let generation: number;
  try {
    const doc = JSON.parse(await readFile(join(dir, 'state.json'), 'utf8')) as { walGeneration?: unknown };
    generation = typeof doc.walGeneration === 'number' ? doc.walGeneration : 0;
  } catch (error) {
    // No state.json: a store that never checkpointed; the WAL alone is the state.
    if (isMissingFile(error)) return true;
    return false;
  }
  const current = (await readWal(join(dir, 'state.wal'))).generation;
  const previous = (await readWal(join(dir, 'state.wal.prev'))).generation;
  if (current === undefined || current === generation) return true;
  return previous === generation && current === generation + 1;
}

async function copyIfPresent(from: string, to: string): Promise<boolean> {
  try {
    await copyFile(from, to);
  } catch (error) {
    if (isMissingFile(error)) return false;
    throw error;
  }
  // copyFile keeps the mode of the source; the state is private either way.
  const { mode } = await stat(to);
  if ((mode & 0o077) !== 0) await chmod(to, 0o600);
  return true;
}
