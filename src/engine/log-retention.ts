import { readdir, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * Deletes run logs older than the retention. A Pi running a job every minute
 * writes half a million log files a year; the runs themselves stay in
 * history/, only their output goes. Logs of active runs are never touched.
 */
export async function pruneRunLogs(dir: string, input: { now: number; retentionMs: number; isActive(runId: string): boolean }): Promise<number> {
  const cutoff = input.now - input.retentionMs;
  let removed = 0;
  for (const name of await readdir(dir).catch(() => [] as string[])) {
    // `<run>.log`, and the tail segments a capped log leaves if Hearth died before the run finished.
    const match = /^(.+)\.log(?:\.tail\.\d+)?$/.exec(name);
    if (!match) continue;
    const runId = match[1]!;
    if (input.isActive(runId)) continue;
    const path = join(dir, name);
    const info = await stat(path).catch(() => undefined);
    if (!info || info.mtimeMs >= cutoff) continue;
    await unlink(path).then(() => removed++, () => {});
  }
  return removed;
}
