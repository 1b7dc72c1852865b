import { beforeEach, describe, expect, it } from 'vitest';
import { FakeClock } from '../core/clock.js';
import { ConfigError, UsageError } from '../core/errors.js';
import { createLogger } from '../core/logger.js';
import { LOG_CHUNK_BYTES } from '../core/log-reader.js';
import { createApiApp } from './app.js';
import { createTokenCheck } from './token.js';
import { FakeAppliance } from './testing/fake-appliance.js';

const TOKEN = 'test-token-0123456789';
const AUTH = { Authorization: `Bearer ${TOKEN}` };

let appliance: FakeAppliance;
let clock: FakeClock;
let logLines: string[];
let app: ReturnType<typeof createApiApp>;

beforeEach(() => {
  appliance = new FakeAppliance();
  appliance.addJob({ name: 'backup', description: 'Back up notes' });
  appliance.addJob({ name: 'digest', overlap: 'allow' });
  clock = new FakeClock();
  logLines = [];
  const logger = createLogger({ level: 'debug', write: (line) => logLines.push(line) });
  app = createApiApp({ appliance, auth: createTokenCheck([TOKEN]), logger, clock });
});

async function errorOf(response: Response) {
  expect(response.headers.get('content-type')).toMatch(/application\/json/);
  const body = (await response.json()) as { error: { code: string; message: string } };
  return body.error;
}

describe('health', () => {
  it('is open and returns the appliance health', async () => {
    const response = await app.request('/api/health');
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ status: 'ok', config: { jobs: 2 } });
  });

  it('answers HEAD like GET, without a body', async () => {
    const response = await app.request('/api/health', { method: 'HEAD' });
    expect(response.status).toBe(200);
    expect(await response.text()).toBe('');
  });

  it('answers a wrong method with 405 and Allow, even without a token', async () => {
    const response = await app.request('/api/health', { method: 'POST' });
    expect(response.status).toBe(405);
    expect(response.headers.get('allow')).toBe('GET, HEAD');
    expect((await errorOf(response)).code).toBe('method_not_allowed');
  });
});

describe('auth', () => {
  const protectedRoutes: Array<[string, string]> = [
    ['GET', '/api/jobs'],
    ['GET', '/api/jobs/backup'],
    ['POST', '/api/jobs/backup/run'],
    ['GET', '/api/runs'],
    ['GET', '/api/runs/r_000000000000000000'],
    ['POST', '/api/runs/r_000000000000000000/cancel'],
    ['GET', '/api/runs/r_000000000000000000/logs'],
    ['GET', '/api/no-such-route'],
  ];

  it.each(protectedRoutes)('%s %s needs a token', async (method, path) => {
    const response = await app.request(path, { method });
    expect(response.status).toBe(401);
    expect(response.headers.get('www-authenticate')).toMatch(/^Bearer/);
    const error = await errorOf(response);
    expect(error.code).toBe('unauthorized');
    expect(error.message).toMatch(/missing API token/);
  });

  it.each(protectedRoutes)('%s %s refuses a wrong token', async (method, path) => {
    const response = await app.request(path, { method, headers: { Authorization: 'Bearer nope' } });
    expect(response.status).toBe(401);
    expect((await errorOf(response)).message).toBe('invalid API token');
  });

  it('refuses every mutating route without a token and leaves the appliance untouched', async () => {
    const run = appliance.addRun({ job: 'backup', status: 'running' });
    // A webhook has its own secret instead of the API token: without it, it is refused all the same.
    appliance.hooks.set('digest', { job: 'digest', secret: 'hook-secret-0123' });
    const mutating = app.routes.filter((route) => route.method === 'POST').map((route) => route.path);
    expect(new Set(mutating)).toEqual(
      new Set(['/api/jobs/:name/run', '/api/runs/:id/cancel', '/api/jobs/:name/pause', '/api/jobs/:name/resume', '/api/runs/:id/retry', '/api/events', '/hooks/:name', '/api/inbox/:id']),
    );
    for (const template of mutating) {
      const path = template.replace(':name', 'digest').replace(':id', run.id);
      const response = await app.request(path, { method: 'POST' });
      expect(response.status, path).toBe(401);
    }
    expect(appliance.triggers).toEqual([]);
    expect(appliance.pauses).toEqual([]);
    expect(appliance.runs.size).toBe(1);
    expect(appliance.runs.get(run.id)?.cancelRequested).toBeUndefined();
    expect(appliance.events).toEqual([]);
  });

  it('accepts a lower-case scheme and rejects other schemes', async () => {
    expect((await app.request('/api/jobs', { headers: { Authorization: `bearer ${TOKEN}` } })).status).toBe(200);
    expect((await app.request('/api/jobs', { headers: { Authorization: `Basic ${TOKEN}` } })).status).toBe(401);
  });

  it('never logs the token', async () => {
    await app.request('/api/jobs', { headers: { Authorization: 'Bearer wrong-token' } });
    await app.request('/api/jobs', { headers: AUTH });
    expect(logLines.join('\n')).not.toContain(TOKEN);
    expect(logLines.join('\n')).not.toContain('wrong-token');
  });
});

