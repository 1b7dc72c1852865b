import { packageRoot } from '../core/package-root.js';
import { existsSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigError } from '../core/errors.js';
import type { ConfigIssue } from '../core/errors.js';
import { DEFAULTS, buildConfig, resolvePath } from './build.js';
import { substituteEnv } from './env-substitution.js';
import { isMap, isScalar, parseDocument } from 'yaml';
import type { Document } from 'yaml';

import { IssueCollector } from './issues.js';
import type { LoadOptions } from './options.js';
import type { HearthConfig } from './types.js';
import { YAML_LIMITS, readWrittenTree, substituteTree } from './yaml-tree.js';
import {
  checksRuntime,
  guessDataDir,
  readTreeCache,
  treeCacheFile,
  treeCacheKey,
  writeTreeCache,
  type ConfigChecks,
  type WrittenTree,
} from './tree-cache.js';
import { knownTimeZones, rememberTimeZones } from './timezone.js';

export type { LoadOptions } from './options.js';

/** Reads and validates a config file; throws ConfigError listing every problem. */
export async function loadConfig(file: string, options: LoadOptions = {}): Promise<HearthConfig> {
  let text: string;
  try {
    text = await readBounded(file, YAML_LIMITS.maxBytes + 1);
  } catch (error) {
    throw new ConfigError([fileIssue(file, readFailure(error))], { cause: error });
  }
  // A longer file was cut at maxBytes + 1: parseConfigText refuses it for its size without parsing it.
  return parseConfigText(text, file, options);
}

/** Validates config text; `file` is used in messages and to resolve relative paths. */
export function parseConfigText(text: string, file: string, options: LoadOptions = {}): HearthConfig {
  return parseWrittenConfig(text, file, options).config;
}

/** parseConfigText, also returning the tree as written and its positions (what the tree cache stores). */
function parseWrittenConfig(text: string, file: string, options: LoadOptions): { config: HearthConfig; written: WrittenTree } {
  const issues = new IssueCollector(file);
  const tree = readWrittenTree(text, issues);
  if (!tree) throw new ConfigError(issues.sorted());
  const config = configFromWrittenTree(tree.value, issues, file, options);
  return { config, written: { tree: tree.value, positions: issues.positions.snapshot() } };
}

/** `${VAR}` substitution and the checks, on a tree as written whose positions are in `issues`; throws ConfigError. */
function configFromWrittenTree(tree: unknown, issues: IssueCollector, file: string, options: LoadOptions): HearthConfig {
  const env = options.env ?? process.env;
  // Unset variables are reported with whatever the checks below find: every problem at once.
  const value = substituteTree(tree, env, issues);
  if (options.rejectEmpty && value === null) {
    throw new ConfigError([
      fileIssue(file, 'the file is empty or holds only comments (a half-saved file?); the previous jobs keep running. Write "jobs: {}" to remove every job'),
    ]);
  }
  const config = buildConfig(value, {
    file,
    baseDir: options.baseDir ?? dirname(resolve(file)),
    env,
    issues,
    options,
    warnings: [],
  });
  if (issues.count > 0) throw new ConfigError(issues.sorted());
  return config;
}

export interface CachedLoad {
  config: HearthConfig;
  /** The file was read from the tree cache (no YAML parse). */
  fromCache: boolean;
  /** After a parse: writes the tree cache into the config's data dir (call once the data dir exists); resolves false if not cacheable. */
  saveCache?: () => Promise<boolean>;
}

/**
 * loadConfig with the tree cache (tree-cache.ts): an unchanged file is not
 * parsed again. On a cache hit the config is built from the cached tree,
 * with `${VAR}` substituted from today's environment; if that finds any
 * problem the file is parsed in full, so errors are exactly a parse's.
 * `version` (Hearth's) is part of the cache key.
 */
export async function loadConfigCached(file: string, options: LoadOptions & { version: string }): Promise<CachedLoad> {
  let text: string;
  try {
    text = await readBounded(file, YAML_LIMITS.maxBytes + 1);
  } catch (error) {
    throw new ConfigError([fileIssue(file, readFailure(error))], { cause: error });
  }
  const env = options.env ?? process.env;
  const key = treeCacheKey(text, options.version);
  const guessed = guessDataDir(text, options.baseDir ?? dirname(resolve(file)), env);
  const cached = guessed === undefined ? undefined : await readTreeCache(treeCacheFile(guessed), key);
  if (cached) {
    const issues = new IssueCollector(file);
    issues.positions.restore(cached.positions);
    const checked = cached.checks?.runtime === checksRuntime() ? withRecordedChecks(options, cached.checks) : options;
    try {
      return { config: configFromWrittenTree(cached.tree, issues, file, checked), fromCache: true };
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      // Valid when cached, not now (an unset variable): the parse below reports it.
    }
  }
  const recording = recordingChecks(options);
  const parsed = parseWrittenConfig(text, file, recording.options);
  const { config } = parsed;
  const written: WrittenTree = { ...parsed.written, checks: recording.checks() };
  // Written once; the tree (a few MB of objects at 1,000 jobs) is not kept alive by whoever keeps saveCache.
  let pending: WrittenTree | undefined = written;
  const saveCache = async (): Promise<boolean> => {
    const tree = pending;
    pending = undefined;
    return tree !== undefined && writeTreeCache(treeCacheFile(config.dataDir), key, tree);
  };
  return { config, fromCache: false, saveCache };
}

