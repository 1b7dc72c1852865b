import { isoTime } from '../core/clock.js';
import { isDeepStrictEqual } from 'node:util';
import { IllegalTransitionError } from '../core/errors.js';
import type { RetryPolicy } from '../config/types.js';
import { waitDeadline } from './model.js';
import type { Run, RunStatus, TaskState, TaskStatus, Trigger, Wait } from './model.js';
import { retryDelayMs } from './retry.js';

/**
 * The run/task state machine (DESIGN.md, "one owner per state machine"):
 * every change of a run's or a task's `status` is one of these pure
 * functions. Callers (executor, pool, recovery, engine) decide *when*; these
 * decide what a change writes and whether it is allowed at all. They change
 * the objects in place, never touch the store (the caller persists the run),
 * and throw IllegalTransitionError, leaving the run untouched, when the
 * current status does not allow the change.
 *
 * Run:  queued ─startRun─► running ─completeRun─► succeeded | failed
 *         ▲  ▲               │  │
 *         │  └─interruptRun──┘  parkRun (every unsettled task waits)
 *         │                     ▼
 *         └───── wake ─────── waiting
 *       queued | running | waiting ─finishRunEarly─► failed | cancelled
 *
 * Task: pending ─startTask─► running ─succeedTask─► succeeded
 *                              ├─failTaskAttempt─► failed | waiting (retry timer)
 *                              ├─cancelTask─► cancelled   ├─parkTask─► waiting
 *                              └─interruptTask / markTaskCrashed─► pending
 *       waiting ─wake─► pending;  pending ─skipTask─► skipped
 *       any unsettled ─failTask─► failed;  ─cancelRemainingTasks─► cancelled
 */

/** Statuses after which a task never runs again in its run. */
export const SETTLED_TASK_STATUSES: ReadonlySet<TaskStatus> = new Set(['succeeded', 'failed', 'skipped', 'cancelled']);

const ACTIVE: readonly RunStatus[] = ['queued', 'running', 'waiting'];

function iso(now: number): string {
  return isoTime(now);
}

function requireRun(run: Run, allowed: readonly RunStatus[], transition: string): void {
  if (!allowed.includes(run.status)) throw new IllegalTransitionError(`run ${run.id}`, run.status, transition);
}

function requireTask(run: Run, name: string, allowed: readonly TaskStatus[], transition: string): TaskState {
  const state = Object.hasOwn(run.tasks, name) ? run.tasks[name] : undefined;
  if (!state) throw new IllegalTransitionError(`run ${run.id}`, run.status, `${transition} unknown task ${name}`);
  if (!allowed.includes(state.status)) throw new IllegalTransitionError(`task ${name} of run ${run.id}`, state.status, transition);
  return state;
}

function unsettled(state: TaskState): boolean {
  return !SETTLED_TASK_STATUSES.has(state.status);
}

/** The run's tasks in task order (then any the order does not name). */
function tasksInOrder(run: Run): TaskState[] {
  const seen = new Set<string>();
  const out: TaskState[] = [];
  for (const name of [...run.taskOrder, ...Object.keys(run.tasks)]) {
    if (seen.has(name) || !Object.hasOwn(run.tasks, name)) continue;
    seen.add(name);
    out.push(run.tasks[name]!);
  }
  return out;
}

// ── runs ────────────────────────────────────────────────────────────────

export interface NewRun {
  id: string;
  job: string;
  /** The job's tasks in topological order. */
  tasks: readonly string[];
  trigger: Trigger;
  occurrences: number;
  scheduledFor?: string;
  retryOf?: string;
  /** The event or hook that started it. */
  event?: Run['event'];
  hook?: string;
  parentRunId?: string;
}

/** A new run: `queued`, every task `pending` with no attempt yet. */
export function newRun(spec: NewRun, now: number): Run {
  const tasks: Record<string, TaskState> = {};
  for (const name of spec.tasks) tasks[name] = { name, status: 'pending', attempts: 0 };
  return {
    id: spec.id,
    job: spec.job,
    status: 'queued',
    trigger: spec.trigger,
    occurrences: spec.occurrences,
    createdAt: iso(now),
    tasks,
    taskOrder: [...spec.tasks],
    ...(spec.scheduledFor ? { scheduledFor: spec.scheduledFor } : {}),
    ...(spec.retryOf ? { retryOf: spec.retryOf } : {}),
    ...(spec.event ? { event: spec.event } : {}),
    ...(spec.hook ? { hook: spec.hook } : {}),
    ...(spec.parentRunId ? { parentRunId: spec.parentRunId } : {}),
  };
}

