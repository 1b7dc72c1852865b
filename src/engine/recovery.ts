import type { Run } from '../runs/model.js';

/**
 * Puts a run found active at start-up back into a runnable shape. A task
 * that was `running` when the process died (kill -9, power cut) is pending
 * again: it runs as a new attempt that does not count against its retries.
 * Tasks that finished are left alone, so they never run twice. Orphaned
 * process groups from the dead process are killed first (`killOrphan`).
 */
export function recoverInterruptedRun(run: Run, now: number, killOrphan: (pid: number) => void): { resumedTasks: string[] } {
  const resumedTasks: string[] = [];
  for (const state of Object.values(run.tasks)) {
    if (state.status !== 'running') continue;
    if (state.pid !== undefined) killOrphan(state.pid);
    state.status = 'pending';
    state.interruptions = (state.interruptions ?? 0) + 1;
    delete state.pid;
    resumedTasks.push(state.name);
  }
  if (run.status === 'running') run.status = 'queued';
  if (run.status === 'waiting' && !run.wakeAt) run.wakeAt = new Date(now).toISOString();
  return { resumedTasks };
}
