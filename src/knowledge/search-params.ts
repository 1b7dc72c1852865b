import { parseDuration } from '../core/durations.js';
import { UsageError } from '../core/errors.js';
import { MAX_SEARCH_LIMIT } from './knowledge-base.js';
import { SOURCE_PATTERN } from './stages.js';
import type { SearchQuery } from './types.js';

/**
 * Search parameters as `GET /api/search` and `hearth search` take them, so
 * both accept exactly the same things:
 *
 *   q       the query text (required)
 *   source  a source name; repeat it or separate names with commas
 *   since   an ISO date or date-time (2024-11-01, 2024-11-01T09:00+01:00), or an age: 30d, 12h
 *   until   the same, exclusive
 *   limit   1-100 (default 10)
 *
 * Every failure is a UsageError (HTTP 400, CLI exit 2).
 */
export function parseSearchParams(params: Record<string, string[] | undefined>, now: number): SearchQuery {
  const text = (params.q ?? []).join(' ').trim();
  if (!text) throw new UsageError('missing search text: pass q=<words>');
  if (text.length > 1000) throw new UsageError('search text is longer than 1000 characters');
  const query: SearchQuery = { text };
  const sources = (params.source ?? []).flatMap((value) => value.split(',')).map((value) => value.trim()).filter(Boolean);
  for (const source of sources) {
    if (!SOURCE_PATTERN.test(source)) throw new UsageError(`invalid source "${clip(source)}": use letters, digits, ".", "-" or "_"`);
  }
  if (sources.length > 0) query.sources = [...new Set(sources)];
  const since = last(params.since);
  if (since) query.since = parseWhen(since, now, 'since');
  const until = last(params.until);
  if (until) query.until = parseWhen(until, now, 'until');
  if (query.since !== undefined && query.until !== undefined && query.since >= query.until) {
    throw new UsageError(`since (${new Date(query.since).toISOString()}) must be before until (${new Date(query.until).toISOString()})`);
  }
  const limit = last(params.limit);
  if (limit) query.limit = parseSearchLimit(limit);
  return query;
}

export function parseSearchLimit(value: string): number {
  const limit = /^\d+$/.test(value) ? Number(value) : NaN;
  if (!Number.isSafeInteger(limit) || limit < 1 || limit > MAX_SEARCH_LIMIT) {
    throw new UsageError(`invalid limit "${clip(value)}": use a whole number from 1 to ${MAX_SEARCH_LIMIT}`);
  }
  return limit;
}

/** An ISO date (midnight UTC), an ISO date-time, or an age counted back from now. */
export function parseWhen(value: string, now: number, name: string): number {
  const trimmed = value.trim();
  if (/^\d+(?:\.\d+)?(?:ms|s|m|h|d|w)(?:\d|$)/.test(trimmed) && !/^\d{4}-/.test(trimmed)) {
    try {
      return now - parseDuration(trimmed);
    } catch {
      // Not a duration after all; try it as a date below.
    }
  }
  if (/^\d{4}-\d{2}(?:-\d{2})?(?:[T ][\d:.]+(?:Z|[+-]\d{2}:?\d{2})?)?$/.test(trimmed)) {
    const at = Date.parse(/^\d{4}-\d{2}$/.test(trimmed) ? `${trimmed}-01` : trimmed);
    if (!Number.isNaN(at)) return at;
  }
  throw new UsageError(`invalid ${name} "${clip(trimmed)}": use a date such as 2024-11-01 or 2024-11-01T09:00Z, or an age such as 30d`);
}

function last(values: string[] | undefined): string | undefined {
  const value = values?.at(-1)?.trim();
  return value ? value : undefined;
}

function clip(value: string): string {
  return value.length > 40 ? `${value.slice(0, 37)}...` : value;
}
