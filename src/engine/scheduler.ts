import type { Clock, Timer } from '../core/clock.js';
import { errorMessage } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { JobDef } from '../config/types.js';
import type { ScheduleState } from '../runs/model.js';
import type { RunStore } from '../runs/store.js';
import type { ScheduleLedger } from '../runs/schedule-ledger.js';
import type { Schedule } from '../schedule/index.js';
import { planCatchup, type PlannedRun } from '../schedule/catchup.js';
import type { NextRunRecord } from './next-run-cache.js';

/** The scheduler never sleeps longer than this without looking at the clock again. */
export const MAX_SLEEP_MS = 30_000;
/** A wall clock this far behind the last time seen is treated as untrusted (stale boot clock). */
export const CLOCK_TOLERANCE_MS = 1_000;
const LAST_SEEN_KEY = 'lastSeenWallClock';
/**
 * How far the in-memory last-seen time may run ahead of the stored one. Each
 * stored value is a WAL append and an fdatasync: writing it on every 30 s
 * pass was the idle appliance's only disk write (2,880 a day on an SD card).
 * The guard in this process always uses the exact time; after a restart it
 * knows the last time seen to within this much (a stale boot clock is hours
 * or years behind, not minutes), and stop() stores the exact time.
 */
export const LAST_SEEN_PERSIST_MS = 10 * 60_000;
/**
 * Schedules are compiled and their next occurrence computed lazily, this many
 * jobs at a time between turns of the event loop (see Entry.from): at 1,000
 * jobs that work (~25 ms, rrule's search the dearest) would otherwise block
 * start-up before the API answers.
 */
export const RESOLVE_SLICE = 100;

export interface ClockStatus {
  trusted: boolean;
  lastSeen?: number;
  message?: string;
}

export interface SchedulerDeps {
  clock: Clock;
  store: RunStore;
  /** Where handled occurrences are recorded (compare-and-set); the store's own ledger when not given. */
  ledger?: ScheduleLedger;
  logger: Logger;
  /**
   * The newest occurrence (epoch ms) that already has a run of the job, if
   * any: read from the engine's RunReadModel (a cache of the run
   * repository), so setJobs can stay synchronous.
   */
  newestScheduledFor(job: string): number | undefined;
  compile(job: JobDef): Schedule;
  /** Creates (durably) the runs planned for a job in one pass, or skips them per its overlap policy. */
  submit(job: JobDef, planned: PlannedRun[]): Promise<void>;
  /** Next occurrences a previous process computed (next-run-cache.ts), by job: used by the first setJobs. */
  knownNextRuns?: ReadonlyMap<string, NextRunRecord>;
}

interface Entry {
  job: JobDef;
  /** The schedule's spec and zone as JSON (what the schedule state and the next-run records are keyed by). */
  spec: string;
  /**
   * The earliest instant known to have nextDue as its next occurrence (the
   * first occurrence after any instant in [since, nextDue) is nextDue), for
   * the next-run records; undefined while unknown.
   */
  since?: number;
  /** Compiled on first need (Scheduler.resolve). */
  schedule?: Schedule;
  /** Next occurrence not yet handled; undefined when the rule has ended (or not computed yet: see `from`). */
  nextDue: number | undefined;
  /**
   * Set while nextDue is still to be computed, as the first occurrence after
   * this instant. setJobs only records it; the next planning pass computes
   * every such entry (in slices, yielding to the event loop between them)
   * before it looks at what is due, and nextRun() computes one on demand.
   */
  from?: number;
}

/**
 * Fires schedules and catches up missed ones. Each tick plans only the jobs
 * whose next occurrence is due, so 1,000 schedules cost little; a forward
 * clock jump or a suspended process simply makes many of them due at once,
 * and the catch-up planner decides what runs.
 */
export class Scheduler {
  private entries = new Map<string, Entry>();
  /** Entries whose nextDue is still to be computed, in job order. */
  private unresolved: Entry[] = [];
  /** The previous process's next occurrences, until the first setJobs has used them. */
  private knownNextRuns: ReadonlyMap<string, NextRunRecord> | undefined;
  /** Next occurrences computed so far (compiles happen with them): a count for tests. */
  private computed = 0;
  private timer: Timer | undefined;
  private running = false;
  private ticking: Promise<void> | undefined;
  private rerun = false;
  private clockStatus: ClockStatus = { trusted: true };
  private passes = 0;
  /** The latest wall-clock time seen by this process (stored coarsely, see LAST_SEEN_PERSIST_MS). */
  private lastSeen: number | undefined;

