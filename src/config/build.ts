import { homedir } from 'node:os';
import { isAbsolute, resolve } from 'node:path';
import { formatDuration } from '../core/durations.js';
import type { EnvLookup } from './env-substitution.js';
import type { ConfigPath, IssueCollector } from './issues.js';
import { formatPath } from './issues.js';
import { formatConfigIssue } from '../core/errors.js';
import type { LoadOptions } from './options.js';
import { configSchemas, describeValue, parseFields, parseValue } from './schema.js';
import { EVENT_NAME_RULE, isEventName } from '../core/event-names.js';
import type { ConfigSchemas, ParsedFields, RawRetries } from './schema.js';
import { didYouMean } from './suggest.js';
import { findCycles, topologicalOrder } from './task-graph.js';
import { canonicalTimeZone, parseAnchor, systemTimeZone, unknownTimeZoneMessage } from './timezone.js';
import { DEFAULT_RETRY, NOTIFY_CHANNEL_TYPES, NOTIFY_KINDS } from './types.js';
import type { ConnectionDef, EmbedderSpec, HearthConfig, HookDef, JobDef, JobNotify, NotifyChannelDef, NotifyConfig, NotifyKind, JobSchedule, KnowledgeConfig, PoolDef, RetryPolicy, ScheduleSpec, TaskDef } from './types.js';

/**
 * Turns the plain YAML tree into a HearthConfig: defaults, shorthands,
 * durations in ms, absolute paths, tasks in topological order. Every problem
 * goes to `issues`; the caller throws if there are any, so the returned
 * config is only trusted when `issues.count` is 0.
 */
export interface BuildContext {
  /** The file name as the user gave it, for messages. */
  file: string;
  /** Relative `dataDir` and `cwd` values are resolved against this. */
  baseDir: string;
  env: EnvLookup;
  issues: IssueCollector;
  options: LoadOptions;
  /** Warnings found on the way (`file:line:col: path: message`), for the config's `warnings`. */
  warnings?: string[];
}

export const NAME_PATTERN = /^[a-z0-9][a-z0-9_-]{0,62}$/i;
const ENV_NAME_PATTERN = /^[A-Za-z_][A-Za-z0-9_]*$/;
/** The name of the single task a job with a top-level `run:` or `action:` gets. */
export const SHORTHAND_TASK_NAME = 'main';

export const DEFAULTS = {
  dataDir: './.hearth',
  host: '0.0.0.0',
  port: 8080,
  historyPerJob: 50,
  logRetentionMs: 30 * 86_400_000,
  logMaxRunBytes: 16 * 1024 * 1024,
  historyRetentionMs: 365 * 86_400_000,
  killGraceMs: 10_000,
  pool: 'default',
  poolConcurrency: 2,
  catchup: 'latest',
  maxCatchup: 24,
  overlap: 'skip',
} as const;

interface Globals {
  timezone: string;
  pools: Record<string, PoolDef>;
}

export function buildConfig(tree: unknown, context: BuildContext): HearthConfig {
  const { issues } = context;
  const top =
    parseFields(configSchemas().TOP_FIELDS, tree ?? {}, [], issues, 'a mapping of settings (timezone, dataDir, server, pools, jobs, ...)') ?? {};
  const timezone = checkedTimezone(top.timezone, ['timezone'], issues) ?? context.options.systemTimezone ?? systemTimeZone();
  const globals: Globals = { timezone, pools: buildPools(top.pools ?? {}, issues) };
  const jobs: Record<string, JobDef> = {};
  for (const [name, raw] of Object.entries(top.jobs ?? {})) {
    const job = buildJob(name, raw, context, globals);
    if (job) jobs[name] = job;
  }
  const dataDir = resolvePath(top.dataDir ?? DEFAULTS.dataDir, context.baseDir, context.env);
  return {
    file: resolve(context.file),
    timezone,
    dataDir,
    server: { host: top.server?.host ?? DEFAULTS.host, port: top.server?.port ?? DEFAULTS.port },
    pools: globals.pools,
    jobs,
    historyPerJob: top.history?.keepPerJob ?? DEFAULTS.historyPerJob,
    logRetentionMs: top.history?.keepLogs ?? DEFAULTS.logRetentionMs,
    logMaxRunBytes: top.logs?.maxRunSize ?? DEFAULTS.logMaxRunBytes,
    historyRetentionMs: top.history?.keepRuns ?? DEFAULTS.historyRetentionMs,
    killGraceMs: top.killGrace ?? DEFAULTS.killGraceMs,
    ...(top.defaultTimeout !== undefined && { defaultTimeoutMs: top.defaultTimeout }),
    knowledge: buildKnowledge(top.knowledge ?? {}, dataDir, context),
    ...(context.warnings?.length ? { warnings: [...context.warnings] } : {}),
    hooks: buildHooks(top.hooks ?? {}, jobs, top.jobs ?? {}, issues),
    connections: buildConnections(top.connections ?? {}, issues),
    // Absent without a notify: block (nothing to deliver to); jobs' own notify: are still checked.
    ...withNotify(top.notify, buildNotify(top.notify ?? {}, jobs, top.jobs ?? {}, issues)),
  };
}

