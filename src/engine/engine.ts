import type { AppliancePort, EventReceipt, HealthView, IncomingEvent, JobView, LogSubscription, RunEvent, RunEventListener } from '../core/appliance.js';
import type { Clock } from '../core/clock.js';
import type { LogReader } from '../core/log-reader.js';
import { ConflictError, InputGoneError, NotFoundError, ShutdownError, UsageError, errorMessage } from '../core/errors.js';
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { EVENT_ID_RULE, EVENT_NAME_RULE, isEventId, isEventName } from '../core/event-names.js';
import { attachInput, pruneInputs, readInput } from '../runs/run-input.js';
import { EventLedger } from './event-ledger.js';
import { RunIdGenerator } from '../core/ids.js';
import { formatDuration } from '../core/durations.js';
import { dirname } from 'node:path';
import type { Logger } from '../core/logger.js';
import type { HearthConfig, JobDef } from '../config/types.js';
import { retryView, shownTask } from '../config/redact.js';
import type { Run, RunPage, RunQuery, Trigger } from '../runs/model.js';
import { isActive } from '../runs/model.js';
import type { RunStore } from '../runs/store.js';
import { compileSchedule, formatInZone, type Schedule } from '../schedule/index.js';
import type { PlannedRun } from '../schedule/catchup.js';
import { Dispatcher } from '../pool/dispatcher.js';
import type { ExecutorDeps } from './executor.js';
import { executeRun } from './executor.js';
import type { RunLogs } from './run-logs.js';
import { recoverInterruptedRun } from './recovery.js';
import { finishRunEarly, newRun } from '../runs/transitions.js';
import { pruneRunLogs } from './log-retention.js';
import type { Timer } from '../core/clock.js';
import { Scheduler } from './scheduler.js';
import type { InboxItem } from '../steps/inbox.js';
import type { StepView } from '../steps/journal.js';
import { Workflows, type WorkflowStores } from './workflows.js';

export interface EngineDeps extends Omit<ExecutorDeps, 'configDir' | 'killGraceMs' | 'steps'> {
  /** Where workflow steps, inbox questions and events are kept (default: in memory, for tests). */
  workflows?: WorkflowStores;
  config: HearthConfig;
  logs: RunLogs;
  logger: Logger;
  clock: Clock;
  store: RunStore;
  version: string;
  /** Kills a leftover process group from before a crash, if it still belongs to that run. */
  killOrphan?(pid: number, runId: string): void;
  /** Free space of the data directory's disk, for health() (a cached reading). */
  disk?(): HealthView['disk'];
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
  private config: HearthConfig;
  private configLoadedAt: number;
  private configProblem: ConfigProblem | undefined;
  private readonly schedules = new Map<string, { key: string; schedule: Schedule }>();
  private readonly scheduler: Scheduler;
  private readonly dispatcher: Dispatcher;
  private readonly startedAt: number;
  private stopped = false;
  private readonly ids = new RunIdGenerator();
  private maintenance: Timer | undefined;
  /** Set while recovered runs wait for the store to become writable again. */
  private recoveryRetry: Timer | undefined;
  private readonly choresRunning = new Set<string>();
  /** Run-event listeners of this engine instance (the dashboard's fan-out, metrics). */
  private readonly runListeners = new Set<RunEventListener>();
  private readonly workflows: Workflows;
  private readonly eventLedger: EventLedger;
  /** Events with an id being accepted right now: a second POST of the same id waits for the first. */
  private readonly eventsInFlight = new Map<string, Promise<EventReceipt>>();