/**
 * The options with the schedule checks wrapped to record their answers (every
 * schedule that compiled, its warning) and, at the end, the zone names Intl
 * answered: what the tree cache keeps so a restart skips those checks.
 */
function recordingChecks(options: LoadOptions): { options: LoadOptions; checks: () => ConfigChecks } {
  const { validateSchedule, scheduleWarning } = options;
  const schedules = new Map<string, [string, string, string | null]>();
  const warnings = new Map<string, string | null>();
  const recorded: LoadOptions = {
    ...options,
    ...(validateSchedule && {
      validateSchedule: (spec, timezone) => {
        const problem = validateSchedule(spec, timezone);
        const json = JSON.stringify(spec);
        if (problem === undefined) schedules.set(`${json}\0${timezone}`, [json, timezone, null]);
        return problem;
      },
    }),
    ...(scheduleWarning && {
      scheduleWarning: (spec) => {
        const warning = scheduleWarning(spec);
        warnings.set(JSON.stringify(spec), warning ?? null);
        return warning;
      },
    }),
  };
  const checks = (): ConfigChecks => ({
    runtime: checksRuntime(),
    // Without a warning check, a schedule's warning is unknown: it is left out and checked again.
    schedules: [...schedules.values()]
      .filter(([json]) => !scheduleWarning || warnings.has(json))
      .map(([json, timezone]) => [json, timezone, warnings.get(json) ?? null]),
    zones: knownTimeZones(),
  });
  return { options: recorded, checks };
}

/**
 * The options for a build from the tree cache: a schedule the build that
 * parsed the file found valid (same spec, same zone, same runtime) is not
 * compiled again (the engine compiles it when the scheduler first needs it),
 * its warning is the one recorded, and the recorded zone names need no ICU.
 * Anything else (a spec `${VAR}` changed) is checked as on a parse.
 */
function withRecordedChecks(options: LoadOptions, checks: ConfigChecks): LoadOptions {
  rememberTimeZones(checks.zones);
  const { validateSchedule, scheduleWarning } = options;
  const valid = new Set<string>();
  const warnings = new Map<string, string | null>();
  for (const [json, timezone, warning] of checks.schedules) {
    valid.add(`${json}\0${timezone}`);
    warnings.set(json, warning);
  }
  return {
    ...options,
    ...(validateSchedule && {
      validateSchedule: (spec, timezone) => (valid.has(`${JSON.stringify(spec)}\0${timezone}`) ? undefined : validateSchedule(spec, timezone)),
    }),
    ...(scheduleWarning && {
      scheduleWarning: (spec) => {
        const warning = warnings.get(JSON.stringify(spec));
        return warning === undefined ? scheduleWarning(spec) : (warning ?? undefined);
      },
    }),
  };
}

/** What the CLI needs to reach the appliance: where it listens and where its data lives. */
export interface ConnectionSettings {
  dataDir: string;
  server: { host: string; port: number };
}

/**
 * Loads the config, and when it has errors still reads the few settings the
 * CLI needs to reach the appliance (`dataDir`, `server.host`, `server.port`)
 * from whatever part of the file parses, falling back to the defaults. The
 * appliance keeps running its previous jobs while the file is broken, so
 * `hearth jobs`, `runs` and `logs` must still find it. `issues` is empty when
 * the whole file is valid (then `config` is set).
 */
export async function loadConnectionSettings(
  file: string,
  options: LoadOptions = {},
): Promise<{ settings: ConnectionSettings; config?: HearthConfig; issues: ConfigIssue[] }> {
  try {
    const config = await loadConfig(file, options);
    return { settings: { dataDir: config.dataDir, server: config.server }, config, issues: [] };
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    let text = '';
    try {
      text = await readBounded(file, YAML_LIMITS.maxBytes);
    } catch {
      // Unreadable: the defaults are all there is; the issue already says why.
    }
    const env = options.env ?? process.env;
    const baseDir = options.baseDir ?? dirname(resolve(file));
    return { settings: lenientSettings(text, env, baseDir), issues: error.issues };
  }
}

