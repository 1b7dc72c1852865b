import type { Clock, Timer } from '../core/clock.js';
import { formatDuration } from '../core/durations.js';
import { errorMessage } from '../core/errors.js';
import { forEachLine, tailOffset, type LogReader } from '../core/log-reader.js';
import type { Logger } from '../core/logger.js';
import type { JobDef } from '../config/types.js';
import { isFinished, type Run } from '../runs/model.js';
import type { RunStore } from '../runs/store.js';
import type { InboxItem } from '../steps/inbox.js';
import type { Notification, NotificationSink } from '../notify/types.js';
import type { DiskView } from './port.js';
import {
  STUCK_HISTORY_RUNS,
  attentionView,
  failureOf,
  stuckAfterMs,
  stuckReason,
  successDurations,
  type ApplianceProblem,
  type AttentionView,
  type FailingJob,
  type JobAttention,
  type OverdueJob,
  type StuckRun,
} from './attention.js';

/*
 * The Watch notices what the person should hear about and publishes it, once,
 * as a Notification: a run that failed after its retries and the first
 * success after it (failure, recovery); a run running past its stuckAfter, or
 * making occurrences be skipped (stuck, once per run); a job with `expect`
 * and no success in that long (missed, once per expect window, also after
 * the box was off); an inbox question (input); and appliance problems (a
 * failed reload, an untrusted clock, a full disk, under-voltage: once per
 * episode, also across restarts). It keeps those facts for the overview
 * (attention()).
 *
 * One timer, armed for the earliest of: a running run's stuck deadline, a
 * job's expect deadline, the next appliance check (every 5 min). Failing
 * jobs, the published missed windows, when a job was first seen and the
 * appliance episodes going on are kept in state.json (meta), so a restart
 * neither forgets nor repeats them.
 */

/** How often the appliance readings (clock, disk, power) are looked at. */
export const APPLIANCE_CHECK_MS = 5 * 60_000;
/** An untrusted clock is reported once it has been untrusted this long. */
export const CLOCK_UNTRUSTED_MS = 10 * 60_000;
/** The data directory's disk is reported above this share used. */
export const DISK_USED_LIMIT = 0.9;
/** Lines of the failing task's output a failure notification carries. */
export const FAILURE_TAIL_LINES = 10;
/** How many of the log's last lines are searched for the failing task's output. */
const LOG_TAIL_SEARCH = 400;

const FAILING_KEY = 'attention.failing';
const MISSED_KEY = 'attention.missed';
const FIRST_SEEN_KEY = 'attention.firstSeen';
/** Appliance episodes going on (key -> when it started), so a restart does not announce them again. */
const EPISODES_KEY = 'attention.episodes';

/** Raspberry Pi power flags (src/system/throttling.ts reads them); absent elsewhere. */
export interface PowerFlags {
  underVoltageNow: boolean;
  throttledNow: boolean;
  frequencyCappedNow: boolean;
}

export interface WatchDeps {
  clock: Clock;
  logger: Logger;
  notifications: NotificationSink;
  store: Pick<RunStore, 'lastSuccess' | 'lastRun' | 'listRuns' | 'getMeta' | 'setMeta'>;
  /** The jobs in force (re-read at each use: a reload changes them). */
  jobs(): Record<string, JobDef>;
  /** The run's log, for the failing task's last lines (absent: the notification goes without them). */
  openLog?(runId: string): Promise<LogReader>;
  /** The clock's trust (the scheduler's) and the disk reading, at each appliance check. */
  readings(): { clockTrusted: boolean; clockMessage?: string; disk?: DiskView };
  /** Under-voltage / throttling on a Pi; undefined where nothing reports it (then it is not asked again). */
  power?(): Promise<PowerFlags | undefined>;
}

interface RecentSuccess {
  id: string;
  ms: number;
}

interface Running {
  job: string;
  since: number;
  /** Absent until the job's history is read. */
  deadline?: number;
  stuckAfterMs?: number;
  published: boolean;
  skipped?: { occurrences: number; since: number };
}

