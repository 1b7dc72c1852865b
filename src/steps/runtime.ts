import { createHash } from 'node:crypto';
import type { Clock } from '../core/clock.js';
import { parseDuration } from '../core/durations.js';
import { NonRetriableError, StepError, SuspendSignal, errorMessage } from '../core/errors.js';
import type { Run } from '../runs/model.js';
import { isFinished } from '../runs/model.js';
import { compileAnswerSchema, inboxItemId, type InboxItem, type InboxStore } from './inbox.js';
import { foldJournal, MAX_RESULT_BYTES, MAX_STEPS_PER_RUN, takenEventIds, type StepEntry, type StepJournal, type StepKind, type StepState } from './journal.js';
import { eventMatches } from '../runs/transitions.js';
import type { EventRecord } from './events.js';
import type { EventAnswer, EventWaitOptions, InputAnswer, InputOptions, InvokeOptions, StepApi } from './types.js';

/** What the step API needs from the appliance. */
export interface StepHost {
  journal: StepJournal;
  inbox: InboxStore;
  clock: Clock;
  events: {
    /** Events called `name` that arrived at or after `since` (epoch ms), oldest first. */
    since(name: string, since: number): Promise<EventRecord[]>;
    /** Records and delivers an event; a known id is a duplicate and changes nothing. */
    deliver(name: string, data: unknown, id: string): Promise<void>;
  };
  children: {
    newRunId(): string;
    /** Creates the child run (queued, durable) unless it exists. Throws StepError for a job it cannot start. */
    start(parent: Run, childId: string, job: string, input: unknown): Promise<void>;
    get(id: string): Promise<Run | undefined>;
  };
}

/**
 * One execution of a workflow function (a module task's attempt, or its
 * resumption): hands out `ctx.step` and checks every call against the
 * journal loaded when it started. Steps are matched by call position, so a
 * replay must call the same steps in the same order; ids are checked for
 * uniqueness as they are called.
 *
 * A wait throws SuspendSignal; a broken rule throws StepError (not
 * retriable). Both are remembered, so code that catches them still ends the
 * attempt the right way: `settle` rethrows them after the function returns.
 */
export class StepRuntime {
  private next = 0;
  private readonly seen = new Set<string>();
  private readonly mine: Map<number, StepState>;
  private readonly otherIds = new Set<string>();
  private readonly otherCount: number;
  private readonly takenEvents: Set<string>;
  private suspended: SuspendSignal | undefined;
  private fatal: Error | undefined;
  /** Set when the attempt has ended (settled, cancelled, timed out): a function still running in the background journals nothing more. */
  private closed = false;
  readonly api: StepApi;

  constructor(
    private readonly host: StepHost,
    private readonly run: Run,
    private readonly task: string,
    entries: readonly StepEntry[],
    private readonly log: (line: string) => void,
  ) {
    const folded = foldJournal(entries);
    this.mine = folded.get(task) ?? new Map();
    // Ids of events that completed waits of this run (any task): each event satisfies one wait.
    this.takenEvents = takenEventIds(entries);
    let others = 0;
    for (const [name, steps] of folded) {
      if (name === task) continue;
      others += steps.size;
      for (const state of steps.values()) this.otherIds.add(state.id);
    }
    this.otherCount = others;
    this.api = {
      run: (id, fn) => this.runStep(id, fn),
      sleep: (id, duration) => this.sleep(id, () => this.clock.now() + this.duration(id, duration)),
      sleepUntil: (id, until) => this.sleep(id, () => this.time(id, until)),
      waitForInput: (id, options) => this.waitForInput(id, options),
      invoke: (id, options) => this.invoke(id, options),
      waitForEvent: (id, options) => this.waitForEvent(id, options),
      sendEvent: (id, options) => this.sendEvent(id, options),
    };
  }

  static async open(host: StepHost, run: Run, task: string, log: (line: string) => void): Promise<StepRuntime> {
    return new StepRuntime(host, run, task, await host.journal.load(run.id), log);
  }

  private get clock(): Clock {
    return this.host.clock;
  }

  /**
   * The function ended (returned, or threw `thrown`): a broken step rule wins,
   * then a suspension (even one the code caught), then the function's own error.
   */
  settle(outcome: { thrown?: unknown; failed: boolean }): void {
    this.closed = true;
    if (this.fatal) throw this.fatal;
    if (this.suspended) throw this.suspended;
    if (outcome.failed) throw outcome.thrown;
  }