function withNotify(given: unknown, notify: NotifyConfig): { notify?: NotifyConfig } {
  return given === undefined ? {} : { notify };
}

/** `notify.quiet` when not given: at most one notification per job and kind an hour. */
export const DEFAULT_NOTIFY_QUIET_MS = 3_600_000;

/**
 * `notify:`: the channels, the default routing (every kind to every channel
 * when not given) and each job's own `notify:` (set on the jobs here, once
 * the channel names are known). A name in `to:` that is not a channel is an
 * error at its line.
 */
function buildNotify(raw: Record<string, unknown>, jobs: Record<string, JobDef>, rawJobs: Record<string, unknown>, issues: IssueCollector): NotifyConfig {
  const fields = parseFields(configSchemas().NOTIFY_FIELDS, raw, ['notify'], issues, 'a mapping such as { channels: { ... }, default: { on, to } }') ?? {};
  const channels = buildNotifyChannels(fields.channels ?? {}, issues);
  const names = Object.keys(fields.channels ?? {});
  const all: JobNotify = { on: [...NOTIFY_KINDS], to: names };
  const fallback = fields.default === undefined ? all : buildNotifyRoute(fields.default, all, ['notify', 'default'], names, issues);
  for (const [name, job] of Object.entries(jobs)) {
    const given = (rawJobs[name] as Record<string, unknown> | undefined)?.notify;
    if (given === undefined) continue;
    const path = ['jobs', name, 'notify'];
    if (given === false || given === 'off' || given === 'false') {
      job.notify = false;
      continue;
    }
    if (given === null || typeof given !== 'object' || Array.isArray(given)) continue; // reported by the job's fields
    job.notify = buildNotifyRoute(given as Record<string, unknown>, fallback, path, names, issues);
  }
  return {
    channels,
    default: fallback,
    quietMs: fields.quiet ?? DEFAULT_NOTIFY_QUIET_MS,
    ...(fields.baseUrl !== undefined && { baseUrl: fields.baseUrl.replace(/\/+$/, '') }),
  };
}

/** `{ on, to }`; what is left out comes from `base`. */
function buildNotifyRoute(raw: Record<string, unknown>, base: JobNotify, path: ConfigPath, channels: string[], issues: IssueCollector): JobNotify {
  const fields = parseFields(configSchemas().NOTIFY_ROUTE_FIELDS, raw, path, issues, 'a mapping such as { on: [failure], to: [phone] }') ?? {};
  const on: NotifyKind[] = [];
  fields.on?.forEach((kind, index) => {
    const at = Array.isArray(raw.on) ? [...path, 'on', index] : [...path, 'on'];
    if ((NOTIFY_KINDS as readonly string[]).includes(kind)) {
      if (!on.includes(kind as NotifyKind)) on.push(kind as NotifyKind);
    } else {
      issues.add(at, `unknown notification kind "${kind}"${didYouMean(kind, NOTIFY_KINDS)} (kinds: ${NOTIFY_KINDS.join(', ')})`);
    }
  });
  const to: string[] = [];
  fields.to?.forEach((name, index) => {
    const at = Array.isArray(raw.to) ? [...path, 'to', index] : [...path, 'to'];
    if (channels.includes(name)) {
      if (!to.includes(name)) to.push(name);
    } else {
      issues.add(at, `unknown channel "${name}"${didYouMean(name, channels)} (channels in notify.channels: ${channels.join(', ') || 'none'})`);
    }
  });
  return { on: fields.on === undefined ? [...base.on] : on, to: fields.to === undefined ? [...base.to] : to };
}

