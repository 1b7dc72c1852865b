import type { AppliancePort, EventReceipt, HealthView, IncomingEvent, JobView, LogSubscription, RunEventListener } from './port.js';
import type { Clock } from '../core/clock.js';
import type { LogReader } from '../core/log-reader.js';
import { ConflictError, InputGoneError, NotFoundError, UsageError, errorMessage } from '../core/errors.js';
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { EVENT_ID_RULE, EVENT_NAME_RULE, isEventId, isEventName } from '../core/event-names.js';
import { attachInput, readInput } from '../runs/run-input.js';
import { EventLedger } from './event-ledger.js';
import type { RunIdGenerator } from '../core/ids.js';
import type { Logger } from '../core/logger.js';
import type { HearthConfig, JobDef } from '../config/types.js';
import { retryView, shownTask } from '../config/redact.js';
import type { Run, RunPage, RunQuery, Trigger } from '../runs/model.js';
import { isActive } from '../runs/model.js';
import type { RunStore } from '../runs/store.js';
import type { PlannedRun } from '../schedule/catchup.js';
import type { Dispatcher } from '../pool/dispatcher.js';
import type { ExecutorDeps } from './executor.js';
import type { RunLogs } from './run-logs.js';
import { recoverInterruptedRun } from './recovery.js';
import { finishRunEarly, newRun } from '../runs/transitions.js';
import { DailyChores, pruneHistory, pruneInputFiles, pruneLogs } from './housekeeping.js';
import { healthView, jobView } from './views.js';
import type { Timer } from '../core/clock.js';
import type { Scheduler } from './scheduler.js';
import type { CompiledSchedules, ConfigRef, RunEventHub, RunReadModel } from './parts.js';
import type { InboxItem } from '../steps/inbox.js';
import type { StepView } from '../steps/journal.js';
import type { Workflows, WorkflowStores } from './workflows.js';
import { silentNotifications, type NotificationSink } from '../notify/types.js';
import type { ChannelStatus } from '../notify/notifier.js';
import { Watch, type PowerFlags } from './watch.js';
import type { AttentionView } from './attention.js';
import type { NextRunRecord } from './next-run-cache.js';

export interface EngineDeps extends Omit<ExecutorDeps, 'configDir' | 'killGraceMs' | 'steps' | 'runs'> {
  /** Where workflow steps, inbox questions and events are kept (default: in memory, for tests). */
  workflows?: WorkflowStores;
  config: HearthConfig;
  logs: RunLogs;
  logger: Logger;
  clock: Clock;
  store: RunStore;
  version: string;
  /** Kills a leftover process group from before a crash, if it still belongs to that run. */
  killOrphan?(pid: number | undefined, runId: string): void;
  /** Free space of the data directory's disk, for health() (a cached reading). */
  disk?(): HealthView['disk'];
  /** Where detectors publish what the person should be told (failure, recovery, stuck, missed, input, appliance); createEngine defaults it to silentNotifications. */
  notifications?: NotificationSink;
  /** The notification channels' delivery state, for health() (absent: no notify section). */
  notifyStatus?(): ChannelStatus[];
  /** A Raspberry Pi's under-voltage / throttling flags; undefined where nothing reports them. */
  power?(): Promise<PowerFlags | undefined>;
  /** The scheduler's next occurrences from the previous stop (next-run-cache.ts); recomputed where absent or stale. */
  knownNextRuns?: ReadonlyMap<string, NextRunRecord>;
}

/** What createEngine builds and wires around the engine; the engine drives them, it does not build them. */
export interface EngineParts {
  config: ConfigRef;
  runEvents: RunEventHub;
  ids: RunIdGenerator;
  schedules: CompiledSchedules;
  dispatcher: Dispatcher;
  scheduler: Scheduler;
  workflows: Workflows;
  /** The runs' read model for the synchronous views (job list), fed by the repository's change notifications. */
  readModel: RunReadModel;
}