describe('jobs', () => {
  it('lists jobs', async () => {
    const response = await app.request('/api/jobs', { headers: AUTH });
    expect(response.status).toBe(200);
    const body = (await response.json()) as { jobs: Array<{ name: string }> };
    expect(body.jobs.map((job) => job.name)).toEqual(['backup', 'digest']);
  });

  it('gets one job', async () => {
    const response = await app.request('/api/jobs/backup', { headers: AUTH });
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ name: 'backup', description: 'Back up notes' });
  });

  it('404s an unknown job', async () => {
    const response = await app.request('/api/jobs/missing', { headers: AUTH });
    expect(response.status).toBe(404);
    expect(await errorOf(response)).toEqual({ code: 'not_found', message: 'job "missing" not found' });
  });

  it('400s an invalid job name', async () => {
    const response = await app.request('/api/jobs/..%2Fetc', { headers: AUTH });
    expect(response.status).toBe(400);
    const error = await errorOf(response);
    expect(error.code).toBe('bad_request');
    expect(error.message).toMatch(/invalid job name/);
  });

  it('400s a job name longer than 63 characters', async () => {
    const response = await app.request(`/api/jobs/${'a'.repeat(64)}`, { headers: AUTH });
    expect(response.status).toBe(400);
  });
});

describe('POST /api/jobs/:name/run', () => {
  it('triggers with trigger api and answers 202 { runId, run }', async () => {
    const response = await app.request('/api/jobs/backup/run', { method: 'POST', headers: AUTH });
    expect(response.status).toBe(202);
    const body = (await response.json()) as { runId: string; run: { id: string; job: string } };
    expect(body.run.id).toBe(body.runId);
    expect(body.run.job).toBe('backup');
    expect(response.headers.get('location')).toBe(`/api/runs/${body.runId}`);
    expect(appliance.triggers).toEqual([{ job: 'backup', trigger: 'api' }]);
  });

  it('records trigger manual when the CLI says so', async () => {
    const headers = { ...AUTH, 'X-Hearth-Trigger': 'manual' };
    expect((await app.request('/api/jobs/backup/run', { method: 'POST', headers })).status).toBe(202);
    expect(appliance.triggers).toEqual([{ job: 'backup', trigger: 'manual' }]);
  });

  it('400s an unknown trigger header', async () => {
    const headers = { ...AUTH, 'X-Hearth-Trigger': 'schedule' };
    const response = await app.request('/api/jobs/backup/run', { method: 'POST', headers });
    expect(response.status).toBe(400);
    expect((await errorOf(response)).message).toMatch(/X-Hearth-Trigger/);
    expect(appliance.triggers).toEqual([]);
  });

  it('404s an unknown job', async () => {
    const response = await app.request('/api/jobs/missing/run', { method: 'POST', headers: AUTH });
    expect(response.status).toBe(404);
    expect((await errorOf(response)).code).toBe('not_found');
  });

  it('409s when overlap: skip and a run is active', async () => {
    appliance.addRun({ job: 'backup', status: 'running' });
    const response = await app.request('/api/jobs/backup/run', { method: 'POST', headers: AUTH });
    expect(response.status).toBe(409);
    expect((await errorOf(response)).code).toBe('conflict');
  });

  it('accepts an empty JSON body', async () => {
    const headers = { ...AUTH, 'Content-Type': 'application/json; charset=utf-8' };
    const response = await app.request('/api/jobs/backup/run', { method: 'POST', headers, body: '{}' });
    expect(response.status).toBe(202);
  });

  it('415s a body that is not JSON', async () => {
    const headers = { ...AUTH, 'Content-Type': 'application/x-www-form-urlencoded' };
    const response = await app.request('/api/jobs/backup/run', { method: 'POST', headers, body: 'a=1' });
    expect(response.status).toBe(415);
    expect((await errorOf(response)).code).toBe('unsupported_media_type');
    expect(appliance.triggers).toEqual([]);
  });

  it('413s a body over 64 KB (with and without Content-Length)', async () => {
    const big = JSON.stringify({ pad: 'x'.repeat(70 * 1024) });
    const headers = { ...AUTH, 'Content-Type': 'application/json' };
    const sized = await app.request('/api/jobs/backup/run', {
      method: 'POST',
      headers: { ...headers, 'Content-Length': String(big.length) },
      body: big,
    });
    expect(sized.status).toBe(413);
    expect((await errorOf(sized)).code).toBe('payload_too_large');

    const chunked = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(new TextEncoder().encode(big));
        controller.close();
      },
    });
    const streamed = await app.request('/api/jobs/backup/run', {
      method: 'POST',
      headers,
      body: chunked,
      duplex: 'half',
    } as RequestInit);
    expect(streamed.status).toBe(413);
    expect(appliance.triggers).toEqual([]);
  });

  it('405s GET', async () => {
    const response = await app.request('/api/jobs/backup/run', { headers: AUTH });
    expect(response.status).toBe(405);
    expect(response.headers.get('allow')).toBe('POST');
  });
});

