import type { Clock, Timer } from '../core/clock.js';
import { CancelledError, ConflictError, NotFoundError, errorMessage } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { JobDef, PoolDef } from '../config/types.js';
import type { Run } from '../runs/model.js';
import { isFinished, waitDeadline } from '../runs/model.js';
import type { RunStore } from '../runs/store.js';
import { finishRunEarly, requestCancel, wake, type WakeSignal } from '../runs/transitions.js';

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
  /**
   * Called after a run parks: a wait already satisfied while the run was
   * still running (an answer, a child that finished) is woken from here.
   */
  onParked?(run: Run): void;
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
 * side), parks `waiting` runs (a wait with a deadline arms a timer; the
 * wait lives in the run, so a restart re-arms it; a wait for input, an event
 * or child runs arms nothing and holds no slot until `wake`), and cancels.
 */
export class Dispatcher {
  /** Queued runs, kept sorted by id (= creation order); new runs almost always append. */
  private readonly queued: Run[] = [];
  private readonly active = new Map<string, ActiveRun>();
  private readonly parked = new Map<string, { run: Run; timer: Timer | undefined }>();
  /** Running runs per pool, and running + waiting runs per job: O(1) admission checks. */
  private readonly runningPerPool = new Map<string, number>();
  private readonly busyPerJob = new Map<string, number>();
  private stopping = false;

  constructor(private readonly deps: DispatcherDeps) {}

  /** A queued run (already durable in the store). */
  enqueue(run: Run): void {
    if (this.stopping) return;
    insertSorted(this.queued, run);
    this.pump();
  }

  /**
   * A waiting run. Its wait's deadline (a timer's `at`, another wait's
   * `until`), if it has one, arms a timer that delivers a `timer` wake; a wait
   * without one (input, event, children) arms nothing: only `wake` ends it.
   */
  park(run: Run): void {
    if (this.stopping) return;
    this.parked.set(run.id, { run, timer: this.armDeadline(run) });
    bump(this.busyPerJob, run.job, 1);
    this.deps.onParked?.(run);
  }

  /**
   * Delivers a wake signal to a parked run (an inbox answer, an event, a
   * child run that finished). A run it wakes is queued at once (durable
   * first); one it does not wake stays parked, its timer re-armed for the
   * wait that is now first. Returns the woken tasks' names.
   */
  wake(runId: string, signal: WakeSignal): string[] {
    const parked = this.parked.get(runId);
    if (!parked) return [];
    const woken = wake(parked.run, signal, this.deps.clock.now());
    this.deps.store.updateRun(parked.run);
    parked.timer?.cancel();
    if (parked.run.status === 'waiting') {
      parked.timer = this.armDeadline(parked.run);
      return woken;
    }
    this.unpark(runId);
    this.enqueue(parked.run);
    return woken;
  }

  /** The parked runs (the engine looks for those an event wakes). */
  parkedRuns(): Run[] {
    return [...this.parked.values()].map((parked) => parked.run);
  }

  private armDeadline(run: Run): Timer | undefined {
    const at = run.wait ? waitDeadline(run.wait) : undefined;
    if (at === undefined) return undefined;
    return this.deps.clock.setTimer(Math.max(0, at - this.deps.clock.now()), () => this.wake(run.id, { kind: 'timer' }));
  }

  /** Active runs of a job (queued, running or waiting), as this pool sees them. */
  activeRunsOf(job: string): Run[] {
    if (!this.busyPerJob.get(job) && !this.queued.some((run) => run.job === job)) return [];
    const all = [...this.queued, ...[...this.active.values()].map((a) => a.run), ...[...this.parked.values()].map((p) => p.run)];
    return all.filter((run) => run.job === job);
  }

  isActive(runId: string): boolean {
    return this.active.has(runId) || this.parked.has(runId) || this.queued.some((run) => run.id === runId);
  }

  counts(): { queued: number; running: number; waiting: number } {
    return { queued: this.queued.length, running: this.active.size, waiting: this.parked.size };
  }

  runningIn(pool: string): number {
    return this.runningPerPool.get(pool) ?? 0;
  }

