import { readdir, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';

/** What retention needs from the run logs' packs (RunLogs implements it). */
export interface LogPacking {
  /** Packs a finished run's leftover own file (or removes it if the pack holds it already). */
  packLeftover(runId: string): Promise<boolean>;
  /** Deletes the days of packed logs last written before `cutoff`; how many logs went. */
  prunePacks(cutoff: number): Promise<number>;
}

/**
 * Deletes run logs older than the retention. A Pi running a job every minute
 * writes half a million logs a year; the runs themselves stay in history/,
 * only their output goes. Logs of active runs are never touched. With
 * `packs`, whole days of packed small logs go the same way, and the own
 * files of finished runs that are kept (a crash between packing and removal,
 * or logs written before packing existed) are packed now.
 */
export async function pruneRunLogs(
  dir: string,
  input: { now: number; retentionMs: number; isActive(runId: string): boolean; packs?: LogPacking },
): Promise<number> {
  const cutoff = input.now - input.retentionMs;
  let removed = 0;
  const leftovers: string[] = [];
  for (const name of await readdir(dir).catch(() => [] as string[])) {
    // `<run>.log`, and the tail segments a capped log leaves if Hearth died before the run finished.
    const match = /^(.+)\.log(\.tail\.\d+)?$/.exec(name);
    if (!match) continue;
    const runId = match[1]!;
    if (input.isActive(runId)) continue;
    const path = join(dir, name);
    const info = await stat(path).catch(() => undefined);
    if (!info || !info.isFile()) continue;
    if (info.mtimeMs >= cutoff) {
      if (!match[2]) leftovers.push(runId);
      continue;
    }
    await unlink(path).then(() => removed++, () => {});
  }
  if (input.packs) {
    removed += await input.packs.prunePacks(cutoff);
    await Promise.all(leftovers.map((runId) => input.packs!.packLeftover(runId)));
  }
  return removed;
}