describe('runs', () => {
  it('lists runs newest first with nextBefore for paging', async () => {
    const first = appliance.addRun({ job: 'backup', status: 'succeeded' });
    const second = appliance.addRun({ job: 'digest', status: 'failed' });
    const third = appliance.addRun({ job: 'backup', status: 'failed' });

    const page1 = await app.request('/api/runs?limit=2', { headers: AUTH });
    expect(page1.status).toBe(200);
    const body1 = (await page1.json()) as { runs: Array<{ id: string }>; nextBefore: string | null };
    expect(body1.runs.map((run) => run.id)).toEqual([third.id, second.id]);
    expect(body1.nextBefore).toBe(second.id);

    const page2 = await app.request(`/api/runs?limit=2&before=${body1.nextBefore}`, { headers: AUTH });
    const body2 = (await page2.json()) as { runs: Array<{ id: string }>; nextBefore: string | null };
    expect(body2.runs.map((run) => run.id)).toEqual([first.id]);
    expect(body2.nextBefore).toBeNull();
  });

  it('filters by job and status', async () => {
    appliance.addRun({ job: 'backup', status: 'succeeded' });
    const wanted = appliance.addRun({ job: 'backup', status: 'failed' });
    appliance.addRun({ job: 'digest', status: 'failed' });
    const response = await app.request('/api/runs?job=backup&status=failed', { headers: AUTH });
    const body = (await response.json()) as { runs: Array<{ id: string }> };
    expect(body.runs.map((run) => run.id)).toEqual([wanted.id]);
  });

  it.each([
    ['status=done', /invalid status "done": use one of queued, running/],
    ['limit=0', /limit "0".*1 to 500/],
    ['limit=501', /limit "501"/],
    ['limit=2.5', /limit "2.5"/],
    ['limit=ten', /limit "ten"/],
    ['before=123', /invalid run id "123"/],
    ['job=%20bad', /invalid job name/],
  ])('400s ?%s', async (query, message) => {
    const response = await app.request(`/api/runs?${query}`, { headers: AUTH });
    expect(response.status).toBe(400);
    const error = await errorOf(response);
    expect(error.code).toBe('bad_request');
    expect(error.message).toMatch(message);
  });

  it('gets one run, 404s an unknown one and 400s a malformed id', async () => {
    const run = appliance.addRun({ job: 'backup' });
    const found = await app.request(`/api/runs/${run.id}`, { headers: AUTH });
    expect(found.status).toBe(200);
    expect(await found.json()).toMatchObject({ id: run.id, job: 'backup' });

    const missing = await app.request('/api/runs/r_000000000000000000', { headers: AUTH });
    expect(missing.status).toBe(404);
    expect((await errorOf(missing)).message).toBe('run "r_000000000000000000" not found');

    const malformed = await app.request('/api/runs/nonsense', { headers: AUTH });
    expect(malformed.status).toBe(400);
  });

  it('cancels an active run with 202, 409s a finished one, 404s an unknown one', async () => {
    const active = appliance.addRun({ job: 'backup', status: 'running' });
    const done = appliance.addRun({ job: 'backup', status: 'succeeded' });

    const accepted = await app.request(`/api/runs/${active.id}/cancel`, { method: 'POST', headers: AUTH });
    expect(accepted.status).toBe(202);
    expect(await accepted.json()).toMatchObject({ id: active.id, cancelRequested: true });

    const conflict = await app.request(`/api/runs/${done.id}/cancel`, { method: 'POST', headers: AUTH });
    expect(conflict.status).toBe(409);
    expect((await errorOf(conflict)).code).toBe('conflict');

    const missing = await app.request('/api/runs/r_000000000000000000/cancel', { method: 'POST', headers: AUTH });
    expect(missing.status).toBe(404);

    const malformed = await app.request('/api/runs/bad/cancel', { method: 'POST', headers: AUTH });
    expect(malformed.status).toBe(400);
  });

  it('405s DELETE on a run', async () => {
    const response = await app.request('/api/runs/r_000000000000000000', { method: 'DELETE', headers: AUTH });
    expect(response.status).toBe(405);
    expect(response.headers.get('allow')).toBe('GET, HEAD');
  });
});

