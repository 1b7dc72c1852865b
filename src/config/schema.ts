import { z } from 'zod';
import { MAX_DURATION_MS, parseDuration } from '../core/durations.js';
import type { ConfigPath, IssueCollector } from './issues.js';
import { didYouMean } from './suggest.js';

/**
 * The YAML shape, field by field. Objects are described as plain maps of
 * field schemas ("shapes") rather than one big zod object so each field is
 * checked on its own: one bad field does not hide problems in its siblings,
 * and the fields that are fine can still take part in cross-field checks.
 */

const NUMBER_TEXT = /^\s*-?\d+(?:\.\d+)?\s*$/;

/** True for 3 and for "3": an unquoted `${RETRIES:3}` arrives as a string. */
function isNumberLike(value: unknown): boolean {
  return typeof value === 'number' || (typeof value === 'string' && NUMBER_TEXT.test(value));
}

/** Numbers may arrive as strings from `${VAR}` substitution. */
function numberLike<T extends z.ZodType>(schema: T) {
  return z.preprocess((value) => (typeof value === 'string' && NUMBER_TEXT.test(value) ? Number(value) : value), schema);
}

/**
 * Text handed to the operating system (a shell command, a directory, an
 * environment value): a NUL byte cannot pass through exec(2), so Node would
 * refuse to spawn the task at run time. Refused here, at its line.
 */
const NUL_MESSAGE = 'must not contain a NUL byte (\\0): the operating system cannot pass one to a task';

/**
 * Catch-up creates every missed run in one scheduler pass, each a durable
 * write. 1000 covers what a catch-up is for (a 5-minute job missed for three
 * days, an hourly one for six weeks) while keeping that pass to seconds; an
 * unbounded `all` made 7,140 runs at once after a long outage.
 */
export const MAX_CATCHUP = 1000;

function duration(options: { positive: boolean }) {
  return z.unknown().transform((value, ctx) => {
    if (typeof value !== 'string' && typeof value !== 'number') {
      ctx.addIssue({ code: 'custom', message: `expected a duration such as 30s, 15m or 1h30m, got ${describeValue(value)}` });
      return z.NEVER;
    }
    let ms: number;
    try {
      // A number too large for a double (YAML reads 1e400 as Infinity) is over the bound, not malformed.
      ms = typeof value === 'number' && value === Infinity ? value : parseDuration(value);
    } catch {
      ctx.addIssue({ code: 'custom', message: `invalid duration ${JSON.stringify(value)} (use e.g. 500ms, 30s, 15m, 1h30m, 2d)` });
      return z.NEVER;
    }
    if (options.positive && ms <= 0) {
      ctx.addIssue({ code: 'custom', message: 'must be longer than 0' });
      return z.NEVER;
    }
    if (!Number.isFinite(ms) || ms > MAX_DURATION_MS) {
      ctx.addIssue({ code: 'custom', message: `must be at most 3650d (10 years), got ${describeValue(value)}` });
      return z.NEVER;
    }
    return ms;
  });
}

const SIZE_UNITS: Record<string, number> = { '': 1, b: 1, kb: 1024, mb: 1024 ** 2, gb: 1024 ** 3 };

/** `16MB`, `512KB`, `1GB` or a number of bytes (units are powers of 1024), within [min, max]. */
function size(min: number, max: number, describe: (bytes: number) => string) {
  return z.unknown().transform((value, ctx) => {
    const match = typeof value === 'string' ? /^\s*(\d+(?:\.\d+)?)\s*([kmg]?b)?\s*$/i.exec(value) : null;
    const bytes = typeof value === 'number' ? value : match ? Math.round(Number(match[1]) * SIZE_UNITS[(match[2] ?? '').toLowerCase()]!) : NaN;
    if (!Number.isFinite(bytes)) {
      ctx.addIssue({ code: 'custom', message: `expected a size such as 512KB, 16MB or 1GB, got ${describeValue(value)}` });
      return z.NEVER;
    }
    if (bytes < min || bytes > max) {
      ctx.addIssue({ code: 'custom', message: `must be from ${describe(min)} to ${describe(max)}, got ${describeValue(value)}` });
      return z.NEVER;
    }
    return bytes;
  });
}