function buildNotifyChannels(raw: Record<string, unknown>, issues: IssueCollector): Record<string, NotifyChannelDef> {
  const channels: Record<string, NotifyChannelDef> = {};
  const types = NOTIFY_CHANNEL_TYPES;
  for (const [name, value] of Object.entries(raw)) {
    const path = ['notify', 'channels', name];
    checkName(name, path, 'channel', issues);
    if (value === null || typeof value !== 'object' || Array.isArray(value)) {
      issues.add(path, `expected a mapping such as { type: ntfy, url: https://ntfy.sh/my-topic }, got ${describeValue(value)}`);
      continue;
    }
    const { type, ...rest } = value as Record<string, unknown>;
    if (type === undefined) {
      issues.add(path, `needs type: one of ${types.join(', ')}`, 'key');
      continue;
    }
    if (typeof type !== 'string' || !(types as readonly string[]).includes(type)) {
      issues.add([...path, 'type'], `unknown channel type ${describeValue(type)}${typeof type === 'string' ? didYouMean(type, types) : ''} (types: ${types.join(', ')})`);
      continue;
    }
    const channelType = type as keyof ConfigSchemas['NOTIFY_CHANNEL_FIELDS'];
    const fields = parseFields(configSchemas().NOTIFY_CHANNEL_FIELDS[channelType], rest, path, issues, `a mapping of ${channelType} settings`);
    if (!fields) continue;
    const settings: Record<string, string> = {};
    for (const [key, setting] of Object.entries(fields)) {
      if (typeof setting === 'string') settings[key] = setting;
      else if (typeof setting === 'number') settings[key] = String(setting);
      else if (Array.isArray(setting)) settings[key] = setting.join(', ');
    }
    const missing = REQUIRED_CHANNEL_SETTINGS[channelType].filter((key) => rest[key] === undefined);
    // Secrets may live in the secrets store instead; only what cannot be a secret is required here.
    for (const key of missing) issues.add([...path, key], `is required for a ${channelType} channel`, 'key');
    if (channelType === 'slack' && rest.webhook !== undefined && rest.channel !== undefined) {
      issues.add([...path, 'channel'], 'channel is only used with a bot token: an incoming webhook posts to the channel it was made for', 'key');
    }
    channels[name] = { name, type: channelType, settings };
  }
  return channels;
}

/** Settings a channel cannot work without and that are not secrets (those may be in the secrets store). */
const REQUIRED_CHANNEL_SETTINGS: Record<keyof ConfigSchemas['NOTIFY_CHANNEL_FIELDS'], string[]> = {
  ntfy: ['url'],
  email: ['from', 'to'],
  slack: [],
  webhook: ['url'],
  telegram: ['chatId'],
};

/** `connections:`: each has a known `type` and only the settings that type takes. */
function buildConnections(raw: Record<string, unknown>, issues: IssueCollector): Record<string, ConnectionDef> {
  const connections: Record<string, ConnectionDef> = {};
  const types = Object.keys(configSchemas().CONNECTION_TYPES) as Array<keyof ConfigSchemas['CONNECTION_TYPES']>;
  for (const [name, value] of Object.entries(raw)) {
    const path = ['connections', name];
    checkName(name, path, 'connection', issues);
    if (value === null || typeof value !== 'object' || Array.isArray(value)) {
      issues.add(path, `expected a mapping such as { type: slack }, got ${describeValue(value)}`);
      continue;
    }
    const { type, ...rest } = value as Record<string, unknown>;
    if (type === undefined) {
      issues.add(path, `needs type: one of ${types.join(', ')}`, 'key');
      continue;
    }
    if (typeof type !== 'string' || !types.includes(type as keyof ConfigSchemas['CONNECTION_TYPES'])) {
      issues.add([...path, 'type'], `unknown connection type ${describeValue(type)}${typeof type === 'string' ? didYouMean(type, types) : ''} (types: ${types.join(', ')})`);
      continue;
    }
    const connectionType = type as keyof ConfigSchemas['CONNECTION_TYPES'];
    const fields = parseFields(configSchemas().CONNECTION_TYPES[connectionType], rest, path, issues, `a mapping of ${connectionType} settings`);
    if (!fields) continue;
    const settings: Record<string, string> = {};
    for (const [key, setting] of Object.entries(fields)) if (typeof setting === 'string') settings[key] = setting;
    connections[name] = { name, type: connectionType, settings };
  }
  return connections;
}