interface ConfigProblem {
  errors: string[];
  failedAt: number;
}

/**
 * The appliance's engine: owns the job catalog, the scheduler and the worker
 * pool, and implements the port the HTTP API and CLI use.
 */
export class Engine implements AppliancePort {
  private readonly configRef: ConfigRef;
  private configLoadedAt: number;
  private configProblem: ConfigProblem | undefined;
  private readonly schedules: CompiledSchedules;
  private readonly scheduler: Scheduler;
  private readonly dispatcher: Dispatcher;
  private readonly startedAt: number;
  private stopped = false;
  private readonly ids: RunIdGenerator;
  private readonly chores: DailyChores;
  /** Set while recovered runs wait for the store to become writable again. */
  private recoveryRetry: Timer | undefined;
  /** Run-event listeners of this engine instance (the dashboard's fan-out, metrics). */
  private readonly runEvents: RunEventHub;
  private readonly workflows: Workflows;
  private readonly readModel: RunReadModel;
  private readonly eventLedger: EventLedger;
  /** Events with an id being accepted right now: a second POST of the same id waits for the first. */
  private readonly eventsInFlight = new Map<string, Promise<EventReceipt>>();
  /** Notices failures, stuck and missed runs, questions and appliance problems, and publishes them. */
  readonly watch: Watch;

  constructor(
    /** `store` here is the one the parts share (createEngine observes it for run events). */
    private readonly deps: EngineDeps,
    parts: EngineParts,
  ) {
    this.configRef = parts.config;
    this.runEvents = parts.runEvents;
    this.ids = parts.ids;
    this.schedules = parts.schedules;
    this.dispatcher = parts.dispatcher;
    this.scheduler = parts.scheduler;
    this.workflows = parts.workflows;
    this.readModel = parts.readModel;
    this.eventLedger = new EventLedger(deps.store);
    this.startedAt = deps.clock.now();
    this.configLoadedAt = this.startedAt;
    this.watch = new Watch({
      clock: deps.clock,
      logger: deps.logger,
      notifications: deps.notifications ?? silentNotifications,
      store: deps.store,
      jobs: () => this.config.jobs,
      openLog: (runId) => deps.logs.openReader(runId),
      readings: () => {
        const clock = this.scheduler.status();
        const disk = deps.disk?.();
        return { clockTrusted: clock.trusted, ...(clock.message ? { clockMessage: clock.message } : {}), ...(disk ? { disk } : {}) };
      },
      ...(deps.power ? { power: deps.power } : {}),
    });
    this.runEvents.subscribe((event) => {
      if (event.type !== 'finished') this.watch.onRunChanged(event.run);
    });
    // The chores call this engine's methods at each pass (tests may replace one).
    this.chores = new DailyChores({
      clock: deps.clock,
      logger: deps.logger,
      chores: [
        { name: 'logs', run: () => this.pruneLogs() },
        { name: 'history', run: () => this.pruneHistory() },
        { name: 'inputs', run: () => this.pruneInputs() },
        // Event ids older than 24 hours leave state.json even when no new event comes to push them out.
        { name: 'event-ids', run: async () => this.eventLedger.prune(this.deps.clock.now()) },
      ],
    });
  }

  /** The config in force (shared with the dispatcher, scheduler and workflows; replaced on reload). */
  private get config(): HearthConfig {
    return this.configRef.current;
  }

  /** Completed scheduler passes so far: the systemd watchdog's proof of life (see Scheduler.completedPasses). */
  schedulerPasses(): number {
    return this.scheduler.completedPasses();
  }