  constructor(private readonly deps: EngineDeps) {
    // Every run change goes through the store, so observing it there tells listeners about all of them.
    this.deps = { ...deps, store: observeRunChanges(deps.store, (type, run) => this.emitRunEvent({ type, run })) };
    deps = this.deps;
    this.config = deps.config;
    this.eventLedger = new EventLedger(deps.store);
    this.startedAt = deps.clock.now();
    this.configLoadedAt = this.startedAt;
    this.dispatcher = new Dispatcher({
      clock: deps.clock,
      logger: deps.logger,
      store: deps.store,
      pools: () => this.config.pools,
      job: (name) => this.config.jobs[name],
      execute: (run, job, stop) => executeRun(run, job, this.executorDeps(), stop),
      shutdownReason: () => new ShutdownError('appliance shutting down'),
      onFinished: (run) => this.onRunFinished(run),
      onParked: (run) => this.workflows.onParked(run),
    });
    this.workflows = new Workflows({
      ...deps.workflows,
      emitEvent: (name, data, id) => this.sendEvent({ name, ...(data !== undefined ? { data } : {}), id }),
      createChild: (job, child) => this.createRun(job, { trigger: 'invoke', occurrences: 1, ...child }),
      clock: deps.clock,
      store: deps.store,
      logs: deps.logs,
      logger: deps.logger,
      dispatcher: this.dispatcher,
      job: (name) => this.config.jobs[name],
      newRunId: () => this.ids.next(this.deps.clock.now()),
      cancelRun: (id) => this.cancelRun(id),
    });
    this.scheduler = new Scheduler({
      clock: deps.clock,
      store: deps.store,
      logger: deps.logger.child({ component: 'scheduler' }),
      compile: (job) => this.scheduleOf(job),
      submit: (job, planned) => this.submitScheduled(job, planned),
    });
  }

  /** Completed scheduler passes so far: the systemd watchdog's proof of life (see Scheduler.completedPasses). */
  schedulerPasses(): number {
    return this.scheduler.completedPasses();
  }

  /** Recovers runs from before the last stop or crash, then starts scheduling. */
  async start(): Promise<void> {
    const toResume: Run[] = [];
    for (const run of this.deps.store.activeRuns()) {
      const recovered = recoverInterruptedRun(run, this.deps.clock.now(), (pid) => this.deps.killOrphan?.(pid, run.id));
      if (recovered.failed !== undefined) {
        // A task that keeps taking the appliance down with it is not resumed again.
        this.deps.store.updateRun(run);
        this.deps.logs.write(run.id, 'hearth', `appliance restarted; run failed: ${recovered.failed}`);
        await this.deps.logs.finish(run.id);
        this.onRunFinished(run);
        continue;
      }
      if (recovered.resumedTasks.length) {
        this.deps.logs.write(run.id, 'hearth', `appliance restarted; resuming (${recovered.resumedTasks.join(', ')} will run again)`);
        this.deps.logger.info('resuming interrupted run', { runId: run.id, job: run.job, tasks: recovered.resumedTasks });
      }
      this.deps.store.updateRun(run);
      if (run.cancelRequested) await this.finishCancelledBeforeCrash(run);
      else toResume.push(run);
    }
    await this.resumeRecovered(toResume);
    this.scheduler.setJobs(Object.values(this.config.jobs));
    this.scheduler.start();
    this.scheduleMaintenance(60_000);
  }

  /**
   * Daily housekeeping (first pass a minute after start, off the start-up
   * path). The next day is armed when the timer fires, not when the chores
   * finish: a prune stuck on a failing SD card must not end housekeeping for
   * good. A chore whose previous pass still runs is skipped that day.
   */
  private scheduleMaintenance(delayMs: number): void {
    this.maintenance = this.deps.clock.setTimer(delayMs, () => {
      if (this.stopped) return;
      this.scheduleMaintenance(86_400_000);
      this.runChore('logs', () => this.pruneLogs());
      this.runChore('history', () => this.pruneHistory());
      this.runChore('inputs', () => this.pruneInputs());
      // Event ids older than 24 hours leave state.json even when no new event comes to push them out.
      this.runChore('event-ids', async () => this.eventLedger.prune(this.deps.clock.now()));
    });
  }

  private runChore(name: string, chore: () => Promise<unknown>): void {
    if (this.choresRunning.has(name)) {
      this.deps.logger.warn('housekeeping skipped: the previous pass is still running', { chore: name });
      return;
    }
    this.choresRunning.add(name);
    void chore().finally(() => this.choresRunning.delete(name));
  }

  /**
   * Deletes history months older than `history.keepRuns`: a job every minute
   * files ~1.4 MB of history a day, which an SD card should not keep forever.
   */
  async pruneHistory(): Promise<string[]> {
    const retentionMs = this.config.historyRetentionMs;
    const months = await this.deps.store.pruneHistory(this.deps.clock.now() - retentionMs).catch((error: unknown) => {
      this.deps.logger.warn('pruning old run history failed', { error: errorMessage(error) });
      return [] as string[];
    });
    if (months.length > 0) this.deps.logger.info('old run history deleted', { months, olderThanDays: Math.round(retentionMs / 86_400_000) });
    return months;
  }