export class Watch {
  private failing: Record<string, FailingJob> = {};
  private readonly running = new Map<string, Running>();
  private readonly lastSuccess = new Map<string, number | undefined>();
  private readonly problems = new Map<string, string>();
  /** Episodes published before the last restart and not seen ending since (EPISODES_KEY). */
  private episodes: Record<string, number> = {};
  private clockUntrustedSince: number | undefined;
  private powerAbsent = false;
  private nextApplianceCheck = 0;
  private timer: Timer | undefined;
  private timerDue = Infinity;
  private stopped = false;
  private started = false;
  /** Publishing and checks in flight (tests await them through idle()). */
  private pending = new Set<Promise<unknown>>();
  /**
   * Per job, its newest successful runs (id and duration, at most
   * STUCK_HISTORY_RUNS): read from the store the first time a run of the job
   * starts, then kept up to date by onRunFinished, so a run that starts does
   * not query the run history (a thousand runs a second would each read it).
   */
  private readonly recentSuccesses = new Map<string, RecentSuccess[]>();
  /** Jobs whose successes are being read, with the successes that finished meanwhile. */
  private readonly readingSuccesses = new Map<string, { done: Promise<void>; noted: RecentSuccess[] }>();
  private expecting: { jobs: Record<string, JobDef>; list: JobDef[] } | undefined;

  constructor(private readonly deps: WatchDeps) {}

  /**
   * Reads what is kept (failing jobs, last successes). The engine then calls
   * check() once the scheduler has looked at the clock: a box that was off
   * past `expect` is reported at start-up.
   */
  async start(): Promise<void> {
    this.started = true;
    const kept = this.deps.store.getMeta<Record<string, FailingJob>>(FAILING_KEY);
    this.failing = kept ? { ...kept } : this.failingFromHistory();
    this.episodes = { ...this.deps.store.getMeta<Record<string, number>>(EPISODES_KEY) };
    // This start read a config that works: a failed reload before it is over.
    if (this.episodes['appliance:config'] !== undefined) this.endEpisode('appliance:config');
    // The clock was untrusted before the restart: it has been since then, not since now.
    this.clockUntrustedSince = this.episodes['appliance:clock'];
    await this.refreshLastSuccesses();
  }

  stop(): void {
    this.stopped = true;
    this.timer?.cancel();
    this.timer = undefined;
  }

  /** Resolves once every publish and check started so far is done (for tests). */
  async idle(): Promise<void> {
    while (this.pending.size) await Promise.allSettled([...this.pending]);
  }

  // ---- run events -------------------------------------------------------------

  /** A run changed: a run that starts running gets a stuck deadline; one that parks or requeues loses it. */
  onRunChanged(run: Readonly<Run>): void {
    if (!this.started || this.stopped) return;
    const tracked = this.running.get(run.id);
    if (isFinished(run)) {
      // Cancelled before it ran, or any other end: it blocks nothing any more (failure/recovery: onRunFinished).
      this.running.delete(run.id);
      return;
    }
    if (run.status !== 'running') {
      // Parked (a workflow waiting for days is not stuck) or queued again: no stuck deadline until it runs again.
      if (tracked && (run.status === 'queued' || run.status === 'waiting')) {
        tracked.since = NaN;
        tracked.deadline = undefined;
      }
      return;
    }
    if (tracked && !Number.isNaN(tracked.since)) return;
    const now = this.deps.clock.now();
    const entry: Running = tracked ?? { job: run.job, since: now, published: false };
    entry.since = now;
    this.running.set(run.id, entry);
    this.track(this.deadlineFor(run.id, entry));
  }