  /** Recovers runs from before the last stop or crash, then starts scheduling. */
  async start(): Promise<void> {
    await this.watch.start();
    const toResume: Run[] = [];
    const runs = this.deps.store.runs;
    await this.readModel.seed(runs, Object.keys(this.config.jobs));
    const active = await runs.active();
    // The queue already holds the runs stored as queued: none starts before the recovery is on disk.
    this.dispatcher.holdBack(active.map((run) => run.id));
    for (const run of active) {
      const recovered = recoverInterruptedRun(run, this.deps.clock.now(), (pid) => this.deps.killOrphan?.(pid, run.id));
      if (recovered.failed !== undefined) {
        // A task that keeps taking the appliance down with it is not resumed again.
        await runs.save(run, 'recovered');
        this.deps.logs.write(run.id, 'hearth', `appliance restarted; run failed: ${recovered.failed}`);
        await this.deps.logs.finish(run.id);
        this.onRunFinished(run);
        continue;
      }
      if (recovered.resumedTasks.length) {
        this.deps.logs.write(run.id, 'hearth', `appliance restarted; resuming (${recovered.resumedTasks.join(', ')} will run again)`);
        this.deps.logger.info('resuming interrupted run', { runId: run.id, job: run.job, tasks: recovered.resumedTasks });
      }
      await runs.save(run, 'recovered');
      if (run.cancelRequested) await this.finishCancelledBeforeCrash(run);
      else toResume.push(run);
    }
    await this.resumeRecovered(toResume);
    this.scheduler.setJobs(Object.values(this.config.jobs));
    this.scheduler.start();
    this.chores.start(60_000);
    await this.watch.check();
  }

  /** Deletes history months older than `history.keepRuns` (a daily chore). */
  pruneHistory(): Promise<string[]> {
    return pruneHistory(this.deps.store, { now: this.deps.clock.now(), retentionMs: this.config.historyRetentionMs, logger: this.deps.logger });
  }

  /** Deletes run logs and step journals older than `history.keepLogs` (a daily chore). */
  pruneLogs(): Promise<number> {
    return pruneLogs(this.deps.logs.directory, {
      ...this.logRetention(),
      pruneJournals: (before) => this.workflows.prune(before),
      packs: this.deps.logs,
    });
  }

  /** Deletes run input files with the same retention as the logs (a daily chore). */
  pruneInputs(): Promise<number> {
    return pruneInputFiles(this.deps.dataDir, this.logRetention());
  }

  private logRetention() {
    return {
      now: this.deps.clock.now(),
      retentionMs: this.config.logRetentionMs,
      logger: this.deps.logger,
      isActive: (runId: string) => this.dispatcher.isActive(runId),
    };
  }

  /**
   * Hands recovered runs to the pool once their recovery is on disk. If it
   * cannot be written (a full SD card), Hearth still starts and serves; the
   * runs wait, and the write is tried again every 30 s.
   */
  private async resumeRecovered(runs: Run[]): Promise<void> {
    if (this.stopped) return;
    try {
      await this.deps.store.runs.flush();
    } catch (error) {
      this.deps.logger.error('cannot write the run state (disk full?); recovered runs wait until it can be written', {
        runs: runs.length,
        error: errorMessage(error),
      });
      this.recoveryRetry = this.deps.clock.setTimer(30_000, () => void this.resumeRecovered(runs));
      return;
    }
    this.recoveryRetry = undefined;
    if (this.stopped) return;
    this.dispatcher.releaseHeld();
    const queued: Run[] = [];
    for (const run of runs) {
      if (run.status === 'waiting') this.dispatcher.park(run);
      else queued.push(run);
    }
    await Promise.all(queued.map((run) => this.dispatcher.enqueue(run)));
  }

  /** A cancel was requested just before a crash: honour it instead of resuming. */
  private async finishCancelledBeforeCrash(run: Run): Promise<void> {
    finishRunEarly(run, 'cancelled', 'cancelled by request', this.deps.clock.now());
    // Written with the other recovered runs (resumeRecovered flushes them), so a full disk does not stop the start.
    await this.deps.store.runs.save(run, 'recovered');
    this.deps.logs.write(run.id, 'hearth', 'run cancelled (the cancel was requested before a restart)');
    await this.deps.logs.finish(run.id);
  }

