import type { ChannelStatus } from '../notify/notifier.js';
import type { Run, RunPage, RunQuery, Trigger } from '../runs/model.js';
import type { InboxItem } from '../steps/inbox.js';
import type { StepView } from '../steps/journal.js';
import type { LogReader } from '../core/log-reader.js';
import type { AttentionView, JobAttention } from './attention.js';

export type { AttentionView, JobAttention } from './attention.js';

/**
 * What the HTTP API and the dashboard need from the running appliance. The
 * engine implements it; src/http and src/cli only ever see this port, so they
 * are tested against a fake and never import the engine.
 */

export interface JobView {
  name: string;
  description?: string;
  pool: string;
  overlap: 'skip' | 'queue' | 'allow';
  schedule?: {
    kind: 'cron' | 'every' | 'rrule';
    /** The expression as written (`0 3 * * *`, `15m`, `FREQ=...`). */
    expression: string;
    /** Words for people: "every day at 03:00 (Europe/London)". */
    description: string;
    timezone: string;
    catchup: 'none' | 'latest' | 'all';
    maxCatchup: number;
    paused: boolean;
    /** ISO 8601 with offset. */
    nextRun?: string;
    lastCatchup?: { at: string; occurrences: number; runs: number; policy: string };
  };
  tasks: Array<{ name: string; dependsOn: string[]; kind: 'shell' | 'action'; action?: string } & Partial<TaskDetails>>;
  /** The job's own settings its tasks inherit (env: names only). */
  settings?: { timeoutMs?: number; retries: RetryView; env: string[] };
  /** Events that start the job (`on: { event }`) and webhooks naming it (names only, never their secrets). */
  on?: { events: string[]; hooks: string[] };
  lastRun?: Pick<Run, 'id' | 'status' | 'trigger' | 'createdAt' | 'startedAt' | 'finishedAt'>;
  lastSuccessAt?: string;
  activeRuns: number;
  /** What needs attention about the job: failing, a stuck run, overdue (absent: nothing). */
  attention?: JobAttention;
}

export interface RetryView {
  max: number;
  delayMs: number;
  backoff: 'fixed' | 'exponential';
  maxDelayMs: number;
}

/** What a task does, safe to show: `${VAR}` values as written and secret-named `with:` keys redacted; env names only. */
export interface TaskDetails {
  run?: string;
  with?: Record<string, unknown>;
  timeoutMs?: number;
  retries?: RetryView;
  env: string[];
  continueOnError: boolean;
}

export interface HealthView {
  status: 'ok';
  version: string;
  startedAt: string;
  uptimeSeconds: number;
  clock: {
    /** False while the wall clock is earlier than the last time Hearth saw (no RTC, NTP not synced yet). */
    trusted: boolean;
    now: string;
    lastSeen?: string;
    message?: string;
  };
  config: {
    file: string;
    loadedAt: string;
    jobs: number;
    /** Present when the last reload failed: the previous catalog keeps running. */
    errors?: string[];
    failedAt?: string;
  };
  runs: { queued: number; running: number; waiting: number };
  /** Free space where the data directory lives; absent until first read or when it cannot be read. */
  disk?: DiskView;
  /** Notification channels and their delivery state (absent when hearth.yaml has no notify: block). */
  notify?: { channels: ChannelStatus[] };
}

export interface DiskView {
  freeBytes: number;
  totalBytes: number;
  /** Too little space left for runs and their logs to be written safely. */
  full: boolean;
  /** Present when the disk is full or nearly full. */
  message?: string;
}

/**
 * What `/api/health` tells a request without a token or session: enough for a
 * monitor (is it up, is the config broken, is the disk full), nothing from
 * the config file (its path, or error lines quoting its contents).
 */
export interface OpenHealthView extends Omit<HealthView, 'config'> {
  config: { ok: boolean; errors: number; jobs: number; loadedAt: string; failedAt?: string };
}

export function openHealthView(health: HealthView): OpenHealthView {
  const { config, notify, ...rest } = health;
  return {
    ...rest,
    // Without a token: which channel fails and since when, not the error text (it may name hosts and addresses).
    ...(notify ? { notify: { channels: notify.channels.map(({ lastError: _lastError, ...channel }) => channel) } } : {}),
    config: {
      ok: !config.errors,
      errors: config.errors?.length ?? 0,
      jobs: config.jobs,
      loadedAt: config.loadedAt,
      ...(config.failedAt ? { failedAt: config.failedAt } : {}),
    },
  };
}

export interface IncomingEvent {
  name: string;
  /** Any JSON; becomes the input of the runs it starts (absent: they have none). */
  data?: unknown;
  /** Idempotency key: the same id twice makes one event. */
  id?: string;
}