/** The pool starts (or resumes) a queued run. `startedAt` keeps the first start. */
export function startRun(run: Run, now: number): void {
  requireRun(run, ['queued'], 'start');
  run.status = 'running';
  run.startedAt ??= iso(now);
  delete run.wait;
}

/**
 * A running run handed back for the next start: a graceful shutdown, or
 * recovery of a run whose process died. Its tasks were interrupted first
 * (interruptTask / markTaskCrashed).
 */
export function interruptRun(run: Run): void {
  requireRun(run, ['running'], 'interrupt');
  const busy = tasksInOrder(run).find((state) => state.status === 'running');
  if (busy) throw new IllegalTransitionError(`run ${run.id}`, run.status, `interrupt while task ${busy.name} is running`);
  run.status = 'queued';
}

/** Marks a cancel as requested; the run ends once its running tasks have stopped. */
export function requestCancel(run: Run): void {
  requireRun(run, ACTIVE, 'request a cancel');
  run.cancelRequested = true;
}

/**
 * The wait of a run's waiting tasks that ends first: the earliest deadline,
 * or with none the first waiting task's wait (task order). A copy, so
 * changing the run's wait never changes a task's.
 */
export function summarizeWait(run: Run): Wait | undefined {
  let first: Wait | undefined;
  let earliest: { wait: Wait; at: number } | undefined;
  for (const state of tasksInOrder(run)) {
    if (state.status !== 'waiting' || !state.wait) continue;
    first ??= state.wait;
    const at = waitDeadline(state.wait);
    if (at !== undefined && (earliest === undefined || at < earliest.at)) earliest = { wait: state.wait, at };
  }
  const chosen = earliest?.wait ?? first;
  return chosen && structuredClone(chosen);
}

/**
 * No task can make progress without waiting: the run parks (leaves its pool
 * slot; suspend means unload) with the wait that ends first. Allowed only
 * when nothing runs and at least one task waits.
 */
export function parkRun(run: Run): void {
  requireRun(run, ['running'], 'park');
  const busy = tasksInOrder(run).find((state) => state.status === 'running');
  if (busy) throw new IllegalTransitionError(`run ${run.id}`, run.status, `park while task ${busy.name} is running`);
  const wait = summarizeWait(run);
  if (!wait) throw new IllegalTransitionError(`run ${run.id}`, run.status, 'park with no waiting task');
  run.status = 'waiting';
  run.wait = wait;
}

/**
 * What can end a wait:
 *  - `timer`: time passed; ends every wait whose deadline (`at`, `until`) is ≤ now;
 *  - `input`: the inbox question `id` was answered;
 *  - `event`: an event arrived (`data` is matched against the wait's `match`);
 *  - `child`: the child run `runId` finished.
 */
export type WakeSignal =
  | { kind: 'timer' }
  | { kind: 'input'; id: string }
  | { kind: 'event'; name: string; data?: unknown }
  | { kind: 'child'; runId: string };

/** Every field of `match` is in `data` with a deeply equal value. */
export function eventMatches(match: Record<string, unknown> | undefined, data: unknown): boolean {
  if (!match) return true;
  if (typeof data !== 'object' || data === null) return Object.keys(match).length === 0;
  const fields = data as Record<string, unknown>;
  return Object.entries(match).every(([key, value]) => Object.hasOwn(fields, key) && isDeepStrictEqual(fields[key], value));
}

/** Whether `signal` ends `wait` (for `child`, whether it concerns the wait at all). */
function ends(wait: Wait, signal: WakeSignal, now: number): boolean {
  if (signal.kind === 'timer') {
    const at = waitDeadline(wait);
    return at !== undefined && at <= now;
  }
  switch (wait.kind) {
    case 'input':
      return signal.kind === 'input' && signal.id === wait.id;
    case 'event':
      return signal.kind === 'event' && signal.name === wait.name && eventMatches(wait.match, signal.data);
    case 'children':
      return signal.kind === 'child' && wait.runIds.includes(signal.runId);
    default:
      return false;
  }
}

/**
 * Delivers a wake signal to an active run. Every waiting task whose wait it
 * ends becomes pending again (a `children` wait first drops the finished
 * child, and ends when none is left). A `waiting` run with a woken task goes
 * back to `queued`; one with none stays parked (its summary wait refreshed).
 * Returns the woken tasks' names. Waking a finished run is illegal; a signal
 * that matches nothing is not (a duplicate timer, an event nobody waits for).
 */
