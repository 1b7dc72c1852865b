import type { ScheduleState } from './model.js';

/** One compare-and-set of a job's last handled occurrence (ScheduleLedger.advance). */
export interface ScheduleAdvance {
  /** The lastHandled the caller planned from (undefined: the job has none yet). */
  from: number | undefined;
  /** The new lastHandled (epoch ms of the newest occurrence now handled). */
  to: number;
  /** Replaces the stored last catch-up when given; other fields (paused, spec) are kept. */
  lastCatchup?: ScheduleState['lastCatchup'];
}

/**
 * The schedule ledger port: per job, the newest occurrence already handled.
 * Command-shaped so a database backend does each call in one statement
 * (`UPDATE … SET last_handled = $to WHERE job = $job AND last_handled IS NOT DISTINCT FROM $from`),
 * and async so no caller assumes the state is in local memory.
 *
 * `advance` is a compare-and-set: it applies the change and resolves `true`
 * only when the stored lastHandled is still `from`; otherwise it changes
 * nothing and resolves `false`. Two schedulers (two Pis) that planned the
 * same occurrence can therefore never both record it: the loser learns it
 * lost and must not treat the occurrence as its own.
 *
 * Durability: the compare-and-set is decided when the promise resolves. The
 * file store then writes the change within its `flushIntervalMs` (a `sched`
 * record in state.wal, coalesced like any schedule change); a crash in that
 * window is harmless because the scheduler records lastHandled only after
 * the runs are durable and never plans behind a run already created
 * (Scheduler.knownLastHandled). A database backend is durable on resolve.
 *
 * Conformance suite: src/runs/schedule-ledger-conformance.ts.
 */
export interface ScheduleLedger {
  /** A copy of the job's schedule state, or undefined if the job has none. */
  get(job: string): Promise<ScheduleState | undefined>;
  /** Compare-and-set of lastHandled; `false` (nothing changed) when the stored value is not `change.from`. */
  advance(job: string, change: ScheduleAdvance): Promise<boolean>;
}

/**
 * The ledger of an in-process store (file or memory), over its schedule state:
 * its setSchedule writes the change the usual way (for the file store, a
 * `sched` record in state.wal). Check and write happen in one synchronous
 * step, so two advances can never interleave.
 */
export function inProcessLedger(store: {
  getSchedule(job: string): ScheduleState | undefined;
  setSchedule(job: string, state: ScheduleState): void;
}): ScheduleLedger {
  return {
    get: async (job) => store.getSchedule(job),
    advance: async (job, change) => {
      const next = advancedSchedule(store.getSchedule(job), change);
      if (!next) return false;
      store.setSchedule(job, next);
      return true;
    },
  };
}

/**
 * The compare-and-set rule: the new state, or undefined when `from` does not
 * match what is stored.
 */
export function advancedSchedule(current: ScheduleState | undefined, change: ScheduleAdvance): ScheduleState | undefined {
  if ((current?.lastHandled ?? undefined) !== change.from) return undefined;
  return {
    ...current,
    lastHandled: change.to,
    ...(change.lastCatchup !== undefined ? { lastCatchup: change.lastCatchup } : {}),
  };
}