  /** The attempt ended without settling (cancel, timeout, shutdown). */
  close(): void {
    this.closed = true;
  }

  /** Checks a step call against the rules and the journal; synchronous, so calls are numbered in call order. */
  private claim(id: unknown, kind: StepKind): { n: number; state: StepState | undefined; id: string } {
    if (this.closed) throw new StepError(`step "${String(id)}" called after its attempt ended (the function kept running after a cancel, timeout or shutdown)`);
    if (this.fatal) throw this.fatal;
    if (this.suspended) throw this.suspended;
    if (typeof id !== 'string' || id.trim() === '' || id.length > 200) {
      this.fail(new StepError(`step.${kindName(kind)}: the step id must be a non-empty string of at most 200 characters (got ${JSON.stringify(id)})`));
    }
    if (this.seen.has(id) || this.otherIds.has(id)) {
      this.fail(new StepError(`step id "${id}" is used twice in run ${this.run.id}: step ids must be unique in a run`));
    }
    this.seen.add(id);
    const n = this.next++;
    if (this.otherCount + n >= MAX_STEPS_PER_RUN) {
      this.fail(new StepError(`step "${id}": a run may have at most ${MAX_STEPS_PER_RUN} steps`));
    }
    const state = this.mine.get(n);
    if (state && (state.id !== id || state.kind !== kind)) {
      this.fail(new StepError(
        `replay mismatch at step ${n + 1} of task ${this.task}: the journal has step.${kindName(state.kind)}("${state.id}") ` +
          `but the code now calls step.${kindName(kind)}("${id}"); the code changed while the run was suspended, so start a new run`,
      ));
    }
    return { n, state, id };
  }

  private fail(error: Error): never {
    this.fatal ??= error;
    throw error;
  }

  private suspend(id: string, wait: SuspendSignal['wait']): never {
    // Parallel waits (Promise.all): the first parks the task; the replay after it re-checks the others.
    this.suspended ??= new SuspendSignal(id, wait);
    throw this.suspended;
  }

  private entry(id: string, kind: StepKind, n: number, extra: Partial<StepEntry> = {}): StepEntry {
    return { task: this.task, id, kind, n, t: new Date(this.clock.now()).toISOString(), ...extra };
  }

  private async append(entry: StepEntry): Promise<void> {
    if (this.closed) throw new StepError(`step "${entry.id}" finished after its attempt ended; its result is not kept`);
    return this.host.journal.append(this.run.id, entry);
  }

  private async resultOf(state: StepState): Promise<unknown> {
    return state.ref !== undefined ? this.host.journal.readResult(this.run.id, state.ref) : state.result;
  }

  /** The value as JSON stores it, within the size limit. */
  private jsonResult(id: string, value: unknown): unknown {
    if (value === undefined) return undefined;
    let json: string | undefined;
    try {
      json = JSON.stringify(value);
    } catch (error) {
      this.fail(new StepError(`step "${id}": the result cannot be stored as JSON (${errorMessage(error)})`));
    }
    if (json === undefined) return undefined;
    const bytes = Buffer.byteLength(json);
    if (bytes > MAX_RESULT_BYTES) {
      this.fail(new StepError(`step "${id}": the result is ${(bytes / 1048576).toFixed(1)} MB; a step result may be at most ${MAX_RESULT_BYTES / 1048576} MB (store big data in a file and return its path)`));
    }
    return JSON.parse(json) as unknown;
  }

  private duration(id: string, duration: string | number): number {
    try {
      return parseDuration(duration);
    } catch (error) {
      this.fail(new StepError(`step "${id}": ${errorMessage(error)}`));
    }
  }

  private time(id: string, until: Date | string | number): number {
    const at = until instanceof Date ? until.getTime() : typeof until === 'number' ? until : Date.parse(until);
    if (!Number.isFinite(at)) this.fail(new StepError(`step "${id}": sleepUntil needs a Date, an ISO time or epoch ms (got ${String(until)})`));
    return at;
  }

  private async runStep<T>(rawId: string, fn: () => T | Promise<T>): Promise<T> {
    const { n, state, id } = this.claim(rawId, 'run');
    if (typeof fn !== 'function') this.fail(new StepError(`step.run("${id}") needs a function`));
    if (state?.done) return (await this.resultOf(state)) as T;
    let value: T;
    try {
      value = await fn();
    } catch (error) {
      if (!(error instanceof SuspendSignal) && !(error instanceof StepError)) {
        this.log(`step ${id} failed: ${errorMessage(error)}`);
        // For the timeline only: a failed step runs again on the retry.
        await this.append(this.entry(id, 'run', n, { error: errorMessage(error) })).catch(() => {});
      }
      throw error;
    }
    const result = this.jsonResult(id, value);
    await this.append(this.entry(id, 'run', n, { done: true, ...(result !== undefined ? { result } : {}) }));
    return result as T;
  }

