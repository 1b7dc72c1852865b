import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import type { Readable } from 'node:stream';
import { systemClock, type Clock } from '../../core/clock.js';
import { errorMessage } from '../../core/errors.js';
import { isGroupAlive, terminateGroup } from './group.js';
import { createLineSplitter, LineTail, type LineSplitter } from './lines.js';

export { killProcessGroup, readBootId } from './group.js';

export type OutputStream = 'stdout' | 'stderr';

export interface ShellOptions {
  /** Run with /bin/sh -c. */
  command: string;
  /** The full environment (the caller merges process.env and the HEARTH_* variables). */
  env: Record<string, string>;
  cwd?: string;
  timeoutMs?: number;
  /**
   * SIGTERM goes to the whole process group, then SIGKILL after this if
   * anything in it survives. A function is read when the stop begins, so a
   * config reload while the command runs applies to its stop.
   */
  killGraceMs: number | (() => number);
  /** Cancels the command (same escalation as a timeout). */
  signal: AbortSignal;
  /**
   * Every output line of both streams, in arrival order. Called synchronously
   * from stream events; an exception thrown here is swallowed so a failing log
   * writer cannot crash the appliance.
   */
  onLine: (stream: OutputStream, line: string) => void;
  /**
   * Asked after each chunk of output: a promise means the output's sink (the
   * run log) has a backlog, and the pipes are not read until it settles, so a
   * command that prints faster than the disk writes waits on its full pipe
   * instead of filling Hearth's memory.
   */
  backlog?: () => Promise<void> | undefined;
  /** How many last lines to return in `tail` (default 20). */
  tailLines?: number;
  /**
   * How long to wait, after the shell has exited, for its pipes to close before
   * the rest of its process group is killed (a background grandchild holding
   * stdout open). Default 300 ms.
   */
  pipeGraceMs?: number;
  /** Time source for the timeout and the kill grace (default: the system clock). */
  clock?: Clock;
  /** Called with the shell's pid (= its process group id) as soon as it exists, e.g. to persist it. */
  onSpawn?: (pid: number) => void;
}

export interface ShellResult {
  /** The shell's exit code; null when it was killed by a signal. 127 when it could not be started. */
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  timedOut: boolean;
  cancelled: boolean;
  /** The last `tailLines` lines of stdout and stderr together. */
  tail: string[];
  /** The shell's pid, which is also its process group id; undefined if it never started. */
  pid: number | undefined;
  /**
   * Set when the shell could not be started at all (e.g. the cwd does not
   * exist). Retrying will not help, so the engine may treat it as non-retriable.
   */
  spawnError?: string;
}

const DEFAULT_TAIL_LINES = 20;
const DEFAULT_PIPE_GRACE_MS = 300;
/** The shell convention for "command could not be run". */
const SPAWN_FAILURE_EXIT_CODE = 127;

/**
 * Runs a shell command in its own process group and resolves once the shell
 * has exited and its output is drained. Any process the command left running
 * in its group (a background `&` job) is terminated before resolving, so a
 * finished task never leaves orphans behind. Never rejects: a command that
 * cannot be started resolves with exit code 127, `spawnError` set, and the
 * reason as a stderr line.
 */
export async function runShell(options: ShellOptions): Promise<ShellResult> {
  const clock = options.clock ?? systemClock;
  const tail = new LineTail(options.tailLines ?? DEFAULT_TAIL_LINES);
  const deliver = (stream: OutputStream, line: string) => {
    tail.add(line);
    try {
      options.onLine(stream, line);
    } catch {
      // See ShellOptions.onLine.
    }
  };

  if (options.signal.aborted) {
    return { exitCode: null, signal: null, timedOut: false, cancelled: true, tail: [], pid: undefined };
  }

  const started = startShell(options);
  if (!started.ok) return spawnFailure(options, started.error, deliver, tail);
  const child = started.child;
  const pid = child.pid;
  if (pid === undefined) {
    const error = await new Promise<unknown>((resolve) => child.once('error', resolve));
    return spawnFailure(options, error, deliver, tail);
  }
  // Later errors (a failed kill) must not become uncaught exceptions; exit is what we wait for.
  child.on('error', () => {});
  try {
    options.onSpawn?.(pid);
  } catch {
    // The process runs either way; it must still be watched, timed out and reaped.
  }

  const stdout = readLines(child.stdout, (line) => deliver('stdout', line), options.backlog);
  const stderr = readLines(child.stderr, (line) => deliver('stderr', line), options.backlog);
  const pipesClosed = Promise.all([stdout.closed, stderr.closed]);

  const stopper = watchForStop(pid, options, clock);
  const exit = await waitForExit(child);
  const stop = stopper.shellExited();
  // The pipes must drain within pipeGraceMs now; a backlog may not hold them.
  stdout.stopHoldingBack();
  stderr.stopHoldingBack();

  const pipeGraceMs = options.pipeGraceMs ?? DEFAULT_PIPE_GRACE_MS;
  const drainedInTime = await settlesWithin(pipesClosed, pipeGraceMs, clock);
  await stop.termination;
  if (isGroupAlive(pid)) await terminateGroup(pid, killGraceOf(options), clock);
  if (!drainedInTime && !(await settlesWithin(pipesClosed, pipeGraceMs, clock))) {
    // Something outside the group (it called setsid) still holds the pipes: stop reading.
    stdout.abandon();
    stderr.abandon();
  }
  stdout.splitter.end();
  stderr.splitter.end();

  return {
    exitCode: exit.code,
    signal: exit.signal,
    timedOut: stop.reason === 'timeout',
    cancelled: stop.reason === 'cancel',
    tail: tail.lines(),
    pid,
  };
}

