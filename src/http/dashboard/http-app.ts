import { Hono } from 'hono';
import type { Context, MiddlewareHandler } from 'hono';
import { compress } from 'hono/compress';
import { COMPRESSIBLE_CONTENT_TYPE_REGEX } from 'hono/utils/compress';
import { createApiApp, type ApiDeps } from '../app.js';
import { ApiError, createErrorHandler, errorBody, mapError } from '../errors.js';
import type { TokenCheck } from '../token.js';
import { renderMetrics, type MetricsSources } from '../../metrics/render.js';
import { PROMETHEUS_CONTENT_TYPE } from '../../metrics/prometheus.js';
import type { LiveHub } from './live.js';
import { page } from './layout.js';
import { errorBody as errorPage } from './pages.js';
import { hasSession, mountDashboard, type DashboardDeps } from './routes.js';
import { originGuard, provenSameOrigin, securityHeaders } from './security.js';

/**
 * The whole HTTP surface on one Hono app: security headers and compression
 * for everything, the Origin check for every change, then the dashboard
 * (pages, assets, live events, /metrics) and the JSON API. The API accepts
 * a bearer token (the CLI's, or one made in Settings) or a dashboard session.
 */

export interface HttpAppDeps extends DashboardDeps {
  /** Checks bearer tokens: the CLI's token file and the tokens made in Settings. */
  tokenCheck: TokenCheck;
  live: LiveHub;
  metrics: Omit<MetricsSources, 'health' | 'liveViewers'>;
  /** Further API options passed through as they are (heartbeat, search, …). */
  api?: Omit<ApiDeps, 'appliance' | 'auth' | 'logger' | 'session' | 'system'>;
}

/** Paths whose errors are JSON (scripts read them); the rest are pages. */
const MACHINE_PATHS = /^\/(api|metrics|events|hooks)(\/|$)/;
/**
 * Webhooks are called by other services with their own secret (never an
 * ambient cookie), so the Origin check that protects cookie-authenticated
 * changes has nothing to protect there, and a sender that sets Origin must
 * not be refused.
 */
const HOOK_PATHS = /^\/hooks\//;

export function createHttpApp(deps: HttpAppDeps): Hono {
  const app = new Hono();
  const jsonErrors = createErrorHandler(deps.logger);
  app.onError((error, c) => (MACHINE_PATHS.test(c.req.path) ? jsonErrors(error, c) : htmlError(error, c, deps)));
  app.notFound((c) => {
    if (MACHINE_PATHS.test(c.req.path)) return c.json(errorBody('not_found', `no route for ${c.req.method} ${c.req.path}`), 404);
    return htmlError(new ApiError(404, 'not_found', `There is no page at ${c.req.path}.`), c, deps);
  });

  app.use('*', securityHeaders);
  app.use('*', compress({ contentTypeFilter: (type) => !type.startsWith('text/event-stream') && COMPRESSIBLE_CONTENT_TYPE_REGEX.test(type) }));
  app.use('*', (c, next) => (HOOK_PATHS.test(c.req.path) ? next() : originGuard(c, next)));

  app.get('/assets/:name', (c) => deps.assets.serve(c, c.req.param('name')) ?? c.notFound());
  app.get('/manifest.webmanifest', (c) => deps.assets.serve(c, 'manifest.webmanifest') ?? c.notFound());

  const machineAuth = requireSessionOrToken(deps);
  app.get('/metrics', machineAuth, (c) => {
    const text = renderMetrics({ ...deps.metrics, health: () => deps.appliance.health(), liveViewers: () => deps.live.viewerCount });
    return c.body(text, 200, { 'Content-Type': PROMETHEUS_CONTENT_TYPE, 'Cache-Control': 'no-store' });
  });
  app.get('/events', machineAuth, (c) => deps.live.connect(c.req.raw.signal));

  // The Search page reads the same knowledge store as `GET /api/search`.
  mountDashboard(app, {
    ...deps,
    ...(deps.api?.search ? { search: deps.api.search } : {}),
    // Settings › Notifications uses the same notifier as `/api/notify/…`.
    ...(deps.api?.notify ? { notify: deps.api.notify } : {}),
  });

  app.route('/', createApiApp({
    clock: deps.clock,
    ...deps.api,
    appliance: deps.appliance,
    auth: deps.tokenCheck,
    logger: deps.logger,
    // A session may read anything; a change also has to come from our own pages.
    session: (c) => hasSession(c, deps.sessions) && provenSameOrigin(c),
    system: () => deps.system.snapshot(),
  }));
  return app;
}

function requireSessionOrToken(deps: HttpAppDeps): MiddlewareHandler {
  return async (c, next) => {
    const match = c.req.header('authorization')?.match(/^Bearer[ \t]+(\S+)[ \t]*$/i);
    if (match ? deps.tokenCheck(match[1]!) : hasSession(c, deps.sessions)) return next();
    throw new ApiError(401, 'unauthorized', match ? 'invalid API token' : 'log in, or send "Authorization: Bearer <token>"', {
      'WWW-Authenticate': 'Bearer realm="hearth"',
    });
  };
}

function htmlError(error: unknown, c: Context, deps: HttpAppDeps): Response {
  const mapped = mapError(error);
  if (!mapped) deps.logger.error('unexpected error in a dashboard request', { method: c.req.method, path: c.req.path, error });
  const status = mapped?.status ?? 500;
  const message = mapped?.message ?? 'Internal error; see the hearth log.';
  for (const [name, value] of Object.entries(mapped?.headers ?? {})) c.header(name, value);
  c.header('Cache-Control', 'no-store');
  const loggedIn = hasSession(c, deps.sessions);
  const body = page(deps.assets, { title: 'Error', tab: 'none', body: errorPage(status, message), ...(loggedIn ? { health: deps.appliance.health() } : {}) });
  return c.html(body.value, status);
}
