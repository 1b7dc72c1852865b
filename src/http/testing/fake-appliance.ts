import type { AppliancePort, EventReceipt, HealthView, IncomingEvent, JobView, LogSubscription, RunEvent, RunEventListener } from '../../engine/port.js';
import { ConflictError, NotFoundError } from '../../core/errors.js';
import { bufferLogReader, forEachLine, tailOffset, type LogReader } from '../../core/log-reader.js';
import { isActive } from '../../runs/model.js';
import { MemoryInboxStore, answerQuestion, type InboxItem } from '../../steps/inbox.js';
import type { StepView } from '../../steps/journal.js';
import type { Run, RunPage, RunQuery, RunStatus, Trigger } from '../../runs/model.js';
import { attentionView, type AttentionInputs, type AttentionView } from '../../engine/attention.js';

/**
 * An in-memory AppliancePort for tests of the HTTP API and the CLI. Tests
 * drive it directly: `appendLog` and `finishRun` play the engine's part, and
 * `onTrigger` decides what a triggered run does next.
 */
export class FakeAppliance implements AppliancePort {
  readonly jobs = new Map<string, JobView>();
  readonly runs = new Map<string, Run>();
  readonly logs = new Map<string, string[]>();
  readonly triggers: Array<{ job: string; trigger: Trigger; input?: unknown }> = [];
  /** Events received, and webhooks: `hooks` maps a hook name to its job and secret. */
  readonly events: IncomingEvent[] = [];
  readonly hooks = new Map<string, { job: string; secret: string }>();
  /** Jobs listening to each event name. */
  readonly listeners = new Map<string, string[]>();
  /** Open log subscriptions, to assert that they get closed. */
  readonly followers = new Set<{ runId: string; onLine: (line: string) => void | Promise<void>; onEnd: () => void }>();
  /** Called after a run is created by `triggerJob`; lets a test finish it at once. */
  onTrigger: (run: Run) => void = () => {};
  /** Makes every port call throw this (to test the 500 path). */
  failWith: unknown;
  readonly pauses: Array<{ job: string; paused: boolean }> = [];
  readonly runListeners = new Set<RunEventListener>();
  /** Questions: tests add them with `inbox.ask(...)`. */
  readonly inbox = new MemoryInboxStore();
  private sequence = 0;

  /** Merged into health(): a failed reload's `config.errors`, a `disk` reading. */
  healthOverrides: { config?: Partial<HealthView['config']>; disk?: HealthView['disk']; notify?: HealthView['notify'] } = {};

  /** What the engine's Watch would know (failing jobs, stuck runs, ...); questions are counted from `inbox`. */
  attentionFacts: Partial<Omit<AttentionInputs, 'questions'>> = {};

  async attention(): Promise<AttentionView> {
    this.maybeFail();
    const questions = (await this.inbox.listOpen()).length;
    return attentionView({ failing: [], stuck: [], overdue: [], appliance: [], ...this.attentionFacts, questions });
  }

  health(): HealthView {
    this.maybeFail();
    const { config, disk, notify } = this.healthOverrides;
    const base: HealthView = {
      status: 'ok',
      version: '0.1.0',
      startedAt: '2026-01-01T00:00:00.000Z',
      uptimeSeconds: 60,
      clock: { trusted: true, now: '2026-01-01T00:01:00.000Z' },
      config: { file: '/etc/hearth/hearth.yaml', loadedAt: '2026-01-01T00:00:00.000Z', jobs: this.jobs.size },
      runs: { queued: 0, running: this.countRuns('running'), waiting: 0 },
    };
    return { ...base, config: { ...base.config, ...config }, ...(disk ? { disk } : {}), ...(notify ? { notify } : {}) };
  }

  listJobNames(): Array<Pick<JobView, 'name' | 'description'>> {
    return [...this.jobs.values()].map((job) => (job.description ? { name: job.name, description: job.description } : { name: job.name }));
  }

  listJobs(): JobView[] {
    this.maybeFail();
    return [...this.jobs.values()];
  }