  async pruneLogs(): Promise<number> {
    const removed = await pruneRunLogs(this.deps.logs.directory, {
      now: this.deps.clock.now(),
      retentionMs: this.config.logRetentionMs,
      isActive: (runId) => this.dispatcher.isActive(runId),
    }).catch((error: unknown) => {
      this.deps.logger.warn('pruning old run logs failed', { error: errorMessage(error) });
      return 0;
    });
    await this.workflows.prune(this.deps.clock.now() - this.config.logRetentionMs);
    if (removed > 0) this.deps.logger.info('old run logs deleted', { removed, olderThanDays: Math.round(this.config.logRetentionMs / 86_400_000) });
    return removed;
  }

  /** Deletes run input files (HEARTH_INPUT_FILE, large inputs) with the same retention as the logs. */
  async pruneInputs(): Promise<number> {
    const removed = await pruneInputs(this.deps.dataDir, {
      now: this.deps.clock.now(),
      retentionMs: this.config.logRetentionMs,
      isActive: (runId) => this.dispatcher.isActive(runId),
    }).catch((error: unknown) => {
      this.deps.logger.warn('pruning old run inputs failed', { error: errorMessage(error) });
      return 0;
    });
    if (removed > 0) this.deps.logger.info('old run inputs deleted', { removed });
    return removed;
  }

