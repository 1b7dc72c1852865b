import { ACTIVE_RUN_STATUSES, FINISHED_RUN_STATUSES, isFinished } from './model.js';
import type { Run, ScheduleState, TaskState } from './model.js';
import { matchesQuery, newestFirst, oldestFirst } from './run-query.js';
import type { NormalizedQuery } from './run-query.js';

/**
 * The in-memory state every RunStore works on, and exactly what state.json
 * holds. Both stores share this class so they cannot disagree about what
 * "newest", "active" or "last success" mean.
 */

export interface LastSuccessRef {
  id: string;
  finishedAt?: string;
}

export interface StateDocument {
  version: 1;
  runs: Record<string, Run>;
  schedules: Record<string, ScheduleState>;
  meta: Record<string, unknown>;
  /** Per job, the newest succeeded run: kept here so lastSuccess is O(1) even once the run is archived. */
  lastSuccess: Record<string, LastSuccessRef>;
  /**
   * Which state.wal generation follows this snapshot (file store only). A WAL
   * whose header names an older generation was already folded into this file.
   */
  walGeneration: number;
}

export function emptyStateDocument(): StateDocument {
  return { version: 1, runs: {}, schedules: {}, meta: {}, lastSuccess: {}, walGeneration: 0 };
}

export class RunState {
  /** Per job, the id of its newest run in state: lastRun() is called on every scheduler tick. */
  private readonly latestByJob = new Map<string, string>();
  /**
   * The same runs as doc.runs (which is what state.json holds), indexed for the queries the engine makes on every
   * run change and scheduler pass. With 1,000 jobs × 50 kept runs, Object.values(doc.runs) per query (a 50k-entry
   * array each time) cost more than a minute of CPU at start-up and the allocation churn behind RSS high-water.
   */
  private readonly all = new Map<string, Run>();
  private readonly byJob = new Map<string, Map<string, Run>>();
  private readonly byStatus = new Map<string, Map<string, Run>>();

  constructor(readonly doc: StateDocument = emptyStateDocument()) {
    for (const run of Object.values(doc.runs)) {
      this.index(run);
      this.noteLatest(run);
    }
  }

  get(id: string): Run | undefined {
    return this.all.get(id);
  }

  has(id: string): boolean {
    return this.all.has(id);
  }

  /** How many runs state holds. */
  get size(): number {
    return this.all.size;
  }

  /** Stores `run` (already a private copy) and keeps the derived indexes in step. */
  put(run: Run): void {
    this.unindex(run.id);
    this.doc.runs[run.id] = run;
    this.index(run);
    this.noteLatest(run);
    this.noteSuccess(run);
  }

  remove(id: string): void {
    const run = this.get(id);
    if (!run) return;
    delete this.doc.runs[id];
    this.unindex(id);
    if (this.latestByJob.get(run.job) !== id) return;
    // The job's next newest (from its own index), so a later put of an older run cannot take its place.
    this.latestByJob.delete(run.job);
    const next = newestMatching(this.byJob.get(run.job)?.values() ?? [], { limit: 1 }, 1)[0];
    if (next) this.latestByJob.set(run.job, next.id);
  }

  allRuns(): Run[] {
    return [...this.all.values()];
  }

  /** queued, running and waiting runs, oldest first. */
  activeRuns(): Run[] {
    return ACTIVE_RUN_STATUSES.flatMap((status) => [...(this.byStatus.get(status)?.values() ?? [])]).sort(oldestFirst);
  }

  latestRun(job: string): Run | undefined {
    const id = this.latestByJob.get(job);
    const cached = id === undefined ? undefined : this.get(id);
    if (cached) return cached;
    // Only reached if the newest run left state (keepPerJob 0) or the job is unknown.
    const newest = [...(this.byJob.get(job)?.values() ?? [])].sort(newestFirst)[0];
    if (newest) this.latestByJob.set(job, newest.id);
    return newest;
  }

  /** Finished runs of `job` still in state, oldest first: the archival candidates. */
  finishedRuns(job: string): Run[] {
    return [...(this.byJob.get(job)?.values() ?? [])].filter(isFinished).sort(oldestFirst);
  }

  /** How many finished runs state holds. */
  get finishedCount(): number {
    return FINISHED_RUN_STATUSES.reduce((sum, status) => sum + (this.byStatus.get(status)?.size ?? 0), 0);
  }