  getJob(name: string): JobView | undefined {
    this.maybeFail();
    return this.jobs.get(name);
  }

  async triggerJob(name: string, trigger: Extract<Trigger, 'manual' | 'api' | 'hook' | 'event'>, options: { input?: unknown } = {}): Promise<Run> {
    this.maybeFail();
    const job = this.jobs.get(name);
    if (!job) throw new NotFoundError('job', name);
    const active = [...this.runs.values()].some((run) => run.job === name && isActive(run));
    if (job.overlap === 'skip' && active) throw new ConflictError(`job "${name}" already has an active run`);
    this.triggers.push({ job: name, trigger, ...('input' in options ? { input: options.input } : {}) });
    const withInput = options.input === undefined ? {} : { input: options.input, inputBytes: JSON.stringify(options.input).length };
    const run = this.addRun({ job: name, trigger, status: 'queued', ...withInput });
    this.onTrigger(run);
    return this.runs.get(run.id) ?? run;
  }

  async listRuns(query: RunQuery): Promise<RunPage> {
    this.maybeFail();
    const limit = query.limit ?? 50;
    const matching = [...this.runs.values()]
      .filter((run) => !query.job || run.job === query.job)
      .filter((run) => !query.status || run.status === query.status)
      .filter((run) => !query.before || run.id < query.before)
      .sort((a, b) => (a.id < b.id ? 1 : -1));
    const runs = matching.slice(0, limit);
    const last = runs[runs.length - 1];
    return matching.length > limit && last ? { runs, nextBefore: last.id } : { runs };
  }

  async getRun(id: string): Promise<Run | undefined> {
    this.maybeFail();
    return this.runs.get(id);
  }

  async cancelRun(id: string): Promise<Run> {
    this.maybeFail();
    const run = this.runs.get(id);
    if (!run) throw new NotFoundError('run', id);
    if (!isActive(run)) throw new ConflictError(`run ${id} already ${run.status}`);
    const updated = { ...run, cancelRequested: true };
    this.runs.set(id, updated);
    return updated;
  }

  async readLog(id: string): Promise<string> {
    this.maybeFail();
    if (!this.runs.has(id)) throw new NotFoundError('run', id);
    return (this.logs.get(id) ?? []).map((line) => `${line}\n`).join('');
  }

  /** The log as bytes, served through the same chunked reader the engine's files use. */
  async openLog(id: string): Promise<LogReader> {
    return bufferLogReader(Buffer.from(await this.readLog(id)));
  }

  async followLog(
    id: string,
    onLine: (line: string) => void | Promise<void>,
    onEnd: () => void,
    options: { tail?: number } = {},
  ): Promise<LogSubscription> {
    this.maybeFail();
    const run = this.runs.get(id);
    if (!run) throw new NotFoundError('run', id);
    const existing = bufferLogReader(Buffer.from((this.logs.get(id) ?? []).map((line) => `${line}\n`).join('')));
    await forEachLine(existing, onLine, options.tail === undefined ? 0 : await tailOffset(existing, options.tail));
    if (!isActive(run)) {
      onEnd();
      return { close: () => {} };
    }
    const follower = { runId: id, onLine, onEnd };
    this.followers.add(follower);
    return { close: () => this.followers.delete(follower) };
  }

  async setPaused(job: string, paused: boolean): Promise<void> {
    this.maybeFail();
    const view = this.jobs.get(job);
    if (!view) throw new NotFoundError('job', job);
    if (view.schedule) view.schedule = { ...view.schedule, paused };
    this.pauses.push({ job, paused });
  }

  async retryRun(id: string): Promise<Run> {
    this.maybeFail();
    const original = this.runs.get(id);
    if (!original) throw new NotFoundError('run', id);
    if (isActive(original)) throw new ConflictError(`run ${id} is still ${original.status}`);
    // Like the engine: the new run keeps the original's input.
    const withInput = original.input === undefined ? {} : { input: original.input, inputBytes: original.inputBytes };
    return this.addRun({ job: original.job, trigger: 'retry', retryOf: id, ...withInput });
  }