/** `hooks:`: each names an existing job (or a config error at its line) and has a secret. */
function buildHooks(raw: Record<string, unknown>, jobs: Record<string, JobDef>, rawJobs: Record<string, unknown>, issues: IssueCollector): Record<string, HookDef> {
  const hooks: Record<string, HookDef> = {};
  for (const [name, value] of Object.entries(raw)) {
    const path = ['hooks', name];
    checkName(name, path, 'hook', issues);
    const fields = parseFields(configSchemas().HOOK_FIELDS, value, path, issues, 'a mapping such as { job: ring, secret: ${DOORBELL_SECRET} }');
    if (!fields) continue;
    // A present but invalid value was reported by parseFields already.
    const given = value as Record<string, unknown>;
    if (given.job === undefined) issues.add([...path, 'job'], 'is required: the job this hook starts', 'key');
    if (given.secret === undefined) issues.add([...path, 'secret'], 'is required: callers send it as "Authorization: Bearer <secret>" or ?token=', 'key');
    if (fields.job === undefined || fields.secret === undefined) continue;
    // A job that exists but has errors of its own is reported there, not here as well.
    if (!jobs[fields.job] && rawJobs[fields.job] === undefined) {
      const defined = Object.keys(rawJobs);
      issues.add([...path, 'job'], `unknown job "${fields.job}"${didYouMean(fields.job, defined)} (jobs: ${defined.join(', ') || 'none'})`);
      continue;
    }
    hooks[name] = { name, job: fields.job, secret: fields.secret };
  }
  return hooks;
}

function buildOn(raw: Record<string, unknown>, path: ConfigPath, issues: IssueCollector): { events: string[] } | undefined {
  const fields = parseFields(configSchemas().ON_FIELDS, raw, path, issues, 'a mapping such as { event: doorbell }');
  if (!fields) return undefined;
  if (fields.event === undefined) {
    issues.add(path, 'needs event: the name of the event that starts this job', 'key');
    return undefined;
  }
  const events: string[] = [];
  fields.event.forEach((name, index) => {
    const at = Array.isArray(raw.event) ? [...path, 'event', index] : [...path, 'event'];
    if (!isEventName(name)) issues.add(at, `invalid event name "${name}": ${EVENT_NAME_RULE}`);
    else if (!events.includes(name)) events.push(name);
  });
  return events.length > 0 ? { events } : undefined;
}

export const KNOWLEDGE_DEFAULTS = {
  hashingDim: 256,
  localModel: 'Xenova/all-MiniLM-L6-v2',
  localDtype: 'q8',
  localThreads: 2,
  ollamaUrl: 'http://127.0.0.1:11434',
  openaiUrl: 'https://api.openai.com',
  httpTimeoutMs: 30_000,
  httpRetries: 2,
} as const;

/** The `knowledge:` section; everything has a default, so search works with no section at all. */
function buildKnowledge(raw: Record<string, unknown>, dataDir: string, context: BuildContext): KnowledgeConfig {
  const fields = parseFields(configSchemas().KNOWLEDGE_FIELDS, raw, ['knowledge'], context.issues, 'a mapping such as { embedder: hashing }') ?? {};
  return { embedder: buildEmbedder(fields.embedder, dataDir, context) };
}

function buildEmbedder(raw: ParsedFields<ConfigSchemas['KNOWLEDGE_FIELDS']>['embedder'], dataDir: string, context: BuildContext): EmbedderSpec {
  const d = KNOWLEDGE_DEFAULTS;
  if (raw === undefined || raw.type === 'hashing') return { type: 'hashing', dim: raw?.dim ?? d.hashingDim };
  if (raw.type === 'local') {
    return {
      type: 'local',
      model: raw.model ?? d.localModel,
      // Models live beside the data by default: /var/lib/hearth/models on the Pi.
      modelDir: raw.modelDir === undefined ? resolve(dataDir, 'models') : resolvePath(raw.modelDir, context.baseDir, context.env),
      dtype: raw.dtype ?? d.localDtype,
      threads: raw.threads ?? d.localThreads,
    };
  }
  return {
    type: raw.type,
    url: raw.url ?? (raw.type === 'ollama' ? d.ollamaUrl : d.openaiUrl),
    model: raw.model,
    ...(raw.dim !== undefined && { dim: raw.dim }),
    ...(raw.apiKey !== undefined && { apiKey: raw.apiKey }),
    timeoutMs: raw.timeout ?? d.httpTimeoutMs,
    retries: raw.retries ?? d.httpRetries,
    ...(raw.queryPrefix !== undefined && { queryPrefix: raw.queryPrefix }),
    ...(raw.documentPrefix !== undefined && { documentPrefix: raw.documentPrefix }),
  };
}

