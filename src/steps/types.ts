/**
 * The public step API of a workflow (`ctx.step` in a `module` task),
 * exported from `hearth/sdk`. Every method takes a step id, unique in the
 * run; the function is replayed from the top after every wait, and each
 * completed step returns its journaled result instead of running again.
 */
export interface StepApi {
  /**
   * Runs `fn` once and journals its JSON result (at most 4 MB); on replay or
   * retry returns the journaled result without calling `fn`. The result goes
   * through JSON (Dates become strings), on the first run as on replays. If
   * `fn` throws, the attempt fails and the task's `retries` apply; completed
   * steps replay on the retry.
   */
  run<T>(id: string, fn: () => T | Promise<T>): Promise<T>;
  /** A durable timer: the run parks (no pool slot, nothing in memory) and resumes after `duration` ('10m', '2h', or ms). */
  sleep(id: string, duration: string | number): Promise<void>;
  /** Like sleep, until a time (a Date, an ISO string or epoch ms); a time already past returns at once. */
  sleepUntil(id: string, until: Date | string | number): Promise<void>;
  /** Asks a person through the inbox and parks until the answer (or the timeout). */
  waitForInput<T = unknown>(id: string, options: InputOptions): Promise<InputAnswer<T>>;
  /** Starts a run of another job with `input`, parks until it ends; returns its output or throws its error. */
  invoke<T = unknown>(id: string, options: InvokeOptions): Promise<T>;
  /**
   * Parks until an event called `event` whose data has every field of
   * `match` arrives (or the timeout passes). An event that came after the
   * run began, before the wait started, counts; each event satisfies one
   * wait of a run.
   */
  waitForEvent<T = unknown>(id: string, options: EventWaitOptions): Promise<EventAnswer<T>>;
  /** Emits an event, exactly once even when the function replays. Returns the event's id. */
  sendEvent(id: string, options: { name: string; data?: unknown }): Promise<{ id: string }>;
}

export interface EventWaitOptions {
  event: string;
  /** Fields the event's data must have, with these values (deep equality). */
  match?: Record<string, unknown>;
  timeout?: string | number;
  /** What a timeout does: return `{ timedOut: true }` (default), or throw a NonRetriableError. */
  onTimeout?: 'return' | 'throw';
}

export type EventAnswer<T> =
  | { timedOut: false; event: { id: string; name: string; data: T; at: string } }
  | { timedOut: true; event?: undefined };

export interface InputOptions {
  /** The question, as the person sees it. */
  prompt: string;
  /** JSON schema the answer must satisfy (e.g. `{ type: 'boolean' }`, or an object with properties). */
  schema?: Record<string, unknown>;
  /** The allowed answers, shown as buttons. */
  choices?: unknown[];
  /** How long to wait ('1h', '3d', ms); absent: until answered. */
  timeout?: string | number;
  /** What a timeout does: return `{ timedOut: true }` (default), or throw a NonRetriableError. */
  onTimeout?: 'return' | 'throw';
}

export type InputAnswer<T> =
  | { timedOut: false; value: T; answeredAt: string }
  | { timedOut: true; value?: undefined };

export interface InvokeOptions {
  /** The job to run (its name in hearth.yaml). */
  job: string;
  /** The child run's input (its module's `ctx.input`). */
  input?: unknown;
}
