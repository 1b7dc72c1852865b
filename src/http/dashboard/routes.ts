import { ChannelError } from '../../core/errors.js';
import type { Context, Hono, MiddlewareHandler } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { deleteCookie, getCookie, setCookie } from 'hono/cookie';
import type { AppliancePort } from '../../engine/port.js';
import type { Clock } from '../../core/clock.js';
import { NotFoundError, UsageError } from '../../core/errors.js';
import type { Logger } from '../../core/logger.js';
import { parseSearchParams } from '../../knowledge/search-params.js';
import type { SearchPort } from '../../knowledge/types.js';
import type { SystemInfo } from '../../system/system-info.js';
import { isApiTokenId, type ApiTokenStore } from '../auth/api-tokens.js';
import type { PasswordSource } from '../auth/password-source.js';
import { verifyPassword } from '../auth/password.js';
import type { LoginLimiter } from '../auth/rate-limit.js';
import type { SessionStore } from '../auth/sessions.js';
import { ApiError } from '../errors.js';
import { clientAddress } from '../client-address.js';
import { parseJobName, parseQuestionId, parseRunId, parseRunStatus } from '../params.js';
import { answerFromForm, inboxBody } from './inbox-page.js';
import type { Assets } from './assets.js';
import type { Html } from './html.js';
import { page, type Tab } from './layout.js';
import * as pages from './pages.js';
import { searchBody, searchFieldsFrom, type SearchOutcome } from './search-page.js';
import { provenSameOrigin } from './security.js';
import { JobHistoryReader, jobsForStrips, recentRunsByJob } from './history.js';
import type { PasswdCommand } from '../../platform/passwd-command.js';
import type { GmailConnector } from '../../integrations/gmail/connect.js';
import { mountGmailConnect } from './gmail-connect-page.js';
import type { Connections } from '../../integrations/connect.js';
import { mountConnectionPages } from './connections-page.js';
import type { NotifyPort } from '../../notify/port.js';
import { html } from './html.js';
import { notifySection, type TestOutcome } from './notify-page.js';

/**
 * The dashboard's pages and form actions. Pages are server-rendered HTML;
 * forms post `application/x-www-form-urlencoded` and answer with a redirect,
 * so everything works before (or without) the small script in web/app.js.
 */

export const SESSION_COOKIE = 'hearth_session';
export const FORM_LIMIT_BYTES = 16 * 1024;
const HISTORY_PAGE = 20;
const SEARCH_PAGE_LIMIT = 20;

export interface DashboardDeps {
  appliance: AppliancePort;
  assets: Assets;
  sessions: SessionStore;
  tokens: ApiTokenStore;
  password: PasswordSource;
  limiter: LoginLimiter;
  system: SystemInfo;
  clock: Clock;
  logger: Logger;
  /** The appliance's time zone (from the current config). */
  timeZone(): string;
  /** The knowledge store behind the Search page (absent: the page says so). */
  search?: SearchPort;
  /** The `hearth passwd` command the setup and login pages show (absent: the Pi image's). */
  passwd?: PasswdCommand;
  /** Settings › Connections: outside accounts and their saved secrets (names only). */
  connections?: Connections;
  /** Settings › Notifications (absent: the section is left out). */
  notify?: NotifyPort;
  /** Settings › Connections › Gmail (absent: no such pages). */
  gmailConnect?: GmailConnector;
}

/** What the Pi image runs: a systemd service as user hearth with its config in /etc/hearth. */
export const PI_PASSWD: PasswdCommand = { command: 'sudo -u hearth hearth passwd --config /etc/hearth/hearth.yaml' };

export function hasSession(c: Context, sessions: SessionStore): boolean {
  return sessions.isValid(getCookie(c, SESSION_COOKIE));
}