  /** A run reached its final status: failure, recovery, and it is no longer stuck. */
  onRunFinished(run: Readonly<Run>): void {
    if (!this.started) return;
    this.running.delete(run.id);
    const now = this.deps.clock.now();
    if (run.status === 'succeeded') {
      this.lastSuccess.set(run.job, run.finishedAt ? Date.parse(run.finishedAt) : now);
      this.noteSuccess(run);
      const streak = this.failing[run.job];
      if (streak) {
        delete this.failing[run.job];
        this.saveFailing();
        this.publish({
          kind: 'recovery',
          job: run.job,
          runId: run.id,
          title: `${run.job} recovered`,
          body: `${run.job} succeeded (${run.trigger}) after ${streak.failures} failed ${streak.failures === 1 ? 'run' : 'runs'} since ${streak.since}.`,
          path: `/runs/${run.id}`,
          at: now,
        });
      }
      this.rearm();
    } else if (run.status === 'failed') {
      this.track(this.onFailed(run, now));
    } else {
      this.rearm();
    }
  }

  /** Occurrences of `job` were skipped because `active` is still active (overlap: skip). */
  onSkipped(job: string, active: Readonly<Run>, occurrences: number): void {
    if (!this.started) return;
    const now = this.deps.clock.now();
    const entry = this.running.get(active.id) ?? { job, since: active.status === 'running' ? now : NaN, published: false };
    this.running.set(active.id, entry);
    entry.skipped = { occurrences: (entry.skipped?.occurrences ?? 0) + occurrences, since: entry.skipped?.since ?? now };
    if (entry.published) return;
    entry.published = true;
    this.publish({
      kind: 'stuck',
      job,
      runId: active.id,
      title: `${job} is being skipped`,
      body: `A scheduled run of ${job} was skipped: run ${active.id} is still ${active.status}${active.startedAt ? ` (started ${active.startedAt})` : ''}, and the job's overlap policy is skip. Later runs are skipped too until it finishes or is cancelled.`,
      path: `/runs/${active.id}`,
      at: now,
    });
  }

  /** A workflow asked a question in the inbox. */
  onQuestion(item: InboxItem): void {
    if (!this.started) return;
    this.publish({
      kind: 'input',
      job: item.job,
      runId: item.runId,
      title: `${item.job} asks: ${oneLine(item.prompt, 120)}`,
      body: [item.prompt, item.choices?.length ? `Choices: ${item.choices.map((c) => (typeof c === 'string' ? c : JSON.stringify(c))).join(', ')}` : '', item.expiresAt ? `Expires ${item.expiresAt}.` : '']
        .filter(Boolean)
        .join('\n'),
      path: `/inbox#${item.id}`,
      key: `input:${item.id}`,
      at: this.deps.clock.now(),
    });
  }

  /** The config reload failed (errors) or succeeded (undefined): an appliance episode. */
  configProblem(errors: string[] | undefined): void {
    this.setProblem('appliance:config', errors ? `config reload failed (${errors.length} ${errors.length === 1 ? 'problem' : 'problems'})` : undefined, errors?.slice(0, 10).join('\n'));
  }

  /** Jobs changed (a reload): new ones start their expect window now. */
  jobsChanged(): void {
    if (!this.started) return;
    this.track(this.refreshLastSuccesses().then(() => this.check()));
  }

  // ---- the overview -------------------------------------------------------------

  /** What needs attention now (`questions`: open inbox questions). */
  attention(questions: number): AttentionView {
    const now = this.deps.clock.now();
    const jobs = this.deps.jobs();
    return attentionView({
      failing: Object.values(this.failing).filter((f) => jobs[f.job]),
      stuck: this.stuckRuns(now),
      overdue: this.overdueJobs(now),
      questions,
      appliance: [...this.problems].map(([key, message]): ApplianceProblem => ({ key, message })),
    });
  }

  /** What needs attention about one job, for its page and card. */
  jobAttention(name: string): JobAttention | undefined {
    const now = this.deps.clock.now();
    const failing = this.failing[name];
    const stuck = this.stuckRuns(now).find((s) => s.job === name);
    const job = this.deps.jobs()[name];
    const due = job ? this.expectDue(job) : undefined;
    const overdue = due !== undefined && now >= due ? { dueAt: new Date(due).toISOString() } : undefined;
    if (!failing && !stuck && !overdue) return undefined;
    return {
      ...(failing ? { failing: { runId: failing.runId, reason: failing.reason, failures: failing.failures } } : {}),
      ...(stuck ? { stuck: { runId: stuck.runId, reason: stuck.reason, ...(stuck.skipped ? { skipped: stuck.skipped.occurrences } : {}) } } : {}),
      ...(overdue ? { overdue } : {}),
    };
  }