/** The zone's canonical name when it is given and Intl knows it. */
function checkedTimezone(zone: string | undefined, path: ConfigPath, issues: IssueCollector): string | undefined {
  if (zone === undefined) return undefined;
  const canonical = canonicalTimeZone(zone);
  if (canonical === undefined) issues.add(path, unknownTimeZoneMessage(zone));
  return canonical;
}

function buildPools(raw: Record<string, unknown>, issues: IssueCollector): Record<string, PoolDef> {
  const pools: Record<string, PoolDef> = { [DEFAULTS.pool]: { name: DEFAULTS.pool, concurrency: DEFAULTS.poolConcurrency } };
  for (const [name, value] of Object.entries(raw)) {
    checkName(name, ['pools', name], 'pool', issues);
    const parsed = parseValue(configSchemas().poolSchema, value, ['pools', name], issues);
    // A pool with a broken body still exists: jobs naming it should not also get "unknown pool".
    pools[name] = { name, concurrency: parsed.ok ? parsed.value.concurrency : 1 };
  }
  return pools;
}

function checkName(name: string, path: ConfigPath, kind: 'job' | 'task' | 'pool' | 'hook' | 'connection' | 'channel', issues: IssueCollector): void {
  if (NAME_PATTERN.test(name)) return;
  issues.add(
    path,
    `invalid ${kind} name "${name}": use 1 to 63 letters, digits, "-" or "_", starting with a letter or digit (names appear in URLs and environment variables)`,
    'key',
  );
}

function buildJob(name: string, raw: unknown, context: BuildContext, globals: Globals): JobDef | undefined {
  const { issues } = context;
  const path = ['jobs', name];
  checkName(name, path, 'job', issues);
  const fields = parseFields(configSchemas().JOB_FIELDS, raw, path, issues, 'a mapping of job settings (schedule, run, tasks, ...)');
  if (!fields) return undefined;
  const present = presentKeys(raw);

  const pool = fields.pool ?? DEFAULTS.pool;
  if (fields.pool !== undefined && !globals.pools[pool]) {
    const defined = Object.keys(globals.pools);
    issues.add([...path, 'pool'], `unknown pool "${pool}"${didYouMean(pool, defined)} (defined pools: ${defined.join(', ')})`);
  }
  const retries = resolveRetries(fields.retries, DEFAULT_RETRY, [...path, 'retries'], issues);
  const cwd = fields.cwd === undefined ? undefined : resolvePath(fields.cwd, context.baseDir, context.env);
  const schedule = fields.schedule === undefined ? undefined : buildSchedule(fields.schedule, [...path, 'schedule'], context, globals);
  const on = fields.on === undefined ? undefined : buildOn(fields.on, [...path, 'on'], issues);
  const position = issues.positions.locate(path, 'key');
  const expect = fields.expect === undefined ? undefined : parseFields(configSchemas().EXPECT_FIELDS, fields.expect, [...path, 'expect'], issues, 'a mapping such as { every: 26h }');
  if (expect && fields.expect?.every === undefined) issues.add([...path, 'expect'], 'needs every (such as { every: 26h })', 'key');
  const tasks = buildTasks(fields, present, path, { cwd, retries }, context);
  if (schedule && fields.timeout === undefined && !expect && tasks.some((task) => task.timeoutMs === undefined) && context.warnings) {
    context.warnings.push(formatConfigIssue({ file: context.file, line: position.line, col: position.col, path: formatPath(path), message: NO_TIMEOUT_WARNING }));
  }

  return {
    name,
    ...(fields.description !== undefined && { description: fields.description }),
    ...(schedule && { schedule }),
    pool,
    overlap: fields.overlap ?? DEFAULTS.overlap,
    ...(fields.timeout !== undefined && { timeoutMs: fields.timeout }),
    retries,
    env: checkedEnv(fields.env, [...path, 'env'], issues),
    tasks,
    source: { file: context.file, line: position.line },
    ...(on && { on }),
    ...(fields.stuckAfter !== undefined && { stuckAfterMs: fields.stuckAfter }),
    ...(expect?.every !== undefined && { expectEveryMs: expect.every }),
  };
}