  /** Every finished run in state, oldest first. */
  finishedRunsOverall(): Run[] {
    return FINISHED_RUN_STATUSES.flatMap((status) => [...(this.byStatus.get(status)?.values() ?? [])]).sort(oldestFirst);
  }

  jobs(): Set<string> {
    return new Set(this.byJob.keys());
  }

  /** Runs matching the query's filters, newest first, at most `max` of them. */
  matching(query: NormalizedQuery, max: number): Run[] {
    // Scan the smaller of the job's and the status's runs (or all of them), keeping the newest `max`.
    const forJob = query.job === undefined ? undefined : (this.byJob.get(query.job) ?? new Map<string, Run>());
    const forStatus = query.status === undefined ? undefined : (this.byStatus.get(query.status) ?? new Map<string, Run>());
    const source = forJob && forStatus ? (forJob.size <= forStatus.size ? forJob : forStatus) : (forJob ?? forStatus ?? this.all);
    return newestMatching(source.values(), query, max);
  }

  lastSuccessRef(job: string): LastSuccessRef | undefined {
    return Object.hasOwn(this.doc.lastSuccess, job) ? this.doc.lastSuccess[job] : undefined;
  }

  /** Every job's remembered last success. */
  lastSuccessRefs(): LastSuccessRef[] {
    return Object.values(this.doc.lastSuccess);
  }

  rememberSuccess(run: Run): void {
    const ref: LastSuccessRef = { id: run.id };
    if (run.finishedAt !== undefined) ref.finishedAt = run.finishedAt;
    this.doc.lastSuccess[run.job] = ref;
  }

  getSchedule(job: string): ScheduleState | undefined {
    return Object.hasOwn(this.doc.schedules, job) ? this.doc.schedules[job] : undefined;
  }

  setSchedule(job: string, state: ScheduleState): void {
    this.doc.schedules[job] = state;
  }

  getMeta(key: string): unknown {
    return Object.hasOwn(this.doc.meta, key) ? this.doc.meta[key] : undefined;
  }

  setMeta(key: string, value: unknown): void {
    if (value === undefined) delete this.doc.meta[key];
    else this.doc.meta[key] = value;
  }

  metaKeys(prefix: string): string[] {
    const keys: string[] = [];
    for (const key in this.doc.meta) if (key.startsWith(prefix)) keys.push(key);
    return keys;
  }

  private index(run: Run): void {
    this.all.set(run.id, run);
    addTo(this.byJob, run.job, run);
    addTo(this.byStatus, run.status, run);
  }

  private unindex(id: string): void {
    const run = this.all.get(id);
    if (!run) return;
    this.all.delete(id);
    removeFrom(this.byJob, run.job, id);
    removeFrom(this.byStatus, run.status, id);
  }

  private noteLatest(run: Run): void {
    const current = this.latestByJob.get(run.job);
    if (current === undefined || run.id >= current) this.latestByJob.set(run.job, run.id);
  }

  private noteSuccess(run: Run): void {
    const ref = this.lastSuccessRef(run.job);
    if (run.status === 'succeeded') {
      if (!ref || run.id >= ref.id) this.rememberSuccess(run);
    } else if (ref?.id === run.id) {
      // The remembered success is no longer one; the store falls back to a search.
      delete this.doc.lastSuccess[run.job];
    }
  }
}

/** Indexes by job and by status (a run changes them at every save: no arrays built to loop over the two). */
function addTo(index: Map<string, Map<string, Run>>, key: string, run: Run): void {
  let runs = index.get(key);
  if (!runs) index.set(key, (runs = new Map()));
  runs.set(run.id, run);
}

function removeFrom(index: Map<string, Map<string, Run>>, key: string, id: string): void {
  const runs = index.get(key);
  if (!runs) return;
  runs.delete(id);
  if (runs.size === 0) index.delete(key);
}

/** The newest `max` of `runs` matching `query`, newest first, without sorting every run (a bounded insertion). */
function newestMatching(runs: Iterable<Run>, query: NormalizedQuery, max: number): Run[] {
  const kept: Run[] = [];
  for (const run of runs) {
    if (!matchesQuery(run, query)) continue;
    if (kept.length >= max && !(run.id > kept[kept.length - 1]!.id)) continue;
    // kept is newest first: binary search for the first run older than this one.
    let low = 0;
    let high = kept.length;
    while (low < high) {
      const mid = (low + high) >>> 1;
      if (kept[mid]!.id > run.id) low = mid + 1;
      else high = mid;
    }
    kept.splice(low, 0, run);
    if (kept.length > max) kept.pop();
  }
  return kept;
}

