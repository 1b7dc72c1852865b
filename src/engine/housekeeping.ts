import type { Clock, Timer } from '../core/clock.js';
import { errorMessage } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import { pruneInputs } from '../runs/run-input.js';
import type { RunStore } from '../runs/store.js';
import { pruneRunLogs, type LogPacking } from './log-retention.js';

/*
 * Housekeeping: the daily chores that keep the SD card from filling up (old
 * run logs and step journals, history months, input files, event ids), and
 * the timer that runs them. Each prune takes its inputs explicitly and logs
 * (never throws) a failure, so one bad day does not end housekeeping.
 */

const DAY_MS = 86_400_000;

export interface Chore {
  name: string;
  run(): Promise<unknown>;
}

/**
 * Runs `chores` every day (first pass `firstDelayMs` after start, off the
 * start-up path). The next day is armed when the timer fires, not when the
 * chores finish: a prune stuck on a failing SD card must not end
 * housekeeping for good. A chore whose previous pass still runs is skipped
 * that day.
 */
export class DailyChores {
  private timer: Timer | undefined;
  private stopped = false;
  private readonly running = new Set<string>();

  constructor(private readonly deps: { clock: Clock; logger: Logger; chores: Chore[] }) {}

  start(firstDelayMs = 60_000): void {
    this.arm(firstDelayMs);
  }

  stop(): void {
    this.stopped = true;
    this.timer?.cancel();
  }

  private arm(delayMs: number): void {
    this.timer = this.deps.clock.setTimer(delayMs, () => {
      if (this.stopped) return;
      this.arm(DAY_MS);
      for (const chore of this.deps.chores) this.runChore(chore);
    });
  }

  private runChore(chore: Chore): void {
    if (this.running.has(chore.name)) {
      this.deps.logger.warn('housekeeping skipped: the previous pass is still running', { chore: chore.name });
      return;
    }
    this.running.add(chore.name);
    void chore.run().finally(() => this.running.delete(chore.name));
  }
}

interface PruneBase {
  now: number;
  retentionMs: number;
  logger: Logger;
}

interface PruneFiles extends PruneBase {
  /** Files of an active run are kept whatever their age. */
  isActive(runId: string): boolean;
}

/**
 * Deletes history months older than `history.keepRuns`: a job every minute
 * files ~1.4 MB of history a day, which an SD card should not keep forever.
 */
export async function pruneHistory(store: Pick<RunStore, 'pruneHistory'>, options: PruneBase): Promise<string[]> {
  const { now, retentionMs, logger } = options;
  const months = await store.pruneHistory(now - retentionMs).catch((error: unknown) => {
    logger.warn('pruning old run history failed', { error: errorMessage(error) });
    return [] as string[];
  });
  if (months.length > 0) logger.info('old run history deleted', { months, olderThanDays: Math.round(retentionMs / DAY_MS) });
  return months;
}

/** Deletes run logs older than `history.keepLogs`, then the step journals last written before the same cutoff. */
export async function pruneLogs(
  logsDir: string,
  options: PruneFiles & { pruneJournals(before: number): Promise<unknown>; packs?: LogPacking },
): Promise<number> {
  const { now, retentionMs, logger, isActive } = options;
  const removed = await pruneRunLogs(logsDir, { now, retentionMs, isActive, ...(options.packs ? { packs: options.packs } : {}) }).catch((error: unknown) => {
    logger.warn('pruning old run logs failed', { error: errorMessage(error) });
    return 0;
  });
  await options.pruneJournals(now - retentionMs);
  if (removed > 0) logger.info('old run logs deleted', { removed, olderThanDays: Math.round(retentionMs / DAY_MS) });
  return removed;
}

/** Deletes run input files (HEARTH_INPUT_FILE, large inputs) with the same retention as the logs. */
export async function pruneInputFiles(dataDir: string, options: PruneFiles): Promise<number> {
  const { now, retentionMs, logger, isActive } = options;
  const removed = await pruneInputs(dataDir, { now, retentionMs, isActive }).catch((error: unknown) => {
    logger.warn('pruning old run inputs failed', { error: errorMessage(error) });
    return 0;
  });
  if (removed > 0) logger.info('old run inputs deleted', { removed });
  return removed;
}