export function mountDashboard(app: Hono, deps: DashboardDeps): void {
  const { appliance, sessions } = deps;
  const render = async (c: Context, tab: Tab, title: string, body: Html, live?: string) => {
    c.header('Cache-Control', 'no-store');
    if (c.req.header('x-hearth-partial')) return c.html(body.value);
    const inbox = (await appliance.listInbox()).length;
    return c.html(page(deps.assets, { title, tab, body, health: appliance.health(), timeZone: deps.timeZone(), inbox, ...(live ? { live } : {}) }).value);
  };
  const ctx = () => ({ now: deps.clock.now(), timeZone: deps.timeZone() });
  const histories = new JobHistoryReader(appliance);

  /** Pages: without a session, go and log in (or learn how to set the password). */
  const pageAuth: MiddlewareHandler = async (c, next) => {
    if (hasSession(c, sessions)) return next();
    if (!(await deps.password.isSet())) return c.redirect('/setup', 303);
    const target = c.req.path + (new URL(c.req.url).search || '');
    return c.redirect(`/login?next=${encodeURIComponent(target)}`, 303);
  };
  /** Form actions: a session, and proof that the form is one of ours. */
  const actionAuth: MiddlewareHandler = async (c, next) => {
    if (!hasSession(c, sessions)) throw new ApiError(401, 'unauthorized', 'log in first: this action needs a dashboard session');
    if (!provenSameOrigin(c)) throw new ApiError(403, 'forbidden', 'cross-origin request refused: the Origin does not match this dashboard');
    return next();
  };

  // ---- login, logout, setup --------------------------------------------------

  app.get('/setup', async (c) => {
    if (await deps.password.isSet()) return c.redirect('/login', 303);
    c.header('Cache-Control', 'no-store');
    return c.html(page(deps.assets, { title: 'Set a password', tab: 'none', body: pages.setupBody(deps.passwd ?? PI_PASSWD) }).value);
  });

  app.get('/login', async (c) => {
    if (!(await deps.password.isSet())) return c.redirect('/setup', 303);
    if (hasSession(c, sessions)) return c.redirect(localPath(c.req.query('next')), 303);
    return loginPage(c, deps, 200, { next: localPath(c.req.query('next')) });
  });

  app.post('/login', requireForm, limitForm, async (c) => {
    const fields = await readForm(c);
    const next = localPath(fields.get('next') ?? undefined);
    const hash = await deps.password.get();
    if (!hash) return c.redirect('/setup', 303);
    const client = clientAddress(c);
    const decision = deps.limiter.check(client);
    if (!decision.allowed) {
      c.header('Retry-After', String(decision.retryAfterSeconds));
      deps.logger.warn('login refused: too many failed attempts', { client });
      return loginPage(c, deps, 429, { next, error: `Too many failed attempts. Try again in ${Math.ceil(decision.retryAfterSeconds / 60)} min.` });
    }
    if (!(await verifyPassword(fields.get('password') ?? '', hash))) {
      deps.limiter.fail(client);
      deps.logger.warn('login failed', { client });
      return loginPage(c, deps, 401, { next, error: 'Wrong password.' });
    }
    deps.limiter.succeed(client);
    const session = await sessions.create();
    setCookie(c, SESSION_COOKIE, session.cookie, {
      httpOnly: true,
      sameSite: 'Strict',
      path: '/',
      secure: new URL(c.req.url).protocol === 'https:',
      maxAge: Math.floor((session.expiresAt - deps.clock.now()) / 1000),
    });
    deps.logger.info('dashboard login', { client });
    return c.redirect(next, 303);
  });

  app.post('/logout', requireForm, limitForm, actionAuth, async (c) => {
    await sessions.revoke(getCookie(c, SESSION_COOKIE) ?? '');
    deleteCookie(c, SESSION_COOKIE, { path: '/' });
    return c.redirect('/login', 303);
  });

  app.post('/logout/all', requireForm, limitForm, actionAuth, async (c) => {
    const count = await sessions.revokeAll();
    deps.logger.info('every dashboard session logged out', { sessions: count });
    deleteCookie(c, SESSION_COOKIE, { path: '/' });
    return c.redirect('/login', 303);
  });

  // ---- pages -----------------------------------------------------------------

  app.get('/', pageAuth, async (c) => {
    const [running, queued, waiting, failed] = await Promise.all(
      (['running', 'queued', 'waiting', 'failed'] as const).map((status) => appliance.listRuns({ status, limit: 10 })),
    );
    const jobs = appliance.listJobs();
    const body = pages.overviewBody(ctx(), {
      health: appliance.health(),
      attention: await appliance.attention(),
      jobs,
      recent: await recentRunsByJob(appliance, jobsForStrips(jobs).map((job) => job.name)),
      active: [...running!.runs, ...waiting!.runs, ...queued!.runs],
      failures: failed!.runs.slice(0, 5),
    });
    return render(c, 'overview', 'Overview', body, '*');
  });

  app.get('/inbox', pageAuth, async (c) => render(c, 'inbox', 'Inbox', inboxBody(ctx(), await appliance.listInbox()), '*'));

  app.get('/jobs', pageAuth, (c) => {
    // Only the shown page's jobs are looked up (last run, next run): 1,000 JobViews per load cost ~15 ms.
    const listing = pages.pickJobsPage(appliance.listJobNames(), { q: (c.req.query('q') ?? '').slice(0, 200), page: Number(c.req.query('page') ?? 1) });
    const shown = listing.names.flatMap((name) => appliance.getJob(name) ?? []);
    return render(c, 'jobs', 'Jobs', pages.jobsBody(ctx(), listing, shown), '*');
  });

  app.get('/jobs/:name', pageAuth, async (c) => {
    const name = parseJobName(c.req.param('name') ?? '');
    const job = appliance.getJob(name);
    if (!job) throw new NotFoundError('job', name);
    const before = optionalRunId(c.req.query('before'));
    const [history, glance] = await Promise.all([
      appliance.listRuns({ job: name, limit: HISTORY_PAGE, ...(before ? { before } : {}) }),
      histories.read(name, deps.clock.now()),
    ]);
    const body = pages.jobBody(ctx(), job, history.runs, { ...(before ? { before } : {}), ...(history.nextBefore ? { nextBefore: history.nextBefore } : {}) }, glance);
    return render(c, 'jobs', name, body, `job:${name}`);
  });

  app.get('/runs', pageAuth, async (c) => {
    const status = c.req.query('status') ? parseRunStatus(c.req.query('status')!) : undefined;
    const before = optionalRunId(c.req.query('before'));
    const list = await appliance.listRuns({ limit: HISTORY_PAGE, ...(status ? { status } : {}), ...(before ? { before } : {}) });
    const filter = { ...(status ? { status } : {}), ...(before ? { before } : {}), ...(list.nextBefore ? { nextBefore: list.nextBefore } : {}) };
    return render(c, 'runs', 'Runs', pages.runsBody(ctx(), list.runs, filter), '*');
  });

  app.get('/runs/:id', pageAuth, async (c) => {
    const id = parseRunId(c.req.param('id') ?? '');
    const run = await appliance.getRun(id);
    if (!run) throw new NotFoundError('run', id);
    return render(c, 'runs', `${run.job} run`, pages.runBody(ctx(), run, await appliance.runSteps(id)), `run:${id}`);
  });

  app.get('/system', pageAuth, async (c) => {
    const body = pages.systemBody(ctx(), await deps.system.snapshot(), appliance.health().version);
    return render(c, 'system', 'System', body, 'every:10');
  });

  app.get('/settings', pageAuth, (c) => render(c, 'settings', 'Settings', settings(c, deps)));
  if (deps.gmailConnect) {
    mountGmailConnect(app, { connector: deps.gmailConnect, pageAuth, actionAuth, requireForm, limitForm, readForm, render: (c, title, body) => render(c, 'settings', title, body) });
  }

  app.get('/search', pageAuth, async (c) => {
    const fields = searchFieldsFrom((name) => c.req.queries(name));
    const outcome = await searchOutcome(deps.search, c.req.queries(), deps.clock.now());
    // A bad filter is the caller's mistake: 400, with the form kept so it can be fixed.
    if (outcome.kind === 'invalid') c.status(400);
    return render(c, 'search', fields.q.trim() ? `Search: ${fields.q.trim().slice(0, 60)}` : 'Search', searchBody(deps.timeZone(), fields, outcome));
  });

  // ---- actions ---------------------------------------------------------------

  app.post('/jobs/:name/run', requireForm, limitForm, actionAuth, async (c) => {
    const run = await appliance.triggerJob(parseJobName(c.req.param('name') ?? ''), 'manual');
    return c.redirect(`/runs/${run.id}`, 303);
  });

  for (const [verb, paused] of [['pause', true], ['resume', false]] as const) {
    app.post(`/jobs/:name/${verb}`, requireForm, limitForm, actionAuth, async (c) => {
      const name = parseJobName(c.req.param('name') ?? '');
      const fields = await readForm(c);
      await appliance.setPaused(name, paused);
      deps.logger.info(`schedule ${paused ? 'paused' : 'resumed'} from the dashboard`, { job: name });
      return c.redirect(localPath(fields.get('back') ?? undefined, `/jobs/${name}`), 303);
    });
  }

  app.post('/runs/:id/cancel', requireForm, limitForm, actionAuth, async (c) => {
    const run = await appliance.cancelRun(parseRunId(c.req.param('id') ?? ''));
    return c.redirect(`/runs/${run.id}`, 303);
  });

  app.post('/runs/:id/retry', requireForm, limitForm, actionAuth, async (c) => {
    const run = await appliance.retryRun(parseRunId(c.req.param('id') ?? ''));
    return c.redirect(`/runs/${run.id}`, 303);
  });

  app.post('/inbox/:id', requireForm, limitForm, actionAuth, async (c) => {
    const id = parseQuestionId(c.req.param('id') ?? '');
    const question = (await appliance.listInbox()).find((q) => q.id === id);
    // Answered or expired already (another phone got there first): the API says which.
    if (!question) await appliance.answerQuestion(id, null);
    await appliance.answerQuestion(id, answerFromForm(question!, await readForm(c)));
    return c.redirect('/inbox', 303);
  });

  mountConnectionPages(app, deps.connections, {
    pageAuth,
    actionAuth,
    requireForm,
    limitForm,
    readForm,
    render,
    logger: deps.logger,
    // Gmail's OAuth consent steps live on their own page (mounted above); its card links there.
    ...(deps.gmailConnect ? { ownPage: (info) => (info.type === 'gmail' ? `/settings/connections/gmail/${encodeURIComponent(info.name)}` : undefined) } : {}),
  });

  app.post('/settings/tokens', requireForm, limitForm, actionAuth, async (c) => {
    const fields = await readForm(c);
    const { token, info } = await deps.tokens.create(fields.get('name') ?? '');
    deps.logger.info('API token created', { id: info.id, name: info.name });
    return render(c, 'settings', 'Settings', settings(c, deps, { token, name: info.name }));
  });

  // "Send test": the page again, with what the channel answered.
  app.post('/settings/notify/:channel/test', requireForm, limitForm, actionAuth, async (c) => {
    const channel = c.req.param('channel') ?? '';
    const notify = deps.notify;
    if (!notify || !notify.channels().some((known) => known.name === channel)) throw new NotFoundError('notification channel', channel.slice(0, 80));
    let outcome: TestOutcome;
    try {
      const answer = await notify.test(channel);
      outcome = { channel, ok: true, status: answer.status, ...(answer.detail ? { detail: answer.detail } : {}) };
    } catch (error) {
      if (!(error instanceof ChannelError)) throw error;
      outcome = { channel, ok: false, error: error.message };
    }
    return render(c, 'settings', 'Settings', settings(c, deps, undefined, outcome));
  });

  app.post('/settings/tokens/:id/revoke', requireForm, limitForm, actionAuth, async (c) => {
    const id = c.req.param('id') ?? '';
    if (!isApiTokenId(id)) throw new UsageError(`invalid token id "${id.slice(0, 40)}"`);
    await deps.tokens.revoke(id);
    deps.logger.info('API token revoked', { id });
    return c.redirect('/settings', 303);
  });
}

