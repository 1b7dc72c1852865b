/**
 * The validated, normalised config the rest of Hearth consumes. The YAML
 * shape (with shorthands and duration strings) is parsed into this; every
 * duration here is already milliseconds and every default is filled in.
 */

export type ScheduleSpec =
  | { kind: 'cron'; expr: string }
  /** `anchor` (epoch ms) fixes the phase so restarts never drift; default 0 (the Unix epoch). */
  | { kind: 'every'; everyMs: number; anchor: number }
  /** An RRULE body, optionally preceded by DTSTART / EXDATE lines (RFC 5545). */
  | { kind: 'rrule'; rule: string };

export type CatchupPolicy = 'none' | 'latest' | 'all';
export type OverlapPolicy = 'skip' | 'queue' | 'allow';

export interface JobSchedule {
  spec: ScheduleSpec;
  /** IANA zone the schedule is read in (job's own, else the global one). */
  timezone: string;
  catchup: CatchupPolicy;
  /** Upper bound on runs created by `catchup: all` in one planning pass. */
  maxCatchup: number;
}

export interface RetryPolicy {
  /** Retries after the first attempt (0 = never retry). */
  max: number;
  delayMs: number;
  backoff: 'fixed' | 'exponential';
  maxDelayMs: number;
  /** Fraction of the delay added or removed at random (0 disables jitter). */
  jitter: number;
}

export interface TaskDef {
  name: string;
  dependsOn: string[];
  /** A shell command run with /bin/sh -c; exclusive with `action`. */
  run?: string;
  /** A built-in action name (`http`, `module`, ...); exclusive with `run`. */
  action?: string;
  with: Record<string, unknown>;
  env: Record<string, string>;
  cwd?: string;
  timeoutMs?: number;
  retries?: RetryPolicy;
  continueOnError: boolean;
  /**
   * Values of this task (`run`, `with.…`, `env.…`, paths relative to the task) that came from `${VAR}`
   * substitution, with the text as written: views show that instead of the value, which may be a secret.
   */
  fromEnv?: Array<{ path: Array<string | number>; written: string }>;
}

export interface JobDef {
  name: string;
  description?: string;
  schedule?: JobSchedule;
  pool: string;
  overlap: OverlapPolicy;
  timeoutMs?: number;
  retries: RetryPolicy;
  env: Record<string, string>;
  /** In a topological order (dependencies before dependants). */
  tasks: TaskDef[];
  /** Where the job is defined, for messages: `hearth.yaml:12`. */
  source?: { file: string; line: number };
  /** `on: { event: NAME }`: each such event (POST /api/events) starts a run with the event's data as input. */
  on?: { events: string[] };
  /** `stuckAfter`: a run running longer is reported stuck (absent: derived from past runs, see engine/attention.ts). */
  stuckAfterMs?: number;
  /** `expect: { every }`: no successful run in that long is reported as missed (a dead-man check). */
  expectEveryMs?: number;
  /** `notify: { on, to }` overrides notify.default for this job; `false` (`notify: off`) silences it (absent: the default). */
  notify?: JobNotify | false;
}

/** The kinds of notification (the same list as src/notify/types.ts NOTIFICATION_KINDS, which config may not import). */
export const NOTIFY_KINDS = ['failure', 'recovery', 'stuck', 'missed', 'input', 'appliance'] as const;
export type NotifyKind = (typeof NOTIFY_KINDS)[number];
export const NOTIFY_CHANNEL_TYPES = ['ntfy', 'email', 'slack', 'webhook', 'telegram'] as const;
export type NotifyChannelType = (typeof NOTIFY_CHANNEL_TYPES)[number];

/** Which kinds go to which channels (names of notify.channels). */
export interface JobNotify {
  on: NotifyKind[];
  to: string[];
}

/**
 * `notify.channels.NAME`: where notifications go. `settings` holds what the
 * file gave after `${VAR}` substitution; a secret left out of the file is
 * looked up in the SecretsStore under the channel's name.
 */
export interface NotifyChannelDef {
  name: string;
  type: NotifyChannelType;
  /** Never logged or returned by the API: some values are secrets. */
  settings: Record<string, string>;
}

