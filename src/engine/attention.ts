import { formatDuration } from '../core/durations.js';
import type { JobDef } from '../config/types.js';
import type { Run } from '../runs/model.js';

/*
 * What needs the person's attention, in one place: the overview's status
 * line, `/api/attention`, the job pages and the notifications all read it
 * from here. Pure: the Watch (watch.ts) keeps the facts, this turns them
 * into words.
 */

/** A run counts as stuck after at least this long, whatever its history says. */
export const MIN_STUCK_AFTER_MS = 10 * 60_000;
/** The default stuckAfter is this many times the median duration of the job's recent successful runs. */
export const STUCK_FACTOR = 3;
/** How many recent successful runs the median is taken over. */
export const STUCK_HISTORY_RUNS = 10;

/**
 * When a running run of `job` counts as stuck (ms after it started running):
 * the job's `stuckAfter`; else 3× the median duration of its last successful
 * runs, at least 10 min; with no successful run yet, its timeout (when longer
 * than 10 min: the timeout stops it first) or 10 min.
 */
export function stuckAfterMs(job: Pick<JobDef, 'stuckAfterMs' | 'timeoutMs'>, successDurationsMs: number[]): number {
  if (job.stuckAfterMs !== undefined) return job.stuckAfterMs;
  if (successDurationsMs.length === 0) return Math.max(job.timeoutMs ?? 0, MIN_STUCK_AFTER_MS);
  return Math.max(STUCK_FACTOR * median(successDurationsMs), MIN_STUCK_AFTER_MS);
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** How long each successful run took (finished − started), for stuckAfterMs. */
export function successDurations(runs: Run[]): number[] {
  return runs
    .filter((run) => run.status === 'succeeded' && run.startedAt && run.finishedAt)
    .map((run) => Date.parse(run.finishedAt!) - Date.parse(run.startedAt!))
    .filter((ms) => Number.isFinite(ms) && ms >= 0);
}

/** The failing task of a finished run, its error, and the one line the overview shows. */
export function failureOf(run: Run): { task?: string; error: string } {
  const failed = run.taskOrder.map((name) => run.tasks[name]).find((task) => task?.status === 'failed');
  return { ...(failed ? { task: failed.name } : {}), error: failed?.error ?? run.error ?? 'failed' };
}

/** A job whose newest finished run failed. */
export interface FailingJob {
  job: string;
  runId: string;
  /** One line: the failing task and its last output line, else its error. */
  reason: string;
  /** When the first failure of this streak finished (ISO). */
  since: string;
  /** Failed runs in a row. */
  failures: number;
}

/** A running run past its stuckAfter, or one that makes occurrences of its job be skipped. */
export interface StuckRun {
  job: string;
  runId: string;
  /** When it started running (ISO). */
  runningSince: string;
  /** Past its stuckAfter (absent: not yet, but occurrences are being skipped). */
  stuckAfterMs?: number;
  /** Occurrences skipped because this run was still active (overlap: skip). */
  skipped?: { occurrences: number; since: string };
  /** One line for people. */
  reason: string;
}

/** A job with `expect: { every }` and no successful run in that long. */
export interface OverdueJob {
  job: string;
  everyMs: number;
  lastSuccessAt?: string;
  /** When a success was due (ISO). */
  dueAt: string;
}

/** An appliance problem: a failed config reload, an untrusted clock, a full disk, under-voltage. */
export interface ApplianceProblem {
  /** `appliance:config`, `appliance:clock`, `appliance:disk`, `appliance:power`. */
  key: string;
  message: string;
}

export interface AttentionView {
  /** Nothing needs attention. */
  ok: boolean;
  /** One line: "2 jobs failing: backup, nas-check · 1 question waiting · 1 run stuck", or "All good". */
  summary: string;
  failing: FailingJob[];
  stuck: StuckRun[];
  overdue: OverdueJob[];
  /** Open inbox questions. */
  questions: number;
  appliance: ApplianceProblem[];
}

/** What needs attention about one job (JobView.attention). */
export interface JobAttention {
  /** Its newest finished run failed: that run and the reason in one line. */
  failing?: { runId: string; reason: string; failures: number };
  /** A run of it is stuck, or makes its occurrences be skipped. */
  stuck?: { runId: string; reason: string; skipped?: number };
  /** `expect`: no success since before dueAt. */
  overdue?: { dueAt: string };
}

export interface AttentionInputs {
  failing: FailingJob[];
  stuck: StuckRun[];
  overdue: OverdueJob[];
  questions: number;
  appliance: ApplianceProblem[];
}

export function attentionView(inputs: AttentionInputs): AttentionView {
  const byJob = <T extends { job: string }>(items: T[]) => [...items].sort((a, b) => a.job.localeCompare(b.job));
  const failing = byJob(inputs.failing);
  const stuck = byJob(inputs.stuck);
  const overdue = byJob(inputs.overdue);
  const parts: string[] = [];
  if (inputs.appliance.length) parts.push(...inputs.appliance.map((problem) => problem.message));
  if (failing.length) parts.push(`${count(failing.length, 'job')} failing: ${failing.map((f) => f.job).join(', ')}`);
  if (inputs.questions) parts.push(`${count(inputs.questions, 'question')} waiting`);
  if (stuck.length) parts.push(`${count(stuck.length, 'run')} stuck`);
  if (overdue.length) parts.push(`${count(overdue.length, 'job')} overdue: ${overdue.map((o) => o.job).join(', ')}`);
  return {
    ok: parts.length === 0,
    summary: parts.length ? parts.join(' · ') : 'All good',
    failing,
    stuck,
    overdue,
    questions: inputs.questions,
    appliance: inputs.appliance,
  };
}

/** Words for a stuck run: "running for 3h 10m (stuck after 1h); 4 occurrences skipped". */
export function stuckReason(runningForMs: number, stuckAfter: number | undefined, skipped: number): string {
  const words = [`running for ${formatDuration(Math.max(0, runningForMs))}${stuckAfter !== undefined ? ` (stuck after ${formatDuration(stuckAfter)})` : ''}`];
  if (skipped > 0) words.push(`${count(skipped, 'occurrence')} skipped while it runs`);
  return words.join('; ');
}

function count(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`;
}
