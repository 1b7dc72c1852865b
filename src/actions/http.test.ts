import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeClock } from '../core/clock.js';
import { CancelledError, NonRetriableError, RetryAfterError } from '../core/errors.js';
import { createHttpAction, MAX_RESPONSE_BODY_BYTES, parseRetryAfter, redactUrl } from './http.js';
import { testActionContext } from './testing.js';



let server: Server;
/** Waiters for the next request to /held; each gets the function that answers it. */
const heldRequests: Array<(answer: () => void) => void> = [];
let base: string;

async function readRequestBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

async function route(req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://localhost');
  if (url.pathname === '/json') {
    res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', etag: '"v1"', 'set-cookie': 'session=abc' });
    res.end(JSON.stringify({ ok: true, items: [1, 2] }));
  } else if (url.pathname === '/text') {
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.end('{"looks":"like json"}');
  } else if (url.pathname === '/echo') {
    const body = await readRequestBody(req);
    res.writeHead(201, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ method: req.method, headers: req.headers, body }));
  } else if (url.pathname.startsWith('/status/')) {
    const headers: Record<string, string> = { 'content-type': 'text/plain' };
    const retryAfter = url.searchParams.get('retryAfter');
    if (retryAfter) headers['retry-after'] = retryAfter;
    res.writeHead(Number(url.pathname.slice('/status/'.length)), headers);
    res.end('E'.repeat(300));
  } else if (url.pathname === '/big') {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end('x'.repeat(MAX_RESPONSE_BODY_BYTES * 2));
  } else if (url.pathname === '/held') {
    // Answered when the test calls the function it is handed.
    heldRequests.shift()?.(() => {
      res.writeHead(204);
      res.end();
    });
  } else if (url.pathname === '/slow') {
    // Never answers; the client's timeout or cancel must end the request.
  } else {
    res.writeHead(404);
    res.end('no such route');
  }
}

