import { z } from 'zod';
import { formatDuration } from '../core/durations.js';
import { errorMessage, NonRetriableError, RetryAfterError } from '../core/errors.js';
import { lazy } from '../core/lazy.js';
import { abortError, durationParam, parseParams, validateParams } from './params.js';
import type { ActionContext, ActionDefinition } from './types.js';

/** Response bodies larger than this are cut: the output lives in state.json. */
export const MAX_RESPONSE_BODY_BYTES = 64 * 1024;
const ERROR_BODY_SNIPPET_CHARS = 200;
const DEFAULT_TIMEOUT_MS = 30_000;

/** Response headers worth keeping in a run's output; never cookies or auth. */
const KEPT_RESPONSE_HEADERS = ['content-type', 'content-length', 'etag', 'last-modified', 'location', 'retry-after'];

/** Query parameters whose values are hidden when a URL is logged. */
const SECRET_QUERY_KEY = /token|key|secret|password|passwd|auth|signature|sig$/i;

const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'] as const;

/** Built on first use (src/core/lazy.ts): an appliance without `action: http` never builds it. */
const httpParams = lazy(() => {
  const statusCode = z.number().int().min(100).max(599);
  return z
    .strictObject({
      url: z.url({ protocol: /^https?$/, error: 'must be an http:// or https:// URL' }),
      method: z
        .string()
        .transform((method) => method.toUpperCase())
        .pipe(z.enum(METHODS))
        .default('GET'),
      headers: z
        .record(z.string(), z.union([z.string(), z.number()], { error: 'must be a string or a number' }).transform(String))
        .default({}),
      body: z
        .union([z.string(), z.record(z.string(), z.unknown()), z.array(z.unknown())], {
          error: 'must be a string (sent as is) or an object or list (sent as JSON)',
        })
        .optional(),
      expect: z.union([statusCode, z.array(statusCode).min(1)], { error: 'must be a status code or a list of them' }).optional(),
      timeout: durationParam().default(DEFAULT_TIMEOUT_MS),
    })
    .superRefine((params, ctx) => {
      if (params.body !== undefined && (params.method === 'GET' || params.method === 'HEAD')) {
        ctx.addIssue({ code: 'custom', path: ['body'], message: `a ${params.method} request cannot have a body` });
      }
    });
});

type HttpParams = z.output<ReturnType<typeof httpParams>>;

export interface HttpResult {
  status: number;
  headers: Record<string, string>;
  /** Parsed JSON when the response says it is JSON (and was not cut), else text. */
  body: unknown;
  /** Present when the body was longer than MAX_RESPONSE_BODY_BYTES and was cut. */
  truncated?: true;
}

/**
 * `action: http` — one HTTP request. Statuses outside `expect` fail the
 * attempt: a 4xx other than 408/429 cannot be fixed by retrying, and a 429
 * (or 503) with Retry-After asks to be retried no earlier than it says.
 */
export function createHttpAction(): ActionDefinition {
  return {
    name: 'http',
    validate: (params) => validateParams(httpParams(), params),
    execute: async (params, ctx) => executeRequest(parseParams(httpParams(), params, 'http'), ctx),
  };
}

export const httpAction: ActionDefinition = createHttpAction();

async function executeRequest(params: HttpParams, ctx: ActionContext): Promise<HttpResult> {
  const { clock } = ctx;
  const request = buildRequest(params);
  const label = `${params.method} ${redactUrl(params.url)}`;
  // The timeout runs on the injected clock (a FakeClock in tests), like every other timer.
  const timeout = new AbortController();
  const timer = clock.setTimer(params.timeout, () => timeout.abort());
  const signal = AbortSignal.any([ctx.signal, timeout.signal]);
  const started = clock.now();

  let response: Response;
  let body: { text: string; truncated: boolean };
  try {
    response = await fetch(request.url, { method: params.method, headers: request.headers, body: request.body, signal });
    body = await readBody(response, MAX_RESPONSE_BODY_BYTES);
  } catch (error) {
    if (ctx.signal.aborted) throw abortError(ctx.signal);
    if (timeout.signal.aborted) throw new Error(`${label} timed out after ${formatDuration(params.timeout)}`, { cause: error });
    throw new Error(`${label} failed: ${describeNetworkError(error)}`, { cause: error });
  } finally {
    timer.cancel();
  }
  ctx.log(`${label} → ${response.status} (${clock.now() - started} ms)`);

  if (!isExpected(response.status, params.expect)) {
    throw statusError(label, response, body.text, params.expect, clock.now());
  }
  return {
    status: response.status,
    headers: keptHeaders(response.headers),
    body: body.truncated ? body.text : parseBody(body.text, response.headers.get('content-type')),
    ...(body.truncated ? { truncated: true as const } : {}),
  };
}

