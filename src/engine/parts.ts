import { errorMessage } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { HearthConfig, JobDef } from '../config/types.js';
import type { Run } from '../runs/model.js';
import type { RunStore } from '../runs/store.js';
import { observeRepository } from '../runs/run-repository.js';
import { compileSchedule, type Schedule } from '../schedule/index.js';
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
    const schedule = compileSchedule(spec.spec, spec.timezone);
    this.schedules.set(job.name, { key, schedule });
    return schedule;
  }
}

/** The store, telling `notify` about every inserted or updated run. */
export function observeRunChanges(store: RunStore, notify: (type: 'created' | 'updated', run: Run) => void): RunStore {
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
    runs: observeRepository(store.runs, (type, run) => notify(type, run)),
    queue: store.queue,
    schedules: store.schedules,
    getSchedule: (job) => store.getSchedule(job),
    setSchedule: (job, state) => store.setSchedule(job, state),
    getMeta: <T>(key: string) => store.getMeta<T>(key),
    setMeta: (key, value) => store.setMeta(key, value),
  };
}