  private async sleep(rawId: string, until: () => number): Promise<void> {
    const { n, state, id } = this.claim(rawId, 'sleep');
    if (state?.done) return;
    let at = state?.at !== undefined ? Date.parse(state.at) : undefined;
    if (at === undefined) {
      at = until();
      const due = at <= this.clock.now();
      await this.append(this.entry(id, 'sleep', n, { at: new Date(at).toISOString(), ...(due ? { done: true } : {}) }));
      if (due) return;
    } else if (at <= this.clock.now()) {
      await this.append(this.entry(id, 'sleep', n, { done: true }));
      return;
    }
    this.log(`step ${id} sleeps until ${new Date(at).toISOString()}`);
    this.suspend(id, { kind: 'timer', at: new Date(at).toISOString() });
  }

  private async waitForInput<T>(rawId: string, options: InputOptions): Promise<InputAnswer<T>> {
    const { n, state, id } = this.claim(rawId, 'input');
    const onTimeout = options?.onTimeout ?? 'return';
    if (state?.done) {
      if (state.error !== undefined) throw new NonRetriableError(state.error);
      return (await this.resultOf(state)) as InputAnswer<T>;
    }
    if (typeof options?.prompt !== 'string' || options.prompt.trim() === '') this.fail(new StepError(`step.waitForInput("${id}") needs a prompt`));
    if (options.schema !== undefined) {
      try {
        compileAnswerSchema(options.schema);
      } catch (error) {
        this.fail(new StepError(`step "${id}": ${errorMessage(error)}`));
      }
    }
    if (options.choices !== undefined && (!Array.isArray(options.choices) || options.choices.length === 0)) {
      this.fail(new StepError(`step "${id}": choices must be a non-empty array`));
    }
    const inboxId = inboxItemId(this.run.id, id);
    let until = state?.at;
    if (!state) {
      until = options.timeout !== undefined ? new Date(this.clock.now() + this.duration(id, options.timeout)).toISOString() : undefined;
      await this.append(this.entry(id, 'input', n, { inbox: inboxId, ...(until ? { at: until } : {}) }));
    }
    let item: InboxItem | undefined = await this.host.inbox.get(inboxId);
    if (!item) {
      item = await this.host.inbox.ask({
        id: inboxId,
        runId: this.run.id,
        job: this.run.job,
        stepId: id,
        prompt: options.prompt,
        ...(options.schema ? { schema: options.schema } : {}),
        ...(options.choices ? { choices: options.choices } : {}),
        askedAt: state?.t ?? new Date(this.clock.now()).toISOString(),
        ...(until ? { expiresAt: until } : {}),
      });
      this.log(`step ${id} asks (inbox ${inboxId}): ${options.prompt}`);
    }
    if (item.status === 'open' && until !== undefined && Date.parse(until) <= this.clock.now()) {
      item = (await this.host.inbox.expire(inboxId, this.clock.now())) ?? item;
    }
    if (item.status === 'answered') {
      const answer = { timedOut: false, value: item.value as T, answeredAt: item.answeredAt! } as const;
      await this.append(this.entry(id, 'input', n, { done: true, result: answer }));
      return answer;
    }
    if (item.status === 'expired') {
      if (onTimeout === 'throw') {
        const message = `step "${id}": no answer to "${options.prompt}" before ${until ?? item.answeredAt}`;
        await this.append(this.entry(id, 'input', n, { done: true, error: message }));
        throw new NonRetriableError(message);
      }
      const timedOut = { timedOut: true } as const;
      await this.append(this.entry(id, 'input', n, { done: true, result: timedOut }));
      return timedOut;
    }
    this.suspend(id, { kind: 'input', id: inboxId, ...(until ? { until } : {}) });
  }

