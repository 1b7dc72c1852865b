import { randomUUID } from 'node:crypto';
import type { Clock } from '../core/clock.js';
import { StepError, errorMessage } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { JobDef } from '../config/types.js';
import type { Run } from '../runs/model.js';
import { isFinished } from '../runs/model.js';
import type { RunStore } from '../runs/store.js';
import { eventMatches } from '../runs/transitions.js';
import type { Dispatcher } from '../pool/dispatcher.js';
import { MemoryEventLog, type EventLog } from '../steps/events.js';
import { MemoryInboxStore, answerQuestion, type InboxItem, type InboxStore } from '../steps/inbox.js';
import { MemoryStepJournal, foldJournal, stepTimeline, takenEventIds, type StepJournal, type StepView } from '../steps/journal.js';
import type { StepHost } from '../steps/runtime.js';
import type { RunLogs } from './run-logs.js';

/** Where workflow steps, inbox questions and events are kept (each defaults to memory, for tests). */
export interface WorkflowStores {
  journal?: StepJournal;
  inbox?: InboxStore;
  events?: EventLog;
}

export interface WorkflowDeps extends WorkflowStores {
  clock: Clock;
  store: RunStore;
  logs: RunLogs;
  logger: Logger;
  dispatcher: Pick<Dispatcher, 'wake' | 'parkedRuns' | 'isActive' | 'enqueue'>;
  /** The current catalog's job. */
  job(name: string): JobDef | undefined;
  newRunId(): string;
  /** Sends an event as POST /api/events does (deduplicated by id; see Engine.sendEvent). */
  emitEvent(name: string, data: unknown, id: string): Promise<unknown>;
  /** Creates a child run (trigger `invoke`) with the id the parent journaled: input attached, durable, queued. */
  createChild(job: JobDef, child: { id: string; parentRunId: string; input: unknown }): Promise<unknown>;
  cancelRun(id: string): Promise<unknown>;
}

/**
 * The engine's workflow side: what steps need from the appliance (the
 * StepHost: journal, inbox, events, child runs), the inbox and events
 * entry points, and what happens around parking and finishing (a wait
 * already satisfied wakes the run; a finished run closes its questions and
 * cancels children it still waited for). The Engine owns one and delegates.
 */
export class Workflows {
  readonly journal: StepJournal;
  readonly inbox: InboxStore;
  readonly events: EventLog;
  readonly host: StepHost;

  constructor(private readonly deps: WorkflowDeps) {
    this.journal = deps.journal ?? new MemoryStepJournal();
    this.inbox = deps.inbox ?? new MemoryInboxStore();
    this.events = deps.events ?? new MemoryEventLog();
    this.host = {
      journal: this.journal,
      inbox: this.inbox,
      clock: deps.clock,
      events: {
        since: (name, since) => this.events.since(name, since),
        // Through the engine's one event entry: jobs with `on: { event }` start too, and waiting runs wake.
        deliver: async (name, data, id) => void (await deps.emitEvent(name, data, id)),
      },
      children: {
        newRunId: () => deps.newRunId(),
        start: (parent, childId, job, input) => this.startChild(parent, childId, job, input),
        get: (id) => deps.store.runs.get(id),
      },
    };
  }

  /** A run's steps in call order, for the run page and GET /api/runs/:id. */
  async steps(run: Run): Promise<StepView[]> {
    return stepTimeline(await this.journal.load(run.id), isFinished(run));
  }

  /** Open inbox questions, oldest first. */
  listInbox(): Promise<InboxItem[]> {
    return this.inbox.listOpen();
  }

  /**
   * Answers an inbox question: validated against its choices and schema
   * (UsageError naming the field), on disk before this resolves, then the
   * waiting run wakes and its waitForInput returns the value.
   */
  async answerQuestion(id: string, value: unknown): Promise<InboxItem> {
    const answered = await answerQuestion(this.inbox, id, value, this.deps.clock.now());
    this.deps.logs.write(answered.runId, 'hearth', `inbox question ${id} (step ${answered.stepId}) answered`);
    this.deps.dispatcher.wake(answered.runId, { kind: 'input', id });
    return answered;
  }

