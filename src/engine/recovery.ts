import type { Run } from '../runs/model.js';
import { failTask, finishRunEarly, interruptRun, markTaskCrashed, reconcileWaitingRun } from '../runs/transitions.js';

/**
 * How many times in a row a task may be found running after the appliance
 * died before its run is failed instead of resumed. A task that kills the
 * appliance (fills the disk, exhausts memory) would otherwise crash-loop it.
 */
export const MAX_CONSECUTIVE_CRASHES = 2;

export interface RecoveredRun {
  /** Tasks that were running when the appliance died and will run again. */
  resumedTasks: string[];
  /** Set when the run was failed instead of resumed: the run's error. */
  failed?: string;
}

/**
 * Puts a run found active at start-up back into a runnable shape. A task
 * that was `running` when the process died (kill -9, power cut) is pending
 * again: it runs as a new attempt that does not count against its retries.
 * Tasks that finished are left alone, so they never run twice. Orphaned
 * process groups from the dead process are killed first (`killOrphan`).
 *
 * A task found running after MAX_CONSECUTIVE_CRASHES deaths of the appliance
 * in a row is not resumed: it fails with "interrupted repeatedly" and so does
 * its run.
 *
 * A `waiting` run stays parked on its wait (a timer is re-armed by the pool;
 * a wait for input, an event or children is not a timer and stays without
 * one); only a waiting run with nothing to wait for is queued again.
 */
export function recoverInterruptedRun(run: Run, now: number, killOrphan: (pid: number | undefined) => void): RecoveredRun {
  const resumedTasks: string[] = [];
  const crashLooping: Array<{ name: string; crashes: number }> = [];
  for (const state of Object.values(run.tasks)) {
    if (state.status !== 'running') continue;
    // Also without a recorded pid: the crash may have come before the task's pid reached the disk.
    killOrphan(state.pid);
    markTaskCrashed(state);
    if (state.crashes! >= MAX_CONSECUTIVE_CRASHES) crashLooping.push({ name: state.name, crashes: state.crashes! });
    else resumedTasks.push(state.name);
  }
  if (crashLooping.length > 0) {
    const error = crashLooping
      .map(({ name, crashes }) =>
        `interrupted repeatedly: task ${name} was running when Hearth stopped unexpectedly ${crashes} times in a row (crash, kill -9 or power cut); not resuming it again`)
      .join('; ');
    for (const { name } of crashLooping) failTask(run.tasks[name]!, error, now);
    finishRunEarly(run, 'failed', error, now);
    return { resumedTasks: [], failed: error };
  }
  if (run.status === 'running') interruptRun(run);
  if (run.status === 'waiting') reconcileWaitingRun(run);
  return { resumedTasks };
}
