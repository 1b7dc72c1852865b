import type { Clock } from '../core/clock.js';
import {
  CancelledError,
  InputGoneError,
  JobTimeoutError,
  NonRetriableError,
  ReplayMismatchError,
  RetryAfterError,
  ShutdownError,
  SuspendSignal,
  TimeoutError,
  errorMessage,
} from '../core/errors.js';
import { StepRuntime, type StepHost } from '../steps/runtime.js';
import { formatDuration } from '../core/durations.js';
import type { Logger } from '../core/logger.js';
import type { JobDef, TaskDef } from '../config/types.js';
import { DEFAULT_SHELL_TIMEOUT_MS } from '../config/types.js';
import type { Run, TaskState } from '../runs/model.js';
import type { RunRepository } from '../runs/run-repository.js';
import type { ActionContext, ActionDefinition } from '../actions/types.js';
import type { ShellOptions, ShellResult } from '../pool/process/shell.js';
import type { RunLogs } from './run-logs.js';
import { buildTaskEnv, upstreamOutputs } from './task-env.js';
import {
  cancelTask,
  completeRun,
  failTaskAttempt,
  finishRunEarly,
  hasWaitingTask,
  interruptRun,
  interruptTask,
  nextDeadline,
  noteAttemptEnded,
  parkRun,
  parkTask,
  skipTask,
  startRun as markRunStarted,
  startTask,
  succeedTask,
  wake,
} from '../runs/transitions.js';
import { ensureInputFile, readInput, readInputText } from '../runs/run-input.js';

export interface ExecutorDeps {
  /** Where the run's changes are saved (the run repository port; each save names its transition). */
  runs: RunRepository;
  clock: Clock;
  logs: RunLogs;
  logger: Logger;
  runShell: (options: ShellOptions) => Promise<ShellResult>;
  actions: { get(name: string): ActionDefinition | undefined };
  dataDir: string;
  configDir: string;
  /** The config's killGrace, read at each task stop: a reload applies to the next one. */
  killGraceMs: () => number;
  /** The environment tasks inherit (process.env at start-up). */
  baseEnv: Record<string, string>;
  random?: () => number;
  /** Durable workflow steps for action tasks (absent: `ctx.step` is not offered). */
  steps?: StepHost;
  /** The config's defaultTimeout, read at each task start (absent: DEFAULT_SHELL_TIMEOUT_MS). */
  defaultTimeoutMs?: () => number | undefined;
}

/**
 * How long a task may run: its own timeout; else, for a shell task of a job
 * without a timeout, the default (6 h unless `defaultTimeout` says otherwise),
 * so nothing hangs forever. `byDefault` says the default applied.
 */
export function taskTimeout(task: TaskDef, job: JobDef, defaultMs: number | undefined): { ms: number; byDefault: boolean } | undefined {
  if (task.timeoutMs !== undefined) return { ms: task.timeoutMs, byDefault: false };
  if (task.run === undefined || job.timeoutMs !== undefined) return undefined;
  return { ms: defaultMs ?? DEFAULT_SHELL_TIMEOUT_MS, byDefault: true };
}

/** How `executeRun` left the run: done, parked on a wait, or handed back for the next start. */
export type RunOutcome = 'finished' | 'waiting' | 'interrupted';

/**
 * Executes one run as a DAG over its step journal (`run.tasks`): tasks whose
 * dependencies are done start in parallel; finished tasks are never run
 * again, so a resumed run continues where it stopped. Returns when the run is
 * finished, when every remaining task waits (the caller parks the run and
 * frees its pool slot), or when `stop` aborts it. Every status change is a
 * transition from src/runs/transitions.ts.
 */