/** A mapping of anything; `key:` with nothing after it counts as empty. */
function mapping(expected: string) {
  return z.preprocess(
    (value) => (value === null ? {} : value),
    z.record(z.string(), z.unknown(), { error: (issue) => `expected ${expected}, got ${describeValue(issue.input)}` }),
  );
}

const EMBEDDER_TYPES = ['hashing', 'local', 'ollama', 'openai'] as const;

/**
 * Every schema of the config, built in one go. Built when a config is
 * checked, not when this module loads: ~300 zod schemas with their
 * closures, heap that an idle appliance never uses again after start-up
 * (configSchemas below).
 */
function makeConfigSchemas() {
  const booleanLike = z.preprocess(
    (value) => (value === 'true' ? true : value === 'false' ? false : value),
    z.boolean({ error: (issue) => `expected true or false, got ${describeValue(issue.input)}` }),
  );

  const text = z.string().min(1);

  const osText = text.refine((value) => !value.includes('\0'), { error: NUL_MESSAGE });

  const anyDuration = duration({ positive: false });
  const positiveDuration = duration({ positive: true });

  /** Environment values must end up strings; numbers and booleans are the obvious intent. */
  const envValue = z.preprocess(
    (value) => (typeof value === 'number' || typeof value === 'boolean' ? String(value) : value),
    z.string({ error: (issue) => `expected a string, got ${describeValue(issue.input)}` }).refine((value) => !value.includes('\0'), { error: NUL_MESSAGE }),
  );

  const envMap = z.preprocess(
    (value) => (value === null ? {} : value),
    z.record(z.string(), envValue, { error: (issue) => `expected a mapping of NAME: value, got ${describeValue(issue.input)}` }),
  );

  const dependsOn = z.preprocess(
    (value) => (typeof value === 'string' ? [value] : value),
    z.array(text, { error: (issue) => `expected a task name or a list of task names, got ${describeValue(issue.input)}` }),
  );

  const RETRY_SHAPE = {
    max: numberLike(z.number().int().min(0)).optional(),
    delay: anyDuration.optional(),
    backoff: z.enum(['fixed', 'exponential']).optional(),
    maxDelay: anyDuration.optional(),
    jitter: numberLike(z.number().min(0).max(1)).optional(),
  };

  /** `retries: 3` is short for `retries: { max: 3 }`. */
  const retries = z.preprocess(
    (value) => (isNumberLike(value) ? { max: value } : value),
    z.strictObject(RETRY_SHAPE, {
      error: (issue) =>
        issue.code === 'invalid_type'
          ? `expected a number of retries or a mapping { max, delay, backoff, maxDelay, jitter }, got ${describeValue(issue.input)}`
          : undefined,
    }),
  );

  const server = z.strictObject({
    host: text.optional(),
    port: numberLike(z.number().int().min(0).max(65535)).optional(),
  });

  const history = z.strictObject({
    keepPerJob: numberLike(z.number().int().min(1)).optional(),
    keepLogs: positiveDuration.optional(),
    keepRuns: positiveDuration.optional(),
  });

  /** `logs:` — a run's log keeps its first and last half of `maxRunSize`; see src/engine/run-logs.ts. */
  const logs = z.strictObject({
    maxRunSize: size(64 * 1024, 1024 ** 3, (bytes) => (bytes >= 1024 ** 3 ? '1GB' : `${bytes / 1024}KB`)).optional(),
  });

  const poolSchema = z.strictObject({
    concurrency: numberLike(z.number().int().min(1)),
  });

  function httpEmbedderSchema<T extends 'ollama' | 'openai'>(type: T) {
    return z.strictObject({
      type: z.literal(type),
      url: z.url({ protocol: /^https?$/, error: 'must be an http:// or https:// URL' }).optional(),
      model: text,
      dim: numberLike(z.number().int().min(1).max(65536)).optional(),
      apiKey: text.optional(),
      timeout: positiveDuration.optional(),
      retries: numberLike(z.number().int().min(0).max(10)).optional(),
      queryPrefix: z.string().optional(),
      documentPrefix: z.string().optional(),
    });
  }

  /** `embedder: hashing` is short for `embedder: { type: hashing }`. */
  const embedder = z.preprocess(
    (value) => (typeof value === 'string' ? { type: value } : value),
    z.discriminatedUnion(
      'type',
      [
        z.strictObject({ type: z.literal('hashing'), dim: numberLike(z.number().int().min(16).max(4096)).optional() }),
        z.strictObject({
          type: z.literal('local'),
          model: text.optional(),
          modelDir: text.optional(),
          dtype: z.enum(['q8', 'fp32', 'fp16', 'int8', 'uint8', 'q4']).optional(),
          threads: numberLike(z.number().int().min(1).max(64)).optional(),
        }),
        httpEmbedderSchema('ollama'),
        httpEmbedderSchema('openai'),
      ],
      {
        error: (issue) =>
          issue.code === 'invalid_union' || issue.code === 'invalid_type'
            ? `expected an embedder type (${EMBEDDER_TYPES.join(', ')}) or a mapping with type: one of them, got ${describeValue(
                issue.input !== null && typeof issue.input === 'object' ? (issue.input as Record<string, unknown>).type : issue.input,
              )}`
            : undefined,
      },
    ),
  );

  const KNOWLEDGE_FIELDS = {
    embedder,
  };

  const TOP_FIELDS = {
    timezone: text,
    dataDir: text,
    server,
    pools: mapping('a mapping of pool names'),
    history,
    logs,
    killGrace: anyDuration,
    // A shell task with no timeout of its own and none on its job is stopped after this (default 6h).
    defaultTimeout: positiveDuration,
    jobs: mapping('a mapping of job names'),
    knowledge: mapping('a mapping such as { embedder: hashing }'),
    hooks: mapping('a mapping of hook names, such as { doorbell: { job: ring, secret: ${DOORBELL_SECRET} } }'),
    connections: mapping('a mapping of connection names, such as { slack-home: { type: slack } }'),
    notify: mapping('a mapping such as { channels: { phone: { type: ntfy, url: https://ntfy.sh/my-topic } } }'),
  };

  /** A list of notification kinds or channel names; one name alone is a list of one. */
  const nameList = (what: string) =>
    z.preprocess(
      (value) => (typeof value === 'string' ? [value] : value === null ? [] : value),
      z.array(text, { error: (issue) => `expected a ${what} or a list of them, got ${describeValue(issue.input)}` }),
    );

  /** `notify:` at the top: channels, the default routing, the quiet window and the dashboard's address for links. */
  const NOTIFY_FIELDS = {
    channels: mapping('a mapping of channel names, such as { phone: { type: ntfy, url: https://ntfy.sh/my-topic } }'),
    default: mapping('a mapping such as { on: [failure, recovery], to: [phone] }'),
    quiet: anyDuration,
    baseUrl: z.url({ protocol: /^https?$/, error: 'must be an http:// or https:// URL, such as http://hearth.local:8080' }),
  };

  /** `notify: { on, to }` (the default, or a job's own). */
  const NOTIFY_ROUTE_FIELDS = {
    on: nameList('notification kind'),
    to: nameList('channel name'),
  };

  /** A setting of a connection: a string (numbers are taken as text; secrets are never echoed in messages). */
  const connectionText = z.preprocess(
    (value) => (typeof value === 'number' ? String(value) : value),
    z.string({ error: (issue) => (issue.input === undefined || issue.input === null ? 'is required' : 'expected a string') }),
  );

  /**
   * The settings each type of connection accepts (DESIGN.md, "Accounts,
   * models, notifications, store"). Secrets (`token`, `clientSecret`,
   * `refreshToken`) may be left out here and saved in <dataDir>/secrets/
   * through the dashboard or `hearth connect NAME` instead.
   */
  const CONNECTION_TYPES = {
    slack: { token: connectionText, apiUrl: connectionText },
    gmail: {
      clientId: connectionText,
      clientSecret: connectionText,
      refreshToken: connectionText,
      apiUrl: connectionText,
      tokenUrl: connectionText,
      authUrl: connectionText,
    },
  } as const satisfies Record<string, Record<string, z.ZodType>>;

  const channelUrl = z.url({ protocol: /^https?$/, error: 'must be an http:// or https:// URL' });

  /**
   * The settings of each type of notification channel. Secrets (`token`,
   * `webhook`, `botToken`, the SMTP URL's password) may be left out and saved
   * in <dataDir>/secrets/<channel>.json instead.
   */
  const NOTIFY_CHANNEL_FIELDS = {
    ntfy: { url: channelUrl, token: connectionText, priority: numberLike(z.number().int().min(1).max(5)) },
    email: {
      smtp: z.url({ protocol: /^smtps?$/, error: 'must be an smtp:// (STARTTLS) or smtps:// (TLS) URL, such as smtp://user:pass@mail.example.com:587' }),
      from: connectionText,
      to: nameList('mail address'),
    },
    slack: { webhook: channelUrl, token: connectionText, channel: connectionText, apiUrl: channelUrl },
    webhook: { url: channelUrl, token: connectionText },
    telegram: { token: connectionText, chatId: connectionText, apiUrl: channelUrl },
  } as const satisfies Record<string, Record<string, z.ZodType>>;

  /** One webhook: the job it starts and the secret a caller must present. */
  const HOOK_FIELDS = {
    job: text,
    // The value is never echoed in a message: it is a secret.
    secret: z.preprocess(
      (value) => (typeof value === 'number' ? String(value) : value),
      z.string({ error: (issue) => (issue.input === undefined || issue.input === null ? 'is required' : 'expected a string') }).min(1, 'must not be empty'),
    ),
  };

  /** `on: { event: doorbell }` or `on: { event: [doorbell, motion] }`. */
  const ON_FIELDS = {
    event: z.preprocess(
      (value) => (typeof value === 'string' ? [value] : value),
      z.array(text, { error: (issue) => `expected an event name or a list of event names, got ${describeValue(issue.input)}` }).min(1, 'must not be empty'),
    ),
  };

  /** `expect: { every: 26h }`: a dead-man check (no successful run in that long is reported as missed). */
  const EXPECT_FIELDS = {
    every: positiveDuration,
  };

  const SCHEDULE_FIELDS = {
    cron: text,
    every: positiveDuration,
    rrule: text,
    timezone: text,
    catchup: z.enum(['none', 'latest', 'all']),
    maxCatchup: numberLike(
      z.number().int().min(1).max(MAX_CATCHUP, { error: `must be at most ${MAX_CATCHUP} (catch-up creates every missed run in one pass)` }),
    ),
    anchor: text,
  };

  const JOB_FIELDS = {
    description: z.string(),
    schedule: mapping('a mapping such as { cron: "0 3 * * *" } or { every: 15m }'),
    pool: text,
    overlap: z.enum(['skip', 'queue', 'allow']),
    // Attention: a run running longer than stuckAfter is stuck; no success within expect.every is missed.
    stuckAfter: positiveDuration,
    expect: mapping('a mapping such as { every: 26h }'),
    timeout: positiveDuration,
    retries,
    env: envMap,
    cwd: osText,
    tasks: mapping('a mapping of task names'),
    run: osText,
    action: text,
    with: mapping('a mapping of action parameters'),
    on: mapping('a mapping such as { event: doorbell }'),
    // `false`/`off` silences the job; a mapping { on, to } overrides notify.default.
    notify: z.preprocess((value) => (value === 'off' || value === 'false' ? false : value === null ? {} : value), z.union([z.literal(false), z.record(z.string(), z.unknown())], { error: (issue) => `expected false (off) or a mapping such as { on: [failure], to: [phone] }, got ${describeValue(issue.input)}` })),
  };

  const TASK_FIELDS = {
    run: osText,
    action: text,
    with: mapping('a mapping of action parameters'),
    depends_on: dependsOn,
    env: envMap,
    cwd: osText,
    timeout: positiveDuration,
    retries,
    continue_on_error: booleanLike,
  };
  return { poolSchema, KNOWLEDGE_FIELDS, TOP_FIELDS, NOTIFY_FIELDS, NOTIFY_ROUTE_FIELDS, CONNECTION_TYPES, NOTIFY_CHANNEL_FIELDS, HOOK_FIELDS, ON_FIELDS, EXPECT_FIELDS, SCHEDULE_FIELDS, JOB_FIELDS, TASK_FIELDS };
}