/** A scheduled job that can hang or stop running without anyone noticing (validate warns, it does not fail). */
const NO_TIMEOUT_WARNING =
  'scheduled job has neither a timeout nor expect: a hung run is only stopped by the default task timeout (6h), and runs that stop happening go unnoticed; add e.g. timeout: 30m or expect: { every: 26h }';

function presentKeys(raw: unknown): (key: string) => boolean {
  const record = raw as Record<string, unknown>;
  return (key) => record[key] !== undefined;
}

interface JobInherited {
  cwd: string | undefined;
  retries: RetryPolicy;
}

function buildTasks(
  job: ParsedFields<ConfigSchemas['JOB_FIELDS']>,
  present: (key: string) => boolean,
  jobPath: ConfigPath,
  inherited: JobInherited,
  context: BuildContext,
): TaskDef[] {
  const { issues } = context;
  if (!present('tasks')) {
    // Job-level env, cwd, timeout and retries belong to the job; the task takes only what it runs.
    const body = { run: job.run, action: job.action, with: job.with };
    const main = buildTaskBody(SHORTHAND_TASK_NAME, body, present, jobPath, inherited, context, 'needs a run command, an action, or a tasks mapping');
    return main ? [main] : [];
  }
  for (const key of ['run', 'action', 'with'].filter(present)) {
    issues.add([...jobPath, key], `cannot be combined with tasks: move ${key} into one of the tasks`, 'key');
  }
  if (job.tasks === undefined) return [];
  const tasksPath = [...jobPath, 'tasks'];
  const names = Object.keys(job.tasks).sort((a, b) => issues.positions.compareKeys(tasksPath, a, b));
  if (names.length === 0) {
    issues.add(tasksPath, 'needs at least one task', 'key');
    return [];
  }
  const tasks = new Map<string, TaskDef>();
  const declared = new Map<string, DeclaredDependencies>();
  for (const name of names) {
    const taskPath = [...tasksPath, name];
    checkName(name, taskPath, 'task', issues);
    const raw = job.tasks[name];
    const fields = parseFields(configSchemas().TASK_FIELDS, raw, taskPath, issues, 'a mapping of task settings (run, action, depends_on, ...)');
    if (!fields) continue;
    // Dependencies are checked even for a task with other problems, so one report shows them all.
    declared.set(name, { names: fields.depends_on ?? [], isList: Array.isArray((raw as Record<string, unknown>).depends_on) });
    const task = buildTaskBody(name, fields, presentKeys(raw), taskPath, inherited, context, 'needs either run (a shell command) or action (a built-in action)');
    if (task) tasks.set(name, { ...task, dependsOn: [...new Set(fields.depends_on ?? [])] });
  }
  return orderTasks(names, declared, tasks, jobPath, issues);
}

interface DeclaredDependencies {
  names: string[];
  /** `depends_on: [a]` rather than `depends_on: a`: problems point at the list item. */
  isList: boolean;
}

type TaskLikeFields = Partial<Pick<ParsedFields<ConfigSchemas['TASK_FIELDS']>, 'run' | 'action' | 'with' | 'env' | 'cwd' | 'timeout' | 'retries' | 'continue_on_error'>>;

/**
 * The part of a task that a job-level shorthand shares with a task entry:
 * run xor action, `with`, and the settings a task may override.
 */
