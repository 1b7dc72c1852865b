/**
 * Typed errors that steer behaviour. Code matches them with `instanceof`,
 * never by message text. HTTP status mapping lives in src/http/errors.ts.
 */

/**
 * Errors users' modules throw to steer retries may come from another copy of
 * this file (the `hearth/sdk` entry is compiled separately from the start-up
 * bundle), so `instanceof` checks a brand shared through the global symbol
 * registry instead of class identity.
 */
const NON_RETRIABLE = Symbol.for('hearth.NonRetriableError');
const RETRY_AFTER = Symbol.for('hearth.RetryAfterError');
const REPLAY_MISMATCH = Symbol.for('hearth.ReplayMismatchError');

function hasBrand(value: unknown, brand: symbol): boolean {
  return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[brand] === true;
}

/** A task failure that retrying cannot fix: the engine stops retrying. */
export class NonRetriableError extends Error {
  override name = 'NonRetriableError';
  readonly [NON_RETRIABLE] = true;

  static override [Symbol.hasInstance](value: unknown): boolean {
    return hasBrand(value, NON_RETRIABLE);
  }
}

/** Ask the engine to retry no earlier than `retryAt`. */
export class RetryAfterError extends Error {
  override name = 'RetryAfterError';
  readonly [RETRY_AFTER] = true;

  constructor(message: string, readonly retryAt: Date, options?: ErrorOptions) {
    super(message, options);
  }

  static override [Symbol.hasInstance](value: unknown): boolean {
    return hasBrand(value, RETRY_AFTER);
  }
}

const SUSPEND = Symbol.for('hearth.SuspendSignal');

/**
 * Thrown by a workflow step (`step.sleep`, `step.waitForInput`,
 * `step.invoke`) to abandon the module function while its run waits: the
 * executor parks the task on `wait`, frees the pool slot and keeps nothing in
 * memory; when the wait ends the function is called again from the top and
 * replays its completed steps from the journal. It is not an error: user code
 * must not catch it (a `try { … } catch {}` around a step swallows it; the
 * engine notices and suspends anyway, but code after the step runs once more
 * than it should). Rethrow it: `if (e instanceof SuspendSignal) throw e`.
 */
export class SuspendSignal extends Error {
  override name = 'SuspendSignal';
  readonly [SUSPEND] = true;

  constructor(
    readonly stepId: string,
    /** What the task waits for: a Wait from src/runs/model.ts (kept structural to avoid a core → runs import). */
    readonly wait:
      | { kind: 'timer'; at: string }
      | { kind: 'input'; id: string; until?: string }
      | { kind: 'event'; name: string; match?: Record<string, unknown>; until?: string }
      | { kind: 'children'; runIds: string[]; until?: string },
  ) {
    super(`step "${stepId}" suspends the run (${wait.kind})`);
  }

  static override [Symbol.hasInstance](value: unknown): boolean {
    return hasBrand(value, SUSPEND);
  }
}

/**
 * A workflow broke a step rule (a duplicate step id, a replay that no longer
 * matches the journal, a limit): retrying cannot fix it, so the run fails.
 */
export class StepError extends NonRetriableError {
  override name = 'StepError';
}

/**
 * A replayed step no longer matches the journal: the code changed while the
 * run was suspended. Only a fresh run (a new, empty journal) can go on, so the
 * task records `errorCode: 'replay-mismatch'` and the dashboard offers a restart.
 */
export class ReplayMismatchError extends StepError {
  override name = 'ReplayMismatchError';
  readonly [REPLAY_MISMATCH] = true;

  // Its own brand: the one inherited from NonRetriableError would match every StepError.
  static override [Symbol.hasInstance](value: unknown): boolean {
    return hasBrand(value, REPLAY_MISMATCH);
  }
}

export interface ConfigIssue {
  file: string;
  line: number;
  col: number;
  /** Dotted path into the document, e.g. `jobs.backup.schedule.cron`. */
  path: string;
  message: string;
}

export function formatConfigIssue(issue: ConfigIssue): string {
  const where = issue.line > 0 ? `${issue.file}:${issue.line}:${issue.col}` : issue.file;
  return issue.path ? `${where}: ${issue.path}: ${issue.message}` : `${where}: ${issue.message}`;
}

/** Every problem found in a config file, reported at once. */
export class ConfigError extends Error {
  override name = 'ConfigError';
  constructor(readonly issues: ConfigIssue[], options?: ErrorOptions) {
    super(issues.map(formatConfigIssue).join('\n'), options);
  }
}