  /** The scheduler's next occurrences, for the next start (next-run-cache.ts). */
  nextRunRecords(): Map<string, NextRunRecord> {
    return this.scheduler.nextRunRecords();
  }

  /** Next occurrences still to be computed, and computed so far (the scheduler computes them lazily). */
  nextRunWork(): { pending: number; computed: number } {
    return this.scheduler.nextRunWork();
  }

  /** Stops scheduling and interrupts running runs so they resume on the next start. Idempotent. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.chores.stop();
    this.watch.stop();
    this.recoveryRetry?.cancel();
    const results = await Promise.allSettled([this.scheduler.stop(), this.dispatcher.shutdown()]);
    await this.deps.logs.closeAll();
    for (const result of results) {
      if (result.status === 'rejected') this.deps.logger.error('error while stopping', { error: errorMessage(result.reason) });
    }
  }

  /** A valid config replaces the catalog; runs already started keep the definition they started with. */
  reload(config: HearthConfig): void {
    this.configRef.current = config;
    this.configLoadedAt = this.deps.clock.now();
    this.configProblem = undefined;
    this.scheduler.setJobs(Object.values(config.jobs));
    // Jobs the reload added: their runs (from an earlier config) reach the read model in the background.
    void this.readModel.seed(this.deps.store.runs, Object.keys(config.jobs)).catch((error: unknown) =>
      this.deps.logger.warn('reading the runs of new jobs failed', { error: errorMessage(error) }));
    void this.dispatcher.pump();
    this.watch.configProblem(undefined);
    this.watch.jobsChanged();
  }

  /** An invalid config: the previous catalog keeps running; the errors are visible in the API. */
  reloadFailed(errors: string[]): void {
    this.configProblem = { errors, failedAt: this.deps.clock.now() };
    this.watch.configProblem(errors);
  }

  async setPaused(job: string, paused: boolean): Promise<void> {
    if (!this.config.jobs[job]) throw new NotFoundError('job', job);
    this.scheduler.setPaused(job, paused);
    await this.deps.store.flush();
  }

  onRunEvent(listener: RunEventListener): () => void {
    return this.runEvents.subscribe(listener);
  }

  /** For tests and benchmarks: run one scheduler pass now. */
  tickScheduler(): Promise<void> {
    return this.scheduler.tick();
  }

  health(): HealthView {
    return this.withNotify(healthView({
      now: this.deps.clock.now(),
      startedAt: this.startedAt,
      version: this.deps.version,
      clock: this.scheduler.status(),
      config: { file: this.config.file, loadedAt: this.configLoadedAt, jobs: Object.keys(this.config.jobs).length },
      ...(this.configProblem ? { configProblem: this.configProblem } : {}),
      runs: this.dispatcher.counts(),
      ...withDisk(this.deps.disk?.()),
    }));
  }

  /** health() plus the channels' delivery state when notifications are configured. */
  private withNotify(health: HealthView): HealthView {
    const channels = this.config.notify ? this.deps.notifyStatus?.() : undefined;
    return channels ? { ...health, notify: { channels } } : health;
  }

  async attention(): Promise<AttentionView> {
    return this.watch.attention((await this.listInbox()).length);
  }

  /** A workflow asked a question (the inbox store, observed by createEngine). */
  onQuestion(item: InboxItem): void {
    this.watch.onQuestion(item);
  }

  listJobs(): JobView[] {
    return Object.values(this.config.jobs).map((job) => this.jobView(job));
  }

  listJobNames(): Array<Pick<JobView, 'name' | 'description'>> {
    return Object.values(this.config.jobs).map((job) => (job.description ? { name: job.name, description: job.description } : { name: job.name }));
  }

  getJob(name: string): JobView | undefined {
    const job = this.config.jobs[name];
    return job ? this.jobView(job) : undefined;
  }