export async function executeRun(run: Run, job: JobDef, deps: ExecutorDeps, stop: AbortSignal): Promise<RunOutcome> {
  const { clock } = deps;
  // The run's own signal is `stop`, joined by the job's timeout when it has one (an AbortController and two
  // listeners less per run without one).
  const runAbort = job.timeoutMs ? new AbortController() : undefined;
  const forwardStop = () => runAbort?.abort(stop.reason);
  const runSignal = runAbort?.signal ?? stop;
  if (runAbort) {
    if (stop.aborted) forwardStop();
    else stop.addEventListener('abort', forwardStop, { once: true });
  }

  await startRun(run, job, deps);
  const deadline = runAbort
    ? clock.setTimer(Date.parse(run.startedAt!) + job.timeoutMs! - clock.now(), () =>
        runAbort.abort(new JobTimeoutError(`job timed out after ${formatDuration(job.timeoutMs!)}`)),
      )
    : undefined;

  const running = new Map<string, Promise<void>>();
  try {
    for (;;) {
      if (!runSignal.aborted) {
        if (settleBlockedTasks(run, job, deps)) await deps.runs.save(run, 'task-skipped');
        wake(run, { kind: 'timer' }, clock.now());
        for (const task of readyTasks(run, job)) {
          running.set(task.name, runTask(run, job, task, deps, runSignal).finally(() => running.delete(task.name)));
        }
      }
      if (running.size === 0) break;
      await waitForProgress([...running.values()], nextDeadline(run), runSignal, clock);
    }
  } finally {
    deadline?.cancel();
    if (runAbort) stop.removeEventListener('abort', forwardStop);
  }
  return finishOrPark(run, job, deps, runSignal.reason as unknown);
}

async function startRun(run: Run, job: JobDef, deps: ExecutorDeps): Promise<void> {
  const now = deps.clock.now();
  const resumed = run.startedAt !== undefined;
  markRunStarted(run, now);
  if (run.lastSuccessAt === undefined) {
    const previous = await deps.runs.lastSuccess(job.name);
    run.lastSuccessAt = previous?.startedAt ?? '';
  }
  await deps.runs.save(run, 'started');
  deps.logs.prepare(run.id, { fresh: !resumed });
  if (!resumed) {
    const when = run.scheduledFor ? ` for ${run.scheduledFor}` : '';
    const folded = run.occurrences > 1 ? ` (stands for ${run.occurrences} occurrences)` : '';
    deps.logs.write(run.id, 'hearth', `run ${run.id} of ${job.name} started by ${run.trigger}${when}${folded}`);
  }
}

/**
 * Marks tasks whose dependencies failed (or were skipped/cancelled) as
 * skipped, in topological order; so is a pending task a reload removed from
 * the job (a resumed run runs the current definition), which could never run.
 */
function settleBlockedTasks(run: Run, job: JobDef, deps: ExecutorDeps): boolean {
  let skipped = false;
  for (const task of job.tasks) {
    const state = run.tasks[task.name]!;
    if (state.status !== 'pending') continue;
    const blocker = task.dependsOn.find((dep) => blocksDependants(run.tasks[dep]!, taskDef(job, dep)));
    if (!blocker) continue;
    skipTask(run, task.name, `skipped: dependency "${blocker}" ${run.tasks[blocker]!.status}`, deps.clock.now());
    deps.logs.write(run.id, 'hearth', `task ${task.name} ${state.error}`);
    skipped = true;
  }
  for (const state of Object.values(run.tasks)) {
    if (state.status !== 'pending' || job.tasks.some((task) => task.name === state.name)) continue;
    skipTask(run, state.name, 'skipped: no longer in the job', deps.clock.now());
    deps.logs.write(run.id, 'hearth', `task ${state.name} ${state.error}`);
    skipped = true;
  }
  return skipped;
}

function blocksDependants(dep: TaskState, def: TaskDef): boolean {
  if (dep.status === 'skipped' || dep.status === 'cancelled') return true;
  return dep.status === 'failed' && !def.continueOnError;
}

function dependencyDone(dep: TaskState, def: TaskDef): boolean {
  return dep.status === 'succeeded' || (dep.status === 'failed' && def.continueOnError);
}

function readyTasks(run: Run, job: JobDef): TaskDef[] {
  return job.tasks.filter(
    (task) =>
      run.tasks[task.name]!.status === 'pending' &&
      task.dependsOn.every((dep) => dependencyDone(run.tasks[dep]!, taskDef(job, dep))),
  );
}

function taskDef(job: JobDef, name: string): TaskDef {
  const task = job.tasks.find((t) => t.name === name);
  if (!task) throw new Error(`job ${job.name} has no task ${name}`);
  return task;
}

