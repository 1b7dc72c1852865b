import { ChannelError } from '../core/errors.js';
import { Hono } from 'hono';
import type { Context, Handler, MiddlewareHandler } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { openHealthView } from '../engine/port.js';
import type { AppliancePort } from '../engine/port.js';
import { systemClock } from '../core/clock.js';
import type { Clock } from '../core/clock.js';
import { NotFoundError, UsageError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import { ApiError, createErrorHandler, notFoundHandler } from './errors.js';
import { streamRunLog } from './log-stream.js';
import { parseEventBody, parseJobName, parseQuestionId, parseRunBody, parseRunId, parseRunQuery, parseTailLines, parseTriggerHeader } from './params.js';
import { serveLog } from './log-download.js';
import { clientAddress } from './client-address.js';
import { LoginLimiter } from './auth/rate-limit.js';
import type { TokenCheck } from './token.js';
import type { SearchPort } from '../knowledge/types.js';
import { parseSearchParams } from '../knowledge/search-params.js';
import type { NotifyPort } from '../notify/port.js';

/**
 * The JSON API over the appliance port. Routes only translate HTTP to port
 * calls and back; validation lives in params.ts and error mapping in
 * errors.ts, so every route behaves the same on bad input.
 */

export interface ApiDeps {
  appliance: AppliancePort;
  auth: TokenCheck;
  logger: Logger;
  /** Drives the SSE heartbeat; tests pass a FakeClock. */
  clock?: Clock;
  heartbeatMs?: number;
  /**
   * Accepts a request that carries no bearer token by other means (the
   * dashboard's session cookie). Checked only when no token is sent.
   */
  session?: (c: Context) => boolean;
  /** `GET /api/system`: the System page's figures (absent: 404). */
  system?: () => Promise<unknown>;
  /** `GET /api/search`: the knowledge store (absent: 404). */
  search?: SearchPort;
  /** `GET /api/notify/channels`, `POST /api/notify/:channel/test` (absent: 404). */
  notify?: NotifyPort;
  /** Failed webhook secrets per client address (default: a LoginLimiter of its own, 5 per 15 min). */
  hookLimiter?: LoginLimiter;
}

/** Every POST body, webhooks' too; a run's input (src/runs/run-input.ts MAX_INPUT_BYTES) fits in it. */
export const BODY_LIMIT_BYTES = 64 * 1024;
export const DEFAULT_HEARTBEAT_MS = 15_000;
/** Paths anyone on the LAN may read without a token. */
const OPEN_PATHS = new Set(['/api/health']);

type Method = 'GET' | 'POST';

export function createApiApp(deps: ApiDeps): Hono {
  const { appliance, logger } = deps;
  const clock = deps.clock ?? systemClock;
  const heartbeatMs = deps.heartbeatMs ?? DEFAULT_HEARTBEAT_MS;
  const app = new Hono();
  app.onError(createErrorHandler(logger));
  app.notFound(notFoundHandler);
  app.use('/api/*', requireBearerToken(deps.auth, deps.session));

  const route = (path: string, handlers: Partial<Record<Method, Handler>>) => {
    if (handlers.GET) app.get(path, handlers.GET);
    if (handlers.POST) app.post(path, requireJsonOrNothing, limitBody, handlers.POST);
    // Registered last, so it only answers the methods not handled above.
    app.all(path, methodNotAllowed(Object.keys(handlers) as Method[]));
  };

  // Open to the LAN for monitors, but the config's path and error lines (which quote the file) only with a token or session.
  route('/api/health', {
    GET: (c) => {
      const health = appliance.health();
      return c.json(authentication(c, deps.auth, deps.session) === 'valid' ? health : openHealthView(health));
    },
  });

  // The config's reload state rides along so `hearth jobs` can say the catalog is stale.
  route('/api/jobs', { GET: (c) => c.json({ jobs: appliance.listJobs(), config: appliance.health().config }) });

  route('/api/jobs/:name', {
    GET: (c) => {
      const name = parseJobName(c.req.param('name') ?? '');
      const job = appliance.getJob(name);
      if (!job) throw new NotFoundError('job', name);
      return c.json(job);
    },
  });

  route('/api/jobs/:name/run', {
    POST: async (c) => {
      const name = parseJobName(c.req.param('name') ?? '');
      const trigger = parseTriggerHeader(c.req.header('x-hearth-trigger'));
      const { input } = parseRunBody(await readJsonBody(c));
      const run = await appliance.triggerJob(name, trigger, input === undefined ? {} : { input });
      c.header('Location', `/api/runs/${run.id}`);
      return c.json({ runId: run.id, run }, 202);
    },
  });

  // Durable before the 202: the runs it started are on disk, and so is its id.
  route('/api/events', {
    POST: async (c) => c.json(await appliance.sendEvent(parseEventBody(await readJsonBody(c))), 202),
  });

  // Webhooks carry their own secret: no API token or session, no Origin check (see createHttpApp).
  const hookLimiter = deps.hookLimiter ?? new LoginLimiter({ clock });
  app.post('/hooks/:name', requireHookSecret(appliance, hookLimiter, logger), requireJsonOrNothing, limitBody, async (c) => {
    const name = c.req.param('name') ?? '';
    const run = await appliance.triggerHook(name, await readJsonBody(c));
    c.header('Location', `/api/runs/${run.id}`);
    return c.json({ runId: run.id }, 202);
  });
  app.all('/hooks/:name', methodNotAllowed(['POST']));

  route('/api/jobs/:name/pause', {
    POST: async (c) => {
      const name = parseJobName(c.req.param('name') ?? '');
      await appliance.setPaused(name, true);
      return c.json(appliance.getJob(name));
    },
  });

  route('/api/jobs/:name/resume', {
    POST: async (c) => {
      const name = parseJobName(c.req.param('name') ?? '');
      await appliance.setPaused(name, false);
      return c.json(appliance.getJob(name));
    },
  });

  route('/api/runs/:id/retry', {
    POST: async (c) => {
      const run = await appliance.retryRun(parseRunId(c.req.param('id') ?? ''));
      c.header('Location', `/api/runs/${run.id}`);
      return c.json({ runId: run.id, run }, 202);
    },
  });

  if (deps.search) {
    const search = deps.search;
    route('/api/search', {
      GET: async (c) => {
        c.header('Cache-Control', 'no-store');
        return c.json(await search.search(parseSearchParams(c.req.queries(), clock.now())));
      },
    });
  }

  if (deps.notify) {
    const notify = deps.notify;
    // Names, types and delivery state only: settings and secrets never leave the Notifier.
    route('/api/notify/channels', {
      GET: (c) => {
        c.header('Cache-Control', 'no-store');
        return c.json({ channels: notify.channels() });
      },
    });
    route('/api/notify/:channel/test', {
      POST: async (c) => {
        const channel = c.req.param('channel') ?? '';
        if (!notify.channels().some((known) => known.name === channel)) {
          throw new NotFoundError('notification channel', channel.slice(0, 80));
        }
        try {
          return c.json({ ok: true, channel, answer: await notify.test(channel) });
        } catch (error) {
          if (!(error instanceof ChannelError)) throw error;
          // The receiver said no (or could not be reached): that is the answer, not a fault of this request.
          // The usual error shape, plus what the receiver's status was.
          return c.json({ error: { code: 'notify_failed', message: error.message }, channel, ...(error.status !== undefined ? { status: error.status } : {}) }, 502);
        }
      },
    });
  }

  if (deps.system) {
    const system = deps.system;
    route('/api/system', { GET: async (c) => c.json(await system()) });
  }

  route('/api/runs', {
    GET: async (c) => {
      const page = await appliance.listRuns(parseRunQuery(c.req.query()));
      return c.json({ runs: page.runs, nextBefore: page.nextBefore ?? null });
    },
  });

  route('/api/runs/:id', {
    GET: async (c) => {
      const id = parseRunId(c.req.param('id') ?? '');
      const run = await appliance.getRun(id);
      if (!run) throw new NotFoundError('run', id);
      // A workflow's steps (id, kind, status, times, what a waiting one waits for); [] for other runs.
      return c.json({ ...run, steps: await appliance.runSteps(id) });
    },
  });

  route('/api/runs/:id/cancel', {
    POST: async (c) => {
      const id = parseRunId(c.req.param('id') ?? '');
      return c.json(await appliance.cancelRun(id), 202);
    },
  });

  // What needs attention: the dashboard's status line, as data (failing jobs and their reasons, stuck runs, overdue jobs, questions, appliance problems).
  route('/api/attention', {
    GET: async (c) => {
      c.header('Cache-Control', 'no-store');
      return c.json(await appliance.attention());
    },
  });

  route('/api/inbox', {
    GET: async (c) => {
      c.header('Cache-Control', 'no-store');
      return c.json({ questions: await appliance.listInbox() });
    },
  });

  route('/api/inbox/:id', {
    POST: async (c) => {
      const id = parseQuestionId(c.req.param('id') ?? '');
      const body = await readJsonBody(c);
      if (typeof body !== 'object' || body === null || Array.isArray(body) || !Object.hasOwn(body, 'value')) {
        throw new UsageError('body must be a JSON object with a "value" field: {"value": …}');
      }
      return c.json(await appliance.answerQuestion(id, (body as { value: unknown }).value));
    },
  });

  route('/api/runs/:id/logs', {
    GET: async (c) => {
      const runId = parseRunId(c.req.param('id') ?? '');
      const tailText = c.req.query('tail');
      const tail = tailText === undefined ? undefined : parseTailLines(tailText);
      if (wantsEventStream(c)) {
        // Checked up front so an unknown run is a JSON 404, not an event stream with an error in it.
        if (!(await appliance.getRun(runId))) throw new NotFoundError('run', runId);
        return streamRunLog(c, { appliance, runId, clock, heartbeatMs, logger, ...(tail === undefined ? {} : { tail }) });
      }
      // Streamed in chunks from a snapshot: never the whole log in memory.
      return serveLog(c, await appliance.openLog(runId), {
        runId,
        ...(tail === undefined ? {} : { tail }),
        download: c.req.query('download') !== undefined,
      });
    },
  });

  return app;
}

/**
 * A webhook's secret, from `Authorization: Bearer <secret>` or `?token=`.
 * Wrong or missing secrets (and unknown hooks) count as failed logins of the
 * client address: after 5 in 15 minutes it gets 429 until the oldest expires.
 * The secret is never logged.
 */
function requireHookSecret(appliance: AppliancePort, limiter: LoginLimiter, logger: Logger): MiddlewareHandler {
  return async (c, next) => {
    const name = c.req.param('name') ?? '';
    const client = clientAddress(c);
    const decision = limiter.check(client);
    if (!decision.allowed) {
      logger.warn('webhook refused: too many failed attempts', { hook: name, client });
      throw new ApiError(429, 'too_many_requests', 'too many failed webhook attempts from this address; try again later', {
        'Retry-After': String(decision.retryAfterSeconds),
      });
    }
    const secret = hookSecret(c);
    const verdict = secret === undefined ? 'missing' : appliance.checkHook(name, secret);
    if (verdict === 'ok') return next();
    limiter.fail(client);
    logger.warn('webhook refused', { hook: name, client, reason: verdict === 'unknown' ? 'no such hook' : `${verdict} secret` });
    if (verdict === 'unknown') throw new ApiError(404, 'not_found', `no webhook named "${name.slice(0, 80)}" in hearth.yaml (hooks:)`);
    throw new ApiError(401, 'unauthorized', verdict === 'missing' ? 'missing webhook secret: send "Authorization: Bearer <secret>" or ?token=<secret>' : 'wrong webhook secret', {
      'WWW-Authenticate': 'Bearer realm="hearth-hook"',
    });
  };
}

function hookSecret(c: Context): string | undefined {
  const header = c.req.header('authorization')?.match(/^Bearer[ \t]+(.+?)[ \t]*$/i)?.[1];
  return header ?? c.req.query('token') ?? undefined;
}

/** The request's JSON body; undefined when it is empty. */
async function readJsonBody(c: Context): Promise<unknown> {
  const text = await c.req.text();
  if (text.trim() === '') return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new UsageError('request body is not valid JSON', { cause: error });
  }
}

