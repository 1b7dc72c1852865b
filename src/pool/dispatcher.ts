import type { Clock, Timer } from '../core/clock.js';
import { CancelledError, ConflictError, NotFoundError, errorMessage } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { JobDef, PoolDef } from '../config/types.js';
import type { Run } from '../runs/model.js';
import { isFinished, waitDeadline } from '../runs/model.js';
import type { RunRepository } from '../runs/run-repository.js';
import type { QueueClaim, RunQueue } from '../runs/run-queue.js';
import { finishRunEarly, requestCancel, wake, type WakeSignal } from '../runs/transitions.js';

export type RunOutcome = 'finished' | 'waiting' | 'interrupted';

export interface DispatcherDeps {
  clock: Clock;
  logger: Logger;
  /** Where runs are read and saved (the run repository port). */
  runs: RunRepository;
  /** The run queue this pool consumes: it claims queued runs for its free slots. */
  queue: RunQueue;
  /** This pool's name as a claimer of the queue (default `local`). */
  owner?: string;
  /** How long a claim holds a run before another claimer may take it; renewed while the run runs (default 5 minutes). */
  leaseMs?: number;
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

const DEFAULT_LEASE_MS = 5 * 60_000;

/**
 * The worker pool, a consumer of the run queue (src/runs/run-queue.ts): it
 * claims the oldest queued runs its pools' free slots can take (under a
 * lease, renewed while they run), honours `overlap` (runs of a `skip`/`queue`
 * job never execute side by side), parks `waiting` runs (a wait with a
 * deadline arms a timer; the wait lives in the run, so a restart re-arms it;
 * a wait for input, an event or child runs arms nothing and holds no slot
 * until `wake`), and cancels. Runs are read and saved through the run
 * repository; the queue, not this class, holds the queued runs.
 */
export class Dispatcher {
  /**
   * Read model for the synchronous views (health counts, overlap checks, log
   * pruning): the runs this pool enqueued and has not claimed yet. It is fed
   * by enqueue and claims; the queue stays the source of truth (a run is
   * started only once claimed there), and a claimed run not in it is read
   * from the repository.
   */
  private readonly queuedHere = new Map<string, Run>();
  /** Runs not to claim yet (recovered runs whose recovery is not on disk yet): see holdBack. */
  private readonly heldBack = new Set<string>();
  private readonly owner: string;
  private readonly leaseMs: number;
  private leaseTimer: Timer | undefined;
  /** The pump pass running now, and the one asked for meanwhile (one pass at a time; requests coalesce). */
  private passChain: Promise<void> = Promise.resolve();
  private nextPass: Promise<void> | undefined;
  private readonly active = new Map<string, ActiveRun>();
  private readonly parked = new Map<string, { run: Run; timer: Timer | undefined }>();
  /** Running runs per pool, and running + waiting runs per job: O(1) admission checks. */
  private readonly runningPerPool = new Map<string, number>();
  private readonly busyPerJob = new Map<string, number>();
  private stopping = false;

  constructor(private readonly deps: DispatcherDeps) {
    this.owner = deps.owner ?? 'local';
    this.leaseMs = deps.leaseMs ?? DEFAULT_LEASE_MS;
  }

  /**
   * Puts a queued run (already stored as `queued`) in the queue and claims
   * what may start now; resolves once that pass is done (the run started,
   * or it waits for a slot).
   */
  async enqueue(run: Run): Promise<void> {
    if (this.stopping) return;
    this.queuedHere.set(run.id, run);
    try {
      await this.deps.queue.enqueue({ runId: run.id, job: run.job });
    } catch (error) {
      this.queuedHere.delete(run.id);
      throw error;
    }
    await this.pump();
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
    const saved = this.deps.runs.save(parked.run, 'woken');
    parked.timer?.cancel();
    if (parked.run.status === 'waiting') {
      parked.timer = this.armDeadline(parked.run);
      saved.catch((error: unknown) => this.logFailure('saving a wake failed', parked.run, error));
      return woken;
    }
    this.unpark(runId);
    saved
      .then(() => this.enqueue(parked.run))
      .catch((error: unknown) => this.logFailure('queueing a woken run failed', parked.run, error));
    return woken;
  }