describe('logs as text', () => {
  it('returns the whole log as text/plain', async () => {
    const run = appliance.addRun({ job: 'backup', status: 'succeeded' });
    appliance.appendLog(run.id, 'one');
    appliance.appendLog(run.id, 'two');
    const response = await app.request(`/api/runs/${run.id}/logs`, { headers: AUTH });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/plain/);
    expect(await response.text()).toBe('one\ntwo\n');
  });

  it('404s an unknown run and 400s a malformed id', async () => {
    expect((await app.request('/api/runs/r_000000000000000000/logs', { headers: AUTH })).status).toBe(404);
    expect((await app.request('/api/runs/x/logs', { headers: AUTH })).status).toBe(400);
  });
});

describe('logs in bounded pieces', () => {
  function longLog(lines: number) {
    const run = appliance.addRun({ job: 'backup', status: 'succeeded' });
    for (let i = 0; i < lines; i++) appliance.appendLog(run.id, `line ${i} ${'x'.repeat(90)}`);
    return run;
  }

  it('streams a large log in chunks of at most 64 KB', async () => {
    const run = longLog(20_000);
    const response = await app.request(`/api/runs/${run.id}/logs`, { headers: AUTH });
    expect(response.headers.get('accept-ranges')).toBe('bytes');
    const reader = response.body!.getReader();
    let total = 0;
    let largest = 0;
    for (let next = await reader.read(); !next.done; next = await reader.read()) {
      total += next.value.length;
      largest = Math.max(largest, next.value.length);
    }
    expect(total).toBe(Number(response.headers.get('content-length')));
    expect(total).toBeGreaterThan(1024 * 1024);
    expect(largest).toBeLessThanOrEqual(LOG_CHUNK_BYTES);
  });

  it('answers ?tail=N with the last N lines', async () => {
    const run = longLog(1000);
    const response = await app.request(`/api/runs/${run.id}/logs?tail=2`, { headers: AUTH });
    expect(response.status).toBe(200);
    expect(await response.text()).toBe(`line 998 ${'x'.repeat(90)}\nline 999 ${'x'.repeat(90)}\n`);
    expect((await app.request(`/api/runs/${run.id}/logs?tail=0`, { headers: AUTH })).status).toBe(400);
    expect((await app.request(`/api/runs/${run.id}/logs?tail=lots`, { headers: AUTH })).status).toBe(400);
  });

  it('answers a byte range with 206, a suffix range, and 416 past the end', async () => {
    const run = appliance.addRun({ job: 'backup', status: 'succeeded' });
    appliance.appendLog(run.id, 'one');
    appliance.appendLog(run.id, 'two');
    const part = await app.request(`/api/runs/${run.id}/logs`, { headers: { ...AUTH, Range: 'bytes=4-6' } });
    expect(part.status).toBe(206);
    expect(part.headers.get('content-range')).toBe('bytes 4-6/8');
    expect(await part.text()).toBe('two');
    const suffix = await app.request(`/api/runs/${run.id}/logs`, { headers: { ...AUTH, Range: 'bytes=-4' } });
    expect(suffix.status).toBe(206);
    expect(await suffix.text()).toBe('two\n');
    const open = await app.request(`/api/runs/${run.id}/logs`, { headers: { ...AUTH, Range: 'bytes=4-' } });
    expect(await open.text()).toBe('two\n');
    const past = await app.request(`/api/runs/${run.id}/logs`, { headers: { ...AUTH, Range: 'bytes=8-' } });
    expect(past.status).toBe(416);
    expect(past.headers.get('content-range')).toBe('bytes */8');
    expect((await errorOf(past)).code).toBe('range_not_satisfiable');
  });

  it('offers the log as a download', async () => {
    const run = longLog(1);
    const response = await app.request(`/api/runs/${run.id}/logs?download`, { headers: AUTH });
    expect(response.headers.get('content-disposition')).toBe(`attachment; filename="${run.id}.log"`);
  });

  it('replays a large log to a slow event-stream client only as fast as it reads', async () => {
    const run = longLog(20_000); // ~2 MB
    let delivered = 0;
    const follow = appliance.followLog.bind(appliance);
    appliance.followLog = (id, onLine, onEnd, options) =>
      follow(id, (line) => (delivered++, onLine(line)), onEnd, options);
    const response = await app.request(`/api/runs/${run.id}/logs`, { headers: { ...AUTH, Accept: 'text/event-stream' } });
    const reader = response.body!.getReader();
    await reader.read();
    for (let i = 0; i < 50; i++) await new Promise((resolve) => setImmediate(resolve));
    // At most the soft queue limit (256 KB, ~2,600 of these lines) plus what the stream itself buffers.
    expect(delivered).toBeGreaterThan(0);
    expect(delivered).toBeLessThan(5000);
    await reader.cancel();
  });

  it('starts an event stream at the last N lines with ?tail=N', async () => {
    const run = longLog(100);
    const response = await app.request(`/api/runs/${run.id}/logs?tail=1`, { headers: { ...AUTH, Accept: 'text/event-stream' } });
    expect(await response.text()).toBe(`event: line\ndata: line 99 ${'x'.repeat(90)}\n\nevent: end\ndata: {"status":"succeeded"}\n\n`);
  });
});

