import type { Clock } from '../core/clock.js';
import type { NonRetriableError, RetryAfterError } from '../core/errors.js';
import type { StepApi } from '../steps/types.js';
/**
 * What a built-in action sees and implements. An action is looked up by name
 * (`action: http` in hearth.yaml), validated once when the config loads, and
 * executed by the engine once per attempt.
 */

export interface ActionContext {
  /** Aborted on cancel or timeout; pass it to everything that waits. */
  signal: AbortSignal;
  /** The appliance's clock: time an action measures or waits for comes from here (a FakeClock in tests). */
  clock: Clock;
  /** One line into the run's log. */
  log: (line: string) => void;
  runId: string;
  job: string;
  task: string;
  trigger: string;
  /** 1 on the first attempt. */
  attempt: number;
  scheduledFor?: Date;
  lastSuccess?: Date;
  /** Seconds since the last successful run: the window an incremental job should fetch. */
  sinceSeconds?: number;
  /**
   * The run's input (any JSON): the `input` of `POST /api/jobs/:name/run` or
   * `hearth run --input`, an event's `data`, a webhook's body, a parent
   * workflow's `step.invoke`. Undefined when
   * the run has none. A retried run keeps it.
   */
  input?: unknown;
  /** Outputs of the tasks this one depends on, by task name. */
  upstream: Record<string, unknown>;
  env: Record<string, string>;
  dataDir: string;
  /** Directory of hearth.yaml: relative paths in `with:` are read from here. */
  configDir: string;
  /** Durable workflow steps (set by the engine for every action task; `module` hands it to the function). */
  step?: StepApi;
}

export interface ActionParamIssue {
  /** Dotted path relative to `with`, e.g. `expect.1`; empty for the whole block. */
  path: string;
  message: string;
}

export interface ActionDefinition {
  name: string;
  /** Validates `with:` at config-load time; paths are relative to `with`. */
  validate(params: Record<string, unknown>): ActionParamIssue[];
  /** Returns the task's output (JSON-serialisable). Throws to fail the attempt. */
  execute(params: Record<string, unknown>, ctx: ActionContext): Promise<unknown>;
}

export interface ActionRegistry {
  get(name: string): ActionDefinition | undefined;
  names(): string[];
}

/**
 * What a `module` action's function receives: the action context plus the
 * `args` from `with:` and `since` (= lastSuccess), the start of the window an
 * incremental job should fetch.
 */
export interface ModuleContext<Args = unknown, Input = unknown> extends ActionContext {
  args: Args;
  /** The run's input (undefined when the run was started without one). */
  input: Input | undefined;
  /**
   * Durable steps: `await step.run('fetch', () => …)`, `step.sleep('pause', '1h')`,
   * `step.waitForInput('ok', { prompt, choices })`, `step.invoke('report', { job, input })`.
   * See StepApi and the README's "Workflows" section for the rules.
   */
  step: StepApi;
  since: Date | undefined;
  /**
   * The retry-steering errors, for modules that cannot import `hearth/sdk`
   * (e.g. a script in /etc/hearth): `throw new errors.NonRetriableError(...)`.
   */
  errors: { NonRetriableError: typeof NonRetriableError; RetryAfterError: typeof RetryAfterError };
}

/** The shape of a function a `module` action calls. */
export type ModuleTask<Args = unknown, Result = unknown> = (ctx: ModuleContext<Args>) => Result | Promise<Result>;