  private readonly ledger: ScheduleLedger;

  constructor(private readonly deps: SchedulerDeps) {
    this.ledger = deps.ledger ?? deps.store.schedules;
    this.knownNextRuns = deps.knownNextRuns;
  }

  /**
   * Passes finished so far (a failed pass counts: it finished). A pass stuck
   * on the store stops the count even though the event loop still runs, which
   * is what the systemd watchdog must notice.
   */
  completedPasses(): number {
    return this.passes;
  }

  /**
   * Installs a (re)loaded catalog. First sight of a job does not backfill.
   * Schedules are not compiled here: each job's next occurrence is computed
   * by the next planning pass (or by nextRun), from the instant recorded now.
   */
  setJobs(jobs: JobDef[]): void {
    const now = this.deps.clock.now();
    const next = new Map<string, Entry>();
    for (const job of jobs) {
      if (!job.schedule) continue;
      const state = this.deps.store.getSchedule(job.name) ?? {};
      const spec = JSON.stringify([job.schedule.spec, job.schedule.timezone]);
      // First sight of a job, or of a changed schedule: no backfill, start from now.
      const fresh = state.spec !== spec;
      const lastHandled = fresh ? undefined : this.knownLastHandled(job.name, state.lastHandled);
      if (lastHandled === undefined) this.deps.store.setSchedule(job.name, { ...state, spec, lastHandled: now });
      const from = lastHandled ?? now;
      const known = this.knownNextRuns?.get(job.name);
      if (known && known.spec === spec && known.from <= from && (known.next === null || from < known.next)) {
        next.set(job.name, { job, spec, since: known.from, nextDue: known.next ?? undefined });
      } else {
        next.set(job.name, { job, spec, nextDue: undefined, from });
      }
    }
    this.knownNextRuns = undefined;
    this.entries = next;
    this.unresolved = [...next.values()].filter((entry) => entry.from !== undefined);
    if (this.running) this.wake();
  }

  /** Next occurrences still to be computed, and computed so far in this process (counts for tests). */
  nextRunWork(): { pending: number; computed: number } {
    return { pending: this.unresolved.length, computed: this.computed };
  }

  /** What the next start may reuse (next-run-cache.ts): every job whose next occurrence is known, and since when. */
  nextRunRecords(): Map<string, NextRunRecord> {
    const records = new Map<string, NextRunRecord>();
    for (const [name, entry] of this.entries) {
      if (entry.from === undefined && entry.since !== undefined) records.set(name, { spec: entry.spec, from: entry.since, next: entry.nextDue ?? null });
    }
    return records;
  }

  start(): void {
    this.running = true;
    this.wake();
  }

  async stop(): Promise<void> {
    this.running = false;
    this.timer?.cancel();
    await this.ticking;
    this.persistLastSeen(0);
  }

  status(): ClockStatus {
    return this.clockStatus;
  }

  nextRun(job: string): number | undefined {
    const entry = this.entries.get(job);
    if (!entry || this.deps.store.getSchedule(job)?.paused) return undefined;
    this.resolve(entry);
    return entry.nextDue;
  }

  /** Pause or resume a job's schedule (persisted). Resuming does not backfill the paused time. */
  setPaused(job: string, paused: boolean): void {
    const state = this.deps.store.getSchedule(job) ?? {};
    const entry = this.entries.get(job);
    const now = this.deps.clock.now();
    this.deps.store.setSchedule(job, { ...state, paused, ...(paused ? {} : { lastHandled: now }) });
    if (!entry || paused) return;
    const schedule = this.scheduleOf(entry);
    if (!schedule) return;
    this.setNext(entry, schedule, now);
  }

  /** Runs one planning pass now (also used by tests and after wake-ups). */
  tick(): Promise<void> {
    if (this.ticking) {
      this.rerun = true;
      return this.ticking;
    }
    this.ticking = this.plan()
      .catch((error: unknown) => this.deps.logger.error('scheduler tick failed', { error: errorMessage(error) }))
      .finally(() => {
        this.passes += 1;
        this.ticking = undefined;
        if (this.rerun) {
          this.rerun = false;
          void this.tick();
        } else if (this.running) {
          this.arm();
        }
      });
    return this.ticking;
  }

  private wake(): void {
    this.timer?.cancel();
    void this.tick();
  }