function settings(c: Context, deps: DashboardDeps, created?: { token: string; name: string }, tested?: TestOutcome) {
  return html`${tokenSettings(c, deps, created)}${notifySection(deps.timeZone(), deps.notify?.channels(), tested)}`;
}

function tokenSettings(c: Context, deps: DashboardDeps, created?: { token: string; name: string }) {
  const exampleJob = deps.appliance.listJobs()[0]?.name;
  return pages.settingsBody({ now: deps.clock.now(), timeZone: deps.timeZone() }, {
    tokens: deps.tokens.list(),
    origin: new URL(c.req.url).origin,
    sessions: deps.sessions.size,
    ...(created ? { created } : {}),
    ...(exampleJob ? { exampleJob } : {}),
  });
}

/** Same parser as `GET /api/search`; the page shows 20 hits unless `limit` says otherwise. */
async function searchOutcome(search: SearchPort | undefined, params: Record<string, string[]>, now: number): Promise<SearchOutcome> {
  if (!search) return { kind: 'unavailable' };
  if (!(params.q ?? []).join('').trim()) return { kind: 'prompt' };
  let query;
  try {
    query = parseSearchParams(params, now);
  } catch (error) {
    if (error instanceof UsageError) return { kind: 'invalid', message: error.message };
    throw error;
  }
  return { kind: 'results', response: await search.search({ limit: SEARCH_PAGE_LIMIT, ...query }) };
}