const KNOWN_STATUSES = new Set<string>([...ACTIVE_RUN_STATUSES, ...FINISHED_RUN_STATUSES]);

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Why `value` is not a run, or undefined if it looks like one. */
export function describeRunProblem(value: unknown): string | undefined {
  if (!isPlainObject(value)) return 'not an object';
  if (typeof value.id !== 'string' || value.id === '') return 'missing id';
  if (typeof value.job !== 'string') return `run ${value.id}: missing job`;
  if (typeof value.status !== 'string' || !KNOWN_STATUSES.has(value.status)) {
    return `run ${value.id}: unknown status ${JSON.stringify(value.status)}`;
  }
  if (typeof value.createdAt !== 'string') return `run ${value.id}: missing createdAt`;
  if (!isPlainObject(value.tasks)) return `run ${value.id}: tasks is not an object`;
  if (!Array.isArray(value.taskOrder)) return `run ${value.id}: taskOrder is not an array`;
  return undefined;
}

export function isRunRecord(value: unknown): value is Run {
  return describeRunProblem(value) === undefined;
}

/** Why `value` is not a state document, or undefined if it is one. */
export function describeStateProblem(value: unknown): string | undefined {
  if (!isPlainObject(value)) return 'top level is not an object';
  if (value.version !== 1) return `unsupported version ${JSON.stringify(value.version)}`;
  for (const field of ['runs', 'schedules', 'meta'] as const) {
    if (!isPlainObject(value[field])) return `"${field}" is not an object`;
  }
  // Derived fields may be missing (a file written by hand or by an older Hearth); see withDerivedDefaults.
  if (value.lastSuccess !== undefined && !isPlainObject(value.lastSuccess)) return '"lastSuccess" is not an object';
  if (value.walGeneration !== undefined && !Number.isInteger(value.walGeneration)) {
    return '"walGeneration" is not an integer';
  }
  for (const [id, run] of Object.entries(value.runs as Record<string, unknown>)) {
    const problem = describeRunProblem(run);
    if (problem) return `runs.${id}: ${problem}`;
    if ((run as Run).id !== id) return `runs.${id}: id does not match its key`;
  }
  for (const [job, ref] of Object.entries((value.lastSuccess ?? {}) as Record<string, unknown>)) {
    if (!isPlainObject(ref) || typeof ref.id !== 'string') return `lastSuccess.${job}: missing id`;
  }
  return undefined;
}

/**
 * Fills in the derived fields describeStateProblem allows to be missing, and
 * brings runs written by an older Hearth up to the current model (migrateRun).
 */
export function withDerivedDefaults(doc: StateDocument): StateDocument {
  const partial = doc as Partial<StateDocument>;
  partial.lastSuccess ??= {};
  partial.walGeneration ??= 0;
  for (const run of Object.values(doc.runs)) migrateRun(run);
  return doc;
}

function validIso(value: unknown): string | undefined {
  return typeof value === 'string' && !Number.isNaN(Date.parse(value)) ? new Date(Date.parse(value)).toISOString() : undefined;
}

/**
 * Before typed waits (model.ts Wait) a waiting run or task had only
 * `wakeAt`, its retry timer. A Pi upgraded in place still has such runs in
 * state.json and state.wal: a `waiting` task or run gets `{ kind: 'timer',
 * at: wakeAt }`, and `wakeAt` is dropped everywhere (the old pool left it on
 * runs it had woken). A waiting task with no readable time is due at once, as
 * the old pool treated it: its timer is the time it stopped (finishedAt), or
 * else the run's creation. In place; returns `run`. Runs already in the
 * current shape are unchanged.
 */
export function migrateRun(run: Run): Run {
  for (const state of Object.values(run.tasks) as Array<TaskState & { wakeAt?: unknown }>) {
    if (!isPlainObject(state)) continue;
    if (state.status === 'waiting' && !state.wait) {
      const at = validIso(state.wakeAt) ?? validIso(state.finishedAt) ?? validIso(run.createdAt) ?? new Date(0).toISOString();
      state.wait = { kind: 'timer', at };
    }
    delete state.wakeAt;
  }
  const legacy = run as Run & { wakeAt?: unknown };
  if (legacy.status === 'waiting' && !legacy.wait) {
    const at = validIso(legacy.wakeAt);
    if (at) legacy.wait = { kind: 'timer', at };
  }
  delete legacy.wakeAt;
  return run;
}
