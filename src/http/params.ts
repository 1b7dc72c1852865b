import { NotFoundError, UsageError } from '../core/errors.js';
import { MAX_TAIL_LINES } from '../core/log-reader.js';
import { isRunId } from '../core/ids.js';
import type { IncomingEvent } from '../core/appliance.js';
import { EVENT_ID_RULE, EVENT_NAME_RULE, isEventId, isEventName } from '../core/event-names.js';
import type { RunQuery, RunStatus, Trigger } from '../runs/model.js';
import { ACTIVE_RUN_STATUSES, FINISHED_RUN_STATUSES } from '../runs/model.js';

/**
 * Validation of path and query parameters. Every failure is a UsageError
 * (HTTP 400) whose message says what was wrong and what is accepted, so a
 * script author can fix the call without reading the source.
 */

export const JOB_NAME_PATTERN = /^[a-z0-9][a-z0-9_-]{0,62}$/i;
export const MAX_PAGE_SIZE = 500;
const KNOWN_STATUSES: readonly RunStatus[] = [...ACTIVE_RUN_STATUSES, ...FINISHED_RUN_STATUSES];

export function parseJobName(value: string): string {
  if (!JOB_NAME_PATTERN.test(value)) {
    throw new UsageError(
      `invalid job name "${clip(value)}": use 1-63 letters, digits, "-" or "_", starting with a letter or digit`,
    );
  }
  return value;
}

export function parseRunId(value: string): string {
  if (!isRunId(value)) throw new UsageError(`invalid run id "${clip(value)}" (expected e.g. r_00mjv5x2w0a1b2c3d4)`);
  return value;
}

/** An inbox question id (`q_` + 12 hex digits). Anything else names no question: 404, like an unknown one. */
export function parseQuestionId(value: string): string {
  if (!/^q_[0-9a-f]{12}$/.test(value)) throw new NotFoundError('question', clip(value));
  return value;
}

export function parseRunStatus(value: string): RunStatus {
  const status = KNOWN_STATUSES.find((known) => known === value);
  if (!status) throw new UsageError(`invalid status "${clip(value)}": use one of ${KNOWN_STATUSES.join(', ')}`);
  return status;
}

export function parseLimit(value: string): number {
  const limit = /^\d+$/.test(value) ? Number(value) : NaN;
  if (!Number.isSafeInteger(limit) || limit < 1 || limit > MAX_PAGE_SIZE) {
    throw new UsageError(`invalid limit "${clip(value)}": use a whole number from 1 to ${MAX_PAGE_SIZE}`);
  }
  return limit;
}

/** Query string of `GET /api/runs`; absent or empty parameters are left out. */
export function parseRunQuery(query: Record<string, string | undefined>): RunQuery {
  const result: RunQuery = {};
  if (query.job) result.job = parseJobName(query.job);
  if (query.status) result.status = parseRunStatus(query.status);
  if (query.limit) result.limit = parseLimit(query.limit);
  if (query.before) result.before = parseRunId(query.before);
  return result;
}

/** `X-Hearth-Trigger`: the CLI says `manual`; scripts calling the API are `api`. */
export function parseTriggerHeader(value: string | undefined): Extract<Trigger, 'manual' | 'api'> {
  if (value === undefined || value === '' || value === 'api') return 'api';
  if (value === 'manual') return 'manual';
  throw new UsageError(`invalid X-Hearth-Trigger "${clip(value)}": use manual or api`);
}

/** Keeps echoed input short so an error message cannot be used to reflect a huge payload. */
function clip(value: string): string {
  return value.length > 80 ? `${value.slice(0, 80)}…` : value;
}

/** `?tail=N`: the last N lines of a log, 1 to MAX_TAIL_LINES. */
export function parseTailLines(value: string): number {
  const lines = /^\d+$/.test(value) ? Number(value) : NaN;
  if (!Number.isSafeInteger(lines) || lines < 1 || lines > MAX_TAIL_LINES) {
    throw new UsageError(`invalid tail "${clip(value)}": use a whole number of lines from 1 to ${MAX_TAIL_LINES}`);
  }
  return lines;
}

/** Body of `POST /api/jobs/:name/run`: nothing, or `{ "input": any JSON }`. */
export function parseRunBody(body: unknown): { input?: unknown } {
  if (body === undefined) return {};
  const record = jsonObject(body, '{ "input": ... }');
  rejectUnknownFields(record, ['input']);
  return 'input' in record ? { input: record.input } : {};
}

/** Body of `POST /api/events`: `{ name, data?, id? }`. */
export function parseEventBody(body: unknown): IncomingEvent {
  const record = jsonObject(body, '{ "name": "doorbell", "data": ..., "id": "..." }');
  rejectUnknownFields(record, ['name', 'data', 'id']);
  const { name, id } = record;
  if (name === undefined) throw new UsageError('name: is required (the event\'s name, e.g. "doorbell")');
  if (!isEventName(name)) throw new UsageError(`name: invalid event name ${describe(name)}: ${EVENT_NAME_RULE}`);
  if (id !== undefined && !isEventId(id)) throw new UsageError(`id: invalid event id ${describe(id)}: ${EVENT_ID_RULE}`);
  return { name, ...('data' in record ? { data: record.data } : {}), ...(id !== undefined ? { id } : {}) };
}

function jsonObject(body: unknown, example: string): Record<string, unknown> {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw new UsageError(`request body must be a JSON object such as ${example}`);
  }
  return body as Record<string, unknown>;
}

function rejectUnknownFields(record: Record<string, unknown>, allowed: string[]): void {
  const unknown = Object.keys(record).find((key) => !allowed.includes(key));
  if (unknown !== undefined) throw new UsageError(`${clip(unknown)}: unknown field (allowed: ${allowed.join(', ')})`);
}

function describe(value: unknown): string {
  return typeof value === 'string' ? JSON.stringify(clip(value)) : `(a ${value === null ? 'null' : Array.isArray(value) ? 'list' : typeof value})`;
}