/** The caller asked for something that does not exist (job, run). */
export class NotFoundError extends Error {
  override name = 'NotFoundError';
  constructor(readonly kind: string, readonly id: string, options?: ErrorOptions) {
    super(`${kind} "${id}" not found`, options);
  }
}

/** A request that is well-formed but not allowed in the current state. */
export class ConflictError extends Error {
  override name = 'ConflictError';
}

/**
 * A run or task status change its current status does not allow (src/runs/transitions.ts):
 * e.g. finishing a run twice or starting a settled task. A conflict, so the API answers 409.
 */
export class IllegalTransitionError extends ConflictError {
  override name = 'IllegalTransitionError';
  constructor(
    readonly subject: string,
    readonly from: string,
    readonly transition: string,
  ) {
    super(`${subject}: cannot ${transition} from ${from}`);
  }
}

/** Bad input from a user or script (HTTP 400, CLI exit 2). */
export class UsageError extends Error {
  override name = 'UsageError';
}

/** A run or task was cancelled by a person or by shutdown. */
export class CancelledError extends Error {
  override name = 'CancelledError';
}

/**
 * The error to throw once the context's signal has aborted. The engine's own
 * reason (e.g. its TimeoutError) is kept; the bare DOMException that
 * `AbortController.abort()` produces becomes a CancelledError.
 */
export function abortError(signal: AbortSignal): Error {
  const reason: unknown = signal.reason;
  if (reason instanceof Error && !(reason instanceof DOMException)) return reason;
  return new CancelledError('cancelled');
}

/** A task exceeded its timeout. */
export class TimeoutError extends Error {
  override name = 'TimeoutError';
}

/** The job's own `timeout` ran out: the whole run fails, no retries. */
export class JobTimeoutError extends TimeoutError {
  override name = 'JobTimeoutError';
}

/** Shutdown (SIGTERM, restart): the run goes back to `queued` and resumes on the next start. */
export class ShutdownError extends Error {
  override name = 'ShutdownError';
}

export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** errno codes of a write refused for want of space: the disk (or the user's quota) is full. */
const DISK_FULL_CODES = new Set(['ENOSPC', 'EDQUOT']);

/**
 * Whether `error`, or an error it wraps (`cause`), is a write refused because
 * the disk is full. Matched on the errno code Node sets, never on message text.
 */
export function isDiskFull(error: unknown): boolean {
  for (let e = error, depth = 0; e instanceof Error && depth < 8; e = e.cause, depth++) {
    if (DISK_FULL_CODES.has((e as NodeJS.ErrnoException).code ?? '')) return true;
  }
  return false;
}

/** Too many requests of a kind for now: try again after `retryAfterSeconds` (HTTP 429). */
export class TooManyRequestsError extends Error {
  override name = 'TooManyRequestsError';
  constructor(message: string, readonly retryAfterSeconds: number, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** A run's input file was deleted by retention: the run cannot be retried or resumed with its input. */
export class InputGoneError extends Error {
  override name = 'InputGoneError';
  constructor(readonly runId: string) {
    super(`the input of run ${runId} is no longer kept (input files are deleted with the run logs, see history.keepLogs)`);
  }
}

/** Whether `error` is a file-system "no such file or directory" (ENOENT). */
export function isNotFound(error: unknown): boolean {
  return error instanceof Error && (error as NodeJS.ErrnoException).code === 'ENOENT';
}

/**
 * A notification channel did not take a message (unreachable, refused, timed
 * out). The message is scrubbed of the channel's secrets, so it is safe to
 * log and to show; `status` is the receiver's HTTP status when there was one.
 */
export class ChannelError extends Error {
  override name = 'ChannelError';
  constructor(message: string, readonly status?: number, options?: ErrorOptions) {
    super(message, options);
  }
}

/** Google refused a Gmail connection's refresh token (`invalid_grant`: revoked, expired after 7 days in Testing, password changed). */
export class GmailAuthError extends Error {
  override name = 'GmailAuthError';
}

/** A Gmail rate-limit pause too long to wait out in memory: the backup stopped (its progress committed) until `until`; the action parks the run. */
export class LongPauseError extends Error {
  override name = 'LongPauseError';
  constructor(readonly until: number) {
    super(`rate limited until ${new Date(until).toISOString()}`);
  }
}