function buildTaskBody(
  name: string,
  fields: TaskLikeFields,
  present: (key: string) => boolean,
  path: ConfigPath,
  inherited: JobInherited,
  context: BuildContext,
  neitherMessage: string,
): TaskDef | undefined {
  const { issues } = context;
  if (present('run') && present('action')) {
    issues.add([...path, 'action'], 'run and action are exclusive: a task either runs a shell command or calls an action', 'key');
  } else if (!present('run') && !present('action')) {
    issues.add(path, neitherMessage, 'key');
  }
  if (present('with') && !present('action')) {
    issues.add([...path, 'with'], 'with is only used with action (it holds the action\'s parameters)', 'key');
  }
  // A `with` that failed its own shape check is undefined here and was already reported.
  if (fields.action !== undefined) checkAction(fields.action, present('with') ? fields.with : {}, path, context);
  if (fields.run === undefined && fields.action === undefined) return undefined;

  const cwd = fields.cwd === undefined ? inherited.cwd : resolvePath(fields.cwd, inherited.cwd ?? context.baseDir, context.env);
  const fromEnv = ['run', 'with', 'env'].flatMap((key) => issues.fromEnv.under([...path, key]).map((entry) => ({ ...entry, path: [key, ...entry.path] })));
  return {
    ...(fromEnv.length > 0 && { fromEnv }),
    name,
    dependsOn: [],
    ...(fields.run !== undefined ? { run: fields.run } : { action: fields.action! }),
    with: fields.with ?? {},
    env: checkedEnv(fields.env, [...path, 'env'], issues),
    ...(cwd !== undefined && { cwd }),
    ...(fields.timeout !== undefined && { timeoutMs: fields.timeout }),
    // A task's own retries start from the job's, so `retries: 5` keeps the job's delay and backoff.
    ...(fields.retries !== undefined && { retries: resolveRetries(fields.retries, inherited.retries, [...path, 'retries'], issues) }),
    continueOnError: fields.continue_on_error ?? false,
  };
}

function checkAction(action: string, params: Record<string, unknown> | undefined, path: ConfigPath, context: BuildContext): void {
  const { knownActions, validateAction } = context.options;
  if (knownActions && !knownActions.includes(action)) {
    context.issues.add(
      [...path, 'action'],
      `unknown action "${action}"${didYouMean(action, knownActions)} (known actions: ${knownActions.join(', ')})`,
    );
    return;
  }
  if (!validateAction || params === undefined) return;
  for (const problem of validateAction(action, params)) {
    context.issues.add([...path, 'with', ...paramPath(problem.path, params)], problem.message);
  }
}

/** `headers.Accept` or `items[0]` (relative to `with`) → path segments; list indexes become numbers. */
function paramPath(text: string, params: unknown): Array<string | number> {
  const segments: Array<string | number> = [];
  let current = params;
  for (const part of text.replace(/\[(\d+)\]/g, '.$1').split('.').filter(Boolean)) {
    const segment = Array.isArray(current) && /^\d+$/.test(part) ? Number(part) : part;
    segments.push(segment);
    current = current !== null && typeof current === 'object' ? (current as Record<string | number, unknown>)[segment] : undefined;
  }
  return segments;
}

/** Reports unknown, self and cyclic dependencies, then puts tasks in topological order. */
function orderTasks(
  names: string[],
  declared: Map<string, DeclaredDependencies>,
  tasks: Map<string, TaskDef>,
  jobPath: ConfigPath,
  issues: IssueCollector,
): TaskDef[] {
  const edges = new Map<string, string[]>();
  for (const [name, dependencies] of declared) {
    const dependsOnPath = [...jobPath, 'tasks', name, 'depends_on'];
    const usable: string[] = [];
    dependencies.names.forEach((dep, index) => {
      const path = dependencies.isList ? [...dependsOnPath, index] : dependsOnPath;
      if (dep === name) {
        issues.add(path, `task "${name}" depends on itself`);
      } else if (!names.includes(dep)) {
        const others = names.filter((other) => other !== name);
        issues.add(path, `unknown task "${dep}"${didYouMean(dep, others)} (tasks in this job: ${names.join(', ')})`);
      } else if (!usable.includes(dep)) {
        usable.push(dep);
      }
    });
    edges.set(name, usable);
  }
  const checked = names.filter((name) => declared.has(name));
  const cycles = findCycles(checked, edges);
  for (const cycle of cycles) {
    issues.add([...jobPath, 'tasks', cycle[0]!, 'depends_on'], `dependency cycle: ${cycle.join(' → ')}`);
  }
  const order = cycles.length > 0 ? checked : topologicalOrder(checked, edges);
  return order.flatMap((name) => tasks.get(name) ?? []);
}