function lenientSettings(text: string, env: Record<string, string | undefined>, baseDir: string): ConnectionSettings {
  let doc: Document | undefined;
  try {
    // Even a file with syntax errors yields the mappings before (and often after) the broken line.
    doc = parseDocument(text, { prettyErrors: false, uniqueKeys: false });
  } catch {
    doc = undefined;
  }
  const scalar = (path: string[]): string | undefined => {
    try {
      const node = doc?.getIn(path, true);
      if (!isScalar(node) || (typeof node.value !== 'string' && typeof node.value !== 'number')) return undefined;
      const substituted = substituteEnv(String(node.value), env);
      return substituted.ok && substituted.value.trim() !== '' ? substituted.value.trim() : undefined;
    } catch {
      return undefined;
    }
  };
  const usable = doc !== undefined && isMap(doc.contents);
  const dataDirText = usable ? scalar(['dataDir']) : undefined;
  const host = (usable ? scalar(['server', 'host']) : undefined) ?? DEFAULTS.host;
  const portText = usable ? scalar(['server', 'port']) : undefined;
  const port = portText !== undefined && /^\d{1,5}$/.test(portText) && Number(portText) <= 65_535 ? Number(portText) : DEFAULTS.port;
  return { dataDir: resolvePath(dataDirText ?? DEFAULTS.dataDir, baseDir, env), server: { host, port } };
}

/** Things worth a warning in a valid config: a file with no jobs loads, but is rarely what was meant. */
export function configWarnings(config: HearthConfig): string[] {
  const jobs = Object.keys(config.jobs).length;
  return [...(config.warnings ?? []), ...(jobs === 0 ? [`${config.file}: 0 jobs defined: Hearth will run nothing until jobs are added`] : [])];
}

/** Warnings logged one by one at start or reload; the rest are summed up (`hearth validate` prints every one). */
export const LOGGED_WARNINGS = 10;

/**
 * The warnings for the log: a config with 1,000 jobs and no timeouts would otherwise put 1,000 lines in the
 * journal at every start (and ~20 ms of writing them).
 */
export function warningsToLog(config: HearthConfig): string[] {
  const warnings = configWarnings(config);
  if (warnings.length <= LOGGED_WARNINGS) return warnings;
  const more = warnings.length - LOGGED_WARNINGS;
  return [...warnings.slice(0, LOGGED_WARNINGS), `${config.file}: ${more} more warning${more === 1 ? '' : 's'} like these; \`hearth validate\` lists them all`];
}

/**
 * Which config to use: `--config`, else HEARTH_CONFIG, else ./hearth.yaml,
 * else the bundled example (`embedded: true`), so a fresh checkout runs with
 * `npm start` and nothing else. An explicitly named file must exist.
 */
export function resolveConfigPath(args: {
  flag?: string;
  env?: Record<string, string | undefined>;
  cwd: string;
}): { path: string; embedded: boolean } {
  const explicit = args.flag ? { path: args.flag, from: '--config' } : args.env?.HEARTH_CONFIG ? { path: args.env.HEARTH_CONFIG, from: 'HEARTH_CONFIG' } : undefined;
  if (explicit) {
    const path = resolve(args.cwd, explicit.path);
    if (!existsSync(path)) throw new ConfigError([fileIssue(path, `config file not found (named by ${explicit.from})`)]);
    return { path, embedded: false };
  }
  const local = resolve(args.cwd, 'hearth.yaml');
  if (existsSync(local)) return { path: local, embedded: false };
  return { path: bundledConfigPath(), embedded: true };
}

/** examples/hearth.yaml in the package (found from src/, dist/ or the start-up bundle). */
export function bundledConfigPath(): string {
  return join(packageRoot(import.meta.url), 'examples', 'hearth.yaml');
}

/** At most `limit` bytes of the file: a multi-gigabyte file named as the config must not be read into memory. */
async function readBounded(file: string, limit: number): Promise<string> {
  const handle = await open(file, 'r');
  try {
    const buffer = Buffer.alloc(limit);
    let length = 0;
    while (length < limit) {
      const { bytesRead } = await handle.read(buffer, length, limit - length, length);
      if (bytesRead === 0) break;
      length += bytesRead;
    }
    return buffer.subarray(0, length).toString('utf8');
  } finally {
    await handle.close();
  }
}

function fileIssue(file: string, message: string): ConfigIssue {
  return { file, line: 0, col: 0, path: '', message };
}

function readFailure(error: unknown): string {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'ENOENT') return 'config file not found';
  if (code === 'EACCES') return 'config file is not readable (permission denied)';
  if (code === 'EISDIR') return 'is a directory, not a config file';
  return `cannot read config file: ${error instanceof Error ? error.message : String(error)}`;
}
