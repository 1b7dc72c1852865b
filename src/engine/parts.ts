import { errorMessage } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { HearthConfig, JobDef } from '../config/types.js';
import type { Run } from '../runs/model.js';
import type { RunStore } from '../runs/store.js';
import { observeRepository, type RunRepository } from '../runs/run-repository.js';
import { compileCheckedSchedule, type Schedule } from '../schedule/index.js';
import type { RunEvent, RunEventListener } from './port.js';

/*
 * Small parts the Engine shares with the dispatcher, scheduler and workflows
 * it is given (wired together in one place: createEngine).
 */

/** The config in force: the engine replaces `current` on reload, the other parts read it at each use. */
export interface ConfigRef {
  current: HearthConfig;
}

/** Run-event listeners of one engine (the dashboard's fan-out, metrics). A listener that throws is logged and kept. */
export class RunEventHub {
  private readonly listeners = new Set<RunEventListener>();

  constructor(private readonly logger: Logger) {}

  subscribe(listener: RunEventListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  emit(event: RunEvent): void {
    for (const listener of this.listeners) {
      try {
        listener(event);
      } catch (error) {
        this.logger.error('run event listener failed', { runId: event.run.id, error: errorMessage(error) });
      }
    }
  }
}

/** Compiled schedules by job, recompiled only when the job's schedule (spec + zone) changes. */
export class CompiledSchedules {
  private readonly schedules = new Map<string, { key: string; schedule: Schedule }>();

  of(job: JobDef): Schedule {
    const spec = job.schedule!;
    const key = JSON.stringify([spec.spec, spec.timezone]);
    const cached = this.schedules.get(job.name);
    if (cached?.key === key) return cached.schedule;
    // At start the config check has just compiled it (same spec object): reused, not compiled twice.
    const schedule = compileCheckedSchedule(spec.spec, spec.timezone);
    this.schedules.set(job.name, { key, schedule });
    return schedule;
  }
}

/**
 * A read model (a cache) of the run repository for the synchronous views:
 * the dashboard's job list (each job's last run) and the scheduler's "newest
 * occurrence that already has a run" (Scheduler.knownLastHandled). It is fed
 * by the repository's change notifications (createEngine observes the store)
 * and seeded from the repository at start and for jobs a reload adds; it is
 * never written to and never the source of truth: anything that decides
 * what happens to a run reads the repository.
 */
export class RunReadModel {
  private readonly last = new Map<string, Run>();
  /** Per job, the newest `scheduledFor` (epoch ms) of any run seen. */
  private readonly scheduled = new Map<string, number>();
  private readonly seeded = new Set<string>();

  /** A run inserted or saved (or read at seeding). */
  note(run: Run): void {
    const known = this.last.get(run.job);
    if (!known || known.id <= run.id) this.last.set(run.job, run);
    if (run.scheduledFor) {
      const at = Date.parse(run.scheduledFor);
      if (at > (this.scheduled.get(run.job) ?? -Infinity)) this.scheduled.set(run.job, at);
    }
  }

  /** Reads each job's last run and active runs from the repository, once per job. */
  async seed(runs: RunRepository, jobs: readonly string[]): Promise<void> {
    const fresh = jobs.filter((job) => !this.seeded.has(job));
    for (const job of fresh) this.seeded.add(job);
    await Promise.all(
      fresh.map(async (job) => {
        const [last, active] = await Promise.all([runs.lastRun(job), runs.active({ job })]);
        for (const run of [...active, ...(last ? [last] : [])]) this.note(run);
      }),
    );
  }

  lastRun(job: string): Run | undefined {
    return this.last.get(job);
  }

  newestScheduledFor(job: string): number | undefined {
    return this.scheduled.get(job);
  }
}

/**
 * The store, telling `notify` about every run inserted or saved through its
 * run repository (`runs`), the one way the engine, the executor and the pool
 * write runs. The store's own synchronous run methods pass through untold.
 */
export function observeRunChanges(store: RunStore, notify: (type: 'created' | 'updated', run: Run) => void): RunStore {
  return {
    open: () => store.open(),
    close: () => store.close(),
    flush: () => store.flush(),
    insertRun: (run) => store.insertRun(run),
    updateRun: (run) => store.updateRun(run),
    getRun: (id) => store.getRun(id),
    listRuns: (query) => store.listRuns(query),
    activeRuns: () => store.activeRuns(),
    lastSuccess: (job) => store.lastSuccess(job),
    lastRun: (job) => store.lastRun(job),
    pruneHistory: (before) => store.pruneHistory(before),
    runs: observeRepository(store.runs, (type, run) => notify(type, run)),
    queue: store.queue,
    schedules: store.schedules,
    getSchedule: (job) => store.getSchedule(job),
    setSchedule: (job, state) => store.setSchedule(job, state),
    getMeta: <T>(key: string) => store.getMeta<T>(key),
    setMeta: (key, value) => store.setMeta(key, value),
    metaKeys: (prefix) => store.metaKeys(prefix),
  };
}