  private stuckRuns(now: number): StuckRun[] {
    const out: StuckRun[] = [];
    for (const [runId, entry] of this.running) {
      const pastDeadline = entry.deadline !== undefined && now >= entry.deadline;
      if (!pastDeadline && !entry.skipped) continue;
      const runningFor = Number.isNaN(entry.since) ? 0 : now - entry.since;
      out.push({
        job: entry.job,
        runId,
        runningSince: new Date(Number.isNaN(entry.since) ? now : entry.since).toISOString(),
        ...(pastDeadline ? { stuckAfterMs: entry.stuckAfterMs! } : {}),
        ...(entry.skipped ? { skipped: { occurrences: entry.skipped.occurrences, since: new Date(entry.skipped.since).toISOString() } } : {}),
        reason: Number.isNaN(entry.since)
          ? `${entry.skipped?.occurrences ?? 0} occurrences skipped while it waits`
          : stuckReason(runningFor, pastDeadline ? entry.stuckAfterMs : undefined, entry.skipped?.occurrences ?? 0),
      });
    }
    return out;
  }

  private overdueJobs(now: number): OverdueJob[] {
    const out: OverdueJob[] = [];
    for (const job of Object.values(this.deps.jobs())) {
      const due = this.expectDue(job);
      if (due === undefined || now < due) continue;
      const last = this.lastSuccess.get(job.name);
      out.push({ job: job.name, everyMs: job.expectEveryMs!, ...(last !== undefined ? { lastSuccessAt: new Date(last).toISOString() } : {}), dueAt: new Date(due).toISOString() });
    }
    return out;
  }

  // ---- checks -------------------------------------------------------------------

  /** Publishes what became due (stuck runs, missed expects, appliance readings) and re-arms the timer. */
  async check(): Promise<void> {
    if (this.stopped) return;
    const now = this.deps.clock.now();
    for (const [runId, entry] of this.running) {
      if (entry.deadline === undefined || now < entry.deadline || entry.published) continue;
      entry.published = true;
      this.publish({
        kind: 'stuck',
        job: entry.job,
        runId,
        title: `${entry.job} looks stuck`,
        body: `Run ${runId} of ${entry.job} has been running for ${formatDuration(now - entry.since)}; it counts as stuck after ${formatDuration(entry.stuckAfterMs!)} (stuckAfter). Cancel it, or set stuckAfter / timeout on the job.`,
        path: `/runs/${runId}`,
        at: now,
      });
    }
    this.checkMissed(now);
    if (now >= this.nextApplianceCheck) {
      this.nextApplianceCheck = now + APPLIANCE_CHECK_MS;
      await this.checkAppliance(now);
    }
    this.rearm();
  }

  private checkMissed(now: number): void {
    const published = this.deps.store.getMeta<Record<string, number>>(MISSED_KEY) ?? {};
    let changed = false;
    for (const job of Object.values(this.deps.jobs())) {
      const due = this.expectDue(job);
      if (due === undefined || now < due) continue;
      // The window `now` falls in: one notification per expect window, however long the box was off.
      const every = job.expectEveryMs!;
      const window = due + Math.floor((now - due) / every) * every;
      if ((published[job.name] ?? -Infinity) >= window) continue;
      published[job.name] = window;
      changed = true;
      const last = this.lastSuccess.get(job.name);
      this.publish({
        kind: 'missed',
        job: job.name,
        title: `${job.name} has not succeeded in ${formatDuration(now - (last ?? due - every))}`,
        body: `${job.name} is expected to succeed at least every ${formatDuration(every)} (expect), but ${last !== undefined ? `its last success was ${new Date(last).toISOString()}` : 'it has not succeeded since Hearth started watching it'}. Is the box off, the job paused or failing, or its schedule wrong?`,
        path: `/jobs/${job.name}`,
        at: now,
      });
    }
    if (changed) this.deps.store.setMeta(MISSED_KEY, published);
  }

