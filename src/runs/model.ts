/**
 * The run model. A run is one execution of a job; it holds one TaskState per
 * task (the step journal). Everything here is plain JSON so it can live in
 * state.json and in the history archive unchanged.
 *
 *   queued ──► running ──► succeeded | failed | cancelled
 *     ▲  ▲       │  │
 *     │  └───────┘  │ park (every unsettled task waits: a retry timer, later
 *     │ interrupt   ▼       sleeps, inbox answers, events, child runs)
 *     └──────── waiting      wake (the wait is satisfied) ──► queued
 *
 * Every status change goes through src/runs/transitions.ts; nothing else
 * writes `status`. A `waiting` task or run carries exactly one `wait` saying
 * what it waits for (see Wait); nothing else is ever waiting.
 */

/** `event`: an event named in the job's `on: { event }` (POST /api/events); `hook`: a webhook (POST /hooks/NAME); `invoke`: a workflow's step.invoke started it (see parentRunId). */
export type Trigger = 'schedule' | 'catchup' | 'manual' | 'api' | 'retry' | 'event' | 'hook' | 'invoke';

export type RunStatus = 'queued' | 'running' | 'waiting' | 'succeeded' | 'failed' | 'cancelled';
export const ACTIVE_RUN_STATUSES: readonly RunStatus[] = ['queued', 'running', 'waiting'];
export const FINISHED_RUN_STATUSES: readonly RunStatus[] = ['succeeded', 'failed', 'cancelled'];

export type TaskStatus = 'pending' | 'running' | 'waiting' | 'succeeded' | 'failed' | 'skipped' | 'cancelled';

/**
 * What a `waiting` task (and so its run) waits for. Times are ISO 8601 like
 * every other time in a run.
 *
 *  - `timer`: until `at` (a retry's backoff; later step.sleep / sleepUntil).
 *  - `input`: until the inbox question `id` is answered.
 *  - `event`: until an event called `name` arrives whose data contains every
 *    field of `match` (deep equality per field).
 *  - `children`: until every run in `runIds` has finished (each one that
 *    finishes is removed from the list, so the list says who is still awaited).
 *
 * `until` on the non-timer waits is a timeout: once it passes, the wait ends
 * as a timer would (the step decides what a timed-out wait returns). A wait
 * without a time (`input`, `event`, `children` with no `until`) arms no timer:
 * only a matching wake signal ends it (transitions.ts `wake`).
 *
 * State files written before typed waits have `wakeAt` instead; loading
 * them turns it into `{ kind: 'timer', at: wakeAt }` (run-state.ts migrateRun).
 */
export type Wait =
  | { kind: 'timer'; at: string }
  | { kind: 'input'; id: string; until?: string }
  | { kind: 'event'; name: string; match?: Record<string, unknown>; until?: string }
  | { kind: 'children'; runIds: string[]; until?: string };

export type WaitKind = Wait['kind'];

/**
 * When `wait` ends by itself (epoch ms): a timer's `at`, another wait's
 * `until`; undefined if only a signal can end it. A time that cannot be read
 * (a hand-edited state file) counts as already due: better a retry too early
 * than a run parked forever, or a NaN timer.
 */
export function waitDeadline(wait: Wait): number | undefined {
  const iso = wait.kind === 'timer' ? wait.at : wait.until;
  if (iso === undefined) return undefined;
  const at = Date.parse(iso);
  return Number.isNaN(at) ? 0 : at;
}

export interface TaskState {
  name: string;
  status: TaskStatus;
  /** Attempts started so far (1 on the first attempt). */
  attempts: number;
  startedAt?: string;
  finishedAt?: string;
  /** Set exactly when the task is `waiting`: what it waits for (a retry's timer, later a step's wait). */
  wait?: Wait;
  exitCode?: number | null;
  error?: string;
  /** Attempts cut short by a crash or shutdown: re-run, but not counted against `retries.max`. */
  interruptions?: number;
  /**
   * Attempts in a row cut short by the appliance dying (kill -9, power cut, a
   * crash), with no attempt ending normally in between. Recovery fails the run
   * instead of resuming it a third time (src/engine/recovery.ts).
   */
  crashes?: number;
  /**
   * Parked by a workflow step (sleep, question, child run), not by a retry:
   * the next start resumes the same attempt (attempts does not go up).
   */
  suspended?: boolean;
  /** Process group of a running shell task, so a restart after kill -9 can stop its orphans. */
  pid?: number;
  /** The task's result: last lines of output for shell tasks, JSON-able value for actions. */
  output?: unknown;
}

export interface Run {
  id: string;
  job: string;
  status: RunStatus;
  trigger: Trigger;
  /** The logical schedule time this run stands for (ISO), if scheduled. */
  scheduledFor?: string;
  /** How many schedule occurrences this run stands for (catch-up `latest` may fold several into one). */
  occurrences: number;
  createdAt: string;
  startedAt?: string;
  finishedAt?: string;
  /**
   * The run's input (any JSON: the body's `input`, an event's `data`, a
   * webhook's body), kept here when its JSON is at most INLINE_INPUT_BYTES
   * (src/runs/run-input.ts). A larger input lives in `inputs/<run id>.json`
   * under the data directory and only `inputBytes` / `inputInFile` are here,
   * so state.json and its WAL stay small.
   */
  input?: unknown;
  /** Size of the input's JSON text in bytes; present exactly when the run has an input. */
  inputBytes?: number;
  /** The input is in `inputs/<run id>.json`, not in `input`. */
  inputInFile?: boolean;
  /** The event that started this run (`trigger: event`), or the webhook (`trigger: hook`). */
  event?: { name: string; id?: string };
  hook?: string;
  /** Set when this run retries another (`trigger: retry`). */
  retryOf?: string;
  /** A cancel was requested and is being carried out. */
  cancelRequested?: boolean;
  error?: string;
  /**
   * Set exactly when the run is `waiting`: the wait of its waiting tasks that
   * ends first (the earliest deadline; with none, the first waiting task's in
   * task order). The tasks' waits are the authority; this is what the pool
   * arms a timer for (or not) and what the dashboard shows.
   */
  wait?: Wait;
  /** Snapshot at first start: when the job's last successful run started (ISO), for HEARTH_LAST_SUCCESS. */
  lastSuccessAt?: string;
  /** Set on a run started by a workflow's step.invoke: the parent run, woken when this one finishes. */
  parentRunId?: string;
  tasks: Record<string, TaskState>;
  /** Task names in the job's topological order when the run was created. */
  taskOrder: string[];
}

export function isActive(run: Pick<Run, 'status'>): boolean {
  return ACTIVE_RUN_STATUSES.includes(run.status);
}

export function isFinished(run: Pick<Run, 'status'>): boolean {
  return FINISHED_RUN_STATUSES.includes(run.status);
}

/** Per-job scheduler bookkeeping, persisted in state.json. */
export interface ScheduleState {
  /** Logical time (epoch ms) of the newest occurrence already handled. */
  lastHandled?: number;
  /** The last catch-up the planner did, for the dashboard. */
  lastCatchup?: { at: number; occurrences: number; runs: number; policy: string };
  paused?: boolean;
  /** The schedule (spec + zone) lastHandled refers to; a changed schedule starts afresh instead of catching up. */
  spec?: string;
}

export interface RunQuery {
  job?: string;
  status?: RunStatus;
  /** Page size (default 50, max 500). */
  limit?: number;
  /** Return runs strictly older than this run id (ids sort by creation time). */
  before?: string;
}

export interface RunPage {
  runs: Run[];
  /** Pass as `before` to get the next page; absent on the last page. */
  nextBefore?: string;
}
