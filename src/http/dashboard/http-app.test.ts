import { statSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import type { SearchHit, SearchPort, SearchQuery, SearchResponse } from '../../knowledge/types.js';
import { CLI_TOKEN, ORIGIN, PASSWORD, dashboardHarness, formPost, fromAddress, logIn, type Harness } from './testing.js';

let h: Harness;
let cookie: string;

beforeEach(async () => {
  h = await dashboardHarness();
  h.appliance.addJob({
    name: 'backup',
    description: 'Back up notes',
    tasks: [{ name: 'archive', dependsOn: [], kind: 'shell' }, { name: 'upload', dependsOn: ['archive'], kind: 'action', action: 'http' }],
    schedule: { kind: 'cron', expression: '0 3 * * *', description: 'every day at 03:00 (Europe/London)', timezone: 'Europe/London', catchup: 'latest', maxCatchup: 24, paused: false, nextRun: '2026-05-02T03:00:00+01:00', lastCatchup: { at: '2026-05-01T09:00:00.000Z', occurrences: 3, runs: 1, policy: 'latest' } },
  });
  cookie = await logIn(h);
});

const session = (extra: Record<string, string> = {}) => ({ Cookie: cookie, ...extra });
const bearer = (token = CLI_TOKEN) => ({ Authorization: `Bearer ${token}` });

describe('security headers', () => {
  it.each(['/login', '/jobs', '/api/health', '/assets/app.css', '/nope'])('%s carries a strict CSP, no referrer and no framing', async (path) => {
    const response = await h.app.request(path, { headers: session() });
    const csp = response.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).not.toContain('unsafe-inline');
    expect(response.headers.get('referrer-policy')).toBe('no-referrer');
    expect(response.headers.get('x-content-type-options')).toBe('nosniff');
    expect(response.headers.get('x-frame-options')).toBe('DENY');
  });

  it('pages contain no inline script or style attribute', async () => {
    h.appliance.addRun({ id: 'r_00mjv5x2w0a1b2c3d4', job: 'backup', status: 'running', tasks: { archive: { name: 'archive', status: 'running', attempts: 1 } }, taskOrder: ['archive'] });
    for (const path of ['/', '/inbox', '/jobs', '/jobs/backup', '/runs', '/runs/r_00mjv5x2w0a1b2c3d4', '/system', '/settings', '/search', '/search?q=x', '/login']) {
      const text = await (await h.app.request(path, { headers: session() })).text();
      expect(text, path).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
      expect(text, path).not.toMatch(/\sstyle="/);
      expect(text, path).not.toMatch(/\son[a-z]+="/);
    }
  });
});

describe('login', () => {
  it('without a password set, shows only how to set one', async () => {
    const fresh = await dashboardHarness({ password: false });
    for (const path of ['/', '/jobs', '/login', '/settings']) {
      const response = await fresh.app.request(path);
      expect(response.status, path).toBe(303);
      expect(response.headers.get('location')).toBe('/setup');
    }
    const setup = await fresh.app.request('/setup');
    const text = await setup.text();
    expect(text).toContain('hearth passwd');
    expect(text).toContain('HEARTH_PASSWORD');
    expect(text).not.toContain('Overview</a>');
    const login = await fresh.app.request('/login', formPost({ password: 'anything at all' }));
    expect(login.headers.get('location')).toBe('/setup');
  });

  it('sends pages to the login and back to the page asked for', async () => {
    const response = await h.app.request('/jobs/backup?before=r_00mjv5x2w0a1b2c3d4');
    expect(response.status).toBe(303);
    expect(response.headers.get('location')).toBe('/login?next=%2Fjobs%2Fbackup%3Fbefore%3Dr_00mjv5x2w0a1b2c3d4');
    const login = await h.app.request('/login', formPost({ password: PASSWORD, next: '/jobs/backup' }), fromAddress('10.0.0.9'));
    expect(login.headers.get('location')).toBe('/jobs/backup');
  });

  it('sets an HttpOnly, SameSite=Strict session cookie', async () => {
    const response = await h.app.request('/login', formPost({ password: PASSWORD }), fromAddress('10.0.0.8'));
    const setCookie = response.headers.get('set-cookie') ?? '';
    expect(setCookie).toMatch(/^hearth_session=[\w-]{40,};/);
    expect(setCookie).toContain('HttpOnly');
    expect(setCookie).toContain('SameSite=Strict');
    expect(setCookie).toContain('Path=/');
    expect(setCookie).toMatch(/Max-Age=\d+/);
  });

  it('refuses a wrong password and never follows an off-site next', async () => {
    const wrong = await h.app.request('/login', formPost({ password: 'nope nope nope' }), fromAddress('10.0.0.7'));
    expect(wrong.status).toBe(401);
    expect(wrong.headers.get('set-cookie')).toBeNull();
    expect(await wrong.text()).toContain('Wrong password');
    for (const next of ['//evil.example/', 'https://evil.example/', '/\\evil.example']) {
      const response = await h.app.request('/login', formPost({ password: PASSWORD, next }), fromAddress('10.0.0.6'));
      expect(response.headers.get('location'), next).toBe('/');
    }
  });

  it('rate-limits failed logins per client address', async () => {
    const attacker = fromAddress('192.168.1.66');
    for (let i = 0; i < 5; i++) expect((await h.app.request('/login', formPost({ password: `guess ${i}xxxx` }), attacker)).status).toBe(401);
    const blocked = await h.app.request('/login', formPost({ password: PASSWORD }), attacker);
    expect(blocked.status).toBe(429);
    expect(Number(blocked.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(blocked.headers.get('set-cookie')).toBeNull();
    // Someone else on the LAN is not locked out.
    expect((await h.app.request('/login', formPost({ password: PASSWORD }), fromAddress('192.168.1.67'))).status).toBe(303);
    await h.clock.advance(15 * 60_000 + 1000);
    expect((await h.app.request('/login', formPost({ password: PASSWORD }), attacker)).status).toBe(303);
  });

  it('keeps sessions across a restart, in a 0600 file that holds no cookie', async () => {
    const restarted = await dashboardHarness({ dataDir: h.dataDir, clock: h.clock });
    expect((await restarted.app.request('/jobs', { headers: session() })).status).toBe(200);
    const file = join(h.dataDir, 'secrets', 'sessions.json');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(statSync(join(h.dataDir, 'secrets')).mode & 0o777).toBe(0o700);
    expect(readFileSync(file, 'utf8')).not.toContain(cookie.split('=')[1]!);
  });

  it('logs out: the cookie stops working, also after a restart', async () => {
    const response = await h.app.request('/logout', formPost({}, session()));
    expect(response.status).toBe(303);
    expect(response.headers.get('set-cookie')).toMatch(/hearth_session=;/);
    expect((await h.app.request('/jobs', { headers: session() })).status).toBe(303);
    const restarted = await dashboardHarness({ dataDir: h.dataDir, clock: h.clock });
    expect((await restarted.app.request('/jobs', { headers: session() })).status).toBe(303);
  });

  it('logs out everywhere', async () => {
    const other = await logIn(h, '10.1.1.1');
    await h.app.request('/logout/all', formPost({}, session()));
    expect((await h.app.request('/jobs', { headers: { Cookie: other } })).status).toBe(303);
  });

  it('expires sessions after 30 days', async () => {
    h.clock.set(h.clock.now() + 31 * 24 * 3600_000);
    expect((await h.app.request('/jobs', { headers: session() })).status).toBe(303);
  });
});

/** Every state-changing route of the dashboard and the API. */
const MUTATING: Array<[string, Record<string, string>]> = [
  ['/jobs/backup/run', {}],
  ['/jobs/backup/pause', {}],
  ['/jobs/backup/resume', {}],
  ['/runs/r_00mjv5x2w0a1b2c3d4/cancel', {}],
  ['/runs/r_00mjv5x2w0a1b2c3d4/retry', {}],
  ['/inbox/q_000000000001', { json: '"keep"' }],
  ['/settings/tokens', { name: 'x' }],
  ['/settings/tokens/t_0011aabb/revoke', {}],
  ['/settings/connections/slack-home', { token: 'x' }],
  ['/settings/connections/slack-home/check', {}],
  ['/settings/connections/slack-home/forget', {}],
  ['/settings/notify/phone/test', {}],
  ['/logout', {}],
  ['/logout/all', {}],
];
const MUTATING_API = ['/api/jobs/backup/run', '/api/jobs/backup/pause', '/api/jobs/backup/resume', '/api/runs/r_00mjv5x2w0a1b2c3d4/cancel', '/api/runs/r_00mjv5x2w0a1b2c3d4/retry', '/api/events', '/api/inbox/q_000000000001'];
/** Webhooks: their own secret, never a session or an API token. */
const MUTATING_HOOKS = ['/hooks/backup'];
const HOOK_SECRET = 'doorbell-secret-0123456789';

describe('every change needs a session or a token', () => {
  beforeEach(() => {
    h.appliance.addRun({ id: 'r_00mjv5x2w0a1b2c3d4', job: 'backup', status: 'running' });
  });

  it('the lists above cover every POST route the app has (login aside)', () => {
    const posts = new Set(h.app.routes.filter((route) => route.method === 'POST').map((route) => route.path));
    posts.delete('/login');
    const covered = new Set([...MUTATING.map(([path]) => path), ...MUTATING_API, ...MUTATING_HOOKS].map((path) =>
      path.replace('/backup/', '/:name/').replace('/hooks/backup', '/hooks/:name').replace('r_00mjv5x2w0a1b2c3d4', ':id').replace('t_0011aabb', ':id').replace('q_000000000001', ':id').replace('slack-home', ':name').replace('/notify/phone/', '/notify/:channel/')));
    expect(covered).toEqual(posts);
  });

  it.each(MUTATING)('POST %s without a session is refused', async (path, fields) => {
    const response = await h.app.request(path, formPost(fields));
    expect(response.status).toBe(401);
    expect(h.appliance.triggers).toEqual([]);
    expect(h.appliance.pauses).toEqual([]);
    expect(h.appliance.runs.get('r_00mjv5x2w0a1b2c3d4')?.cancelRequested).toBeUndefined();
  });

  it.each(MUTATING_API)('POST %s without a session or token is refused', async (path) => {
    const attempts: Array<Record<string, string>> = [{}, { Cookie: 'hearth_session=forged-value-0123456789' }, bearer('hth_not-a-real-token')];
    for (const headers of attempts) {
      const response = await h.app.request(path, { method: 'POST', headers });
      expect(response.status).toBe(401);
    }
    expect(h.appliance.triggers).toEqual([]);
    expect(h.appliance.pauses).toEqual([]);
    expect(h.appliance.runs.size).toBe(1);
  });

  it.each(MUTATING_HOOKS)('POST %s without its own secret is refused, even with a session or an API token', async (path) => {
    h.appliance.hooks.set('backup', { job: 'backup', secret: HOOK_SECRET });
    const attempts: Array<Record<string, string>> = [{}, session({ Origin: ORIGIN, 'Sec-Fetch-Site': 'same-origin' }), bearer(), bearer('wrong-secret')];
    for (const headers of attempts) {
      const response = await h.app.request(path, { method: 'POST', headers }, fromAddress(`10.0.0.${attempts.indexOf(headers) + 1}`));
      expect(response.status).toBe(401);
      expect(response.headers.get('content-type')).toMatch(/application\/json/);
    }
    expect(h.appliance.triggers).toEqual([]);
  });

  it('a webhook with its secret is not refused for its Origin (it is no cookie-authenticated change)', async () => {
    h.appliance.hooks.set('backup', { job: 'backup', secret: HOOK_SECRET });
    h.appliance.runs.clear();
    const evil = { Origin: 'http://sensor.example', 'Sec-Fetch-Site': 'cross-site' };
    const response = await h.app.request('/hooks/backup', { method: 'POST', headers: { ...bearer(HOOK_SECRET), ...evil } });
    expect(response.status).toBe(202);
    expect(h.appliance.triggers).toEqual([{ job: 'backup', trigger: 'hook', input: undefined }]);
    // Everything else keeps its Origin check.
    const api = await h.app.request('/api/events', { method: 'POST', headers: { ...session(evil), 'Content-Type': 'application/json' }, body: '{"name":"x"}' });
    expect(api.status).toBe(403);
  });

  it('a cross-origin POST is refused, with a session or a token', async () => {
    const evil = { Origin: 'http://evil.example', 'Sec-Fetch-Site': 'cross-site' };
    const viaForm = await h.app.request('/jobs/backup/run', formPost({}, session(evil)));
    expect(viaForm.status).toBe(403);
    const viaApiCookie = await h.app.request('/api/jobs/backup/run', { method: 'POST', headers: session({ Origin: 'http://evil.example' }) });
    expect(viaApiCookie.status).toBe(403);
    const viaApiToken = await h.app.request('/api/jobs/backup/run', { method: 'POST', headers: { ...bearer(), Origin: 'http://evil.example' } });
    expect(viaApiToken.status).toBe(403);
    expect((await viaApiToken.json()) as unknown).toMatchObject({ error: { code: 'forbidden' } });
    const sandboxed = await h.app.request('/login', formPost({ password: PASSWORD }, { Origin: 'null', 'Sec-Fetch-Site': 'cross-site' }));
    expect(sandboxed.status).toBe(403);
    // A cookie alone, with nothing saying where the request came from, is not enough to change anything.
    const bare = await h.app.request('/api/jobs/backup/run', { method: 'POST', headers: session() });
    expect(bare.status).toBe(401);
    expect(h.appliance.triggers).toEqual([]);
  });

  it('a same-origin form post works (Origin: null under no-referrer, Sec-Fetch-Site says same-origin)', async () => {
    const conflict = await h.app.request('/jobs/backup/run', formPost({}, session({ Origin: 'null' })));
    expect(conflict.status).toBe(409);
    expect(await conflict.text()).toContain('already has an active run');
    h.appliance.finishRun('r_00mjv5x2w0a1b2c3d4', 'succeeded');
    const response = await h.app.request('/jobs/backup/run', formPost({}, session({ Origin: 'null' })));
    expect(response.status).toBe(303);
    expect(response.headers.get('location')).toMatch(/^\/runs\/r_/);
    expect(h.appliance.triggers).toEqual([{ job: 'backup', trigger: 'manual' }]);
    const viaApi = await h.app.request('/api/jobs/backup/pause', { method: 'POST', headers: session({ Origin: ORIGIN }) });
    expect(viaApi.status).toBe(200);
  });

  it('the CLI token still works without an Origin', async () => {
    h.appliance.finishRun('r_00mjv5x2w0a1b2c3d4', 'succeeded');
    const response = await h.app.request('/api/jobs/backup/run', { method: 'POST', headers: bearer() });
    expect(response.status).toBe(202);
  });
});

describe('bad input gets a clear 4xx', () => {
  const cases: Array<[string, string, RequestInit, number, RegExp]> = [
    ['unknown job (page)', '/jobs/no-such-job', {}, 404, /job &quot;no-such-job&quot; not found/],
    ['unknown job (run now)', '/jobs/no-such-job/run', formPost({}), 404, /not found/],
    ['malformed job name', '/jobs/bad%20name!/run', formPost({}), 400, /invalid job name/],
    ['malformed run id (page)', '/runs/r_nope', {}, 400, /invalid run id/],
    ['malformed run id (cancel)', '/runs/..%2F..%2Fetc/cancel', formPost({}), 400, /invalid run id/],
    ['unknown run', '/runs/r_00mjv5x2w0ffffffff', {}, 404, /not found/],
    ['bad status filter', '/runs?status=exploded', {}, 400, /invalid status/],
    ['wrong content type', '/jobs/backup/run', { method: 'POST', headers: { 'Content-Type': 'application/json', Origin: ORIGIN }, body: '{}' }, 415, /x-www-form-urlencoded/],
    ['oversized body', '/settings/tokens', formPost({ name: 'x'.repeat(20_000) }), 413, /larger than 16 KB/],
    ['bad token name', '/settings/tokens', formPost({ name: '<script>' }), 400, /token name/],
    ['malformed token id', '/settings/tokens/..%2Fx/revoke', formPost({}), 400, /invalid token id/],
    ['unknown token', '/settings/tokens/t_0011aabb/revoke', formPost({}), 404, /not found/],
  ];

  it.each(cases)('%s', async (_name, path, init, status, message) => {
    const headers = { ...(init.headers as Record<string, string> | undefined), Cookie: cookie };
    const response = await h.app.request(path, { ...init, headers });
    expect(response.status).toBe(status);
    expect(response.headers.get('content-type')).toMatch(/text\/html/);
    expect(await response.text()).toMatch(message);
  });

  it('the API answers JSON errors for the same mistakes', async () => {
    const unknown = await h.app.request('/api/jobs/no-such-job/run', { method: 'POST', headers: bearer() });
    expect(unknown.status).toBe(404);
    expect(await unknown.json()).toMatchObject({ error: { code: 'not_found' } });
    const type = await h.app.request('/api/jobs/backup/run', { method: 'POST', headers: { ...bearer(), 'Content-Type': 'text/plain' }, body: 'x' });
    expect(type.status).toBe(415);
    const big = await h.app.request('/api/jobs/backup/run', { method: 'POST', headers: { ...bearer(), 'Content-Type': 'application/json' }, body: JSON.stringify({ x: 'y'.repeat(70_000) }) });
    expect(big.status).toBe(413);
    const retryActive = h.appliance.addRun({ job: 'backup', status: 'running' });
    const conflict = await h.app.request(`/api/runs/${retryActive.id}/retry`, { method: 'POST', headers: bearer() });
    expect(conflict.status).toBe(409);
    const notFound = await h.app.request('/api/nothing-here', { headers: bearer() });
    expect(notFound.status).toBe(404);
    expect(await notFound.json()).toMatchObject({ error: { code: 'not_found' } });
  });
});

describe('pages', () => {
  it('overview: status, running runs, the next runs, recent failures', async () => {
    h.appliance.addRun({ job: 'backup', status: 'running' });
    h.appliance.addRun({ job: 'backup', status: 'failed', error: 'upload: exit code 1' });
    const text = await (await h.app.request('/', { headers: session() })).text();
    expect(text).toContain('Running now');
    expect(text).toContain('Up next');
    expect(text).toMatch(/datetime="2026-05-02T02:00:00.000Z"/);
    expect(text).toContain('Recent failures');
    expect(text).toContain('s-failed');
    expect(text).toContain('data-live="*"');
  });

  it('overview shows config errors and an untrusted clock', async () => {
    const health = h.appliance.health.bind(h.appliance);
    h.appliance.health = () => ({ ...health(), clock: { trusted: false, now: '2020-01-01T00:00:00Z', message: 'wall clock is earlier than the last time seen' }, config: { ...health().config, errors: ['hearth.yaml:3:5: jobs.x.schedule.cron: bad field'], failedAt: '2026-05-01T09:59:00Z' } });
    const text = await (await h.app.request('/', { headers: session() })).text();
    expect(text).toContain('Clock not trusted');
    expect(text).toContain('hearth.yaml:3:5: jobs.x.schedule.cron: bad field');
  });

  it('jobs: schedule in words, next run, last run, run now and pause', async () => {
    h.appliance.jobs.get('backup')!.lastRun = { id: 'r_00mjv5x2w0a1b2c3d4', status: 'succeeded', trigger: 'schedule', createdAt: '2026-05-01T02:00:00.000Z', startedAt: '2026-05-01T02:00:00.000Z', finishedAt: '2026-05-01T02:01:05.000Z' };
    const text = await (await h.app.request('/jobs', { headers: session() })).text();
    expect(text).toContain('every day at 03:00 (Europe/London)');
    expect(text).toContain('1m 05s');
    expect(text).toContain('action="/jobs/backup/run"');
    expect(text).toContain('data-confirm="Run backup now?"');
    expect(text).toContain('action="/jobs/backup/pause"');
  });

  it('pause and resume from the jobs page', async () => {
    const pause = await h.app.request('/jobs/backup/pause', formPost({ back: '/jobs' }, session()));
    expect(pause.status).toBe(303);
    expect(pause.headers.get('location')).toBe('/jobs');
    expect(await (await h.app.request('/jobs', { headers: session() })).text()).toContain('action="/jobs/backup/resume"');
    await h.app.request('/jobs/backup/resume', formPost({ back: 'https://evil.example/' }, session()));
    expect(h.appliance.pauses).toEqual([{ job: 'backup', paused: true }, { job: 'backup', paused: false }]);
  });

  it('job: task graph, catch-up policy and the last catch-up, paginated history', async () => {
    for (let i = 0; i < 25; i++) h.appliance.addRun({ job: 'backup', status: 'succeeded' });
    const text = await (await h.app.request('/jobs/backup', { headers: session() })).text();
    expect(text).toMatch(/archive[\s\S]*upload[\s\S]*after archive/);
    expect(text).toContain('latest: one run for the newest missed time');
    expect(text).toContain('3 missed occurrences, 1 run (latest)');
    expect(text.match(/class="run"/g)).toHaveLength(20);
    const older = text.match(/href="(\/jobs\/backup\?before=r_[0-9a-z]+)"/)?.[1];
    expect(older).toBeDefined();
    const page2 = await (await h.app.request(older!, { headers: session() })).text();
    expect(page2.match(/class="run"/g)).toHaveLength(5);
  });

  it('run: tasks, attempts, trigger, scheduledFor, log viewer, cancel or retry', async () => {
    const running = h.appliance.addRun({
      job: 'backup', status: 'running', trigger: 'schedule', scheduledFor: '2026-05-01T02:00:00.000Z', startedAt: '2026-05-01T02:00:01.000Z',
      tasks: { archive: { name: 'archive', status: 'failed', attempts: 3, error: 'exit code 2', exitCode: 2, startedAt: '2026-05-01T02:00:01.000Z', finishedAt: '2026-05-01T02:00:04.000Z' }, upload: { name: 'upload', status: 'pending', attempts: 0 } },
      taskOrder: ['archive', 'upload'],
    });
    const text = await (await h.app.request(`/runs/${running.id}`, { headers: session() })).text();
    expect(text).toMatch(/archive[\s\S]*s-failed[\s\S]*>3<[\s\S]*3s/);
    expect(text).toContain('exit code 2');
    expect(text).toContain('schedule');
    expect(text).toContain('datetime="2026-05-01T02:00:00.000Z"');
    expect(text).toContain(`data-run="${running.id}"`);
    // The viewer follows the last lines; the whole log is a download through the session.
    expect(text).toContain('data-tail="5000"');
    expect(text).toContain(`href="/api/runs/${running.id}/logs?download"`);
    const download = await h.app.request(`/api/runs/${running.id}/logs?download`, { headers: session() });
    expect(download.status).toBe(200);
    expect(download.headers.get('content-disposition')).toBe(`attachment; filename="${running.id}.log"`);
    expect(text).toContain(`action="/runs/${running.id}/cancel"`);
    h.appliance.finishRun(running.id, 'failed');
    const finished = await (await h.app.request(`/runs/${running.id}`, { headers: session() })).text();
    expect(finished).toContain(`action="/runs/${running.id}/retry"`);
    const retry = await h.app.request(`/runs/${running.id}/retry`, formPost({}, session()));
    expect(retry.status).toBe(303);
    const retried = [...h.appliance.runs.values()].find((run) => run.retryOf === running.id);
    expect(retry.headers.get('location')).toBe(`/runs/${retried!.id}`);
  });

  it('run: a workflow failed by a replay mismatch offers a restart with the same input, and says why', async () => {
    const input = { room: 'hall' };
    const mismatched = h.appliance.addRun({
      job: 'backup', status: 'failed', trigger: 'api', input, inputBytes: JSON.stringify(input).length,
      error: 'task main failed: replay mismatch at step 1 of task main',
      tasks: { main: { name: 'main', status: 'failed', attempts: 1, error: 'replay mismatch at step 1 of task main', errorCode: 'replay-mismatch' } },
      taskOrder: ['main'],
    });
    const text = await (await h.app.request(`/runs/${mismatched.id}`, { headers: session() })).text();
    expect(text).toContain('id="restart-hint"');
    expect(text).toContain('its steps no longer match the journal: restart it as a fresh run with the same input.');
    expect(text).toMatch(new RegExp(`action="/runs/${mismatched.id}/retry"[^>]*data-confirm="Start a fresh run of backup with the same input\\?"[\\s\\S]*?>Restart</button>`));
    const restart = await h.app.request(`/runs/${mismatched.id}/retry`, formPost({}, session()));
    expect(restart.status).toBe(303);
    const fresh = [...h.appliance.runs.values()].find((run) => run.retryOf === mismatched.id);
    expect(restart.headers.get('location')).toBe(`/runs/${fresh!.id}`);
    expect(fresh!.input).toEqual(input);
    // Any other failure keeps the plain Retry button and no explanation.
    const plain = h.appliance.addRun({
      job: 'backup', status: 'failed', trigger: 'api',
      tasks: { main: { name: 'main', status: 'failed', attempts: 1, error: 'step id "same" is used twice' } },
      taskOrder: ['main'],
    });
    const plainText = await (await h.app.request(`/runs/${plain.id}`, { headers: session() })).text();
    expect(plainText).not.toContain('restart-hint');
    expect(plainText).toContain('>Retry</button>');
  });

  it('a partial request returns only the page body (for live refresh)', async () => {
    const text = await (await h.app.request('/jobs', { headers: session({ 'X-Hearth-Partial': '1' }) })).text();
    expect(text).not.toContain('<html');
    expect(text).toContain('data-job="backup"');
  });

  it('system: temperature not reported, throttling flags, memory, disk, addresses', async () => {
    const text = await (await h.app.request('/system', { headers: session() })).text();
    expect(text).toMatch(/CPU temperature<\/dt><dd><span class="muted">not reported/);
    expect(text).toContain('now: under-voltage, throttled');
    expect(text).toContain('since boot: under-voltage, throttling');
    expect(text).toContain('3.0 GB free of 4.0 GB');
    expect(text).toContain('Raspberry Pi Foundation Raspberry Pi 4 Model B');
    expect(text).toContain(process.version);
    const api = await h.app.request('/api/system', { headers: bearer() });
    expect(await api.json()).toMatchObject({ cpuTemperatureC: null, throttling: { underVoltageNow: true } });
  });
});

describe('API tokens', () => {
  it('are created (shown once), listed, used for one-call runs, and revoked', async () => {
    const created = await h.app.request('/settings/tokens', formPost({ name: 'Phone shortcut' }, session()));
    expect(created.status).toBe(200);
    expect(created.headers.get('cache-control')).toBe('no-store');
    const page = await created.text();
    const token = page.match(/value="(hth_[\w-]+)"/)?.[1];
    expect(token).toBeDefined();
    expect(page).toContain(`curl -X POST -H "Authorization: Bearer ${token}" http://localhost/api/jobs/backup/run`);

    const file = join(h.dataDir, 'secrets', 'api-tokens.json');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(readFileSync(file, 'utf8')).not.toContain(token!);

    const run = await h.app.request('/api/jobs/backup/run', { method: 'POST', headers: bearer(token) });
    expect(run.status).toBe(202);
    const listed = await (await h.app.request('/settings', { headers: session() })).text();
    expect(listed).toContain('Phone shortcut');
    expect(listed).not.toContain(token!);
    expect(listed).toContain('last used');

    const id = h.tokens.list()[0]!.id;
    expect((await h.app.request(`/settings/tokens/${id}/revoke`, formPost({}, session()))).status).toBe(303);
    expect((await h.app.request('/api/jobs/backup/run', { method: 'POST', headers: bearer(token) })).status).toBe(401);
    // Survives a restart as revoked.
    const restarted = await dashboardHarness({ dataDir: h.dataDir, clock: h.clock });
    restarted.appliance.addJob({ name: 'backup' });
    expect((await restarted.app.request('/api/jobs', { headers: bearer(token) })).status).toBe(401);
  });

  it('a token made in Settings survives a restart', async () => {
    const { token } = await h.tokens.create('Tasker');
    const restarted = await dashboardHarness({ dataDir: h.dataDir, clock: h.clock });
    expect((await restarted.app.request('/api/jobs', { headers: bearer(token) })).status).toBe(200);
  });
});

describe('/metrics', () => {
  it('needs a token or a session', async () => {
    expect((await h.app.request('/metrics')).status).toBe(401);
    expect((await h.app.request('/metrics', { headers: bearer('wrong') })).status).toBe(401);
    expect((await h.app.request('/metrics', { headers: session() })).status).toBe(200);
  });

  it('is valid Prometheus text with runs, durations, queue depth, lag, RSS and event-loop lag', async () => {
    const run = h.appliance.addRun({ job: 'backup', status: 'succeeded', trigger: 'schedule', scheduledFor: '2026-05-01T03:00:00.000Z', createdAt: '2026-05-01T03:00:02.500Z', startedAt: '2026-05-01T03:00:03.000Z', finishedAt: '2026-05-01T03:00:45.000Z' });
    h.appliance.emitRunEvent({ type: 'created', run });
    h.appliance.emitRunEvent({ type: 'finished', run });
    h.appliance.emitRunEvent({ type: 'finished', run: { ...run, job: 'we"ird\\job', status: 'failed' } });
    const response = await h.app.request('/metrics', { headers: bearer() });
    expect(response.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
    const text = await response.text();
    for (const line of text.trimEnd().split('\n')) {
      expect(line).toMatch(/^(# (HELP|TYPE) [a-zA-Z_:][\w:]* .+|[a-zA-Z_:][\w:]*(\{([a-zA-Z_]\w*="([^"\\\n]|\\[\\"n])*",?)+\})? (-?[\d.e+-]+|NaN|[+-]Inf))$/);
    }
    expect(text).toContain('# TYPE hearth_runs_total counter');
    expect(text).toContain('hearth_runs_total{job="backup",status="succeeded"} 1');
    expect(text).toContain('hearth_runs_total{job="we\\"ird\\\\job",status="failed"} 1');
    expect(text).toContain('# TYPE hearth_run_duration_seconds histogram');
    expect(text).toContain('hearth_run_duration_seconds_bucket{job="backup",le="15"} 0');
    expect(text).toContain('hearth_run_duration_seconds_bucket{job="backup",le="60"} 1');
    expect(text).toContain('hearth_run_duration_seconds_bucket{job="backup",le="+Inf"} 1');
    expect(text).toContain('hearth_run_duration_seconds_sum{job="backup"} 42');
    expect(text).toContain('hearth_run_duration_seconds_count{job="backup"} 1');
    expect(text).toContain('hearth_queue_depth 0');
    expect(text).toContain('hearth_runs_active{status="running"} 0');
    expect(text).toContain('hearth_scheduler_lag_seconds 2.5');
    expect(text).toContain('process_resident_memory_bytes 50000000');
    expect(text).toContain('hearth_event_loop_lag_seconds{quantile="0.99"} 0.004');
    expect(text).toContain('hearth_live_viewers 0');
  });
});

describe('live events', () => {
  it('streams run changes to a viewer, batched, over one shared hub', async () => {
    const response = await h.app.request('/events', { headers: session() });
    expect(response.headers.get('content-type')).toMatch(/^text\/event-stream/);
    expect(response.headers.get('content-encoding')).toBeNull();
    expect(h.live.viewerCount).toBe(1);
    const reader = response.body!.getReader();
    const decoder = new TextDecoder();
    expect(decoder.decode((await reader.read()).value)).toContain(': connected');
    const run = h.appliance.addRun({ job: 'backup', status: 'running' });
    h.appliance.emitRunEvent({ type: 'updated', run });
    h.appliance.emitRunEvent({ type: 'updated', run });
    await h.clock.advance(100);
    const chunk = decoder.decode((await reader.read()).value);
    expect(chunk.match(/event: run/g)).toHaveLength(1);
    expect(JSON.parse(chunk.split('data: ')[1]!)).toMatchObject({ id: run.id, job: 'backup', status: 'running' });
    await reader.cancel();
    expect(h.live.viewerCount).toBe(0);
  });

  it('needs a session or token', async () => {
    expect((await h.app.request('/events')).status).toBe(401);
  });
});

describe('assets and compression', () => {
  it('serves versioned assets gzipped and cacheable for a year', async () => {
    const html = await (await h.app.request('/login')).text();
    const js = html.match(/src="(\/assets\/app\.js\?v=\w+)"/)?.[1];
    expect(js).toBeDefined();
    const response = await h.app.request(js!, { headers: { 'Accept-Encoding': 'gzip, br' } });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-encoding')).toBe('gzip');
    expect(response.headers.get('cache-control')).toContain('immutable');
    const again = await h.app.request(js!, { headers: { 'If-None-Match': response.headers.get('etag')! } });
    expect(again.status).toBe(304);
  });

  it('compresses pages', async () => {
    const response = await h.app.request('/jobs', { headers: session({ 'Accept-Encoding': 'gzip' }) });
    expect(response.headers.get('content-encoding')).toBe('gzip');
  });
});

describe('search page', () => {
  /** Remembers the queries it gets and answers with the hits it was given. */
  class FakeSearch implements SearchPort {
    readonly queries: SearchQuery[] = [];
    constructor(private readonly hits: SearchHit[]) {}
    async search(query: SearchQuery): Promise<SearchResponse> {
      this.queries.push(query);
      return { query: query.text, hits: this.hits, mode: 'hybrid', embedder: 'fake', tookMs: 42, totalChunks: 1234 };
    }
  }
  const hit = (extra: Partial<SearchHit> = {}): SearchHit => ({
    chunkId: 'c1', docId: 'd1', source: 'notes', title: 'Boiler service', author: 'Ann', timestamp: '2026-04-02T09:30:00.000Z',
    url: 'https://example.org/boiler', snippet: 'the boiler was serviced in April', score: 0.8766, matchedBy: ['vector', 'keyword'], ...extra,
  });
  const withSearch = async (search: SearchPort) => {
    const harness = await dashboardHarness({ search });
    return { harness, cookie: await logIn(harness) };
  };

  it('shows results with title, source, date, author, snippet, score, a link and the time taken', async () => {
    const search = new FakeSearch([hit()]);
    const { harness, cookie } = await withSearch(search);
    const response = await harness.app.request('/search?q=boiler+service&source=notes,mail&since=2026-01-01', { headers: { Cookie: cookie } });
    expect(response.status).toBe(200);
    expect(response.headers.get('cache-control')).toBe('no-store');
    const text = await response.text();
    expect(search.queries).toEqual([{ text: 'boiler service', sources: ['notes', 'mail'], since: Date.parse('2026-01-01'), limit: 20 }]);
    expect(text).toContain('<a href="https://example.org/boiler" rel="noopener noreferrer">Boiler service</a>');
    expect(text).toContain('<span class="source">notes</span>');
    expect(text).toContain('datetime="2026-04-02T09:30:00.000Z"');
    expect(text).toContain(' · Ann');
    expect(text).toContain('the boiler was serviced in April');
    expect(text).toContain('<span class="score">0.877</span>');
    expect(text).toContain('Took 42 ms');
    expect(text).toContain('1 result<');
    expect(text).toContain('value="boiler service"');
    expect(text).toContain('value="notes,mail"');
    expect(text).toMatch(/<a href="\/search" aria-current="page">/);
  });

  it('escapes what the store returns, and links only to http(s) URLs', async () => {
    const nasty = '<script>alert(1)</script>';
    const { harness, cookie } = await withSearch(new FakeSearch([hit({ title: nasty, snippet: `${nasty} & "q"`, author: nasty, url: 'javascript:alert(1)' })]));
    const text = await (await harness.app.request(`/search?q=${encodeURIComponent(nasty)}`, { headers: { Cookie: cookie } })).text();
    expect(text).not.toContain('<script>alert');
    expect(text).toContain('&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;q&quot;');
    expect(text).not.toContain('javascript:');
  });

  it('needs a session', async () => {
    const { harness } = await withSearch(new FakeSearch([]));
    const response = await harness.app.request('/search?q=boiler');
    expect(response.status).toBe(303);
    expect(response.headers.get('location')).toBe('/login?next=%2Fsearch%3Fq%3Dboiler');
  });

  it('asks for words when there is no query, and says when nothing matched', async () => {
    const search = new FakeSearch([]);
    const { harness, cookie } = await withSearch(search);
    const empty = await (await harness.app.request('/search', { headers: { Cookie: cookie } })).text();
    expect(empty).toContain('Type some words');
    expect(empty).toContain('name="q"');
    expect(search.queries).toHaveLength(0);
    const none = await (await harness.app.request('/search?q=unicorns', { headers: { Cookie: cookie } })).text();
    expect(none).toContain('No results');
    expect(none).toContain('Nothing matched “unicorns”');
  });

  it('answers 400 with the reason and the form kept on a bad since, source or limit', async () => {
    const search = new FakeSearch([hit()]);
    const { harness, cookie } = await withSearch(search);
    for (const [query, reason] of [['since=last+tuesday', 'invalid since "last tuesday"'], ['source=no%20spaces', 'invalid source "no spaces"'], ['limit=500', 'invalid limit "500"']] as const) {
      const response = await harness.app.request(`/search?q=boiler&${query}`, { headers: { Cookie: cookie } });
      expect(response.status, query).toBe(400);
      const text = await response.text();
      expect(text, query).toContain(reason.replaceAll('"', '&quot;'));
      expect(text, query).toContain('value="boiler"');
    }
    expect(search.queries).toHaveLength(0);
  });

  it('says so when no knowledge store is wired', async () => {
    const response = await h.app.request('/search?q=boiler', { headers: session() });
    expect(response.status).toBe(200);
    const text = await response.text();
    expect(text).toContain('No knowledge store is wired');
    expect(text).not.toContain('name="q"');
    expect((await h.app.request('/api/search?q=boiler', { headers: session() })).status).toBe(404);
  });
});
