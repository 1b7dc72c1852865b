import type { Run, RunPage, RunQuery, ScheduleState } from './model.js';
import type { ScheduleLedger } from './schedule-ledger.js';
import type { RunRepository } from './run-repository.js';
import type { RunQueue } from './run-queue.js';

/**
 * The durable run store: a handful of methods, one conformance suite
 * (src/runs/store-conformance.ts) that every implementation must pass.
 *
 * Durability contract:
 *  - `insertRun` and `flush` resolve only once the change is on disk; the
 *    scheduler and the API acknowledge a run only after `insertRun` resolves.
 *  - `insertRun` is all or nothing: when it rejects, the run is not in the
 *    store and no later write or restart brings it back.
 *  - `updateRun` / `setSchedule` / `setMeta` are applied in memory at once and
 *    written in coalesced batches (at most every `flushIntervalMs`), so a busy
 *    appliance does not rewrite state.json per event. Callers that need a
 *    point to be durable (a task finished, before starting its dependants)
 *    await `flush()`.
 */
export interface RunStore {
  open(): Promise<void>;
  /** Flushes pending writes; safe to call twice. */
  close(): Promise<void>;
  flush(): Promise<void>;

  insertRun(run: Run): Promise<void>;
  updateRun(run: Run): void;
  getRun(id: string): Promise<Run | undefined>;
  /** Newest first, across state.json and the history archive. */
  listRuns(query: RunQuery): Promise<RunPage>;
  /** queued, running and waiting runs, oldest first. */
  activeRuns(): Run[];
  /** The newest succeeded run of a job, if any is known. */
  lastSuccess(job: string): Promise<Run | undefined>;
  /** The newest finished-or-active run of a job, if any. */
  lastRun(job: string): Run | undefined;

  /**
   * The run repository port (async get / list / insert and command-shaped
   * saves) over the same storage. The engine, the executor and the pool use
   * it; the synchronous run methods above remain for the store's own tests
   * and for in-process adapters.
   */
  readonly runs: RunRepository;
  /** The run queue port over the same storage: its queued runs, claimed by the worker pool under a lease. */
  readonly queue: RunQueue;

  /**
   * The schedule ledger port (compare-and-set of a job's last handled
   * occurrence) over the same storage; the scheduler records occurrences
   * through it. getSchedule / setSchedule remain for the synchronous callers
   * (catalog load, pause, the job view) until they move to the port.
   */
  readonly schedules: ScheduleLedger;
  getSchedule(job: string): ScheduleState | undefined;
  setSchedule(job: string, state: ScheduleState): void;

  /**
   * Deletes archived runs (those no longer in state) created before `before`,
   * a whole month at a time, keeping each job's last success (incremental
   * jobs start their window there). Returns the months deleted.
   */
  pruneHistory(before: number): Promise<string[]>;

  /** Small appliance-wide values (e.g. `lastSeenWallClock`). */
  getMeta<T>(key: string): T | undefined;
  setMeta(key: string, value: unknown): void;
  /**
   * The meta keys that start with `prefix` (in no particular order), without
   * reading or copying their values: how a family of keys (the event ledger's
   * `events:<hour>` buckets) is found without probing every possible key.
   * A PostgreSQL store answers it with `SELECT key FROM meta WHERE key LIKE
   * prefix || '%'` (prefix escaped) over its primary-key index.
   */
  metaKeys(prefix: string): string[];
}