  async triggerJob(name: string, trigger: Extract<Trigger, 'manual' | 'api'>, options: { input?: unknown } = {}): Promise<Run> {
    const job = this.config.jobs[name];
    if (!job) throw new NotFoundError('job', name);
    this.refuseOverlap(job);
    return this.createRun(job, { trigger, occurrences: 1, input: options.input });
  }

  private refuseOverlap(job: JobDef): void {
    const reason = this.overlapReason(job);
    if (reason) throw new ConflictError(`job ${job.name} ${reason}`);
  }

  private overlapReason(job: JobDef): string | undefined {
    const active = job.overlap === 'skip' ? this.dispatcher.activeRunsOf(job.name) : [];
    return active.length > 0 ? `already has an active run (${active[0]!.id}, ${active[0]!.status}); its overlap policy is skip` : undefined;
  }

  async sendEvent(event: IncomingEvent): Promise<EventReceipt> {
    if (!isEventName(event.name)) throw new UsageError(`invalid event name: ${EVENT_NAME_RULE}`);
    if (event.id === undefined) return this.acceptEvent(event, `ev_${this.deps.clock.now().toString(36)}${randomBytes(6).toString('hex')}`);
    if (!isEventId(event.id)) throw new UsageError(`invalid event id: ${EVENT_ID_RULE}`);
    const id = event.id;
    const inFlight = this.eventsInFlight.get(id);
    if (inFlight) return { ...(await inFlight), duplicate: true };
    const seen = this.eventLedger.find(id, this.deps.clock.now());
    if (seen) {
      this.deps.logger.info('duplicate event ignored', { event: event.name, eventId: id, runs: seen.runs });
      return { eventId: id, runs: seen.runs, skipped: seen.skipped, duplicate: true };
    }
    const accepting = this.acceptEvent(event, id, true);
    this.eventsInFlight.set(id, accepting);
    try {
      return await accepting;
    } finally {
      this.eventsInFlight.delete(id);
    }
  }

  /**
   * Creates one run per job listening to the event. The runs and the event's
   * id go to the store in one write batch (inserted in the same tick), so a
   * crash keeps both or neither; all of it is on disk before this resolves.
   */
  private async acceptEvent(event: IncomingEvent, eventId: string, remember = false): Promise<EventReceipt> {
    // Workflows waiting for it first (kept in the event log, deduplicated by id there too): if the runs below
    // cannot be written, a retry with the same id creates them without waking anyone twice.
    await this.workflows.deliverEvent(event.name, event.data, eventId);
    const now = this.deps.clock.now();
    const skipped: EventReceipt['skipped'] = [];
    const runs: Run[] = [];
    const eventRef = { name: event.name, id: eventId };
    for (const job of Object.values(this.config.jobs)) {
      if (!job.on?.events.includes(event.name)) continue;
      const reason = this.overlapReason(job);
      if (reason) {
        skipped.push({ job: job.name, reason });
        continue;
      }
      runs.push(await this.prepareRun(job, { trigger: 'event', occurrences: 1, input: event.data, event: eventRef }));
    }
    // From here to the inserts nothing awaits: the runs and the id share one write batch.
    const inserts = runs.map((run) => this.deps.store.runs.insert(run));
    const undo = remember ? this.eventLedger.remember(eventId, { at: now, name: event.name, runs: runs.map((r) => r.id), skipped }) : undefined;
    try {
      await Promise.all(inserts);
      if (runs.length === 0 && undo) await this.deps.store.flush();
    } catch (error) {
      undo?.();
      throw error;
    }
    await Promise.all(runs.map((run) => this.dispatcher.enqueue(run)));
    const fields = { event: event.name, eventId, runs: runs.map((r) => r.id), ...(skipped.length ? { skipped } : {}) };
    if (runs.length === 0 && skipped.length === 0) this.deps.logger.info('event accepted; no job listens to it', fields);
    else this.deps.logger.info('event accepted', fields);
    return { eventId, runs: runs.map((r) => r.id), skipped, duplicate: false };
  }