export type ConfigSchemas = ReturnType<typeof makeConfigSchemas>;

let built: WeakRef<ConfigSchemas> | undefined;
let primed = false;

/**
 * One small schema of each kind the config uses, built before the config's
 * own. zod (4.6) installs some lazily computed fields of a kind of schema
 * (an object's `propValues`, an optional's `optin`, ...) on that kind's
 * shared prototype when the first schema of the kind is built, and the
 * getter it installs keeps that first schema's scope: its definition and,
 * through it, every schema it holds. Built first, these few are what zod
 * keeps for good (14 tiny schemas), not 131 of the config's
 * (test/integration/idle-footprint.test.ts).
 */
function primeZod(): void {
  void [
    z.discriminatedUnion('t', [z.strictObject({ t: z.literal('a'), e: z.enum(['b']).optional() })]),
    z.preprocess((value) => value, z.union([z.literal(false), z.record(z.string(), z.unknown())])),
    z.unknown().transform((value) => value),
    z.array(z.string()),
    z.url(),
  ];
}

/**
 * The config's schemas, built on first use. Held weakly: one load (a
 * synchronous build, during which V8 keeps a dereferenced WeakRef's target
 * alive) shares one set, and after start-up the set is garbage, so an idle
 * appliance keeps none of it (a reload checks in a worker thread). Building
 * them again costs a few ms.
 */