  /**
   * Hands recovered runs to the pool once their recovery is on disk. If it
   * cannot be written (a full SD card), Hearth still starts and serves; the
   * runs wait, and the write is tried again every 30 s.
   */
  private async resumeRecovered(runs: Run[]): Promise<void> {
    if (this.stopped) return;
    try {
      await this.deps.store.flush();
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
    for (const run of runs) {
      if (run.status === 'waiting') this.dispatcher.park(run);
      else this.dispatcher.enqueue(run);
    }
  }

  /** A cancel was requested just before a crash: honour it instead of resuming. */
  private async finishCancelledBeforeCrash(run: Run): Promise<void> {
    finishRunEarly(run, 'cancelled', 'cancelled by request', this.deps.clock.now());
    this.deps.store.updateRun(run);
    this.deps.logs.write(run.id, 'hearth', 'run cancelled (the cancel was requested before a restart)');
    await this.deps.logs.finish(run.id);
  }

  /** Stops scheduling and interrupts running runs so they resume on the next start. Idempotent. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.maintenance?.cancel();
    this.recoveryRetry?.cancel();
    const results = await Promise.allSettled([this.scheduler.stop(), this.dispatcher.shutdown()]);
    await this.deps.logs.closeAll();
    for (const result of results) {
      if (result.status === 'rejected') this.deps.logger.error('error while stopping', { error: errorMessage(result.reason) });
    }
  }

  /** A valid config replaces the catalog; runs already started keep the definition they started with. */
  reload(config: HearthConfig): void {
    this.config = config;
    this.configLoadedAt = this.deps.clock.now();
    this.configProblem = undefined;
    this.scheduler.setJobs(Object.values(config.jobs));
    this.dispatcher.pump();
  }

  /** An invalid config: the previous catalog keeps running; the errors are visible in the API. */
  reloadFailed(errors: string[]): void {
    this.configProblem = { errors, failedAt: this.deps.clock.now() };
  }

  async setPaused(job: string, paused: boolean): Promise<void> {
    if (!this.config.jobs[job]) throw new NotFoundError('job', job);
    this.scheduler.setPaused(job, paused);
    await this.deps.store.flush();
  }

  onRunEvent(listener: RunEventListener): () => void {
    this.runListeners.add(listener);
    return () => this.runListeners.delete(listener);
  }

  private emitRunEvent(event: RunEvent): void {
    for (const listener of this.runListeners) {
      try {
        listener(event);
      } catch (error) {
        this.deps.logger.error('run event listener failed', { runId: event.run.id, error: errorMessage(error) });
      }
    }
  }

  /** For tests and benchmarks: run one scheduler pass now. */
  tickScheduler(): Promise<void> {
    return this.scheduler.tick();
  }

  health(): HealthView {
    const now = this.deps.clock.now();
    const clock = this.scheduler.status();
    return {
      status: 'ok',
      version: this.deps.version,
      startedAt: new Date(this.startedAt).toISOString(),
      uptimeSeconds: Math.floor((now - this.startedAt) / 1000),
      clock: {
        trusted: clock.trusted,
        now: new Date(now).toISOString(),
        ...(clock.lastSeen !== undefined ? { lastSeen: new Date(clock.lastSeen).toISOString() } : {}),
        ...(clock.message ? { message: clock.message } : {}),
      },
      config: {
        file: this.config.file,
        loadedAt: new Date(this.configLoadedAt).toISOString(),
        jobs: Object.keys(this.config.jobs).length,
        ...(this.configProblem
          ? { errors: this.configProblem.errors, failedAt: new Date(this.configProblem.failedAt).toISOString() }
          : {}),
      },
      runs: this.dispatcher.counts(),
      ...withDisk(this.deps.disk?.()),
    };
  }

  listJobs(): JobView[] {
    return Object.values(this.config.jobs).map((job) => this.jobView(job));
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
    const inserts = runs.map((run) => this.deps.store.insertRun(run));
    const undo = remember ? this.eventLedger.remember(eventId, { at: now, name: event.name, runs: runs.map((r) => r.id), skipped }) : undefined;
    try {
      await Promise.all(inserts);
      if (runs.length === 0 && undo) await this.deps.store.flush();
    } catch (error) {
      undo?.();
      throw error;
    }
    for (const run of runs) this.dispatcher.enqueue(run);
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
    const original = await this.deps.store.getRun(id);
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
    return this.deps.store.listRuns(query);
  }

  getRun(id: string): Promise<Run | undefined> {
    return this.deps.store.getRun(id);
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
    const run = await this.deps.store.getRun(id);
    if (!run) throw new NotFoundError('run', id);
    return run;
  }

  /**
   * Creates the runs one planning pass produced for a job. `overlap: skip` is
   * checked once, against runs from before this pass, so `catchup: all` still
   * creates every planned run (the pool then runs them one at a time).
   */
  private async submitScheduled(job: JobDef, planned: PlannedRun[]): Promise<void> {
    const active = job.overlap === 'skip' ? this.dispatcher.activeRunsOf(job.name) : [];
    if (active.length > 0) {
      const scheduledFor = planned.map((p) => new Date(p.scheduledFor).toISOString());
      this.deps.logger.warn('occurrence skipped: previous run still active', { job: job.name, scheduledFor, activeRun: active[0]!.id });
      return;
    }
    // Ids are taken synchronously in order, so the runs sort oldest occurrence first.
    await Promise.all(
      planned.map((p) =>
        this.createRun(job, { trigger: p.trigger, occurrences: p.occurrences, scheduledFor: new Date(p.scheduledFor).toISOString() }),
      ),
    );
  }

  private async createRun(job: JobDef, options: RunOptions): Promise<Run> {
    const run = await this.prepareRun(job, options);
    // Durable before it is acknowledged or started.
    await this.deps.store.insertRun(run);
    this.deps.logger.info('run queued', { runId: run.id, job: job.name, trigger: run.trigger, scheduledFor: run.scheduledFor });
    this.dispatcher.enqueue(run);
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

  private onRunFinished(run: Run): void {
    this.workflows.onFinished(run);
    this.emitRunEvent({ type: 'finished', run });
    const fields = { runId: run.id, job: run.job, status: run.status, error: run.error };
    if (run.status === 'failed') this.deps.logger.warn('run failed', fields);
    else this.deps.logger.info(`run ${run.status}`, fields);
  }

  private executorDeps(): ExecutorDeps {
    // killGrace is read from the current config at each stop, so a reload applies to the next one.
    return { ...this.deps, configDir: dirname(this.config.file), killGraceMs: () => this.config.killGraceMs, steps: this.workflows.host };
  }

  /** Events and webhooks that start the job: names only, never a secret. */
  private triggersView(job: JobDef): Pick<JobView, 'on'> {
    const hooks = Object.values(this.config.hooks ?? {}).filter((hook) => hook.job === job.name).map((hook) => hook.name);
    const events = job.on?.events ?? [];
    return events.length || hooks.length ? { on: { events: [...events], hooks } } : {};
  }

  private scheduleOf(job: JobDef): Schedule {
    const spec = job.schedule!;
    const key = JSON.stringify([spec.spec, spec.timezone]);
    const cached = this.schedules.get(job.name);
    if (cached?.key === key) return cached.schedule;
    const schedule = compileSchedule(spec.spec, spec.timezone);
    this.schedules.set(job.name, { key, schedule });
    return schedule;
  }

  private jobView(job: JobDef): JobView {
    const last = this.deps.store.lastRun(job.name);
    const schedState = this.deps.store.getSchedule(job.name);
    const view: JobView = {
      name: job.name,
      pool: job.pool,
      overlap: job.overlap,
      tasks: job.tasks.map((t) => ({
        name: t.name,
        dependsOn: t.dependsOn,
        kind: t.run !== undefined ? 'shell' : 'action',
        ...(t.action ? { action: t.action } : {}),
        ...shownTask(t),
        ...(t.timeoutMs !== undefined ? { timeoutMs: t.timeoutMs } : {}),
        ...(t.retries ? { retries: retryView(t.retries) } : {}),
        env: Object.keys(t.env),
        continueOnError: t.continueOnError,
      })),
      settings: { ...(job.timeoutMs !== undefined ? { timeoutMs: job.timeoutMs } : {}), retries: retryView(job.retries), env: Object.keys(job.env) },
      activeRuns: this.dispatcher.activeRunsOf(job.name).length,
      ...this.triggersView(job),
      ...(job.description ? { description: job.description } : {}),
      ...(last
        ? { lastRun: pick(last, ['id', 'status', 'trigger', 'createdAt', 'startedAt', 'finishedAt']) }
        : {}),
    };
    if (job.schedule) {
      const { spec, timezone, catchup, maxCatchup } = job.schedule;
      const next = this.scheduler.nextRun(job.name);
      let description: string;
      try {
        description = this.scheduleOf(job).describe();
      } catch (error) {
        description = `invalid schedule: ${errorMessage(error)}`;
      }
      view.schedule = {
        kind: spec.kind,
        expression: spec.kind === 'cron' ? spec.expr : spec.kind === 'rrule' ? spec.rule : formatDuration(spec.everyMs),
        description,
        timezone,
        catchup,
        maxCatchup,
        paused: schedState?.paused ?? false,
        ...(next !== undefined ? { nextRun: formatInZone(next, timezone) } : {}),
        ...(schedState?.lastCatchup
          ? { lastCatchup: { ...schedState.lastCatchup, at: new Date(schedState.lastCatchup.at).toISOString() } }
          : {}),
      };
    }
    return view;
  }
}

interface RunOptions {
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

/** The store, telling `notify` about every inserted or updated run. */
function observeRunChanges(store: RunStore, notify: (type: 'created' | 'updated', run: Run) => void): RunStore {
  return {
    open: () => store.open(),
    close: () => store.close(),
    flush: () => store.flush(),
    async insertRun(run) {
      await store.insertRun(run);
      notify('created', run);
    },
    updateRun(run) {
      store.updateRun(run);
      notify('updated', run);
    },
    getRun: (id) => store.getRun(id),
    listRuns: (query) => store.listRuns(query),
    activeRuns: () => store.activeRuns(),
    lastSuccess: (job) => store.lastSuccess(job),
    lastRun: (job) => store.lastRun(job),
    pruneHistory: (before) => store.pruneHistory(before),
    getSchedule: (job) => store.getSchedule(job),
    setSchedule: (job, state) => store.setSchedule(job, state),
    getMeta: <T>(key: string) => store.getMeta<T>(key),
    setMeta: (key, value) => store.setMeta(key, value),
  };
}

function pick<T extends object, K extends keyof T>(value: T, keys: K[]): Pick<T, K> {
  const out = {} as Pick<T, K>;
  for (const key of keys) if (value[key] !== undefined) out[key] = value[key];
  return out;
}

function withDisk(disk: HealthView['disk']): Pick<HealthView, 'disk'> {
  return disk ? { disk } : {};
}