/** The top-level `notify:` block. */
export interface NotifyConfig {
  channels: Record<string, NotifyChannelDef>;
  /** For every job without its own `notify:` and for appliance notifications. */
  default: JobNotify;
  /** At most one notification per job and kind in this window; the rest are summed up in the next. */
  quietMs: number;
  /** Where the dashboard is reached from a phone, for links (absent: no links, only paths). */
  baseUrl?: string;
}

/** `hooks: { NAME: { job, secret } }`: `POST /hooks/NAME` with the secret starts `job` with the body as input. */
export interface HookDef {
  name: string;
  job: string;
  /** Never logged, never returned by the API. */
  secret: string;
}

/**
 * `connections: { NAME: { type, ... } }`: an outside account (Slack, Gmail).
 * `settings` holds what the file gave, after `${VAR}` substitution; secrets
 * saved through the dashboard or `hearth connect` are in the SecretsStore
 * (src/secrets/) and are merged by whoever uses the connection.
 */
export interface ConnectionDef {
  name: string;
  type: 'slack' | 'gmail';
  /** Never logged or returned by the API as a whole: some values are secrets. */
  settings: Record<string, string>;
}

export interface PoolDef {
  name: string;
  concurrency: number;
}

export interface HearthConfig {
  /** Absolute path of the file this came from. */
  file: string;
  timezone: string;
  /** Absolute. */
  dataDir: string;
  server: { host: string; port: number };
  pools: Record<string, PoolDef>;
  jobs: Record<string, JobDef>;
  /** Finished runs kept in state.json per job before moving to history/. */
  historyPerJob: number;
  /** Run log files older than this are deleted (the run itself stays in history). */
  logRetentionMs: number;
  /** `logs.maxRunSize`: a run's log keeps its first and last half of this (absent in hand-built configs: 16 MB). */
  logMaxRunBytes?: number;
  /** Archived runs (history/) older than this are deleted, a month at a time. */
  historyRetentionMs: number;
  /** Grace between SIGTERM and SIGKILL when a task is stopped. */
  killGraceMs: number;
  /** `defaultTimeout`: a shell task with no timeout (its own or its job's) is stopped after this (absent: DEFAULT_SHELL_TIMEOUT_MS). */
  defaultTimeoutMs?: number;
  /** Webhooks by name (absent in hand-built configs: none). */
  hooks?: Record<string, HookDef>;
  /** Outside accounts by name (absent in hand-built configs: none). */
  connections?: Record<string, ConnectionDef>;
  /** Notification channels and routing (absent in hand-built configs: no channels). */
  notify?: NotifyConfig;
  /** The knowledge store's settings (absent in hand-built configs: defaults apply). */
  knowledge?: KnowledgeConfig;
  /** Valid but probably unintended settings (`file:line:col: path: message`), logged at start and reload, printed by validate. */
  warnings?: string[];
}

/** How chunks are embedded; see docs/knowledge.md. */
export type EmbedderSpec =
  | { type: 'hashing'; dim: number }
  | { type: 'local'; model: string; modelDir: string; dtype: 'q8' | 'fp32' | 'fp16' | 'int8' | 'uint8' | 'q4'; threads: number }
  | ({ type: 'ollama' | 'openai' } & HttpEmbedderSettings);

/** An HTTP embedder's settings in hearth.yaml; src/knowledge/embedders/http.ts takes them as they are. */
export interface HttpEmbedderSettings {
  /** Base URL: http://127.0.0.1:11434 (Ollama), https://api.openai.com or http://host:8000 (OpenAI-compatible). */
  url: string;
  model: string;
  /** Expected dimension; when absent the first response decides. */
  dim?: number;
  apiKey?: string;
  timeoutMs: number;
  /** Retries after the first attempt. */
  retries: number;
  /** Prepended by purpose, for models trained with prefixes (nomic: "search_query: "). */
  queryPrefix?: string;
  documentPrefix?: string;
}

export interface KnowledgeConfig {
  embedder: EmbedderSpec;
}

/** A shell task with no timeout of its own and none on its job is stopped after 6 hours, so nothing hangs forever. */
export const DEFAULT_SHELL_TIMEOUT_MS = 6 * 3_600_000;

export const DEFAULT_RETRY: RetryPolicy = {
  max: 0,
  delayMs: 30_000,
  backoff: 'fixed',
  maxDelayMs: 600_000,
  jitter: 0.1,
};