function buildSchedule(raw: Record<string, unknown>, path: ConfigPath, context: BuildContext, globals: Globals): JobSchedule | undefined {
  const { issues } = context;
  const fields = parseFields(configSchemas().SCHEDULE_FIELDS, raw, path, issues, 'a mapping such as { cron: "0 3 * * *" }');
  if (!fields) return undefined;
  const kinds = (['cron', 'every', 'rrule'] as const).filter((kind) => raw[kind] !== undefined);
  if (kinds.length === 0) {
    issues.add(path, 'needs one of cron, every or rrule (leave out schedule for a job that only runs when triggered)', 'key');
  }
  for (const extra of kinds.slice(1)) {
    issues.add([...path, extra], `${kinds[0]} and ${extra} cannot be combined: a schedule has exactly one of cron, every or rrule`, 'key');
  }
  const ownZone = checkedTimezone(fields.timezone, [...path, 'timezone'], issues);
  const zoneIsValid = fields.timezone === undefined || ownZone !== undefined;
  const timezone = ownZone ?? globals.timezone;
  if (raw.anchor !== undefined && kinds[0] !== 'every') {
    issues.add([...path, 'anchor'], 'anchor only applies to every: schedules', 'key');
  }
  const spec = kinds.length === 1 ? buildSpec(kinds[0]!, fields, path, timezone, issues) : undefined;
  if (spec && zoneIsValid) {
    const problem = context.options.validateSchedule?.(spec, timezone);
    if (problem !== undefined) issues.add([...path, kinds[0]!], problem);
    const warning = problem === undefined ? context.options.scheduleWarning?.(spec) : undefined;
    if (warning !== undefined) {
      const { line, col } = issues.positions.locate([...path, kinds[0]!], 'value');
      context.warnings?.push(formatConfigIssue({ file: context.file, line, col, path: formatPath([...path, kinds[0]!]), message: warning }));
    }
  }
  if (!spec) return undefined;
  return {
    spec,
    timezone,
    catchup: fields.catchup ?? DEFAULTS.catchup,
    maxCatchup: fields.maxCatchup ?? DEFAULTS.maxCatchup,
  };
}

function buildSpec(
  kind: 'cron' | 'every' | 'rrule',
  fields: ParsedFields<ConfigSchemas['SCHEDULE_FIELDS']>,
  path: ConfigPath,
  timezone: string,
  issues: IssueCollector,
): ScheduleSpec | undefined {
  if (kind === 'cron') return fields.cron === undefined ? undefined : { kind, expr: fields.cron.trim() };
  if (kind === 'rrule') return fields.rrule === undefined ? undefined : { kind, rule: fields.rrule.trim() };
  if (fields.every === undefined) return undefined;
  let anchor = 0;
  if (fields.anchor !== undefined) {
    const parsed = parseAnchor(fields.anchor, timezone);
    if (parsed === undefined) {
      issues.add([...path, 'anchor'], `invalid anchor "${fields.anchor}": use an ISO 8601 time such as 2026-01-05T06:00 or 2026-01-05T06:00:00Z`);
    } else {
      anchor = parsed;
    }
  }
  return { kind, everyMs: fields.every, anchor };
}

/**
 * Fields a task or job leaves out fall back to `base`. When only `delay` is
 * given, the default cap grows to at least that delay, so `delay: 1h` alone is
 * never "longer than maxDelay".
 */
function resolveRetries(raw: RawRetries | undefined, base: RetryPolicy, path: ConfigPath, issues: IssueCollector): RetryPolicy {
  if (!raw) return { ...base };
  const delayMs = raw.delay ?? base.delayMs;
  if (raw.maxDelay !== undefined && raw.delay !== undefined && raw.maxDelay < raw.delay) {
    issues.add([...path, 'maxDelay'], `must not be shorter than delay (${formatDuration(raw.delay)})`);
  }
  return {
    max: raw.max ?? base.max,
    delayMs,
    backoff: raw.backoff ?? base.backoff,
    maxDelayMs: raw.maxDelay ?? Math.max(base.maxDelayMs, delayMs),
    jitter: raw.jitter ?? base.jitter,
  };
}

function checkedEnv(env: Record<string, string> | undefined, path: ConfigPath, issues: IssueCollector): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(env ?? {})) {
    if (!ENV_NAME_PATTERN.test(name)) {
      issues.add([...path, name], `invalid environment variable name "${name}": use letters, digits and _, not starting with a digit`, 'key');
      continue;
    }
    out[name] = value;
  }
  return out;
}

/** `~/x` is the home directory (YAML leaves it alone and so would spawn); relative paths are from `base`. */
export function resolvePath(value: string, base: string, env: EnvLookup): string {
  const home = env.HOME || homedir();
  const expanded = value === '~' ? home : value.startsWith('~/') ? `${home}${value.slice(1)}` : value;
  return isAbsolute(expanded) ? expanded : resolve(base, expanded);
}