export function wake(run: Run, signal: WakeSignal, now: number): string[] {
  requireRun(run, ACTIVE, `wake (${signal.kind})`);
  const woken: string[] = [];
  for (const state of tasksInOrder(run)) {
    if (state.status !== 'waiting' || !state.wait || !ends(state.wait, signal, now)) continue;
    if (state.wait.kind === 'children' && signal.kind === 'child') {
      state.wait.runIds = state.wait.runIds.filter((id) => id !== signal.runId);
      if (state.wait.runIds.length > 0) continue;
    }
    state.status = 'pending';
    delete state.wait;
    woken.push(state.name);
  }
  if (run.status === 'waiting') {
    if (woken.length > 0) {
      run.status = 'queued';
      delete run.wait;
    } else {
      const wait = summarizeWait(run);
      if (wait) run.wait = wait;
    }
  }
  return woken;
}

/**
 * Puts a `waiting` run read from disk into a consistent shape: its wait is
 * recomputed from its tasks; one with no waiting task at all (a state file
 * written by hand, or an older Hearth's run parked with nothing to wait for)
 * is queued, so the executor looks at it again instead of it waiting forever.
 */
export function reconcileWaitingRun(run: Run): 'parked' | 'queued' {
  requireRun(run, ['waiting'], 'reconcile a wait');
  const wait = summarizeWait(run);
  if (wait) {
    run.wait = wait;
    return 'parked';
  }
  run.status = 'queued';
  delete run.wait;
  return 'queued';
}

/**
 * "Cancel the remaining tasks", the one rule: every task that has not
 * settled (pending, waiting, and running ones whose process is known to be
 * gone) is cancelled now; settled tasks are never touched, and a cancelled
 * task keeps the error of an earlier failed attempt, if any.
 *
 * The three copies this replaces agreed in effect: the executor's (after a
 * cancel or a job timeout) and the restart's (cancel requested before a
 * crash) only ever saw pending and waiting tasks, since by then nothing ran
 * any more; the pool's also ends a run whose executor crashed mid-task, and
 * a task left `running` by it has no process left to wait for.
 */
export function cancelRemainingTasks(run: Run, now: number): string[] {
  const cancelled: string[] = [];
  for (const state of tasksInOrder(run)) {
    if (!unsettled(state)) continue;
    state.status = 'cancelled';
    state.finishedAt = iso(now);
    delete state.wait;
    delete state.pid;
    delete state.suspended;
    cancelled.push(state.name);
  }
  return cancelled;
}

/**
 * Ends an active run before its tasks are done: a cancel, a job timeout, a
 * job gone from the config, a crash loop, an internal error. The remaining
 * tasks are cancelled (cancelRemainingTasks), the run gets `status`,
 * `error` and `finishedAt`.
 */
export function finishRunEarly(run: Run, status: 'failed' | 'cancelled', error: string, now: number): void {
  requireRun(run, ACTIVE, `finish as ${status}`);
  cancelRemainingTasks(run, now);
  run.status = status;
  run.error = error;
  run.finishedAt = iso(now);
  delete run.wait;
  delete run.cancelRequested;
}

/**
 * Every task has settled: the run succeeds unless a task failed that may
 * not (`mayFail` says which may: continue_on_error). The run's error names
 * each fatal task and its error, in task order.
 */
export function completeRun(run: Run, now: number, mayFail: (task: string) => boolean = () => false): void {
  requireRun(run, ['running'], 'complete');
  const open = tasksInOrder(run).find(unsettled);
  if (open) throw new IllegalTransitionError(`run ${run.id}`, run.status, `complete while task ${open.name} is ${open.status}`);
  const fatal = tasksInOrder(run).filter((state) => state.status === 'failed' && !mayFail(state.name));
  run.status = fatal.length ? 'failed' : 'succeeded';
  if (fatal.length) run.error = fatal.map((state) => `${state.name}: ${state.error ?? 'failed'}`).join('; ');
  run.finishedAt = iso(now);
  delete run.wait;
  delete run.cancelRequested;
}

// ── tasks ───────────────────────────────────────────────────────────────

/** A new attempt of a pending task of a running run; the previous attempt's results are cleared. */
export function startTask(run: Run, name: string, now: number): TaskState {
  requireRun(run, ['running'], `start task ${name}`);
  const state = requireTask(run, name, ['pending'], 'start');
  state.status = 'running';
  // A task a step parked resumes its attempt (the function replays its journal); anything else is a new attempt.
  if (state.suspended) delete state.suspended;
  else state.attempts += 1;
  state.startedAt = iso(now);
  for (const key of ['finishedAt', 'error', 'exitCode', 'wait', 'output', 'pid'] as const) delete state[key];
  return state;
}

export function succeedTask(run: Run, name: string, output: unknown, now: number): void {
  const state = requireTask(run, name, ['running'], 'succeed');
  state.status = 'succeeded';
  state.output = output;
  state.finishedAt = iso(now);
}