  private async checkAppliance(now: number): Promise<void> {
    const readings = this.deps.readings();
    if (readings.clockTrusted) this.clockUntrustedSince = undefined;
    else this.clockUntrustedSince ??= now;
    const untrustedFor = this.clockUntrustedSince === undefined ? 0 : now - this.clockUntrustedSince;
    this.setProblem('appliance:clock', untrustedFor >= CLOCK_UNTRUSTED_MS ? `clock not trusted for ${formatDuration(untrustedFor)}` : undefined, readings.clockMessage);
    const disk = readings.disk;
    const used = disk && disk.totalBytes > 0 ? 1 - disk.freeBytes / disk.totalBytes : 0;
    this.setProblem('appliance:disk', used > DISK_USED_LIMIT || disk?.full ? `data disk ${Math.round(used * 100)}% full` : undefined, disk?.message ?? 'Runs and their logs need room: delete old files, or keep fewer logs (history.keepLogs).');
    if (this.deps.power && !this.powerAbsent) {
      let flags: PowerFlags | undefined;
      try {
        flags = await this.deps.power();
      } catch (error) {
        this.deps.logger.warn('cannot read the power flags', { error: errorMessage(error) });
        return;
      }
      if (!flags) {
        this.powerAbsent = true;
        return;
      }
      const words = [flags.underVoltageNow && 'under-voltage', flags.throttledNow && 'throttled', flags.frequencyCappedNow && 'frequency capped'].filter(Boolean);
      this.setProblem('appliance:power', words.length ? `power: ${words.join(', ')}` : undefined, 'The Pi reports under-voltage or throttling now: use the official power supply and a short cable, and check cooling.');
    }
  }

  /** Starts or ends an appliance episode; a new episode is published once, and not again after a restart. */
  private setProblem(key: string, message: string | undefined, details?: string): void {
    const had = this.problems.has(key);
    if (message === undefined) {
      this.problems.delete(key);
      if (this.episodes[key] !== undefined) this.endEpisode(key);
      return;
    }
    this.problems.set(key, message);
    if (had || !this.started || this.episodes[key] !== undefined) return;
    const now = this.deps.clock.now();
    this.episodes[key] = key === 'appliance:clock' ? (this.clockUntrustedSince ?? now) : now;
    this.deps.store.setMeta(EPISODES_KEY, this.episodes);
    this.publish({ kind: 'appliance', title: message, body: details ?? message, key, path: '/', at: now });
  }

  private endEpisode(key: string): void {
    delete this.episodes[key];
    this.deps.store.setMeta(EPISODES_KEY, this.episodes);
  }

  // ---- failure ------------------------------------------------------------------

  private async onFailed(run: Readonly<Run>, now: number): Promise<void> {
    const { task, error } = failureOf(run as Run);
    const lines = task ? await this.taskTail(run.id, task) : [];
    const last = lines.at(-1);
    const reason = oneLine(`${task ? `${task}: ` : ''}${last && last !== error ? `${error} · ${last}` : error}`, 200);
    const previous = this.failing[run.job];
    this.failing[run.job] = {
      job: run.job,
      runId: run.id,
      reason,
      since: previous?.since ?? new Date(run.finishedAt ? Date.parse(run.finishedAt) : now).toISOString(),
      failures: (previous?.failures ?? 0) + 1,
    };
    this.saveFailing();
    const body = [
      `Trigger: ${run.trigger}${run.scheduledFor ? ` (scheduled for ${run.scheduledFor})` : ''}`,
      task ? `Failing task: ${task}` : '',
      `Error: ${error}`,
      lines.length ? `Last output of ${task}:\n${lines.join('\n')}` : '',
    ].filter(Boolean);
    this.publish({ kind: 'failure', job: run.job, runId: run.id, title: `${run.job} failed`, body: body.join('\n'), path: `/runs/${run.id}`, at: now });
    this.rearm();
  }