  /**
   * Runs this pool must not claim until releaseHeld: at start-up the queue
   * already holds the runs stored as `queued`, and a recovered run starts
   * only once its recovery is on disk (Engine.resumeRecovered).
   */
  holdBack(runIds: readonly string[]): void {
    for (const id of runIds) this.heldBack.add(id);
  }

  releaseHeld(): void {
    this.heldBack.clear();
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

  /** Active runs of a job (queued, running or waiting), as this pool sees them (its read model). */
  activeRunsOf(job: string): Run[] {
    const queued = [...this.queuedHere.values()].filter((run) => run.job === job).sort((a, b) => (a.id < b.id ? -1 : 1));
    if (!this.busyPerJob.get(job)) return queued;
    const all = [...queued, ...[...this.active.values()].map((a) => a.run), ...[...this.parked.values()].map((p) => p.run)];
    return all.filter((run) => run.job === job);
  }

  isActive(runId: string): boolean {
    return this.active.has(runId) || this.parked.has(runId) || this.queuedHere.has(runId);
  }

  counts(): { queued: number; running: number; waiting: number } {
    return { queued: this.queuedHere.size, running: this.active.size, waiting: this.parked.size };
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
      const saved = this.deps.runs.save(running.run, 'cancel-requested');
      running.controller.abort(new CancelledError('cancelled by request'));
      // Acknowledged only once on disk: after a crash the run is cancelled, not resumed.
      await saved;
      return running.run;
    }
    const parked = this.parked.get(runId)?.run;
    if (parked) {
      this.unpark(runId);
      await this.finishUnstarted(parked, 'cancelled', 'cancelled by request');
      void this.pump();
      return parked;
    }
    // A queued run: taken from the queue first, so no pool (this one or another) starts it meanwhile.
    const claim = await this.deps.queue.claimRun(runId, this.owner, this.leaseMs);
    if (claim) {
      const run = this.queuedHere.get(runId) ?? (await this.deps.runs.get(runId));
      this.queuedHere.delete(runId);
      if (run?.status === 'queued') {
        await this.finishUnstarted(run, 'cancelled', 'cancelled by request');
        await this.deps.queue.complete(runId, this.owner);
        void this.pump();
        return run;
      }
      await this.deps.queue.complete(runId, this.owner);
    }
    // Claimed by a pump pass just now: it is starting, so cancel it as a running run.
    if (this.queuedHere.has(runId)) await this.passChain;
    if (this.active.has(runId)) return this.cancel(runId);
    const stored = await this.deps.runs.get(runId);
    if (!stored) throw new NotFoundError('run', runId);
    throw new ConflictError(`run ${runId} already ${stored.status}`);
  }

  /**
   * Claims and starts every queued run that may start now, oldest first; one
   * pass at a time (a request made during a pass gets the next one).
   */
  pump(): Promise<void> {
    if (this.stopping) return Promise.resolve();
    if (this.nextPass) return this.nextPass;
    const pass = this.passChain
      .then(() => {
        this.nextPass = undefined;
        return this.claimAndStart();
      })
      .catch((error: unknown) => {
        this.deps.logger.error('claiming queued runs failed', { error: errorMessage(error) });
      });
    this.nextPass = pass;
    this.passChain = pass;
    return pass;
  }

  /**
   * One pass: claims the oldest run of a job that is not known to be
   * blocked, starts it if its pool has a slot and its overlap policy allows,
   * otherwise hands it straight back and leaves that job out of the next
   * claims; until the queue has nothing more or every pool is full.
   */
  private async claimAndStart(): Promise<void> {
    const pools = this.deps.pools();
    const poolCount = Object.keys(pools).length;
    // Pools already full are known here: when every pool is, nothing is claimed at all.
    const fullPools = new Set(Object.values(pools).filter((pool) => this.runningIn(pool.name) >= pool.concurrency).map((pool) => pool.name));
    const blockedJobs = new Set<string>();
    while (!this.stopping && fullPools.size < poolCount) {
      const [claim] = await this.deps.queue.claim({
        owner: this.owner,
        leaseMs: this.leaseMs,
        excludeJobs: [...blockedJobs],
        ...(this.heldBack.size ? { excludeRuns: [...this.heldBack] } : {}),
      });
      if (!claim) return;
      const run = this.queuedHere.get(claim.runId) ?? (await this.deps.runs.get(claim.runId));
      if (run?.status !== 'queued' || this.stopping) {
        // Gone or no longer queued (a stale claim); or stopping: it stays queued for the next start.
        if (run?.status === 'queued') await this.deps.queue.delay(claim.runId, this.owner, this.deps.clock.now());
        else await this.deps.queue.complete(claim.runId, this.owner);
        continue;
      }
      const job = this.deps.job(run.job);
      if (!job) {
        this.queuedHere.delete(run.id);
        await this.finishUnstarted(run, 'failed', `job "${run.job}" is no longer in the config`);
        await this.deps.queue.complete(run.id, this.owner);
        continue;
      }
      if (fullPools.has(job.pool) || !this.mayStart(job, fullPools)) {
        blockedJobs.add(job.name);
        await this.deps.queue.delay(run.id, this.owner, this.deps.clock.now());
        continue;
      }
      this.queuedHere.delete(run.id);
      this.start(run, job, claim);
    }
  }