type Started = { ok: true; child: ChildProcess } | { ok: false; error: unknown };

function startShell(options: ShellOptions): Started {
  try {
    const child = spawn('/bin/sh', ['-c', options.command], {
      env: options.env,
      cwd: options.cwd,
      // Leader of its own process group, so the whole tree can be signalled at once.
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    return { ok: true, child };
  } catch (error) {
    return { ok: false, error };
  }
}

function spawnFailure(
  options: ShellOptions,
  error: unknown,
  deliver: (stream: OutputStream, line: string) => void,
  tail: LineTail,
): ShellResult {
  const missingCwd = options.cwd !== undefined && !existsSync(options.cwd);
  const reason = missingCwd
    ? `working directory "${options.cwd}" does not exist`
    : errorMessage(error);
  const message = `hearth: cannot start the command: ${reason}`;
  deliver('stderr', message);
  return {
    exitCode: SPAWN_FAILURE_EXIT_CODE,
    signal: null,
    timedOut: false,
    cancelled: false,
    tail: tail.lines(),
    pid: undefined,
    spawnError: message,
  };
}

interface LineReader {
  splitter: LineSplitter;
  closed: Promise<void>;
  abandon(): void;
  /** Reads on regardless of any backlog: what is left in a pipe once the shell has exited is small. */
  stopHoldingBack(): void;
}

function readLines(stream: Readable | null, emit: (line: string) => void, backlog?: () => Promise<void> | undefined): LineReader {
  const splitter = createLineSplitter(emit);
  if (!stream) return { splitter, closed: Promise.resolve(), abandon() {}, stopHoldingBack() {} };
  let waiting = false;
  let holdBack = backlog !== undefined;
  stream.on('data', (chunk: Buffer) => {
    splitter.push(chunk);
    if (waiting || !holdBack) return;
    const wait = backlog?.();
    if (!wait) return;
    waiting = true;
    stream.pause();
    void wait.finally(() => {
      waiting = false;
      stream.resume();
    });
  });
  stream.on('end', () => splitter.end());
  stream.on('error', () => {});
  const closed = new Promise<void>((resolve) => stream.once('close', () => resolve()));
  return {
    splitter,
    closed,
    abandon: () => stream.destroy(),
    stopHoldingBack: () => {
      holdBack = false;
      stream.resume();
    },
  };
}

function waitForExit(child: ChildProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  return new Promise((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal }));
  });
}

type StopReason = 'timeout' | 'cancel';

/** The kill grace in force now (see ShellOptions.killGraceMs). */
export function killGraceOf(options: Pick<ShellOptions, 'killGraceMs'>): number {
  return typeof options.killGraceMs === 'function' ? options.killGraceMs() : options.killGraceMs;
}

interface StopOutcome {
  reason: StopReason | undefined;
  /** Resolves when a stop that began before the shell exited has finished its SIGTERM → SIGKILL escalation. */
  termination: Promise<void>;
}

/**
 * Arms the timeout and the abort signal while the shell runs. Either one
 * starts terminating the group; once the shell has exited, neither counts.
 */
function watchForStop(pgid: number, options: ShellOptions, clock: Clock): { shellExited(): StopOutcome } {
  let reason: StopReason | undefined;
  let termination: Promise<void> = Promise.resolve();
  const stop = (why: StopReason) => {
    if (reason) return;
    reason = why;
    termination = terminateGroup(pgid, killGraceOf(options), clock);
  };
  const onAbort = () => stop('cancel');
  options.signal.addEventListener('abort', onAbort, { once: true });
  const timer = options.timeoutMs === undefined ? undefined : clock.setTimer(options.timeoutMs, () => stop('timeout'));
  return {
    shellExited() {
      timer?.cancel();
      options.signal.removeEventListener('abort', onAbort);
      return { reason, termination };
    },
  };
}

/** True if `promise` settled within `ms`. */
function settlesWithin(promise: Promise<unknown>, ms: number, clock: Clock): Promise<boolean> {
  return new Promise((resolve) => {
    const timer = clock.setTimer(ms, () => resolve(false));
    const settle = () => {
      timer.cancel();
      resolve(true);
    };
    promise.then(settle, settle);
  });
}