export function configSchemas(): ConfigSchemas {
  const schemas = built?.deref();
  if (schemas) return schemas;
  if (!primed) {
    primeZod();
    primed = true;
  }
  const fresh = makeConfigSchemas();
  built = new WeakRef(fresh);
  return fresh;
}

export type RawRetries = z.output<ConfigSchemas['TASK_FIELDS']['retries']>;
export type RawEmbedder = z.output<ConfigSchemas['KNOWLEDGE_FIELDS']['embedder']>;
export type ConnectionType = keyof ConfigSchemas['CONNECTION_TYPES'];

type Shape = Record<string, z.ZodType>;
export type ParsedFields<S extends Shape> = { [K in keyof S]?: z.output<S[K]> };

/**
 * Checks an object field by field: unknown keys first (with the allowed keys
 * and a suggestion), then every present field with its own schema. Returns
 * the fields that passed, or undefined when `input` is not a mapping at all.
 */
export function parseFields<S extends Shape>(
  shape: S,
  input: unknown,
  path: ConfigPath,
  issues: IssueCollector,
  expected: string,
): ParsedFields<S> | undefined {
  if (input === null || typeof input !== 'object' || Array.isArray(input)) {
    issues.add(path, `expected ${expected}, got ${describeValue(input)}`);
    return undefined;
  }
  const record = input as Record<string, unknown>;
  const allowed = Object.keys(shape);
  for (const key of Object.keys(record)) {
    if (!allowed.includes(key)) issues.add([...path, key], unknownKeyMessage(key, allowed), 'key');
  }
  const out: ParsedFields<S> = {};
  for (const key of allowed as Array<keyof S & string>) {
    if (record[key] === undefined) continue;
    const parsed = parseValue(shape[key]!, record[key], [...path, key], issues);
    if (parsed.ok) out[key] = parsed.value as z.output<S[typeof key]>;
  }
  return out;
}

