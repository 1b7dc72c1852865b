import type { Context } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { ConfigError, ConflictError, isDiskFull, NotFoundError, TooManyRequestsError, UsageError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';

/**
 * The one place where errors become HTTP responses. Every error body has the
 * shape `{ error: { code, message } }`; bad input is always a 4xx, a full disk
 * is a 507 (a refused run is not recorded and never runs, so a client may
 * retry it later without the work being done twice), and only errors nobody
 * anticipated become a 500 with a generic message (the details go to the log,
 * never to the client).
 */

export type ApiErrorCode =
  | 'bad_request'
  | 'unauthorized'
  | 'forbidden'
  | 'not_found'
  | 'method_not_allowed'
  | 'conflict'
  | 'payload_too_large'
  | 'unsupported_media_type'
  | 'range_not_satisfiable'
  | 'too_many_requests'
  | 'disk_full'
  | 'internal';

/** An HTTP-level refusal raised by the API layer itself (auth, method, media type). */
export class ApiError extends Error {
  override name = 'ApiError';
  constructor(
    readonly status: ContentfulStatusCode,
    readonly code: ApiErrorCode,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

export interface ApiErrorBody {
  error: { code: ApiErrorCode; message: string };
}

interface Mapped {
  status: ContentfulStatusCode;
  code: ApiErrorCode;
  message: string;
  headers: Record<string, string>;
}

const CODE_BY_HTTP_STATUS: Partial<Record<number, ApiErrorCode>> = {
  400: 'bad_request',
  401: 'unauthorized',
  403: 'forbidden',
  404: 'not_found',
  405: 'method_not_allowed',
  409: 'conflict',
  413: 'payload_too_large',
  415: 'unsupported_media_type',
  416: 'range_not_satisfiable',
  429: 'too_many_requests',
};

/** Maps an error to status, code and a message that is safe to show; `undefined` means "unexpected". */
export function mapError(error: unknown): Mapped | undefined {
  if (error instanceof ApiError) {
    return { status: error.status, code: error.code, message: error.message, headers: error.headers };
  }
  if (error instanceof NotFoundError) return plain(404, 'not_found', error.message);
  if (error instanceof ConflictError) return plain(409, 'conflict', error.message);
  if (error instanceof UsageError) return plain(400, 'bad_request', error.message);
  if (error instanceof ConfigError) return plain(400, 'bad_request', error.message);
  if (error instanceof TooManyRequestsError) {
    return { status: 429, code: 'too_many_requests', message: error.message, headers: { 'Retry-After': String(error.retryAfterSeconds) } };
  }
  if (isDiskFull(error)) {
    return plain(507, 'disk_full', "the appliance's disk is full, so this could not be saved; free some space and try again");
  }
  if (error instanceof HTTPException) {
    const code = CODE_BY_HTTP_STATUS[error.status];
    if (code) return plain(error.status as ContentfulStatusCode, code, httpExceptionMessage(error, code));
  }
  return undefined;
}

export function errorBody(code: ApiErrorCode, message: string): ApiErrorBody {
  return { error: { code, message } };
}

/** Hono `onError` handler for the API app. */
export function createErrorHandler(logger: Logger) {
  return (error: unknown, c: Context): Response => {
    const mapped = mapError(error);
    if (mapped) {
      for (const [name, value] of Object.entries(mapped.headers)) c.header(name, value);
      return c.json(errorBody(mapped.code, mapped.message), mapped.status);
    }
    logger.error('unexpected error in API request', { method: c.req.method, path: c.req.path, error });
    return c.json(errorBody('internal', 'internal error; see the hearth log'), 500);
  };
}

/** Hono `notFound` handler: an unknown route is a JSON 404 like every other error. */
export function notFoundHandler(c: Context): Response {
  return c.json(errorBody('not_found', `no route for ${c.req.method} ${c.req.path}`), 404);
}

function plain(status: ContentfulStatusCode, code: ApiErrorCode, message: string): Mapped {
  return { status, code, message, headers: {} };
}

function httpExceptionMessage(error: HTTPException, code: ApiErrorCode): string {
  if (code === 'payload_too_large') return 'request body is too large';
  // Hono's own exceptions carry short, client-safe messages ("Malformed JSON in request body").
  return error.message || code.replace(/_/g, ' ');
}