describe('logs as server-sent events', () => {
  const SSE = { ...AUTH, Accept: 'text/event-stream' };

  async function readAll(response: Response): Promise<string> {
    return await response.text();
  }

  it('sends existing lines, live lines, then end with the final status', async () => {
    const run = appliance.addRun({ job: 'backup', status: 'running' });
    appliance.appendLog(run.id, 'before');
    const response = await app.request(`/api/runs/${run.id}/logs`, { headers: SSE });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/event-stream');
    const body = readAll(response);
    await clock.advance(0);
    appliance.appendLog(run.id, 'live line');
    appliance.appendLog(run.id, '');
    appliance.finishRun(run.id, 'failed');
    expect(await body).toBe(
      'event: line\ndata: before\n\n' +
        'event: line\ndata: live line\n\n' +
        'event: line\ndata: \n\n' +
        'event: end\ndata: {"status":"failed"}\n\n',
    );
    expect(appliance.followers.size).toBe(0);
  });

  it('ends at once for a finished run', async () => {
    const run = appliance.addRun({ job: 'backup', status: 'succeeded' });
    appliance.appendLog(run.id, 'done');
    const response = await app.request(`/api/runs/${run.id}/logs`, { headers: SSE });
    expect(await readAll(response)).toBe('event: line\ndata: done\n\nevent: end\ndata: {"status":"succeeded"}\n\n');
  });

  it('sends a heartbeat comment every 15 seconds', async () => {
    const run = appliance.addRun({ job: 'backup', status: 'running' });
    const response = await app.request(`/api/runs/${run.id}/logs`, { headers: SSE });
    const body = readAll(response);
    await clock.advance(14_999);
    await clock.advance(1);
    await clock.advance(15_000);
    appliance.finishRun(run.id, 'succeeded');
    expect(await body).toBe(': heartbeat\n\n: heartbeat\n\nevent: end\ndata: {"status":"succeeded"}\n\n');
    expect(clock.pendingTimers()).toBe(0);
  });

  it('closes the log subscription and the heartbeat when the client disconnects', async () => {
    const run = appliance.addRun({ job: 'backup', status: 'running' });
    const response = await app.request(`/api/runs/${run.id}/logs`, { headers: SSE });
    const reader = response.body!.getReader();
    appliance.appendLog(run.id, 'hello');
    const first = await reader.read();
    expect(new TextDecoder().decode(first.value)).toBe('event: line\ndata: hello\n\n');
    expect(appliance.followers.size).toBe(1);
    await reader.cancel();
    await clock.advance(0);
    expect(appliance.followers.size).toBe(0);
    expect(clock.pendingTimers()).toBe(0);
  });

  it('closes the subscription when the request is aborted', async () => {
    const run = appliance.addRun({ job: 'backup', status: 'running' });
    const controller = new AbortController();
    await app.request(`/api/runs/${run.id}/logs`, { headers: SSE, signal: controller.signal });
    await clock.advance(0);
    expect(appliance.followers.size).toBe(1);
    controller.abort();
    await clock.advance(0);
    expect(appliance.followers.size).toBe(0);
  });

  it('answers an unknown run with a JSON 404 rather than a stream', async () => {
    const response = await app.request('/api/runs/r_000000000000000000/logs', { headers: SSE });
    expect(response.status).toBe(404);
    expect((await errorOf(response)).code).toBe('not_found');
  });
});