/** Runs one zod schema and reports its issues at their YAML positions. */
export function parseValue<T extends z.ZodType>(
  schema: T,
  input: unknown,
  path: ConfigPath,
  issues: IssueCollector,
): { ok: true; value: z.output<T> } | { ok: false } {
  // Strict objects report unknown keys as one issue without saying what is
  // allowed; remember each object's allowed keys while zod still has them.
  const allowedKeys = new WeakMap<object, string[]>();
  const result = schema.safeParse(input, {
    error: (issue) => {
      if (issue.code === 'unrecognized_keys' && issue.inst instanceof z.ZodObject && isObject(issue.input)) {
        allowedKeys.set(issue.input, Object.keys(issue.inst.shape));
      }
      return zodIssueMessage(issue);
    },
  });
  if (result.success) return { ok: true, value: result.data };
  for (const issue of result.error.issues) {
    const issuePath = [...path, ...(issue.path as Array<string | number>)];
    if (issue.code === 'unrecognized_keys') {
      const allowed = allowedKeys.get(valueAt(input, issue.path) as object) ?? [];
      for (const key of issue.keys) issues.add([...issuePath, key], unknownKeyMessage(key, allowed), 'key');
    } else {
      issues.add(issuePath, issue.message);
    }
  }
  return { ok: false };
}