  private arm(): void {
    this.timer?.cancel();
    const now = this.deps.clock.now();
    // Entries still to be computed (a reload during the pass) are computed by a pass right away.
    let soonest = this.unresolved.length ? now : now + MAX_SLEEP_MS;
    for (const entry of this.entries.values()) {
      if (entry.nextDue !== undefined && entry.nextDue < soonest) soonest = entry.nextDue;
    }
    this.timer = this.deps.clock.setTimer(Math.max(0, soonest - now), () => void this.tick());
  }

  private async plan(): Promise<void> {
    // The clock is checked first, as it always was at the start of a pass (the Watch reads its verdict right away).
    const trusted = this.checkClock(this.deps.clock.now());
    if (this.unresolved.length) await this.resolvePending();
    if (!trusted) return;
    const now = this.deps.clock.now();
    const due = [...this.entries.values()].filter((entry) => entry.nextDue !== undefined && entry.nextDue <= now);
    if (due.length === 0) return;
    // Every due job's state is read first, then all are planned and submitted in one synchronous pass: their
    // inserts share fsyncs (group commit), so 1,000 schedules due at once stay fast.
    const states = await Promise.all(due.map((entry) => this.ledger.get(entry.job.name)));
    await Promise.all(due.map((entry, i) => this.planJob(entry, now, states[i] ?? {})));
  }

  /** The clock guard: a Pi without an RTC boots with a stale clock until NTP syncs. */
  private checkClock(now: number): boolean {
    const stored = this.deps.store.getMeta<number>(LAST_SEEN_KEY);
    const lastSeen = stored === undefined ? this.lastSeen : Math.max(stored, this.lastSeen ?? stored);
    if (lastSeen !== undefined && now < lastSeen - CLOCK_TOLERANCE_MS) {
      if (this.clockStatus.trusted) {
        const message = `wall clock ${new Date(now).toISOString()} is earlier than the last time seen ${new Date(lastSeen).toISOString()}; nothing is scheduled until the clock is set (waiting for NTP?)`;
        this.deps.logger.warn('clock not trusted', { now: new Date(now).toISOString(), lastSeen: new Date(lastSeen).toISOString() });
        this.clockStatus = { trusted: false, lastSeen, message };
      }
      return false;
    }
    if (!this.clockStatus.trusted) this.deps.logger.info('clock trusted again', { now: new Date(now).toISOString() });
    this.clockStatus = { trusted: true, lastSeen: now };
    this.lastSeen = Math.max(now, lastSeen ?? now);
    this.persistLastSeen(LAST_SEEN_PERSIST_MS);
    return true;
  }

  /** Stores the last time seen if the stored one is `slackMs` or more behind it (or missing). */
  private persistLastSeen(slackMs: number): void {
    if (this.lastSeen === undefined) return;
    const stored = this.deps.store.getMeta<number>(LAST_SEEN_KEY);
    if (stored !== undefined && this.lastSeen - stored < Math.max(1, slackMs)) return;
    try {
      this.deps.store.setMeta(LAST_SEEN_KEY, this.lastSeen);
    } catch (error) {
      // A store already closed (stop after a failed start): nothing to keep.
      this.deps.logger.warn('could not record the last wall-clock time seen', { error: errorMessage(error) });
    }
  }

  /**
   * Computes every entry still waiting for its next occurrence, RESOLVE_SLICE
   * at a time with a turn of the event loop in between (HTTP requests, the
   * rest of start-up), so 1,000 schedules never block the loop for long.
   */
  private async resolvePending(): Promise<void> {
    while (this.unresolved.length) {
      for (const entry of this.unresolved.splice(0, RESOLVE_SLICE)) this.resolve(entry);
      if (this.unresolved.length) await new Promise<void>((resolve) => setImmediate(resolve));
    }
  }

  /** Computes the entry's next occurrence if it is still to be computed. */
  private resolve(entry: Entry): void {
    if (entry.from === undefined) return;
    const schedule = this.scheduleOf(entry);
    if (schedule) this.setNext(entry, schedule, entry.from);
  }

  /**
   * nextDue = the first occurrence after `after`; `since` (default `after`) is
   * an earlier instant with the same next occurrence, when the caller knows
   * there is none in (since, after].
   */
  private setNext(entry: Entry, schedule: Schedule, after: number, since = after): void {
    this.computed += 1;
    entry.from = undefined;
    entry.nextDue = schedule.next(after);
    entry.since = since;
  }

