/**
 * A cache of what reading hearth.yaml produced, so a restart with an
 * unchanged file skips the YAML parser (~40 % of start-up at 1,000 jobs).
 * It holds the tree as written (`${VAR}` references, never their values:
 * substitution runs on every load, so a changed environment is noticed)
 * and every key's and value's position, so warnings, job source lines and
 * errors name the same file:line as after a parse. It is keyed by a hash of
 * the file's text, Hearth's version and the loader's own code, written
 * atomically (0600) in the data dir, and ignored when stale or unreadable.
 *
 * The data dir is itself a setting in the file: the cache is looked for
 * where a top-level `dataDir:` line (or the default) points, and written to
 * the data dir the loaded config names. A file that sets it another way
 * (a flow mapping, an alias) only never hits the cache.
 */
import { createHash } from 'node:crypto';
import { statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeFileAtomic } from '../core/atomic-file.js';
import { DEFAULTS, resolvePath } from './build.js';
import { substituteEnv, type EnvLookup } from './env-substitution.js';
import type { PositionEntry } from './issues.js';

/** Bumped when what the walk records changes shape, so an older cache is never read. */
const FORMAT = 2;

export interface WrittenTree {
  /** The plain tree as written (yaml-tree.ts readWrittenTree). */
  tree: unknown;
  positions: PositionEntry[];
  /** What the build that parsed the file found valid (a restart skips those checks); absent in older caches. */
  checks?: ConfigChecks;
}

/**
 * Answers of the config checks that depend only on their input and the
 * runtime, recorded by the build that parsed the file: on a restart an
 * unchanged schedule is not compiled again before start-up is done (the
 * scheduler compiles it when it first needs it) and a zone name is not
 * looked up in ICU. Used only under the same Node, ICU and time-zone data.
 */
export interface ConfigChecks {
  runtime: string;
  /** Schedules that compiled: `JSON.stringify(spec)`, the zone it was read in, and its warning (null: none). */
  schedules: Array<[string, string, string | null]>;
  /** Zone names and Intl's canonical spelling of each. */
  zones: Array<[string, string]>;
}

/** The runtime a ConfigChecks holds for: what decides whether a schedule compiles and how a zone is spelled. */
export function checksRuntime(): string {
  return `${process.version} ${process.versions.icu ?? ''} ${process.versions.tz ?? ''}`;
}

/** Where the cache lives in a data dir. */
export function treeCacheFile(dataDir: string): string {
  return join(dataDir, 'cache', 'config-tree.json');
}

/** What a cache must have been written for: this text, this Hearth version and this loader code. */
export function treeCacheKey(text: string, version: string): string {
  return createHash('sha256').update(`${FORMAT}\0${version}\0${codeStamp()}\0`).update(text).digest('hex');
}

/**
 * The data dir a file's top-level `dataDir:` line names (the default when it
 * has none), or undefined when that cannot be told without parsing. Only
 * decides where to look: a cache found there is used only if its key matches.
 */
export function guessDataDir(text: string, baseDir: string, env: EnvLookup): string | undefined {
  const match = /^dataDir[ \t]*:(.*)$/m.exec(text);
  let written: string = DEFAULTS.dataDir;
  if (match) {
    const value = match[1]!.replace(/(^|[ \t])#.*$/, '').trim();
    const quoted = /^(["'])(.*)\1$/.exec(value);
    if (quoted ? /["'\\]/.test(quoted[2]!) : /^["'[{&*!|>]/.test(value) || value === '') return undefined;
    written = quoted ? quoted[2]! : value;
  }
  const substituted = substituteEnv(written, env);
  return substituted.ok && substituted.value !== '' ? resolvePath(substituted.value, baseDir, env) : undefined;
}

/** The cached tree for `key` in `file`, or undefined (missing, another key, or not a cache this code wrote). */
export async function readTreeCache(file: string, key: string): Promise<WrittenTree | undefined> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(await readFile(file, 'utf8'));
  } catch {
    return undefined;
  }
  if (parsed === null || typeof parsed !== 'object') return undefined;
  const { format, key: written, tree, positions, checks } = parsed as Record<string, unknown>;
  if (format !== FORMAT || written !== key || !Array.isArray(positions) || !positions.every(isPositionEntry)) return undefined;
  return { tree, positions, ...(isConfigChecks(checks) && { checks }) };
}

/**
 * Writes the cache (atomically, owner-only). A tree that JSON would not give
 * back unchanged (`.inf`, `.nan`, -0) is not cached: the next start parses.
 */
export async function writeTreeCache(file: string, key: string, written: WrittenTree): Promise<boolean> {
  if (!isJsonExact(written.tree)) return false;
  const checks = written.checks && { checks: written.checks };
  await writeFileAtomic(file, JSON.stringify({ format: FORMAT, key, tree: written.tree, positions: written.positions, ...checks }), 0o600);
  return true;
}

function isConfigChecks(value: unknown): value is ConfigChecks {
  if (value === null || typeof value !== 'object') return false;
  const { runtime, schedules, zones } = value as Record<string, unknown>;
  return (
    typeof runtime === 'string' &&
    Array.isArray(schedules) &&
    schedules.every(
      (entry) => Array.isArray(entry) && entry.length === 3 && typeof entry[0] === 'string' && typeof entry[1] === 'string' && (entry[2] === null || typeof entry[2] === 'string'),
    ) &&
    Array.isArray(zones) &&
    zones.every((entry) => Array.isArray(entry) && entry.length === 2 && typeof entry[0] === 'string' && typeof entry[1] === 'string')
  );
}

function isPositionEntry(entry: unknown): entry is PositionEntry {
  if (!Array.isArray(entry) || entry.length !== 5 || typeof entry[0] !== 'string') return false;
  // A loop, not slice().every(): ~10,000 entries at 1,000 jobs are checked on every cache hit.
  for (let i = 1; i < 5; i++) if (!Number.isInteger(entry[i]) || (entry[i] as number) < -1) return false;
  return true;
}

function isJsonExact(value: unknown): boolean {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return true;
  if (typeof value === 'number') return Number.isFinite(value) && !Object.is(value, -0);
  if (Array.isArray(value)) return value.every(isJsonExact);
  if (typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) return Object.values(value).every(isJsonExact);
  return false;
}

let stamp: string | undefined;

/** This module's file size and time: a rebuilt loader (same version, new code) never reads an older cache. */
function codeStamp(): string {
  if (stamp === undefined) {
    try {
      const stats = statSync(fileURLToPath(import.meta.url));
      stamp = `${stats.size}:${stats.mtimeMs}`;
    } catch {
      stamp = '';
    }
  }
  return stamp;
}