  /** The failing task's last output lines, from the end of the run log (bounded reads). */
  private async taskTail(runId: string, task: string): Promise<string[]> {
    if (!this.deps.openLog) return [];
    let reader: LogReader | undefined;
    try {
      reader = await this.deps.openLog(runId);
      const lines: string[] = [];
      const tags = [`[${task}] `, `[${task}!] `];
      await forEachLine(reader, (line) => {
        for (const tag of tags) {
          const at = line.indexOf(tag);
          if (at >= 0 && at < 40) {
            lines.push(line.slice(at + tag.length));
            if (lines.length > FAILURE_TAIL_LINES) lines.shift();
            return;
          }
        }
      }, await tailOffset(reader, LOG_TAIL_SEARCH));
      return lines.map((line) => oneLine(line, 300));
    } catch (error) {
      this.deps.logger.warn('cannot read the failed run\'s log for its notification', { runId, error: errorMessage(error) });
      return [];
    } finally {
      await reader?.close().catch(() => {});
    }
  }

  // ---- bookkeeping --------------------------------------------------------------

  private failingFromHistory(): Record<string, FailingJob> {
    const out: Record<string, FailingJob> = {};
    for (const job of Object.keys(this.deps.jobs())) {
      const last = this.deps.store.lastRun(job);
      if (last?.status !== 'failed') continue;
      const { task, error } = failureOf(last);
      out[job] = { job, runId: last.id, reason: oneLine(`${task ? `${task}: ` : ''}${error}`, 200), since: last.finishedAt ?? last.createdAt, failures: 1 };
    }
    return out;
  }

  private saveFailing(): void {
    this.deps.store.setMeta(FAILING_KEY, this.failing);
  }

  /** When a success of `job` is due (its expect), counted from its last success or from when it was first seen. */
  private expectDue(job: JobDef, seen?: Record<string, number>): number | undefined {
    if (job.expectEveryMs === undefined) return undefined;
    const base = this.lastSuccess.get(job.name) ?? (seen ?? this.firstSeen())[job.name];
    return base === undefined ? undefined : base + job.expectEveryMs;
  }

  /** The jobs with `expect` in the config in force (recomputed when the jobs object changes: a reload). */
  private jobsWithExpect(): JobDef[] {
    const jobs = this.deps.jobs();
    if (this.expecting?.jobs !== jobs) this.expecting = { jobs, list: Object.values(jobs).filter((job) => job.expectEveryMs !== undefined) };
    return this.expecting.list;
  }

  private firstSeen(): Record<string, number> {
    return this.deps.store.getMeta<Record<string, number>>(FIRST_SEEN_KEY) ?? {};
  }

  /** The last success of every job with `expect` (a job seen for the first time starts its window now). */
  private async refreshLastSuccesses(): Promise<void> {
    const seen = this.firstSeen();
    let changed = false;
    for (const job of Object.values(this.deps.jobs())) {
      if (job.expectEveryMs === undefined || this.lastSuccess.has(job.name)) continue;
      const last = await this.deps.store.lastSuccess(job.name);
      const at = last ? Date.parse(last.finishedAt ?? last.createdAt) : undefined;
      this.lastSuccess.set(job.name, at);
      if (at === undefined && seen[job.name] === undefined) {
        seen[job.name] = this.deps.clock.now();
        changed = true;
      }
    }
    if (changed) this.deps.store.setMeta(FIRST_SEEN_KEY, seen);
  }

  private async deadlineFor(runId: string, entry: Running): Promise<void> {
    const job = this.deps.jobs()[entry.job];
    if (!job) return;
    const durations = job.stuckAfterMs === undefined ? await this.successDurationsOf(job.name) : [];
    if (this.running.get(runId) !== entry || Number.isNaN(entry.since)) return;
    entry.stuckAfterMs = stuckAfterMs(job, durations);
    entry.deadline = entry.since + entry.stuckAfterMs;
    this.rearm();
  }