  /**
   * An event arrived (Engine.sendEvent calls this for every new event): kept
   * in the event log (durable, deduplicated by `id`), then every parked run
   * waiting for it wakes. Returns the event's id and whether it was new.
   */
  async deliverEvent(name: string, data?: unknown, id: string = `ev_${randomUUID()}`): Promise<{ id: string; duplicate: boolean }> {
    const fresh = await this.events.append({ id, name, ...(data !== undefined ? { data } : {}), at: new Date(this.deps.clock.now()).toISOString() });
    if (!fresh) return { id, duplicate: true };
    // Only runs with a matching wait are touched: a wake writes the run, and most parked runs wait for something else.
    const waiting = this.deps.dispatcher.parkedRuns().filter((run) =>
      Object.values(run.tasks).some((task) => task.status === 'waiting' && task.wait?.kind === 'event' && task.wait.name === name && eventMatches(task.wait.match, data)));
    for (const run of waiting) this.deps.dispatcher.wake(run.id, { kind: 'event', name, data });
    return { id, duplicate: false };
  }

  /** step.invoke: the child run, created with the id the parent journaled (durable, queued). */
  private async startChild(parent: Run, childId: string, jobName: string, input: unknown): Promise<void> {
    const job = this.deps.job(jobName);
    if (!job) throw new StepError(`job "${jobName}" is not in the config`);
    if (jobName === parent.job && job.overlap !== 'allow') {
      throw new StepError(`a run of ${jobName} cannot invoke ${jobName} itself unless the job has overlap: allow (the child would wait for its parent forever)`);
    }
    // The engine's one way of making a run: input attached (a large one in its file), durable, then queued.
    await this.deps.createChild(job, { id: childId, parentRunId: parent.id, input });
  }

  /**
   * A run just parked (or was parked again after a restart): a wait that is
   * already satisfied (the answer came, an event, or the child finished,
   * while the run was still running or the appliance was down) wakes it now,
   * since its wake signal found no parked run to wake.
   */
  onParked(run: Run): void {
    void this.checkWaits(run).catch((error: unknown) =>
      this.deps.logger.warn('checking a parked run\'s wait failed', { runId: run.id, error: errorMessage(error) }));
  }

  private async checkWaits(run: Run): Promise<void> {
    const { dispatcher } = this.deps;
    for (const state of Object.values(run.tasks)) {
      const wait = state.status === 'waiting' ? state.wait : undefined;
      if (wait?.kind === 'input') {
        const item = await this.inbox.get(wait.id);
        if (item && item.status !== 'open') dispatcher.wake(run.id, { kind: 'input', id: wait.id });
      } else if (wait?.kind === 'event') {
        const since = Date.parse(run.startedAt ?? run.createdAt);
        const taken = takenEventIds(await this.journal.load(run.id));
        const arrived = (await this.events.since(wait.name, since)).find((event) => !taken.has(event.id) && eventMatches(wait.match, event.data));
        if (arrived) dispatcher.wake(run.id, { kind: 'event', name: wait.name, data: arrived.data });
      } else if (wait?.kind === 'children') {
        for (const childId of [...wait.runIds]) {
          const child = await this.deps.store.runs.get(childId);
          if (!child || isFinished(child)) dispatcher.wake(run.id, { kind: 'child', runId: childId });
        }
      }
    }
  }

  /**
   * A run finished: its parent (step.invoke) wakes; one that did not
   * succeed cancels the children it still waited for; its open questions
   * leave the inbox (except those asked to outlive it).
   */
  onFinished(run: Run): void {
    if (run.parentRunId) this.deps.dispatcher.wake(run.parentRunId, { kind: 'child', runId: run.id });
    const warn = (what: string) => (error: unknown) => this.deps.logger.warn(what, { runId: run.id, error: errorMessage(error) });
    if (run.status !== 'succeeded') void this.cancelChildren(run).catch(warn('cancelling the child runs of a finished run failed'));
    void this.closeQuestions(run).catch(warn('closing the questions of a finished run failed'));
  }

  private async closeQuestions(run: Run): Promise<void> {
    for (const item of await this.inbox.listOpen()) {
      if (item.runId === run.id && !item.outlivesRun) await this.inbox.expire(item.id, this.deps.clock.now());
    }
  }

  private async cancelChildren(run: Run): Promise<void> {
    for (const steps of foldJournal(await this.journal.load(run.id)).values()) {
      for (const step of steps.values()) {
        if (step.kind !== 'invoke' || step.done || !step.child || !this.deps.dispatcher.isActive(step.child)) continue;
        await this.deps.cancelRun(step.child).catch(() => {});
        this.deps.logger.info('child run cancelled with its parent', { runId: step.child, parent: run.id });
      }
    }
  }

  /** Deletes step journals of finished runs last written before `before` (with the run logs). */
  async prune(before: number): Promise<void> {
    await this.journal.prune({ before, isActive: (runId) => this.deps.dispatcher.isActive(runId) }).catch((error: unknown) => {
      this.deps.logger.warn('pruning old step journals failed', { error: errorMessage(error) });
    });
  }
}
