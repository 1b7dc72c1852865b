import { errorMessage } from '../core/errors.js';
import { formatDuration } from '../core/durations.js';
import type { HookDef, JobDef } from '../config/types.js';
import { retryView, shownTask } from '../config/redact.js';
import type { Run, ScheduleState } from '../runs/model.js';
import { formatInZone } from '../schedule/index.js';
import type { HealthView, JobView } from './port.js';
import type { ClockStatus } from './scheduler.js';

/*
 * Presentation: the views the AppliancePort answers with, built from plain
 * inputs (no engine, store or scheduler), so the engine only gathers them.
 */

export interface JobViewInputs {
  /** The job's newest run, if any. */
  lastRun?: Run;
  scheduleState?: ScheduleState;
  activeRuns: number;
  /** Epoch ms of the next occurrence (absent: paused, or not computed yet). */
  nextRun?: number;
  /** Webhooks of the config (their names only end up in the view, never a secret). */
  hooks?: Record<string, HookDef>;
  /** What needs attention about the job (the Watch's answer). */
  attention?: JobView['attention'];
  /** Words for the schedule ("every day at 03:00"); may throw for an invalid one. */
  describeSchedule(): string;
}

export function jobView(job: JobDef, inputs: JobViewInputs): JobView {
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
    activeRuns: inputs.activeRuns,
    ...triggersView(job, inputs.hooks),
    ...(job.description ? { description: job.description } : {}),
    ...(inputs.lastRun ? { lastRun: lastRunView(inputs.lastRun) } : {}),
    ...(inputs.attention ? { attention: inputs.attention } : {}),
  };
  if (job.schedule) {
    const { spec, timezone, catchup, maxCatchup } = job.schedule;
    const state = inputs.scheduleState;
    let description: string;
    try {
      description = inputs.describeSchedule();
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
      paused: state?.paused ?? false,
      ...(inputs.nextRun !== undefined ? { nextRun: formatInZone(inputs.nextRun, timezone) } : {}),
      ...(state?.lastCatchup ? { lastCatchup: { ...state.lastCatchup, at: new Date(state.lastCatchup.at).toISOString() } } : {}),
    };
  }
  return view;
}

/** Events and webhooks that start the job: names only, never a secret. */
export function triggersView(job: JobDef, hooks: Record<string, HookDef> | undefined): Pick<JobView, 'on'> {
  const names = Object.values(hooks ?? {}).filter((hook) => hook.job === job.name).map((hook) => hook.name);
  const events = job.on?.events ?? [];
  return events.length || names.length ? { on: { events: [...events], hooks: names } } : {};
}

/** What a job view shows of its newest run. */
export function lastRunView(run: Run): NonNullable<JobView['lastRun']> {
  return pick(run, ['id', 'status', 'trigger', 'createdAt', 'startedAt', 'finishedAt']);
}

export interface HealthInputs {
  now: number;
  startedAt: number;
  version: string;
  clock: ClockStatus;
  config: { file: string; loadedAt: number; jobs: number };
  /** The last reload failed: its errors (the previous catalog keeps running). */
  configProblem?: { errors: string[]; failedAt: number };
  runs: HealthView['runs'];
  disk?: HealthView['disk'];
}

export function healthView(inputs: HealthInputs): HealthView {
  const { now, clock, config, configProblem } = inputs;
  return {
    status: 'ok',
    version: inputs.version,
    startedAt: new Date(inputs.startedAt).toISOString(),
    uptimeSeconds: Math.floor((now - inputs.startedAt) / 1000),
    clock: {
      trusted: clock.trusted,
      now: new Date(now).toISOString(),
      ...(clock.lastSeen !== undefined ? { lastSeen: new Date(clock.lastSeen).toISOString() } : {}),
      ...(clock.message ? { message: clock.message } : {}),
    },
    config: {
      file: config.file,
      loadedAt: new Date(config.loadedAt).toISOString(),
      jobs: config.jobs,
      ...(configProblem ? { errors: configProblem.errors, failedAt: new Date(configProblem.failedAt).toISOString() } : {}),
    },
    runs: inputs.runs,
    ...(inputs.disk ? { disk: inputs.disk } : {}),
  };
}

function pick<T extends object, K extends keyof T>(value: T, keys: K[]): Pick<T, K> {
  const out = {} as Pick<T, K>;
  for (const key of keys) if (value[key] !== undefined) out[key] = value[key];
  return out;
}