  /** The entry's compiled schedule (compiled on first use); undefined, logged and dropped if it cannot be compiled. */
  private scheduleOf(entry: Entry): Schedule | undefined {
    if (entry.schedule) return entry.schedule;
    try {
      entry.schedule = this.deps.compile(entry.job);
      return entry.schedule;
    } catch (error) {
      this.deps.logger.error('schedule could not be compiled', { job: entry.job.name, error: errorMessage(error) });
      if (this.entries.get(entry.job.name) === entry) this.entries.delete(entry.job.name);
      entry.from = undefined;
      entry.nextDue = undefined;
      entry.since = undefined;
      return undefined;
    }
  }

  private async planJob(entry: Entry, now: number, state: ScheduleState): Promise<void> {
    const { job } = entry;
    const schedule = this.scheduleOf(entry);
    if (!schedule) return;
    if (state.paused) {
      this.setNext(entry, schedule, now);
      return;
    }
    const policy = job.schedule!;
    const plan = planCatchup({ schedule, lastHandled: state.lastHandled, now, policy: policy.catchup, maxCatchup: policy.maxCatchup });
    const submitted = plan.runs.length ? this.deps.submit(job, plan.runs) : Promise.resolve();
    const caughtUp = plan.runs.some((r: PlannedRun) => r.trigger === 'catchup') || plan.missed > 0;
    const lastCatchup = caughtUp
      ? { at: now, occurrences: plan.missed, runs: plan.runs.filter((r: PlannedRun) => r.trigger === 'catchup').length, policy: policy.catchup }
      : state.lastCatchup;
    if (caughtUp) {
      this.deps.logger.info('catch-up', { job: job.name, policy: policy.catchup, missed: plan.missed, runs: lastCatchup?.runs ?? 0 });
    }
    try {
      await submitted;
    } catch (error) {
      // The runs could not be written (a full disk): their occurrences are not handled. lastHandled moves only past
      // an occurrence that did get a run, and the job is planned again after a pause, when its catch-up policy
      // decides, as for any occurrence missed while the appliance was off.
      const handledSoFar = this.knownLastHandled(job.name, state.lastHandled);
      if (handledSoFar !== undefined && handledSoFar !== state.lastHandled) {
        await this.ledger.advance(job.name, { from: state.lastHandled, to: handledSoFar });
      }
      entry.nextDue = now + MAX_SLEEP_MS;
      entry.since = undefined; // not an occurrence: nothing to keep for the next start
      this.deps.logger.error('scheduled run could not be created; trying again shortly', { job: job.name, error: errorMessage(error) });
      return;
    }
    // Recorded only once the runs are durable (a crash in between is covered by knownLastHandled).
    // A compare-and-set from the lastHandled this pass planned from: if it moved meanwhile (the job was resumed,
    // or another scheduler on the same ledger recorded these occurrences), what is stored wins and is kept.
    const handled = plan.handledThrough ?? now;
    const advanced = await this.ledger.advance(job.name, { from: state.lastHandled, to: handled, ...(lastCatchup ? { lastCatchup } : {}) });
    if (!advanced) {
      const stored = (await this.ledger.get(job.name))?.lastHandled;
      this.deps.logger.warn('schedule already advanced elsewhere (resumed, rescheduled or another scheduler); keeping the stored last handled occurrence', {
        job: job.name,
        plannedFrom: state.lastHandled === undefined ? undefined : new Date(state.lastHandled).toISOString(),
        stored: stored === undefined ? undefined : new Date(stored).toISOString(),
      });
      this.setNext(entry, schedule, Math.max(stored ?? handled, now));
      return;
    }
    // planCatchup's handledThrough is the newest occurrence <= now (or lastHandled when none is due, or now on first
    // sight): no occurrence lies in (handled, now], so the next one after `handled` is this one too. That is what
    // the next start looks up (its lastHandled is `handled`).
    this.setNext(entry, schedule, Math.max(handled, now), handled);
  }

  /**
   * lastHandled, but never older than a run already created for the job: a
   * crash between creating a run and recording lastHandled must not create
   * the same occurrence twice.
   */
  private knownLastHandled(job: string, lastHandled: number | undefined): number | undefined {
    const candidates = [lastHandled, this.deps.newestScheduledFor(job)].filter((t): t is number => t !== undefined);
    return candidates.length ? Math.max(...candidates) : undefined;
  }
}