  /** Stops everything: running runs are interrupted and resume on the next start. Idempotent. */
  async shutdown(): Promise<void> {
    this.stopping = true;
    this.leaseTimer?.cancel();
    this.leaseTimer = undefined;
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

  private start(run: Run, job: JobDef, claim: QueueClaim): void {
    const controller = new AbortController();
    const entry: ActiveRun = { run, pool: job.pool, controller, done: Promise.resolve() };
    this.active.set(run.id, entry);
    bump(this.runningPerPool, job.pool, 1);
    bump(this.busyPerJob, run.job, 1);
    this.armLeaseRenewal();
    entry.done = this.deps
      .execute(run, job, controller.signal)
      .then((outcome) => {
        this.release(entry);
        if (outcome === 'waiting') this.park(run);
        if (outcome === 'finished') this.deps.onFinished?.(run);
        // Interrupted (a shutdown): back in the queue for the next start; otherwise it leaves the queue.
        return outcome === 'interrupted'
          ? this.deps.queue.delay(claim.runId, this.owner, this.deps.clock.now())
          : this.deps.queue.complete(claim.runId, this.owner);
      })
      .catch(async (error: unknown) => {
        this.release(entry);
        this.deps.logger.error('run crashed inside the engine', { runId: run.id, job: run.job, error: errorMessage(error) });
        await this.finishCrashed(run, error).catch(() => {});
        await this.deps.queue.complete(claim.runId, this.owner).catch(() => false);
      })
      .then(() => undefined)
      .finally(() => void this.pump());
  }

  private release(entry: ActiveRun): void {
    if (!this.active.delete(entry.run.id)) return;
    bump(this.runningPerPool, entry.pool, -1);
    bump(this.busyPerJob, entry.run.job, -1);
    if (this.active.size === 0) {
      // An idle pool keeps no timer.
      this.leaseTimer?.cancel();
      this.leaseTimer = undefined;
    }
  }

  /**
   * While runs run, their leases are renewed every half lease, so no other
   * claimer takes a run this pool still runs. No timer while the pool is idle.
   */
  private armLeaseRenewal(): void {
    if (this.leaseTimer || this.stopping) return;
    this.leaseTimer = this.deps.clock.setTimer(this.leaseMs / 2, () => {
      this.leaseTimer = undefined;
      if (this.active.size === 0) return;
      for (const entry of this.active.values()) {
        void this.deps.queue.extend(entry.run.id, this.owner, this.leaseMs).then(
          (held) => {
            if (!held) this.deps.logger.warn('lease of a running run was lost', { runId: entry.run.id, job: entry.run.job });
          },
          (error: unknown) => this.logFailure('renewing a lease failed', entry.run, error),
        );
      }
      this.armLeaseRenewal();
    });
  }

  private logFailure(message: string, run: Run, error: unknown): void {
    this.deps.logger.error(message, { runId: run.id, job: run.job, error: errorMessage(error) });
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
    await this.deps.runs.save(run, 'finished');
    this.deps.onFinished?.(run);
  }

  private async finishUnstarted(run: Run, status: 'failed' | 'cancelled', error: string): Promise<void> {
    finishRunEarly(run, status, error, this.deps.clock.now());
    await this.deps.runs.save(run, 'finished');
    this.deps.onFinished?.(run);
  }
}

function bump(counts: Map<string, number>, key: string, by: number): void {
  const next = (counts.get(key) ?? 0) + by;
  if (next <= 0) counts.delete(key);
  else counts.set(key, next);
}