interface PreparedRequest {
  url: string;
  headers: Headers;
  body: string | undefined;
}

function buildRequest(params: HttpParams): PreparedRequest {
  const url = new URL(params.url);
  const headers = new Headers(params.headers);
  // fetch refuses URLs with credentials; send them the way curl does.
  if ((url.username || url.password) && !headers.has('authorization')) {
    const user = decodeURIComponent(url.username);
    const password = decodeURIComponent(url.password);
    headers.set('authorization', `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`);
  }
  url.username = '';
  url.password = '';

  let body: string | undefined;
  if (typeof params.body === 'string') {
    body = params.body;
  } else if (params.body !== undefined) {
    body = JSON.stringify(params.body);
    if (!headers.has('content-type')) headers.set('content-type', 'application/json');
  }
  return { url: url.href, headers, body };
}

/** The URL as it may appear in a log: no password, no secret-looking query values. */
export function redactUrl(raw: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return raw;
  }
  if (url.password) url.password = '***';
  for (const key of [...url.searchParams.keys()]) {
    if (SECRET_QUERY_KEY.test(key)) url.searchParams.set(key, '***');
  }
  return url.href.replaceAll('%2A%2A%2A', '***');
}

/** Reads at most `limit` bytes of the body, then stops the download. */
async function readBody(response: Response, limit: number): Promise<{ text: string; truncated: boolean }> {
  if (!response.body) return { text: '', truncated: false };
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return { text: decode(chunks), truncated: false };
    if (size + value.byteLength > limit) {
      chunks.push(value.subarray(0, limit - size));
      await reader.cancel().catch(() => {});
      return { text: decode(chunks), truncated: true };
    }
    chunks.push(value);
    size += value.byteLength;
  }
}

function decode(chunks: Uint8Array[]): string {
  return Buffer.concat(chunks).toString('utf8');
}

function parseBody(text: string, contentType: string | null): unknown {
  if (!contentType || !/\bjson\b/i.test(contentType) || text === '') return text;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

function keptHeaders(headers: Headers): Record<string, string> {
  const kept: Record<string, string> = {};
  for (const name of KEPT_RESPONSE_HEADERS) {
    const value = headers.get(name);
    if (value !== null) kept[name] = value;
  }
  return kept;
}

function isExpected(status: number, expect: number | number[] | undefined): boolean {
  if (expect === undefined) return status >= 200 && status < 300;
  return Array.isArray(expect) ? expect.includes(status) : status === expect;
}

function statusError(label: string, response: Response, text: string, expect: HttpParams['expect'], now: number): Error {
  const expected = expect === undefined ? '2xx' : [expect].flat().join(' or ');
  const snippet = text.slice(0, ERROR_BODY_SNIPPET_CHARS).trim();
  const message = `${label} returned ${response.status}, expected ${expected}${snippet ? `: ${snippet}` : ''}`;
  const status = response.status;
  if (status === 429 || status === 503) {
    const retryAt = parseRetryAfter(response.headers.get('retry-after'), now);
    if (retryAt) return new RetryAfterError(message, retryAt);
  }
  if (status >= 400 && status < 500 && status !== 408 && status !== 429) return new NonRetriableError(message);
  return new Error(message);
}

/** `Retry-After` is either delta-seconds or an HTTP date (RFC 9110 §10.2.3). */
export function parseRetryAfter(value: string | null, now: number): Date | undefined {
  if (value === null) return undefined;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return new Date(now + Number(trimmed) * 1000);
  const at = Date.parse(trimmed);
  if (Number.isNaN(at)) return undefined;
  return new Date(Math.max(at, now));
}

/** fetch reports every network failure as "fetch failed"; the useful part is in `cause`. */
function describeNetworkError(error: unknown): string {
  const cause = (error as { cause?: unknown } | null)?.cause;
  if (cause instanceof Error) {
    const code = (cause as NodeJS.ErrnoException).code;
    return code && !cause.message.includes(code) ? `${code}: ${cause.message}` : cause.message;
  }
  return errorMessage(error);
}