beforeAll(async () => {
  server = createServer((req, res) => void route(req, res));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

const clock = new FakeClock('2026-03-01T12:00:00Z');
const http = createHttpAction();

async function failure(params: Record<string, unknown>): Promise<unknown> {
  return http.execute(params, testActionContext({ clock })).then(
    () => expect.unreachable('the request should have failed'),
    (error: unknown) => error,
  );
}

describe('http action: validate', () => {
  it('accepts a minimal and a full `with`', () => {
    expect(http.validate({ url: 'https://nas.local/upload' })).toEqual([]);
    expect(
      http.validate({
        url: 'http://nas.local/upload',
        method: 'post',
        headers: { 'x-n': 1 },
        body: { a: 1 },
        expect: [200, 201],
        timeout: '5s',
      }),
    ).toEqual([]);
  });

  it('reports each problem at its path relative to `with`', () => {
    const issues = http.validate({
      url: 'ftp://nas.local',
      method: 'FETCH',
      expect: [200, 'ok'],
      timeout: 'soon',
      bogus: true,
    });
    const paths = issues.map((issue) => issue.path).sort();
    expect(paths).toEqual(['bogus', 'expect.1', 'method', 'timeout', 'url']);
    expect(issues.find((issue) => issue.path === 'timeout')?.message).toContain('invalid duration');
  });

  it('rejects a body on a GET', () => {
    expect(http.validate({ url: 'http://x.local', body: 'hi' })).toEqual([
      { path: 'body', message: 'a GET request cannot have a body' },
    ]);
  });

  it('refuses to execute with invalid params, non-retriably', async () => {
    expect(await failure({})).toBeInstanceOf(NonRetriableError);
  });
});

describe('http action: execute', () => {
  it('GETs JSON, parses it, keeps a safe subset of headers and logs the status line', async () => {
    const ctx = testActionContext();
    const result = await http.execute({ url: `${base}/json` }, ctx);
    expect(result).toEqual({
      status: 200,
      headers: expect.objectContaining({ 'content-type': 'application/json; charset=utf-8', etag: '"v1"' }),
      body: { ok: true, items: [1, 2] },
    });
    expect((result as { headers: object }).headers).not.toHaveProperty('set-cookie');
    expect(ctx.lines).toEqual([`GET ${base}/json → 200 (0 ms)`]);
  });

  it('keeps a non-JSON body as text', async () => {
    const result = (await http.execute({ url: `${base}/text` }, testActionContext())) as { body: unknown };
    expect(result.body).toBe('{"looks":"like json"}');
  });

  it('sends an object body as JSON with a content type, and headers as given', async () => {
    const result = (await http.execute(
      { url: `${base}/echo`, method: 'post', headers: { 'x-token-id': 7 }, body: { hello: 'world' } },
      testActionContext(),
    )) as { status: number; body: { method: string; headers: Record<string, string>; body: string } };
    expect(result.status).toBe(201);
    expect(result.body.method).toBe('POST');
    expect(result.body.headers['content-type']).toBe('application/json');
    expect(result.body.headers['x-token-id']).toBe('7');
    expect(JSON.parse(result.body.body)).toEqual({ hello: 'world' });
  });

  it('sends a string body unchanged and keeps a caller content type', async () => {
    const result = (await http.execute(
      { url: `${base}/echo`, method: 'PUT', headers: { 'Content-Type': 'text/csv' }, body: 'a,b\n1,2' },
      testActionContext(),
    )) as { body: { headers: Record<string, string>; body: string } };
    expect(result.body.headers['content-type']).toBe('text/csv');
    expect(result.body.body).toBe('a,b\n1,2');
  });

  it('accepts a status listed in `expect`', async () => {
    const result = (await http.execute({ url: `${base}/status/404`, expect: [200, 404] }, testActionContext())) as {
      status: number;
    };
    expect(result.status).toBe(404);
  });

  it('fails retriably on a 5xx, with the status and the first 200 characters of the body', async () => {
    const error = await failure({ url: `${base}/status/500` });
    expect(error).toBeInstanceOf(Error);
    expect(error).not.toBeInstanceOf(NonRetriableError);
    expect(error).not.toBeInstanceOf(RetryAfterError);
    const message = (error as Error).message;
    expect(message).toContain('returned 500, expected 2xx');
    expect(message).toContain('E'.repeat(200));
    expect(message).not.toContain('E'.repeat(201));
  });

  it('fails non-retriably on a 4xx, but not on 408 or a 429 without Retry-After', async () => {
    expect(await failure({ url: `${base}/status/404` })).toBeInstanceOf(NonRetriableError);
    expect(await failure({ url: `${base}/status/403` })).toBeInstanceOf(NonRetriableError);
    expect(await failure({ url: `${base}/status/408` })).not.toBeInstanceOf(NonRetriableError);
    const tooMany = await failure({ url: `${base}/status/429` });
    expect(tooMany).not.toBeInstanceOf(NonRetriableError);
    expect(tooMany).not.toBeInstanceOf(RetryAfterError);
  });

  it('turns a 429 with Retry-After into a RetryAfterError at that time', async () => {
    const error = await failure({ url: `${base}/status/429?retryAfter=120` });
    expect(error).toBeInstanceOf(RetryAfterError);
    expect((error as RetryAfterError).retryAt.toISOString()).toBe('2026-03-01T12:02:00.000Z');
  });

  it('fails when the status is 2xx but not the one expected', async () => {
    const error = await failure({ url: `${base}/json`, expect: 201 });
    expect((error as Error).message).toContain('returned 200, expected 201');
    expect(error).not.toBeInstanceOf(NonRetriableError);
  });

  it('cuts a large body and returns it as text', async () => {
    const result = (await http.execute({ url: `${base}/big` }, testActionContext())) as { body: string; truncated: boolean };
    expect(result.truncated).toBe(true);
    expect(result.body).toHaveLength(MAX_RESPONSE_BODY_BYTES);
  });

  it('times out retriably, on the context\'s clock', async () => {
    const fake = new FakeClock('2026-03-01T12:00:00Z');
    const running = http.execute({ url: `${base}/slow`, timeout: '10m' }, testActionContext({ clock: fake })).then(
      () => expect.unreachable('the request should have timed out'),
      (error: unknown) => error,
    );
    let settled = false;
    void running.then(() => (settled = true));
    await fake.advance(10 * 60_000 - 1);
    expect(settled).toBe(false);
    // Ten minutes pass only on the FakeClock: the timeout is its timer, not a real one.
    await fake.advance(1);
    const error = await running;
    expect(error).not.toBeInstanceOf(NonRetriableError);
    expect((error as Error).message).toBe(`GET ${base}/slow timed out after 10m`);
    expect(fake.pendingTimers()).toBe(0);
  });

  it('measures the request on the context\'s clock and cancels its timeout timer', async () => {
    const fake = new FakeClock('2026-03-01T12:00:00Z');
    const ctx = testActionContext({ clock: fake });
    const arrived = new Promise<() => void>((resolve) => heldRequests.push(resolve));
    const running = http.execute({ url: `${base}/held`, timeout: '5s' }, ctx);
    const answer = await arrived;
    await fake.advance(1_500);
    answer();
    await running;
    expect(ctx.lines).toEqual([`GET ${base}/held → 204 (1500 ms)`]);
    expect(fake.pendingTimers()).toBe(0);
  });

  it('stops when the context is cancelled', async () => {
    const controller = new AbortController();
    const running = http.execute({ url: `${base}/slow` }, testActionContext({ signal: controller.signal }));
    setTimeout(() => controller.abort(), 20);
    await expect(running).rejects.toBeInstanceOf(CancelledError);
  });

  it('keeps the engine’s abort reason', async () => {
    const controller = new AbortController();
    const reason = new Error('task timed out');
    controller.abort(reason);
    await expect(http.execute({ url: `${base}/json` }, testActionContext({ signal: controller.signal }))).rejects.toBe(reason);
  });

  it('reports a refused connection with its code', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const error = await failure({ url: `http://127.0.0.1:${port}/` });
    expect((error as Error).message).toContain('ECONNREFUSED');
    // The original fetch failure is kept, with the system error under it.
    expect(((error as Error).cause as Error).cause).toMatchObject({ code: 'ECONNREFUSED' });
  });

  it('never logs credentials: header values, URL passwords, secret query values', async () => {
    const ctx = testActionContext();
    const url = `http://me:hunter2@${base.slice('http://'.length)}/echo?api_key=sekrit&page=2`;
    const result = (await http.execute(
      { url, headers: { Authorization: 'Bearer abc123', Cookie: 'session=xyz' } },
      ctx,
    )) as { body: { headers: Record<string, string> } };
    const logged = ctx.lines.join('\n');
    for (const secret of ['hunter2', 'sekrit', 'abc123', 'xyz']) expect(logged).not.toContain(secret);
    expect(logged).toContain('page=2');
    // The caller's Authorization wins over the URL's credentials.
    expect(result.body.headers.authorization).toBe('Bearer abc123');
  });

  it('sends URL credentials as basic auth', async () => {
    const url = `http://me:hunter2@${base.slice('http://'.length)}/echo`;
    const result = (await http.execute({ url }, testActionContext())) as { body: { headers: Record<string, string> } };
    expect(result.body.headers.authorization).toBe(`Basic ${Buffer.from('me:hunter2').toString('base64')}`);
  });
});

describe('helpers', () => {
  it('redactUrl hides passwords and secret-looking query values', () => {
    expect(redactUrl('https://u:p@host/x?token=1&q=2')).toBe('https://u:***@host/x?token=***&q=2');
    expect(redactUrl('not a url')).toBe('not a url');
  });

  it('parseRetryAfter reads seconds and HTTP dates, never going into the past', () => {
    const now = Date.parse('2026-03-01T12:00:00Z');
    expect(parseRetryAfter('30', now)?.toISOString()).toBe('2026-03-01T12:00:30.000Z');
    expect(parseRetryAfter('Sun, 01 Mar 2026 13:00:00 GMT', now)?.toISOString()).toBe('2026-03-01T13:00:00.000Z');
    expect(parseRetryAfter('Sun, 01 Mar 2026 11:00:00 GMT', now)?.toISOString()).toBe('2026-03-01T12:00:00.000Z');
    expect(parseRetryAfter('soon', now)).toBeUndefined();
    expect(parseRetryAfter(null, now)).toBeUndefined();
  });
});