  private async invoke<T>(rawId: string, options: InvokeOptions): Promise<T> {
    const { n, state, id } = this.claim(rawId, 'invoke');
    if (state?.done) {
      if (state.error !== undefined) throw new NonRetriableError(state.error);
      return (await this.resultOf(state)) as T;
    }
    if (typeof options?.job !== 'string' || options.job === '') this.fail(new StepError(`step.invoke("${id}") needs a job name`));
    let childId = state?.child;
    if (childId === undefined) {
      // The child's id is on disk before the child exists: a crash in between creates it on replay, never twice.
      childId = this.host.children.newRunId();
      await this.append(this.entry(id, 'invoke', n, { child: childId }));
    }
    const child = await this.host.children.get(childId);
    if (!child) {
      try {
        await this.host.children.start(this.run, childId, options.job, this.jsonResult(id, options.input));
      } catch (error) {
        if (error instanceof StepError) this.fail(new StepError(`step "${id}": ${error.message}`));
        throw error;
      }
      this.log(`step ${id} started run ${childId} of ${options.job}`);
    } else if (isFinished(child)) {
      if (child.status === 'succeeded') {
        const result = this.jsonResult(id, childOutput(child));
        await this.append(this.entry(id, 'invoke', n, { done: true, ...(result !== undefined ? { result } : {}) }));
        return result as T;
      }
      const message = `step "${id}": run ${child.id} of ${child.job} ${child.status}${child.error ? `: ${child.error}` : ''}`;
      await this.append(this.entry(id, 'invoke', n, { done: true, error: message }));
      throw new NonRetriableError(message);
    }
    this.suspend(id, { kind: 'children', runIds: [childId] });
  }

  private async waitForEvent<T>(rawId: string, options: EventWaitOptions): Promise<EventAnswer<T>> {
    const { n, state, id } = this.claim(rawId, 'event');
    if (state?.done) {
      if (state.error !== undefined) throw new NonRetriableError(state.error);
      return (await this.resultOf(state)) as EventAnswer<T>;
    }
    if (typeof options?.event !== 'string' || options.event === '') this.fail(new StepError(`step.waitForEvent("${id}") needs an event name`));
    const match = options.match;
    let until = state?.at;
    if (!state) {
      until = options.timeout !== undefined ? new Date(this.clock.now() + this.duration(id, options.timeout)).toISOString() : undefined;
      await this.append(this.entry(id, 'event', n, { event: options.event, ...(match ? { match } : {}), ...(until ? { at: until } : {}) }));
    }
    // Any event since the run began counts, except one an earlier wait of this run already took.
    const taken = this.takenEvents;
    const since = Date.parse(this.run.startedAt ?? this.run.createdAt);
    const found = (await this.host.events.since(options.event, since)).find((event) => !taken.has(event.id) && eventMatches(match, event.data));
    if (found) {
      taken.add(found.id);
      const answer = { timedOut: false, event: { id: found.id, name: found.name, data: found.data as T, at: found.at } } as const;
      await this.append(this.entry(id, 'event', n, { done: true, result: answer }));
      return answer;
    }
    if (until !== undefined && Date.parse(until) <= this.clock.now()) {
      if (options.onTimeout === 'throw') {
        const message = `step "${id}": no event ${options.event} before ${until}`;
        await this.append(this.entry(id, 'event', n, { done: true, error: message }));
        throw new NonRetriableError(message);
      }
      const timedOut = { timedOut: true } as const;
      await this.append(this.entry(id, 'event', n, { done: true, result: timedOut }));
      return timedOut;
    }
    this.suspend(id, { kind: 'event', name: options.event, ...(match ? { match } : {}), ...(until ? { until } : {}) });
  }


  private async sendEvent(rawId: string, options: { name: string; data?: unknown }): Promise<{ id: string }> {
    const { n, state, id } = this.claim(rawId, 'send');
    if (state?.done) return (await this.resultOf(state)) as { id: string };
    if (typeof options?.name !== 'string' || options.name === '') this.fail(new StepError(`step.sendEvent("${id}") needs an event name`));
    // A stable id: a replay after a crash between sending and journaling is a duplicate, not a second event.
    const eventId = `ev_${createHash('sha256').update(`${this.run.id}\0${id}`).digest('hex').slice(0, 16)}`;
    await this.host.events.deliver(options.name, this.jsonResult(id, options.data), eventId);
    const result = { id: eventId };
    await this.append(this.entry(id, 'send', n, { done: true, result }));
    return result;
  }
}

/** A finished run's output: its last task's output (a module's return value, a shell task's last lines). */
export function childOutput(run: Run): unknown {
  const last = run.taskOrder.at(-1);
  return last !== undefined ? run.tasks[last]?.output : undefined;
}

function kindName(kind: StepKind): string {
  return kind === 'input' ? 'waitForInput' : kind === 'event' ? 'waitForEvent' : kind === 'send' ? 'sendEvent' : kind;
}