function unknownKeyMessage(key: string, allowed: readonly string[]): string {
  return `unknown key "${key}"${didYouMean(key, allowed)} (allowed: ${allowed.join(', ')})`;
}

const EXPECTED: Record<string, string> = {
  string: 'a string',
  number: 'a number',
  int: 'a whole number',
  boolean: 'true or false',
  object: 'a mapping',
  record: 'a mapping',
  array: 'a list',
};

function zodIssueMessage(issue: z.core.$ZodRawIssue): string | undefined {
  switch (issue.code) {
    case 'invalid_type':
      if (issue.input === undefined) return 'is required';
      return `expected ${EXPECTED[issue.expected] ?? issue.expected}, got ${describeValue(issue.input)}`;
    case 'invalid_value': {
      const values = issue.values.map(String);
      const suggestion = typeof issue.input === 'string' ? didYouMean(issue.input, values) : '';
      return `must be one of ${values.join(', ')}, got ${describeValue(issue.input)}${suggestion}`;
    }
    case 'too_small':
      if (issue.origin === 'string' || issue.origin === 'array') return 'must not be empty';
      return issue.inclusive ? `must be at least ${String(issue.minimum)}` : `must be greater than ${String(issue.minimum)}`;
    case 'too_big':
      return issue.inclusive ? `must be at most ${String(issue.maximum)}` : `must be less than ${String(issue.maximum)}`;
    default:
      return undefined;
  }
}

/** How a value reads in a message: `"abc"`, `12`, `true`, `a list`, `nothing`. */
export function describeValue(value: unknown): string {
  if (value === null || value === undefined) return 'nothing';
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? `${value.slice(0, 37)}...` : value);
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  return typeof value;
}

function isObject(value: unknown): value is object {
  return value !== null && typeof value === 'object';
}

function valueAt(root: unknown, path: ReadonlyArray<PropertyKey>): unknown {
  let current = root;
  for (const segment of path) {
    if (!isObject(current)) return undefined;
    current = (current as Record<PropertyKey, unknown>)[segment];
  }
  return current;
}
