import type { Run, RunPage, RunQuery } from './model.js';

/**
 * What just happened to a run, named by the transition (src/runs/transitions.ts)
 * the caller applied to it before saving. The name decides durability:
 * DURABLE_CHANGES resolve only once the change is on disk (or committed), the
 * others may be written in a later batch (RunRepository.flush makes them
 * durable). A database backend can do each in one statement
 * (`UPDATE runs SET doc = $run, status = $status WHERE id = $id`).
 */
export type RunChange =
  /** startRun: queued → running (resumed runs too). */
  | 'started'
  /** startTask: the attempt must be on disk before the task's command starts (a crash then counts a new attempt, never a repeat). */
  | 'task-started'
  /**
   * A task's process id became known (recovery kills an orphaned process group by it). Not forced to disk: it rides
   * on the next flush (within the store's flush interval); a restart also finds the group by HEARTH_RUN_ID.
   */
  | 'task-process'
  /** skipTask: a dependency failed, or the task left the job. */
  | 'task-skipped'
  /** succeedTask / failTaskAttempt / cancelTask / interruptTask / parkTask: a finished task is on disk before its dependants start. */
  | 'task-ended'
  /** The same for a task nothing depends on: it rides on the next flush (the run's end or the next task's start). */
  | 'task-ended-alone'
  /** requestCancel: acknowledged only once durable, so a crash cancels instead of resuming. */
  | 'cancel-requested'
  /** parkRun: the run leaves its pool slot and waits. */
  | 'parked'
  /** wake: a parked run's wait (partly) ended. */
  | 'woken'
  /** interruptRun: handed back for the next start (graceful shutdown). */
  | 'interrupted'
  /** recoverInterruptedRun at start-up; the engine flushes all recovered runs at once. */
  | 'recovered'
  /** completeRun / finishRunEarly: a final status. */
  | 'finished';

/** Changes whose save resolves only once they are durable. */
export const DURABLE_CHANGES: ReadonlySet<RunChange> = new Set<RunChange>([
  'task-started',
  'task-ended',
  'cancel-requested',
  'parked',
  'interrupted',
  'finished',
]);

/**
 * The run repository port: runs by id, by job and by status, and
 * command-shaped writes. Async throughout, so no caller assumes that all runs
 * are in local memory (a later backend keeps them in PostgreSQL, shared by
 * several Pis). Split from RunStore; the file store (state.json + state.wal +
 * history/) and the memory store implement it over their state
 * (inProcessRepository). Conformance suite: src/runs/run-repository-conformance.ts.
 *
 * Runs go in and out as copies: changing a returned run changes nothing
 * stored until it is saved.
 */
export interface RunRepository {
  /** Stores a new run; durable when it resolves, all or nothing (a refused insert leaves no trace). ConflictError for a taken id. */
  insert(run: Run): Promise<void>;
  get(id: string): Promise<Run | undefined>;
  /** Newest first, with the query's job/status filters and paging (nextBefore). */
  list(query: RunQuery): Promise<RunPage>;
  /** queued, running and waiting runs, oldest first (optionally of one job). */
  active(filter?: { job?: string }): Promise<Run[]>;
  /** The newest run of a job (active or finished), if any. */
  lastRun(job: string): Promise<Run | undefined>;
  /** The newest succeeded run of a job, if any is known. */
  lastSuccess(job: string): Promise<Run | undefined>;
  /**
   * Records `change`, the transition just applied to `run` (a stored run:
   * NotFoundError otherwise). Resolves once durable for DURABLE_CHANGES.
   * In-process implementations apply the change before save returns, so
   * reads made right after the call (even unawaited) already see it.
   */
  save(run: Run, change: RunChange): Promise<void>;
  /** Makes every earlier save durable. */
  flush(): Promise<void>;
}

/** Told about an insert ('created') or a save ('updated', with its change) once the repository accepted it. */
export type RunChangeListener = (type: 'created' | 'updated', run: Run, change?: RunChange) => void;

/**
 * The repository, telling `listener` about every insert and save it accepted:
 * the change notifications the engine's run events and read model are fed by
 * (createEngine wraps the store's repository once per engine).
 */
export function observeRepository(runs: RunRepository, listener: RunChangeListener): RunRepository {
  return {
    ...runs,
    async insert(run) {
      await runs.insert(run);
      listener('created', run);
    },
    async save(run, change) {
      await runs.save(run, change);
      listener('updated', run, change);
    },
  };
}

/** What inProcessRepository needs of a store (RunStore's in-memory methods). */
export interface InProcessRuns {
  insertRun(run: Run): Promise<void>;
  updateRun(run: Run): void;
  getRun(id: string): Promise<Run | undefined>;
  listRuns(query: RunQuery): Promise<RunPage>;
  activeRuns(): Run[];
  lastRun(job: string): Run | undefined;
  lastSuccess(job: string): Promise<Run | undefined>;
  flush(): Promise<void>;
}

/**
 * The repository of an in-process store (file or memory) over its state: a
 * save applies the run at once (updateRun) and, for a durable change, waits
 * for the store's next group commit (flush), exactly as the callers did
 * before the port; so the file store keeps its durability figures.
 */
export function inProcessRepository(store: InProcessRuns): RunRepository {
  return {
    insert: (run) => store.insertRun(run),
    get: (id) => store.getRun(id),
    list: (query) => store.listRuns(query),
    active: async (filter) => {
      const runs = store.activeRuns();
      return filter?.job === undefined ? runs : runs.filter((run) => run.job === filter.job);
    },
    lastRun: async (job) => store.lastRun(job),
    lastSuccess: (job) => store.lastSuccess(job),
    save(run, change) {
      try {
        store.updateRun(run);
      } catch (error) {
        return Promise.reject(error);
      }
      return DURABLE_CHANGES.has(change) ? store.flush() : Promise.resolve();
    },
    flush: () => store.flush(),
  };
}
