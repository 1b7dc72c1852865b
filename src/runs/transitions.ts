import type { Run, TaskState } from './model.js';

/**
 * Pure status transitions of runs and tasks (DESIGN.md, "one owner per state
 * machine"): callers decide *when*, these functions decide what a status
 * change writes, so the pool and recovery cannot disagree about what a
 * finished run looks like. They change the objects in place and never touch
 * the store; the caller persists the run.
 *
 * Not every status write goes through here yet: the executor's own task and
 * run transitions and the cancel-before-crash path still set fields directly.
 */

/** Statuses after which a task never runs again in its run. */
export const SETTLED_TASK_STATUSES: ReadonlySet<TaskState['status']> = new Set(['succeeded', 'failed', 'skipped', 'cancelled']);

/**
 * Ends a run that will not (or will no longer) execute: every task that had
 * not settled is cancelled, the run gets `status`, `error` and `finishedAt`.
 */
export function finishRunEarly(run: Run, status: 'failed' | 'cancelled', error: string, now: number): void {
  const at = new Date(now).toISOString();
  for (const state of Object.values(run.tasks)) {
    if (SETTLED_TASK_STATUSES.has(state.status)) continue;
    state.status = 'cancelled';
    state.finishedAt = at;
    delete state.wakeAt;
    delete state.pid;
  }
  run.status = status;
  run.error = error;
  run.finishedAt = at;
  delete run.wakeAt;
  delete run.cancelRequested;
}

/** Fails one task for good (no retry): `error` says why. */
export function failTask(state: TaskState, error: string, now: number): void {
  state.status = 'failed';
  state.error = error;
  state.finishedAt = new Date(now).toISOString();
  delete state.wakeAt;
  delete state.pid;
}

/**
 * A task found `running` when the appliance starts: the process that ran it
 * died (kill -9, power cut, a crash). The task is pending again; the attempt
 * does not count against its retries (`interruptions`), and `crashes` counts
 * such deaths in a row, so recovery can stop resuming a task that keeps
 * taking the appliance down with it.
 */
export function markTaskCrashed(state: TaskState): void {
  state.status = 'pending';
  state.interruptions = (state.interruptions ?? 0) + 1;
  state.crashes = (state.crashes ?? 0) + 1;
  delete state.pid;
}

/** An attempt ended inside a living appliance (any outcome, a graceful shutdown too): the run of crashes is broken. */
export function noteAttemptEnded(state: TaskState): void {
  delete state.crashes;
}