export interface EventReceipt {
  /** The event's id: the caller's `id`, else one made up. */
  eventId: string;
  /** Runs started for it (one per job with `on: { event }`), durable. */
  runs: string[];
  /** Jobs that listen to the event but got no run: `overlap: skip` and a run was active. */
  skipped: Array<{ job: string; reason: string }>;
  /** True when `id` was seen before: nothing new was created. */
  duplicate: boolean;
}

export interface LogSubscription {
  close(): void;
}

/**
 * A run changed: `created` (queued, durable), `updated` (started, a task
 * moved, waiting, cancel requested) or `finished` (final status). `run` is the
 * engine's live object: read it during the call, copy what you keep, never
 * mutate it.
 */
export interface RunEvent {
  type: 'created' | 'updated' | 'finished';
  run: Readonly<Run>;
}

export type RunEventListener = (event: RunEvent) => void;

export interface AppliancePort {
  health(): HealthView;
  /** What needs attention (failing jobs, stuck runs, overdue jobs, questions, appliance problems): the overview's status line and /api/attention. */
  attention(): Promise<AttentionView>;
  listJobs(): JobView[];
  /** Every job's name and description, in catalog order, without the lookups a JobView needs (for a page of a long list). */
  listJobNames(): Array<Pick<JobView, 'name' | 'description'>>;
  getJob(name: string): JobView | undefined;
  /**
   * Durable before it resolves. `input` (any JSON, absent for none) becomes the run's input.
   * Throws NotFoundError (no such job), ConflictError (overlap: skip and a run is active) or UsageError (input too large).
   */
  triggerJob(name: string, trigger: Extract<Trigger, 'manual' | 'api'>, options?: { input?: unknown }): Promise<Run>;
  /**
   * Accepts an event: every job with `on: { event: name }` gets a run with `data` as its input, each
   * durable before this resolves. An `id` seen before (within EVENT_ID_TTL) creates nothing and
   * answers what the first one did, with `duplicate: true`.
   */
  sendEvent(event: IncomingEvent): Promise<EventReceipt>;
  /**
   * Whether `secret` is the secret of webhook `name` (compared in constant time); `unknown` when no such hook.
   * The secret itself never leaves the appliance.
   */
  checkHook(name: string, secret: string): 'ok' | 'wrong' | 'unknown';
  /** Starts the hook's job with `input` (trigger `hook`); durable before it resolves. Throws like triggerJob. */
  triggerHook(name: string, input: unknown): Promise<Run>;
  listRuns(query: RunQuery): Promise<RunPage>;
  getRun(id: string): Promise<Run | undefined>;
  /** Durable before it resolves (a crash after the answer still cancels the run). Throws NotFoundError, or ConflictError if the run already finished. */
  cancelRun(id: string): Promise<Run>;
  /**
   * The whole log text so far, as one string (at most the log cap, 16 MB by
   * default): for tests and small logs; the API streams through `openLog`.
   * Throws NotFoundError for an unknown run.
   */
  readLog(id: string): Promise<string>;
  /** A snapshot of the log read in bounded chunks; the caller closes it. Throws NotFoundError. */
  openLog(id: string): Promise<LogReader>;
  /**
   * Streams log lines: first the existing ones (from the last `tail` lines
   * when given), then live ones; `onEnd` is called once the run has finished
   * and every line was delivered. The existing lines are read in chunks, and
   * when `onLine` returns a promise the next line waits for it
   * (back-pressure); live lines are not awaited.
   */
  followLog(
    id: string,
    onLine: (line: string) => void | Promise<void>,
    onEnd: () => void,
    options?: { tail?: number },
  ): Promise<LogSubscription>;
  /** Pauses or resumes a job's schedule; durable before it resolves. Throws NotFoundError. */
  setPaused(job: string, paused: boolean): Promise<void>;
  /** Re-runs a finished run's job as a new run (trigger `retry`). Throws NotFoundError, or ConflictError while it is active. */
  retryRun(id: string): Promise<Run>;
  /**
   * Subscribes to run changes; returns the unsubscribe function. Meant for
   * one shared consumer (the dashboard's fan-out, metrics), not one per
   * browser. A listener that throws is logged and kept.
   */
  onRunEvent(listener: RunEventListener): () => void;
  /** A workflow run's steps in call order (empty for a run without steps). Throws NotFoundError for an unknown run. */
  runSteps(id: string): Promise<StepView[]>;
  /** Open inbox questions of waiting workflows, oldest first. */
  listInbox(): Promise<InboxItem[]>;
  /**
   * Answers a question; on disk before it resolves, then the run wakes.
   * Throws NotFoundError, ConflictError (already answered or expired), or
   * UsageError naming the field that fails the question's schema or choices.
   */
  answerQuestion(id: string, value: unknown): Promise<InboxItem>;
}