function requireBearerToken(check: TokenCheck, session?: (c: Context) => boolean): MiddlewareHandler {
  return async (c, next) => {
    if (OPEN_PATHS.has(c.req.path)) return next();
    const state = authentication(c, check, session);
    if (state === 'missing') throw unauthorized('missing API token: send "Authorization: Bearer <token>"');
    if (state === 'invalid') throw unauthorized('invalid API token');
    return next();
  };
}

/** A bearer token decides when one is sent; without one, the dashboard's session may. */
function authentication(c: Context, check: TokenCheck, session?: (c: Context) => boolean): 'valid' | 'invalid' | 'missing' {
  const token = bearerToken(c.req.header('authorization'));
  if (token === undefined) return session?.(c) ? 'valid' : 'missing';
  return check(token) ? 'valid' : 'invalid';
}

function bearerToken(header: string | undefined): string | undefined {
  const match = header?.match(/^Bearer[ \t]+(\S+)[ \t]*$/i);
  return match?.[1];
}

function unauthorized(message: string): ApiError {
  return new ApiError(401, 'unauthorized', message, { 'WWW-Authenticate': 'Bearer realm="hearth"' });
}

// POST bodies are optional JSON: anything else is refused before the handler runs.

const requireJsonOrNothing: MiddlewareHandler = async (c, next) => {
  const contentType = c.req.header('content-type');
  if (contentType !== undefined && mediaType(contentType) !== 'application/json') {
    throw new ApiError(415, 'unsupported_media_type', 'request body must be JSON (Content-Type: application/json) or empty');
  }
  return next();
};

const limitBody: MiddlewareHandler = bodyLimit({
  maxSize: BODY_LIMIT_BYTES,
  onError: () => {
    throw new ApiError(413, 'payload_too_large', `request body is larger than ${BODY_LIMIT_BYTES / 1024} KB`);
  },
});

function mediaType(contentType: string): string {
  return (contentType.split(';')[0] ?? '').trim().toLowerCase();
}

function methodNotAllowed(allowed: Method[]): Handler {
  const allow = allowed.flatMap((method) => (method === 'GET' ? ['GET', 'HEAD'] : [method])).join(', ');
  return (c) => {
    throw new ApiError(405, 'method_not_allowed', `${c.req.method} is not allowed here (allowed: ${allow})`, {
      Allow: allow,
    });
  };
}

function wantsEventStream(c: Context): boolean {
  return (c.req.header('accept') ?? '').toLowerCase().includes('text/event-stream');
}