  checkHook(name: string, secret: string): 'ok' | 'wrong' | 'unknown' {
    const hook = this.config.hooks?.[name];
    if (!hook) return 'unknown';
    // Digests have equal length, so the comparison takes the same time whatever the guess.
    const digest = (text: string) => createHash('sha256').update(text).digest();
    return timingSafeEqual(digest(secret), digest(hook.secret)) ? 'ok' : 'wrong';
  }

  async triggerHook(name: string, input: unknown): Promise<Run> {
    const hook = this.config.hooks?.[name];
    if (!hook) throw new NotFoundError('hook', name);
    const job = this.config.jobs[hook.job];
    if (!job) throw new NotFoundError('job', hook.job);
    this.refuseOverlap(job);
    return this.createRun(job, { trigger: 'hook', occurrences: 1, input, hook: name });
  }

  /** Re-runs a finished run's job as a new run with trigger `retry`. */
  async retryRun(id: string): Promise<Run> {
    const original = await this.deps.store.runs.get(id);
    if (!original) throw new NotFoundError('run', id);
    if (isActive(original)) throw new ConflictError(`run ${id} is still ${original.status}`);
    const job = this.config.jobs[original.job];
    if (!job) throw new NotFoundError('job', original.job);
    let input: unknown;
    try {
      input = await readInput(original, this.deps.dataDir);
    } catch (error) {
      if (error instanceof InputGoneError) throw new ConflictError(`cannot retry run ${id}: ${error.message}`, { cause: error });
      throw error;
    }
    return this.createRun(job, {
      trigger: 'retry',
      occurrences: 1,
      retryOf: id,
      input,
      ...(original.scheduledFor ? { scheduledFor: original.scheduledFor } : {}),
    });
  }

  listRuns(query: RunQuery): Promise<RunPage> {
    return this.deps.store.runs.list(query);
  }

  getRun(id: string): Promise<Run | undefined> {
    return this.deps.store.runs.get(id);
  }

  async cancelRun(id: string): Promise<Run> {
    const run = await this.dispatcher.cancel(id);
    if (run.status === 'cancelled') {
      this.deps.logs.write(run.id, 'hearth', 'run cancelled before it started');
      await this.deps.logs.finish(run.id);
    } else {
      this.deps.logs.write(run.id, 'hearth', 'cancel requested; stopping tasks');
    }
    return run;
  }

  async readLog(id: string): Promise<string> {
    await this.requireRun(id);
    return this.deps.logs.read(id);
  }

  async openLog(id: string): Promise<LogReader> {
    await this.requireRun(id);
    return this.deps.logs.openReader(id);
  }

  async followLog(
    id: string,
    onLine: (line: string) => void | Promise<void>,
    onEnd: () => void,
    options: { tail?: number } = {},
  ): Promise<LogSubscription> {
    const run = await this.requireRun(id);
    return this.deps.logs.follow(id, isActive(run), onLine, onEnd, options);
  }

  private async requireRun(id: string): Promise<Run> {
    const run = await this.deps.store.runs.get(id);
    if (!run) throw new NotFoundError('run', id);
    return run;
  }

  /**
   * Creates the runs one planning pass produced for a job. `overlap: skip` is
   * checked once, against runs from before this pass, so `catchup: all` still
   * creates every planned run (the pool then runs them one at a time).
   */
  async submitScheduled(job: JobDef, planned: PlannedRun[]): Promise<void> {
    const active = job.overlap === 'skip' ? this.dispatcher.activeRunsOf(job.name) : [];
    if (active.length > 0) {
      const scheduledFor = planned.map((p) => new Date(p.scheduledFor).toISOString());
      this.deps.logger.warn('occurrence skipped: previous run still active', { job: job.name, scheduledFor, activeRun: active[0]!.id });
      this.watch.onSkipped(job.name, active[0]!, planned.reduce((sum, p) => sum + p.occurrences, 0));
      return;
    }
    // Ids are taken synchronously in order, so the runs sort oldest occurrence first.
    await Promise.all(
      planned.map((p) =>
        this.createRun(job, { trigger: p.trigger, occurrences: p.occurrences, scheduledFor: new Date(p.scheduledFor).toISOString() }),
      ),
    );
  }