/** Resolves when a running task settles, a waiting task's deadline is due, or the run is aborted. */
async function waitForProgress(running: Promise<void>[], wakeAt: number | undefined, signal: AbortSignal, clock: Clock): Promise<void> {
  // While aborted we only wait for running tasks to wind down.
  if (signal.aborted) {
    await Promise.race(running);
    return;
  }
  let timer: { cancel(): void } | undefined;
  let onAbort: (() => void) | undefined;
  const waits: Promise<unknown>[] = [...running];
  if (wakeAt !== undefined) waits.push(new Promise<void>((resolve) => (timer = clock.setTimer(wakeAt - clock.now(), resolve))));
  waits.push(new Promise<void>((resolve) => {
    onAbort = () => resolve();
    signal.addEventListener('abort', onAbort, { once: true });
  }));
  try {
    await Promise.race(waits);
  } finally {
    timer?.cancel();
    if (onAbort) signal.removeEventListener('abort', onAbort);
  }
}

async function runTask(run: Run, job: JobDef, task: TaskDef, deps: ExecutorDeps, runSignal: AbortSignal): Promise<void> {
  const { clock, runs, logs } = deps;
  const journalEmpty = firstAttemptOfRun(run, task.name);
  const state = startTask(run, task.name, clock.now());
  const limit = taskTimeout(task, job, deps.defaultTimeoutMs?.());

  // The task's signal is the run's, joined by its timeout when it has one. Subscribed before the first await: a
  // stop (job timeout, cancel, shutdown) that arrives while the start is being saved must reach this task.
  const taskAbort = limit ? new AbortController() : undefined;
  const taskSignal = taskAbort?.signal ?? runSignal;
  const forward = () => taskAbort?.abort(runSignal.reason);
  if (taskAbort) {
    if (runSignal.aborted) forward();
    else runSignal.addEventListener('abort', forward, { once: true });
  }
  try {
    // The attempt is on disk before the task starts, so after a crash the
    // re-run is a new attempt (HEARTH_ATTEMPT goes up) and never a repeat.
    await runs.save(run, 'task-started');
  } catch (error) {
    if (taskAbort) runSignal.removeEventListener('abort', forward);
    throw error;
  }
  let timeout: { cancel(): void } | undefined;
  try {
    // Stopped while the start was being flushed: the command never starts.
    if (taskSignal.aborted) throw taskSignal.reason;
    logs.write(run.id, 'hearth', `task ${task.name} started (attempt ${state.attempts})`);
    timeout = limit
      ? clock.setTimer(limit.ms, () =>
          taskAbort!.abort(
            new TimeoutError(`timed out after ${formatDuration(limit.ms)}${limit.byDefault ? ' (the default for shell tasks without a timeout; set timeout: to change it)' : ''}`),
          ),
        )
      : undefined;
    const output = task.run !== undefined
      ? await runShellTask(run, job, task, state, deps, taskSignal)
      : await runActionTask(run, job, task, state, deps, taskSignal, journalEmpty);
    succeedTask(run, task.name, output, clock.now());
    logs.write(run.id, 'hearth', `task ${task.name} succeeded in ${formatDuration(Date.parse(state.finishedAt!) - Date.parse(state.startedAt!))}`);
  } catch (error) {
    recordFailure(run, job, task, state, deps, taskSignal.aborted ? taskSignal.reason : error, error);
  } finally {
    timeout?.cancel();
    if (taskAbort) runSignal.removeEventListener('abort', forward);
    delete state.pid;
    noteAttemptEnded(state);
  }
  // A finished task must be on disk before its dependants start: after a crash it is never run again. A task nothing
  // depends on rides on the next flush (the run's own end, or the next task's start), one fsync fewer per run; a
  // crash before that re-runs it as a new attempt, as a crash a moment before it finished always did.
  const hasDependants = job.tasks.some((other) => other.dependsOn.includes(task.name));
  await runs.save(run, hasDependants ? 'task-ended' : 'task-ended-alone');
}

