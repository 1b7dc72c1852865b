import type { Clock, Timer } from '../core/clock.js';
import { CancelledError, ConflictError, NotFoundError, errorMessage } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { JobDef, PoolDef } from '../config/types.js';
import type { Run } from '../runs/model.js';
import type { RunStore } from '../runs/store.js';

export type RunOutcome = 'finished' | 'waiting' | 'interrupted';

export interface DispatcherDeps {
  clock: Clock;
  logger: Logger;
  store: RunStore;
  /** The current catalog: reloads take effect for runs not yet started. */
  pools(): Record<string, PoolDef>;
  job(name: string): JobDef | undefined;
  execute(run: Run, job: JobDef, stop: AbortSignal): Promise<RunOutcome>;
  /** Makes a shutdown reason the executor recognises (the run goes back to `queued`). */
  shutdownReason(): Error;
  /** Called after a run reaches a final status (for metrics, notifications). */
  onFinished?(run: Run): void;
}

interface ActiveRun {
  run: Run;
  pool: string;
  controller: AbortController;
  done: Promise<void>;
}

/**
 * The worker pool: starts queued runs while their pool has a free slot,
 * honours `overlap` (runs of a `skip`/`queue` job never execute side by
 * side), parks `waiting` runs on durable timers (the wake time lives in the
 * run, so a restart re-arms it), and cancels.
 */
export class Dispatcher {
  private readonly queued = new Map<string, Run>();
  private readonly active = new Map<string, ActiveRun>();
  private readonly parked = new Map<string, { run: Run; timer: Timer }>();
  private stopping = false;

  constructor(private readonly deps: DispatcherDeps) {}

  /** A queued run (already durable in the store). */
  enqueue(run: Run): void {
    if (this.stopping) return;
    this.queued.set(run.id, run);
    this.pump();
  }

  /** A waiting run: wake it when its durable timer is due. */
  park(run: Run): void {
    if (this.stopping) return;
    const wakeAt = Date.parse(run.wakeAt ?? '') || this.deps.clock.now();
    const timer = this.deps.clock.setTimer(wakeAt - this.deps.clock.now(), () => {
      this.parked.delete(run.id);
      run.status = 'queued';
      this.deps.store.updateRun(run);
      this.enqueue(run);
    });
    this.parked.set(run.id, { run, timer });
  }

  /** Active runs of a job (queued, running or waiting), as this pool sees them. */
  activeRunsOf(job: string): Run[] {
    const all = [...this.queued.values(), ...[...this.active.values()].map((a) => a.run), ...[...this.parked.values()].map((p) => p.run)];
    return all.filter((run) => run.job === job);
  }

  counts(): { queued: number; running: number; waiting: number } {
    return { queued: this.queued.size, running: this.active.size, waiting: this.parked.size };
  }

  runningIn(pool: string): number {
    let count = 0;
    for (const entry of this.active.values()) if (entry.pool === pool) count++;
    return count;
  }

  /**
   * Cancels a run. A queued or waiting run ends at once; a running one is
   * signalled (its process groups get SIGTERM, then SIGKILL) and ends when its
   * tasks have stopped.
   */
  async cancel(runId: string): Promise<Run> {
    const running = this.active.get(runId);
    if (running) {
      running.run.cancelRequested = true;
      this.deps.store.updateRun(running.run);
      running.controller.abort(new CancelledError('cancelled by request'));
      return running.run;
    }
    const idle = this.queued.get(runId) ?? this.parked.get(runId)?.run;
    if (!idle) {
      const stored = await this.deps.store.getRun(runId);
      if (!stored) throw new NotFoundError('run', runId);
      throw new ConflictError(`run ${runId} already ${stored.status}`);
    }
    this.queued.delete(runId);
    this.parked.get(runId)?.timer.cancel();
    this.parked.delete(runId);
    await this.finishUnstarted(idle, 'cancelled', 'cancelled by request');
    return idle;
  }

  /** Starts every queued run that may start now, oldest first. */
  pump(): void {
    if (this.stopping) return;
    const ordered = [...this.queued.values()].sort((a, b) => (a.id < b.id ? -1 : 1));
    for (const run of ordered) {
      const job = this.deps.job(run.job);
      if (!job) {
        this.queued.delete(run.id);
        void this.finishUnstarted(run, 'failed', `job "${run.job}" is no longer in the config`);
        continue;
      }
      if (!this.mayStart(run, job)) continue;
      this.queued.delete(run.id);
      this.start(run, job);
    }
  }

  /** Stops everything: running runs are interrupted and resume on the next start. Idempotent. */
  async shutdown(): Promise<void> {
    this.stopping = true;
    for (const { timer } of this.parked.values()) timer.cancel();
    for (const entry of this.active.values()) entry.controller.abort(this.deps.shutdownReason());
    await Promise.allSettled([...this.active.values()].map((entry) => entry.done));
  }

  private mayStart(run: Run, job: JobDef): boolean {
    const pool = this.deps.pools()[job.pool];
    const concurrency = pool?.concurrency ?? 1;
    if (this.runningIn(job.pool) >= concurrency) return false;
    if (job.overlap === 'allow') return true;
    // skip/queue: one run of the job at a time; an older waiting run keeps its turn.
    const busy = [...this.active.values()].some((a) => a.run.job === job.name) ||
      [...this.parked.values()].some((p) => p.run.job === job.name);
    return !busy;
  }

  private start(run: Run, job: JobDef): void {
    const controller = new AbortController();
    const entry: ActiveRun = { run, pool: job.pool, controller, done: Promise.resolve() };
    this.active.set(run.id, entry);
    entry.done = this.deps
      .execute(run, job, controller.signal)
      .then((outcome) => {
        if (outcome === 'waiting') this.park(run);
        if (outcome === 'finished') this.deps.onFinished?.(run);
      })
      .catch(async (error: unknown) => {
        this.deps.logger.error('run crashed inside the engine', { runId: run.id, job: run.job, error: errorMessage(error) });
        await this.finishUnstarted(run, 'failed', `internal error: ${errorMessage(error)}`).catch(() => {});
      })
      .finally(() => {
        this.active.delete(run.id);
        this.pump();
      });
  }

  private async finishUnstarted(run: Run, status: 'failed' | 'cancelled', error: string): Promise<void> {
    const now = new Date(this.deps.clock.now()).toISOString();
    run.status = status;
    run.error = error;
    run.finishedAt = now;
    delete run.wakeAt;
    for (const state of Object.values(run.tasks)) {
      if (state.status === 'pending' || state.status === 'waiting' || state.status === 'running') {
        state.status = 'cancelled';
        state.finishedAt = now;
        delete state.wakeAt;
      }
    }
    this.deps.store.updateRun(run);
    await this.deps.store.flush();
    this.deps.onFinished?.(run);
  }
}