  /** Creates a run (durable) and hands it to the pool; also the step.invoke child runs (see createEngine). */
  async createRun(job: JobDef, options: RunOptions): Promise<Run> {
    const run = await this.prepareRun(job, options);
    // Durable before it is acknowledged or started.
    await this.deps.store.runs.insert(run);
    this.deps.logger.info('run queued', { runId: run.id, job: job.name, trigger: run.trigger, scheduledFor: run.scheduledFor });
    await this.dispatcher.enqueue(run);
    return run;
  }

  async runSteps(id: string): Promise<StepView[]> {
    return this.workflows.steps(await this.requireRun(id));
  }

  listInbox(): Promise<InboxItem[]> {
    return this.workflows.listInbox();
  }

  answerQuestion(id: string, value: unknown): Promise<InboxItem> {
    return this.workflows.answerQuestion(id, value);
  }

  /** An event for workflows' step.waitForEvent (see Workflows.deliverEvent). */
  deliverEvent(name: string, data?: unknown, id?: string): Promise<{ id: string; duplicate: boolean }> {
    return this.workflows.deliverEvent(name, data, id);
  }

  /** A new run, not stored yet; a large input is written to its file first. */
  private async prepareRun(job: JobDef, options: RunOptions): Promise<Run> {
    const now = this.deps.clock.now();
    const run = newRun({ id: options.id ?? this.ids.next(now), job: job.name, tasks: job.tasks.map((t) => t.name), ...options }, now);
    await attachInput(run, options.input, this.deps.dataDir);
    return run;
  }

  /** A run reached its final status (the dispatcher, or recovery at start). */
  onRunFinished(run: Run): void {
    this.workflows.onFinished(run);
    this.runEvents.emit({ type: 'finished', run });
    this.watch.onRunFinished(run);
    const fields = { runId: run.id, job: run.job, status: run.status, error: run.error };
    if (run.status === 'failed') this.deps.logger.warn('run failed', fields);
    else this.deps.logger.info(`run ${run.status}`, fields);
  }

  private jobView(job: JobDef): JobView {
    const last = this.readModel.lastRun(job.name);
    const scheduleState = this.deps.store.getSchedule(job.name);
    const nextRun = job.schedule ? this.scheduler.nextRun(job.name) : undefined;
    return jobView(job, {
      ...(last ? { lastRun: last } : {}),
      ...(scheduleState ? { scheduleState } : {}),
      ...(nextRun !== undefined ? { nextRun } : {}),
      activeRuns: this.dispatcher.activeRunsOf(job.name).length,
      ...(this.config.hooks ? { hooks: this.config.hooks } : {}),
      ...withAttention(this.watch.jobAttention(job.name)),
      describeSchedule: () => this.schedules.of(job).describe(),
    });
  }
}

export interface RunOptions {
  trigger: Trigger;
  occurrences: number;
  scheduledFor?: string;
  retryOf?: string;
  /** The run's input; undefined for none. */
  input?: unknown;
  event?: Run['event'];
  hook?: string;
  /** A run id chosen in advance (a workflow journals its child's id before creating it); default: a new one. */
  id?: string;
  /** The workflow run that invoked this one (trigger `invoke`). */
  parentRunId?: string;
}

function withAttention(attention: JobView['attention']): { attention?: JobView['attention'] } {
  return attention ? { attention } : {};
}

function withDisk(disk: HealthView['disk']): Pick<HealthView, 'disk'> {
  return disk ? { disk } : {};
}