  /** How long the job's newest successful runs took (read from the store once per job, see recentSuccesses). */
  private async successDurationsOf(job: string): Promise<number[]> {
    let known = this.recentSuccesses.get(job);
    if (!known) {
      let reading = this.readingSuccesses.get(job);
      if (!reading) {
        const noted: RecentSuccess[] = [];
        const done = this.readSuccesses(job, noted).finally(() => this.readingSuccesses.delete(job));
        reading = { done, noted };
        this.readingSuccesses.set(job, reading);
      }
      await reading.done;
      known = this.recentSuccesses.get(job) ?? [];
    }
    return known.map((success) => success.ms);
  }

  private async readSuccesses(job: string, noted: RecentSuccess[]): Promise<void> {
    const page = await this.deps.store.listRuns({ job, status: 'succeeded', limit: STUCK_HISTORY_RUNS });
    const read = page.runs.flatMap((run) => recentSuccess(run) ?? []);
    // Successes that finished while the page was read may be missing from it.
    this.recentSuccesses.set(job, newestSuccesses([...read, ...noted]));
  }

  private noteSuccess(run: Readonly<Run>): void {
    const success = recentSuccess(run);
    if (!success) return;
    this.readingSuccesses.get(run.job)?.noted.push(success);
    const known = this.recentSuccesses.get(run.job);
    if (known) this.recentSuccesses.set(run.job, newestSuccesses([...known, success]));
  }

  /** One timer for the earliest deadline: a stuck run, an expect window, the next appliance check. */
  private rearm(): void {
    if (this.stopped || !this.started) return;
    const now = this.deps.clock.now();
    let due = this.nextApplianceCheck;
    for (const entry of this.running.values()) if (entry.deadline !== undefined && !entry.published) due = Math.min(due, entry.deadline);
    // Called at every run start and success: only jobs with `expect` are looked at, and the kept meta read once.
    const expecting = this.jobsWithExpect();
    const published = expecting.length > 0 ? (this.deps.store.getMeta<Record<string, number>>(MISSED_KEY) ?? {}) : {};
    const seen = expecting.length > 0 ? this.firstSeen() : {};
    for (const job of expecting) {
      const first = this.expectDue(job, seen);
      if (first === undefined) continue;
      const every = job.expectEveryMs!;
      // The next window not yet published.
      const done = published[job.name];
      due = Math.min(due, done !== undefined && done >= first ? done + every : first);
    }
    if (this.timer && this.timerDue === due) return;
    this.timer?.cancel();
    this.timerDue = due;
    this.timer = this.deps.clock.setTimer(Math.max(0, due - now), () => {
      this.timer = undefined;
      this.timerDue = Infinity;
      this.track(this.check());
    });
  }

  private publish(notification: Notification): void {
    this.deps.logger.info('notification', { kind: notification.kind, job: notification.job, runId: notification.runId, title: notification.title });
    this.track(this.deps.notifications.publish(notification));
  }

  private track(work: Promise<unknown>): void {
    const tracked = work.catch((error) => this.deps.logger.error('attention check failed', { error: errorMessage(error) })).finally(() => this.pending.delete(tracked));
    this.pending.add(tracked);
  }
}

function oneLine(text: string, max: number): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}

/** A succeeded run's duration (what successDurations counts), or undefined if it has none. */
function recentSuccess(run: Readonly<Run>): RecentSuccess | undefined {
  const [ms] = successDurations([run as Run]);
  return ms === undefined ? undefined : { id: run.id, ms };
}

/** The newest STUCK_HISTORY_RUNS of `successes` (by id), each id once. */
function newestSuccesses(successes: RecentSuccess[]): RecentSuccess[] {
  const unique = successes.filter((success, i) => successes.findIndex((other) => other.id === success.id) === i);
  return unique.sort((a, b) => (a.id < b.id ? 1 : a.id > b.id ? -1 : 0)).slice(0, STUCK_HISTORY_RUNS);
}
