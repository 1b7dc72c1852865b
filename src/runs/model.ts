/**
 * The run model. A run is one execution of a job; it holds one TaskState per
 * task (the step journal). Everything here is plain JSON so it can live in
 * state.json and in the history archive unchanged.
 *
 *   queued ──► running ──► succeeded | failed | cancelled
 *                 │  ▲
 *                 ▼  │  (durable timer: retry backoff, later sleeps / input)
 *               waiting
 */

/** `event`: an event named in the job's `on: { event }` (POST /api/events); `hook`: a webhook (POST /hooks/NAME). */
export type Trigger = 'schedule' | 'catchup' | 'manual' | 'api' | 'retry' | 'event' | 'hook';

export type RunStatus = 'queued' | 'running' | 'waiting' | 'succeeded' | 'failed' | 'cancelled';
export const ACTIVE_RUN_STATUSES: readonly RunStatus[] = ['queued', 'running', 'waiting'];
export const FINISHED_RUN_STATUSES: readonly RunStatus[] = ['succeeded', 'failed', 'cancelled'];

export type TaskStatus = 'pending' | 'running' | 'waiting' | 'succeeded' | 'failed' | 'skipped' | 'cancelled';

export interface TaskState {
  name: string;
  status: TaskStatus;
  /** Attempts started so far (1 on the first attempt). */
  attempts: number;
  startedAt?: string;
  finishedAt?: string;
  /** When a `waiting` task becomes runnable again (ISO): the durable retry timer. */
  wakeAt?: string;
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
  /** Durable timer of a `waiting` run (ISO): when it becomes runnable again. */
  wakeAt?: string;
  /** Snapshot at first start: when the job's last successful run started (ISO), for HEARTH_LAST_SUCCESS. */
  lastSuccessAt?: string;
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