export interface AttemptFailure {
  error: string;
  /** False when the error forbids a retry (NonRetriableError, the job's own timeout). */
  retriable: boolean;
  /** Retry no earlier than this (epoch ms): RetryAfterError. */
  retryAt?: number;
  /** Recorded on the task when it fails for good (TaskState.errorCode). */
  code?: TaskState['errorCode'];
  policy: RetryPolicy;
  random?: () => number;
}

export type AttemptOutcome =
  | { retry: true; failures: number; delayMs: number }
  | { retry: false; failures: number };

/**
 * An attempt failed. Applies the retry policy: `failures` counts attempts
 * that ended in failure (interrupted ones do not count); while it is within
 * `policy.max` and the error allows it, the task waits on a `timer` (backoff
 * from retry.ts, or the error's `retryAt`), otherwise it fails for good.
 */
export function failTaskAttempt(run: Run, name: string, failure: AttemptFailure, now: number): AttemptOutcome {
  const state = requireTask(run, name, ['running'], 'fail');
  const failures = state.attempts - (state.interruptions ?? 0);
  state.error = failure.error;
  state.finishedAt = iso(now);
  delete state.errorCode;
  if (!failure.retriable || failures > failure.policy.max) {
    state.status = 'failed';
    if (failure.code) state.errorCode = failure.code;
    return { retry: false, failures };
  }
  const delayMs = failure.retryAt !== undefined
    ? Math.max(0, failure.retryAt - now)
    : retryDelayMs(failure.policy, failures, failure.random);
  state.status = 'waiting';
  state.wait = { kind: 'timer', at: iso(now + delayMs) };
  return { retry: true, failures, delayMs };
}

/**
 * A running task parks on `wait` (a step's sleep, question or child run; a
 * retry uses failTaskAttempt). It is `suspended`: when woken, its next start
 * resumes this attempt instead of counting a new one.
 */
export function parkTask(run: Run, name: string, wait: Wait): void {
  const state = requireTask(run, name, ['running'], `park on ${wait.kind}`);
  state.status = 'waiting';
  state.wait = structuredClone(wait);
  state.suspended = true;
}

/** A running task stopped because its run was cancelled. */
export function cancelTask(run: Run, name: string, now: number): void {
  const state = requireTask(run, name, ['running'], 'cancel');
  state.status = 'cancelled';
  state.error = 'cancelled';
  state.finishedAt = iso(now);
}

/** A running task stopped by a graceful shutdown: pending again, the attempt does not count against its retries. */
export function interruptTask(run: Run, name: string): void {
  const state = requireTask(run, name, ['running'], 'interrupt');
  state.status = 'pending';
  state.interruptions = (state.interruptions ?? 0) + 1;
}

/** A pending task that will never run: a dependency failed, or it left the job's definition. */
export function skipTask(run: Run, name: string, reason: string, now: number): void {
  const state = requireTask(run, name, ['pending'], 'skip');
  state.status = 'skipped';
  state.error = reason;
  state.finishedAt = iso(now);
}

/** Fails one unsettled task for good (no retry): `error` says why. */
export function failTask(state: TaskState, error: string, now: number): void {
  if (!unsettled(state)) throw new IllegalTransitionError(`task ${state.name}`, state.status, 'fail');
  state.status = 'failed';
  state.error = error;
  state.finishedAt = iso(now);
  delete state.wait;
  delete state.pid;
  delete state.suspended;
}

/**
 * A task found `running` when the appliance starts: the process that ran it
 * died (kill -9, power cut, a crash). The task is pending again; the attempt
 * does not count against its retries (`interruptions`), and `crashes` counts
 * such deaths in a row, so recovery can stop resuming a task that keeps
 * taking the appliance down with it.
 */
export function markTaskCrashed(state: TaskState): void {
  if (state.status !== 'running') throw new IllegalTransitionError(`task ${state.name}`, state.status, 'mark crashed');
  state.status = 'pending';
  state.interruptions = (state.interruptions ?? 0) + 1;
  state.crashes = (state.crashes ?? 0) + 1;
  delete state.pid;
}

/** An attempt ended inside a living appliance (any outcome, a graceful shutdown too): the run of crashes is broken. */
export function noteAttemptEnded(state: TaskState): void {
  delete state.crashes;
}

/** The earliest deadline among the run's waiting tasks (epoch ms), if any has one. */
export function nextDeadline(run: Run): number | undefined {
  let earliest: number | undefined;
  for (const state of Object.values(run.tasks)) {
    if (state.status !== 'waiting' || !state.wait) continue;
    const at = waitDeadline(state.wait);
    if (at !== undefined && (earliest === undefined || at < earliest)) earliest = at;
  }
  return earliest;
}

export function hasWaitingTask(run: Run): boolean {
  return Object.values(run.tasks).some((state) => state.status === 'waiting');
}