function recordFailure(run: Run, job: JobDef, task: TaskDef, state: TaskState, deps: ExecutorDeps, reason: unknown, thrown: unknown): void {
  const { clock, logs } = deps;
  const now = clock.now();
  if (reason instanceof ShutdownError) {
    interruptTask(run, task.name);
    logs.write(run.id, 'hearth', `task ${task.name} interrupted by shutdown; it will run again on restart`);
    return;
  }
  if (reason instanceof CancelledError) {
    cancelTask(run, task.name, now);
    logs.write(run.id, 'hearth', `task ${task.name} cancelled`);
    return;
  }
  if (reason instanceof SuspendSignal) {
    // A step waits: the task parks (suspend means unload); when the wait ends the function replays its journal.
    parkTask(run, task.name, reason.wait);
    logs.write(run.id, 'hearth', `task ${task.name} suspended at step ${reason.stepId} (waits for ${describeWait(reason.wait)})`);
    return;
  }
  const message = errorMessage(reason ?? thrown);
  const policy = task.retries ?? job.retries;
  const outcome = failTaskAttempt(run, task.name, {
    error: message,
    retriable: !(reason instanceof NonRetriableError) && !(reason instanceof JobTimeoutError),
    ...(reason instanceof RetryAfterError ? { retryAt: reason.retryAt.getTime() } : {}),
    ...(reason instanceof ReplayMismatchError ? { code: 'replay-mismatch' as const } : {}),
    policy,
    ...(deps.random ? { random: deps.random } : {}),
  }, now);
  if (!outcome.retry) {
    const why = reason instanceof NonRetriableError ? ' (not retriable)' : outcome.failures > 1 ? ` after ${outcome.failures} attempts` : '';
    logs.write(run.id, 'hearth', `task ${task.name} failed${why}: ${message}`);
    return;
  }
  logs.write(run.id, 'hearth', `task ${task.name} attempt ${state.attempts} failed: ${message}; retry ${outcome.failures}/${policy.max} in ${formatDuration(outcome.delayMs)}`);
}

/** Reads a run's input for a task; an input file deleted from under an active run fails the task for good. */
async function taskInput<T>(read: () => Promise<T>): Promise<T> {
  try {
    return await read();
  } catch (error) {
    if (error instanceof InputGoneError) throw new NonRetriableError(error.message, { cause: error });
    throw error;
  }
}

async function runShellTask(run: Run, job: JobDef, task: TaskDef, state: TaskState, deps: ExecutorDeps, signal: AbortSignal): Promise<string> {
  const input = await taskInput(async () => ({ text: await readInputText(run, deps.dataDir), file: await ensureInputFile(run, deps.dataDir) }));
  const env = buildTaskEnv({ run, job, task, state, now: deps.clock.now(), dataDir: deps.dataDir, baseEnv: deps.baseEnv, input });
  const result = await deps.runShell({
    command: task.run!,
    env,
    cwd: task.cwd ?? deps.configDir,
    killGraceMs: deps.killGraceMs,
    signal,
    clock: deps.clock,
    onLine: (stream, line) => deps.logs.write(run.id, task.name, line, stream),
    backlog: () => deps.logs.backlog(run.id),
    onSpawn: (pid) => {
      state.pid = pid;
      // Durable soon (the store's next flush, within its flush interval), so a restart after kill -9 can find and
      // stop this process group; forcing an fsync here delayed the task's own end by one for every short task.
      void deps.runs.save(run, 'task-process').catch(() => {});
    },
  });
  state.exitCode = result.exitCode;
  const tail = result.tail.join('\n');
  if (result.spawnError) throw new NonRetriableError(result.spawnError);
  if (signal.aborted) throw signal.reason;
  if (result.exitCode === 0) return tail;
  throw new Error(result.exitCode === null ? `killed by ${result.signal ?? 'a signal'}` : `exit code ${result.exitCode}`);
}

/**
 * Whether the attempt about to start is the first of any task of the run
 * (not a parked task resuming its attempt): then the run's step journal is
 * still empty, since only a task's attempt writes to it (src/steps/runtime.ts),
 * and reading it can be skipped (a missing file per no-op run otherwise).
 */
export function firstAttemptOfRun(run: Run, name: string): boolean {
  for (const state of Object.values(run.tasks)) {
    if (state.attempts > 0 || state.interruptions || state.crashes) return false;
    if (state.name === name && state.suspended) return false;
  }
  return true;
}