function loginPage(c: Context, deps: DashboardDeps, status: 200 | 401 | 429, options: { next: string; error?: string }) {
  c.header('Cache-Control', 'no-store');
  return c.html(page(deps.assets, { title: 'Log in', tab: 'none', body: pages.loginBody({ ...options, passwd: deps.passwd ?? PI_PASSWD }) }).value, status);
}

/** Redirect targets come from the form: only paths on this dashboard are followed. */
export function localPath(value: string | undefined, fallback = '/'): string {
  if (!value || !/^\/(?![/\\])[\w\-./?=&%~]*$/.test(value)) return fallback;
  return value;
}

function optionalRunId(value: string | undefined): string | undefined {
  return value ? parseRunId(value) : undefined;
}


const requireForm: MiddlewareHandler = async (c, next) => {
  const type = (c.req.header('content-type') ?? '').split(';')[0]!.trim().toLowerCase();
  // An empty body (a button with no fields) may come without a type.
  if (type !== 'application/x-www-form-urlencoded' && !(type === '' && c.req.header('content-length') === '0')) {
    throw new ApiError(415, 'unsupported_media_type', 'send the form as application/x-www-form-urlencoded');
  }
  return next();
};

const limitForm: MiddlewareHandler = bodyLimit({
  maxSize: FORM_LIMIT_BYTES,
  onError: () => {
    throw new ApiError(413, 'payload_too_large', `the form is larger than ${FORM_LIMIT_BYTES / 1024} KB`);
  },
});

async function readForm(c: Context): Promise<URLSearchParams> {
  return new URLSearchParams(await c.req.text());
}