describe('error mapping', () => {
  it('404s an unknown route as JSON', async () => {
    const response = await app.request('/api/nothing-here', { headers: AUTH });
    expect(response.status).toBe(404);
    expect(await errorOf(response)).toEqual({ code: 'not_found', message: 'no route for GET /api/nothing-here' });
  });

  it('maps UsageError and ConfigError from the appliance to 400', async () => {
    appliance.failWith = new UsageError('bad thing');
    const usage = await app.request('/api/jobs', { headers: AUTH });
    expect(usage.status).toBe(400);
    expect(await errorOf(usage)).toEqual({ code: 'bad_request', message: 'bad thing' });

    appliance.failWith = new ConfigError([{ file: 'hearth.yaml', line: 3, col: 1, path: 'jobs', message: 'broken' }]);
    const config = await app.request('/api/jobs', { headers: AUTH });
    expect(config.status).toBe(400);
    expect((await errorOf(config)).message).toBe('hearth.yaml:3:1: jobs: broken');
  });

  it('answers 507 disk_full when the data directory\'s disk is full, so a client knows to try again later', async () => {
    const enospc = Object.assign(new Error("ENOSPC: no space left on device, write '/var/lib/hearth/state.wal'"), { code: 'ENOSPC' });
    appliance.failWith = new Error('could not append', { cause: enospc });
    const response = await app.request('/api/jobs/backup/run', { method: 'POST', headers: AUTH });
    expect(response.status).toBe(507);
    const body = await response.text();
    expect(body).not.toContain('/var/lib/hearth');
    expect(JSON.parse(body)).toEqual({
      error: { code: 'disk_full', message: "the appliance's disk is full, so this could not be saved; free some space and try again" },
    });
  });

  it('turns an unexpected error into a generic 500 and logs the detail', async () => {
    appliance.failWith = new Error('secret internal detail at /srv/x.js:12');
    const response = await app.request('/api/runs', { headers: AUTH });
    expect(response.status).toBe(500);
    const body = await response.text();
    expect(body).not.toContain('secret internal detail');
    expect(JSON.parse(body)).toEqual({ error: { code: 'internal', message: 'internal error; see the hearth log' } });
    expect(logLines.join('\n')).toContain('secret internal detail');
  });
});