async function runActionTask(run: Run, job: JobDef, task: TaskDef, state: TaskState, deps: ExecutorDeps, signal: AbortSignal, journalEmpty: boolean): Promise<unknown> {
  const action = deps.actions.get(task.action!);
  if (!action) throw new NonRetriableError(`unknown action "${task.action}"`);
  const lastSuccess = run.lastSuccessAt ? new Date(run.lastSuccessAt) : undefined;
  const input = await taskInput(() => readInput(run, deps.dataDir));
  const context: ActionContext = {
    input,
    signal,
    clock: deps.clock,
    log: (line) => deps.logs.write(run.id, task.name, line),
    runId: run.id,
    job: job.name,
    task: task.name,
    trigger: run.trigger,
    attempt: state.attempts,
    ...(run.scheduledFor ? { scheduledFor: new Date(run.scheduledFor) } : {}),
    ...(lastSuccess ? { lastSuccess, sinceSeconds: Math.max(0, Math.floor((deps.clock.now() - lastSuccess.getTime()) / 1000)) } : {}),
    upstream: upstreamOutputs(run, task),
    env: { ...job.env, ...task.env },
    dataDir: deps.dataDir,
    configDir: deps.configDir,
  };
  // The journal is read before the function starts, so every step call is checked against it synchronously, in call order.
  const steps = deps.steps
    ? journalEmpty
      ? new StepRuntime(deps.steps, run, task.name, [], context.log)
      : await StepRuntime.open(deps.steps, run, task.name, context.log)
    : undefined;
  if (steps) context.step = steps.api;
  // An action that ignores its signal must still not hold the run hostage. The signal may be the run's (a task
  // without a timeout): the listener goes when the attempt ends, so a run's attempts do not pile them up.
  let onAbort: (() => void) | undefined;
  const aborted = new Promise<never>((_, reject) => {
    if (signal.aborted) reject(signal.reason);
    onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
  });
  aborted.catch(() => {});
  let output: unknown;
  try {
    output = await Promise.race([action.execute(task.with, context), aborted]);
  } catch (error) {
    if (signal.aborted) {
      steps?.close();
      throw error;
    }
    steps?.settle({ failed: true, thrown: error });
    throw error;
  } finally {
    signal.removeEventListener('abort', onAbort!);
  }
  // A step rule broken or a suspension swallowed by the function's own try/catch still ends the attempt.
  steps?.settle({ failed: false });
  return output;
}

function describeWait(wait: SuspendSignal['wait']): string {
  switch (wait.kind) {
    case 'timer':
      return `a timer until ${wait.at}`;
    case 'input':
      return `an answer to inbox question ${wait.id}${wait.until ? ` until ${wait.until}` : ''}`;
    case 'event':
      return `an event ${wait.name}${wait.until ? ` until ${wait.until}` : ''}`;
    case 'children':
      return `run ${wait.runIds.join(', ')}`;
  }
}

async function finishOrPark(run: Run, job: JobDef, deps: ExecutorDeps, abortReason: unknown): Promise<RunOutcome> {
  const { clock, runs, logs } = deps;
  const now = clock.now();
  if (abortReason instanceof ShutdownError) {
    interruptRun(run);
    await runs.save(run, 'interrupted');
    return 'interrupted';
  }
  if (abortReason instanceof CancelledError) {
    finishRunEarly(run, 'cancelled', 'cancelled by request', now);
  } else if (abortReason instanceof JobTimeoutError) {
    finishRunEarly(run, 'failed', abortReason.message, now);
  } else if (abortReason !== undefined) {
    // No other stop reason exists today; an unknown one must still end the run in a legal shape.
    finishRunEarly(run, 'failed', `stopped: ${errorMessage(abortReason)}`, now);
  } else if (hasWaitingTask(run)) {
    parkRun(run);
    await runs.save(run, 'parked');
    // Suspend means unload: the parked run keeps no open log file either.
    void logs.release(run.id).catch(() => {});
    return 'waiting';
  } else {
    // A task marked continue_on_error may fail without failing the run.
    completeRun(run, now, (name) => job.tasks.some((task) => task.name === name && task.continueOnError));
  }
  await runs.save(run, 'finished');
  const took = formatDuration(Date.parse(run.finishedAt!) - Date.parse(run.startedAt ?? run.finishedAt!));
  logs.write(run.id, 'hearth', `run ${run.status} in ${took}${run.error ? `: ${run.error}` : ''}`);
  // Closing the file is not awaited: the pool slot is free now, followers end when it is flushed.
  void logs.finish(run.id).catch((error: unknown) => deps.logger.warn('closing run log failed', { runId: run.id, error: errorMessage(error) }));
  return 'finished';
}