  /**
   * Cancels a run. A queued or waiting run ends at once; a running one is
   * signalled (its process groups get SIGTERM, then SIGKILL) and ends when its
   * tasks have stopped. Either way the cancel is on disk when this resolves.
   */
  async cancel(runId: string): Promise<Run> {
    const running = this.active.get(runId);
    if (running) {
      requestCancel(running.run);
      this.deps.store.updateRun(running.run);
      running.controller.abort(new CancelledError('cancelled by request'));
      // Acknowledged only once on disk: after a crash the run is cancelled, not resumed.
      await this.deps.store.flush();
      return running.run;
    }
    const queuedAt = this.queued.findIndex((run) => run.id === runId);
    const idle = queuedAt >= 0 ? this.queued[queuedAt] : this.parked.get(runId)?.run;
    if (!idle) {
      const stored = await this.deps.store.getRun(runId);
      if (!stored) throw new NotFoundError('run', runId);
      throw new ConflictError(`run ${runId} already ${stored.status}`);
    }
    if (queuedAt >= 0) this.queued.splice(queuedAt, 1);
    else this.unpark(runId);
    await this.finishUnstarted(idle, 'cancelled', 'cancelled by request');
    this.pump();
    return idle;
  }

  /** Starts every queued run that may start now, oldest first. */
  pump(): void {
    if (this.stopping) return;
    const fullPools = new Set<string>();
    const poolCount = Object.keys(this.deps.pools()).length;
    for (let i = 0; i < this.queued.length && fullPools.size < poolCount; ) {
      const run = this.queued[i]!;
      const job = this.deps.job(run.job);
      if (!job) {
        this.queued.splice(i, 1);
        void this.finishUnstarted(run, 'failed', `job "${run.job}" is no longer in the config`);
        continue;
      }
      if (fullPools.has(job.pool) || !this.mayStart(job, fullPools)) {
        i++;
        continue;
      }
      this.queued.splice(i, 1);
      this.start(run, job);
    }
  }

  /** Stops everything: running runs are interrupted and resume on the next start. Idempotent. */
  async shutdown(): Promise<void> {
    this.stopping = true;
    for (const { timer } of this.parked.values()) timer?.cancel();
    for (const entry of this.active.values()) entry.controller.abort(this.deps.shutdownReason());
    await Promise.allSettled([...this.active.values()].map((entry) => entry.done));
  }

  private mayStart(job: JobDef, fullPools: Set<string>): boolean {
    const concurrency = this.deps.pools()[job.pool]?.concurrency ?? 1;
    if (this.runningIn(job.pool) >= concurrency) {
      fullPools.add(job.pool);
      return false;
    }
    // skip/queue: one run of the job at a time; an older waiting run keeps its turn.
    return job.overlap === 'allow' || !this.busyPerJob.get(job.name);
  }

  private start(run: Run, job: JobDef): void {
    const controller = new AbortController();
    const entry: ActiveRun = { run, pool: job.pool, controller, done: Promise.resolve() };
    this.active.set(run.id, entry);
    bump(this.runningPerPool, job.pool, 1);
    bump(this.busyPerJob, run.job, 1);
    entry.done = this.deps
      .execute(run, job, controller.signal)
      .then((outcome) => {
        this.release(entry);
        if (outcome === 'waiting') this.park(run);
        if (outcome === 'finished') this.deps.onFinished?.(run);
      })
      .catch(async (error: unknown) => {
        this.release(entry);
        this.deps.logger.error('run crashed inside the engine', { runId: run.id, job: run.job, error: errorMessage(error) });
        await this.finishCrashed(run, error).catch(() => {});
      })
      .finally(() => this.pump());
  }

  private release(entry: ActiveRun): void {
    if (!this.active.delete(entry.run.id)) return;
    bump(this.runningPerPool, entry.pool, -1);
    bump(this.busyPerJob, entry.run.job, -1);
  }

  private unpark(runId: string): void {
    const parked = this.parked.get(runId);
    if (!parked) return;
    parked.timer?.cancel();
    this.parked.delete(runId);
    bump(this.busyPerJob, parked.run.job, -1);
  }

  /**
   * The executor threw. A run it had already finished keeps its status (only
   * writing it failed, e.g. a full disk); it is written again. Any other run
   * fails with the error.
   */
  private async finishCrashed(run: Run, error: unknown): Promise<void> {
    if (!isFinished(run)) return this.finishUnstarted(run, 'failed', `internal error: ${errorMessage(error)}`);
    this.deps.store.updateRun(run);
    await this.deps.store.flush();
    this.deps.onFinished?.(run);
  }

  private async finishUnstarted(run: Run, status: 'failed' | 'cancelled', error: string): Promise<void> {
    finishRunEarly(run, status, error, this.deps.clock.now());
    this.deps.store.updateRun(run);
    await this.deps.store.flush();
    this.deps.onFinished?.(run);
  }
}

function bump(counts: Map<string, number>, key: string, by: number): void {
  const next = (counts.get(key) ?? 0) + by;
  if (next <= 0) counts.delete(key);
  else counts.set(key, next);
}

function insertSorted(queue: Run[], run: Run): void {
  let at = queue.length;
  while (at > 0 && queue[at - 1]!.id > run.id) at--;
  queue.splice(at, 0, run);
}
