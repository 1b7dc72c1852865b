import { UsageError } from '../core/errors.js';
import type { Run, RunPage, RunQuery, RunStatus } from './model.js';

/**
 * Query helpers shared by every RunStore. Run ids sort by creation time
 * (src/core/ids.ts), so "newest first" is "id descending" compared as strings.
 */

export const DEFAULT_PAGE_SIZE = 50;
export const MAX_PAGE_SIZE = 500;

export interface NormalizedQuery {
  job?: string;
  status?: RunStatus;
  limit: number;
  before?: string;
}

export function normalizeQuery(query: RunQuery): NormalizedQuery {
  const limit = query.limit ?? DEFAULT_PAGE_SIZE;
  if (!Number.isInteger(limit) || limit < 1) {
    throw new UsageError(`limit must be a whole number from 1 to ${MAX_PAGE_SIZE}, got ${String(query.limit)}`);
  }
  const normalized: NormalizedQuery = { limit: Math.min(limit, MAX_PAGE_SIZE) };
  if (query.job !== undefined) normalized.job = query.job;
  if (query.status !== undefined) normalized.status = query.status;
  if (query.before !== undefined) normalized.before = query.before;
  return normalized;
}

/** Job, status and `before` filters; the page size is applied by the caller. */
export function matchesQuery(run: Run, query: NormalizedQuery): boolean {
  if (query.job !== undefined && run.job !== query.job) return false;
  if (query.status !== undefined && run.status !== query.status) return false;
  if (query.before !== undefined && !(run.id < query.before)) return false;
  return true;
}

export function newestFirst(a: Pick<Run, 'id'>, b: Pick<Run, 'id'>): number {
  return a.id < b.id ? 1 : a.id > b.id ? -1 : 0;
}

export function oldestFirst(a: Pick<Run, 'id'>, b: Pick<Run, 'id'>): number {
  return -newestFirst(a, b);
}

/**
 * Builds a page from candidates that already match the query. Callers pass at
 * least `limit + 1` candidates when more exist, so the extra one tells us
 * there is a next page without a second lookup.
 */
export function toPage(candidates: Run[], limit: number): RunPage {
  const sorted = [...candidates].sort(newestFirst);
  const runs = sorted.slice(0, limit);
  const last = runs[runs.length - 1];
  return sorted.length > limit && last ? { runs, nextBefore: last.id } : { runs };
}

/** Runs are plain JSON; copies keep callers from mutating what a store holds. */
export function cloneJson<T>(value: T): T {
  return JSON.parse(JSON.stringify(value)) as T;
}

/** cloneJson for what may be absent (a schedule state, a meta value): undefined stays undefined. */
export function cloneDefined<T>(value: T | undefined): T | undefined {
  return value === undefined ? undefined : cloneJson(value);
}
