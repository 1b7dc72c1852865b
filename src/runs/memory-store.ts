import { ConflictError, NotFoundError } from '../core/errors.js';
import type { Run, RunPage, RunQuery, ScheduleState } from './model.js';
import { cloneDefined, cloneJson, normalizeQuery, toPage } from './run-query.js';
import { RunState } from './run-state.js';
import type { RunStore } from './store.js';
import { inProcessLedger } from './schedule-ledger.js';
import type { ScheduleLedger } from './schedule-ledger.js';
import { inProcessRepository } from './run-repository.js';
import type { RunRepository } from './run-repository.js';
import { inProcessQueue } from './run-queue.js';
import type { RunQueue } from './run-queue.js';
import { systemClock } from '../core/clock.js';
import type { Clock } from '../core/clock.js';

/**
 * A RunStore that keeps everything in memory: for engine and scheduler tests.
 * It passes the same conformance suite as FileRunStore, copies runs in and out
 * (as JSON, like the file store does), and refuses writes after close().
 * open() is optional for it.
 */
export class MemoryRunStore implements RunStore {
  private readonly state = new RunState();
  private closed = false;

  /** `clock` times the queue's leases (default: the system clock). */
  constructor(private readonly options: { clock?: Clock } = {}) {}

  async open(): Promise<void> {
    this.closed = false;
  }

  async close(): Promise<void> {
    this.closed = true;
  }

  async flush(): Promise<void> {}

  async insertRun(run: Run): Promise<void> {
    this.assertOpen();
    if (this.state.has(run.id)) throw new ConflictError(`run ${run.id} already exists`);
    this.state.put(cloneJson(run));
  }

  updateRun(run: Run): void {
    this.assertOpen();
    if (!this.state.has(run.id)) throw new NotFoundError('run', run.id);
    this.state.put(cloneJson(run));
  }

  async getRun(id: string): Promise<Run | undefined> {
    const run = this.state.get(id);
    return run && cloneJson(run);
  }

  async listRuns(query: RunQuery): Promise<RunPage> {
    const normalized = normalizeQuery(query);
    const candidates = this.state.matching(normalized, normalized.limit + 1);
    return toPage(candidates.map(cloneJson), normalized.limit);
  }

  activeRuns(): Run[] {
    return this.state.activeRuns().map(cloneJson);
  }

  async lastSuccess(job: string): Promise<Run | undefined> {
    const ref = this.state.lastSuccessRef(job);
    const run = ref ? this.state.get(ref.id) : undefined;
    if (run) return cloneJson(run);
    const newest = this.state.matching({ job, status: 'succeeded', limit: 1 }, 1)[0];
    if (newest) this.state.rememberSuccess(newest);
    return newest && cloneJson(newest);
  }

  /** Nothing to prune: this store keeps every run in memory and has no archive. */
  async pruneHistory(_before: number): Promise<string[]> {
    return [];
  }

  lastRun(job: string): Run | undefined {
    const run = this.state.latestRun(job);
    return run && cloneJson(run);
  }

  /** The run repository over this store's runs. */
  readonly runs: RunRepository = inProcessRepository(this);

  /** The run queue over this store's queued runs (leases in memory). */
  readonly queue: RunQueue = inProcessQueue(
    {
      isQueued: (id) => this.state.get(id)?.status === 'queued',
      queuedRuns: () => this.state.activeRuns().filter((run) => run.status === 'queued').map((run) => ({ runId: run.id, job: run.job })),
    },
    { now: () => (this.options.clock ?? systemClock).now(), setTimer: (ms, fn) => (this.options.clock ?? systemClock).setTimer(ms, fn) },
  );

  /** The schedule ledger over this store's schedule state (changes go out as the usual `sched` records). */
  readonly schedules: ScheduleLedger = inProcessLedger(this);

  getSchedule(job: string): ScheduleState | undefined {
    return cloneDefined(this.state.getSchedule(job));
  }

  setSchedule(job: string, state: ScheduleState): void {
    this.assertOpen();
    this.state.setSchedule(job, cloneJson(state));
  }

  getMeta<T>(key: string): T | undefined {
    return cloneDefined(this.state.getMeta(key) as T | undefined);
  }

  metaKeys(prefix: string): string[] {
    return this.state.metaKeys(prefix);
  }

  setMeta(key: string, value: unknown): void {
    this.assertOpen();
    this.state.setMeta(key, cloneDefined(value));
  }

  private assertOpen(): void {
    if (this.closed) throw new ConflictError('run store is closed');
  }
}