  /** Steps by run id: tests set them. */
  readonly steps = new Map<string, StepView[]>();

  async runSteps(id: string): Promise<StepView[]> {
    this.maybeFail();
    if (!this.runs.has(id)) throw new NotFoundError('run', id);
    return this.steps.get(id) ?? [];
  }

  async listInbox(): Promise<InboxItem[]> {
    this.maybeFail();
    return this.inbox.listOpen();
  }

  async answerQuestion(id: string, value: unknown): Promise<InboxItem> {
    this.maybeFail();
    return answerQuestion(this.inbox, id, value, Date.parse('2026-03-01T12:00:00Z'));
  }

  /** Dedup by id in memory; one run per listening job. */
  private readonly seenEvents = new Map<string, EventReceipt>();

  async sendEvent(event: IncomingEvent): Promise<EventReceipt> {
    this.maybeFail();
    this.events.push(event);
    const seen = event.id === undefined ? undefined : this.seenEvents.get(event.id);
    if (seen) return { ...seen, duplicate: true };
    const runs: string[] = [];
    for (const job of this.listeners.get(event.name) ?? []) runs.push((await this.triggerJob(job, 'event', { input: event.data })).id);
    const receipt: EventReceipt = { eventId: event.id ?? `ev_${this.events.length}`, runs, skipped: [], duplicate: false };
    if (event.id !== undefined) this.seenEvents.set(event.id, receipt);
    return receipt;
  }

  checkHook(name: string, secret: string): 'ok' | 'wrong' | 'unknown' {
    const hook = this.hooks.get(name);
    if (!hook) return 'unknown';
    return hook.secret === secret ? 'ok' : 'wrong';
  }

  async triggerHook(name: string, input: unknown): Promise<Run> {
    const hook = this.hooks.get(name);
    if (!hook) throw new NotFoundError('hook', name);
    return this.triggerJob(hook.job, 'hook', { input });
  }

  onRunEvent(listener: RunEventListener): () => void {
    this.runListeners.add(listener);
    return () => this.runListeners.delete(listener);
  }

  // ---- test controls -------------------------------------------------------

  /** Plays the engine's part: tells run-event listeners about a change. */
  emitRunEvent(event: RunEvent): void {
    for (const listener of this.runListeners) listener(event);
  }

  addJob(job: Partial<JobView> & { name: string }): JobView {
    const view: JobView = { pool: 'default', overlap: 'skip', tasks: [], activeRuns: 0, ...job };
    this.jobs.set(view.name, view);
    return view;
  }

  addRun(fields: Partial<Run> & { job: string }): Run {
    const id = fields.id ?? `r_${(1_700_000_000_000 + this.sequence).toString(36).padStart(10, '0')}${(this.sequence++).toString(16).padStart(8, '0')}`;
    const run: Run = {
      id,
      status: 'queued',
      trigger: 'manual',
      occurrences: 1,
      createdAt: '2026-01-01T03:00:00.000Z',
      tasks: {},
      taskOrder: [],
      ...fields,
    };
    this.runs.set(id, run);
    return run;
  }

  appendLog(id: string, line: string): void {
    const lines = this.logs.get(id) ?? [];
    lines.push(line);
    this.logs.set(id, lines);
    for (const follower of this.followers) if (follower.runId === id) void follower.onLine(line);
  }

  finishRun(id: string, status: Extract<RunStatus, 'succeeded' | 'failed' | 'cancelled'>): void {
    const run = this.runs.get(id);
    if (!run) throw new NotFoundError('run', id);
    this.runs.set(id, { ...run, status, finishedAt: '2026-01-01T03:00:05.000Z' });
    for (const follower of [...this.followers]) {
      if (follower.runId !== id) continue;
      this.followers.delete(follower);
      follower.onEnd();
    }
  }

  private countRuns(status: RunStatus): number {
    return [...this.runs.values()].filter((run) => run.status === status).length;
  }

  private maybeFail(): void {
    if (this.failWith !== undefined) throw this.failWith;
  }
}
