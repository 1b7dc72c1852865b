import { beforeEach, describe, expect, it } from 'vitest';
import { FakeClock } from '../core/clock.js';
import { createLogger } from '../core/logger.js';
import { BODY_LIMIT_BYTES, createApiApp } from './app.js';
import { createTokenCheck } from './token.js';
import { FakeAppliance } from './testing/fake-appliance.js';

/** Run input, POST /api/events and POST /hooks/NAME through the front door (app.request). */

const TOKEN = 'test-token-0123456789';
const SECRET = 'doorbell-secret-0123456789';
const AUTH = { Authorization: `Bearer ${TOKEN}` };
const JSON_TYPE = { 'Content-Type': 'application/json' };

let appliance: FakeAppliance;
let clock: FakeClock;
let logLines: string[];
let app: ReturnType<typeof createApiApp>;

beforeEach(() => {
  appliance = new FakeAppliance();
  appliance.addJob({ name: 'ring', overlap: 'allow' });
  appliance.addJob({ name: 'log', overlap: 'allow' });
  appliance.listeners.set('doorbell', ['ring', 'log']);
  appliance.hooks.set('doorbell', { job: 'ring', secret: SECRET });
  clock = new FakeClock('2026-05-01T10:00:00Z');
  logLines = [];
  const logger = createLogger({ level: 'debug', write: (line) => logLines.push(line) });
  app = createApiApp({ appliance, auth: createTokenCheck([TOKEN]), logger, clock });
});

async function errorOf(response: Response) {
  expect(response.headers.get('content-type')).toMatch(/application\/json/);
  return ((await response.json()) as { error: { code: string; message: string } }).error;
}

const post = (body: unknown, headers: Record<string, string> = AUTH): RequestInit => ({
  method: 'POST',
  headers: { ...headers, ...JSON_TYPE },
  body: typeof body === 'string' ? body : JSON.stringify(body),
});

/** A request from a given peer address, as Hono's node adapter passes it. */
const from = (address: string) => ({ incoming: { socket: { remoteAddress: address } } });

describe('POST /api/jobs/:name/run with an input', () => {
  it('passes { input } on, any JSON, and still works with no body', async () => {
    for (const input of [{ path: '/tmp/x' }, [1, 2], 'text', 0, null]) {
      const response = await app.request('/api/jobs/ring/run', post({ input }));
      expect(response.status).toBe(202);
      expect(await response.json()).toHaveProperty('runId');
    }
    expect((await app.request('/api/jobs/ring/run', { method: 'POST', headers: AUTH })).status).toBe(202);
    expect((await app.request('/api/jobs/ring/run', post({}))).status).toBe(202);
    expect(appliance.triggers.map((t) => t.input)).toEqual([{ path: '/tmp/x' }, [1, 2], 'text', 0, null, undefined, undefined]);
    expect(appliance.triggers.map((t) => 'input' in t)).toEqual([true, true, true, true, true, false, false]);
  });

  it('refuses malformed JSON, a body that is not an object and unknown fields with 400 naming them', async () => {
    expect(await errorOf(await app.request('/api/jobs/ring/run', post('{"input": ')))).toMatchObject({ code: 'bad_request', message: expect.stringContaining('not valid JSON') });
    expect((await errorOf(await app.request('/api/jobs/ring/run', post([1])))).message).toContain('JSON object');
    expect((await errorOf(await app.request('/api/jobs/ring/run', post({ imput: 1 })))).message).toMatch(/^imput: unknown field \(allowed: input\)/);
    expect(appliance.triggers).toEqual([]);
  });

  it(`refuses a body over ${BODY_LIMIT_BYTES / 1024} KB with 413`, async () => {
    const response = await app.request('/api/jobs/ring/run', post({ input: 'x'.repeat(BODY_LIMIT_BYTES) }));
    expect(response.status).toBe(413);
    expect((await errorOf(response)).code).toBe('payload_too_large');
    expect(appliance.triggers).toEqual([]);
  });
});

describe('POST /api/events', () => {
  it('answers 202 with the event id and the runs it started', async () => {
    const response = await app.request('/api/events', post({ name: 'doorbell', data: { door: 'front' }, id: 'press-1' }));
    expect(response.status).toBe(202);
    const body = (await response.json()) as { eventId: string; runs: string[]; duplicate: boolean };
    expect(body).toMatchObject({ eventId: 'press-1', duplicate: false });
    expect(body.runs).toHaveLength(2);
    expect(appliance.triggers).toEqual([
      { job: 'ring', trigger: 'event', input: { door: 'front' } },
      { job: 'log', trigger: 'event', input: { door: 'front' } },
    ]);
  });

  it('the same id twice: 202 both times, one event', async () => {
    const first = await (await app.request('/api/events', post({ name: 'doorbell', id: 'press-2' }))).json();
    const again = await app.request('/api/events', post({ name: 'doorbell', id: 'press-2' }));
    expect(again.status).toBe(202);
    expect(await again.json()).toEqual({ ...(first as object), duplicate: true });
    expect(appliance.triggers).toHaveLength(2);
  });

  it('an event nobody listens to is accepted', async () => {
    const response = await app.request('/api/events', post({ name: 'garage.open' }));
    expect(response.status).toBe(202);
    expect(await response.json()).toMatchObject({ runs: [], duplicate: false });
  });

  it.each([
    [{ data: 1 }, /^name: is required/],
    [{ name: '' }, /^name: invalid event name ""/],
    [{ name: 'two words' }, /^name: invalid event name "two words": use 1-128 letters/],
    [{ name: 'x'.repeat(129) }, /^name: invalid event name/],
    [{ name: 42 }, /^name: invalid event name \(a number\)/],
    [{ name: 'ok', id: '' }, /^id: invalid event id/],
    [{ name: 'ok', id: 'has space' }, /^id: invalid event id/],
    [{ name: 'ok', id: 7 }, /^id: invalid event id/],
    [{ name: 'ok', date: {} }, /^date: unknown field \(allowed: name, data, id\)/],
  ])('refuses %j with 400 naming the field', async (body, message) => {
    const response = await app.request('/api/events', post(body));
    expect(response.status).toBe(400);
    expect((await errorOf(response)).message).toMatch(message);
    expect(appliance.events).toEqual([]);
  });

  it('refuses an empty body, and needs the API token', async () => {
    expect((await app.request('/api/events', { method: 'POST', headers: AUTH })).status).toBe(400);
    expect((await app.request('/api/events', post({ name: 'doorbell' }, {}))).status).toBe(401);
    expect(appliance.events).toEqual([]);
  });
});

describe('POST /hooks/NAME', () => {
  it('with the secret as a bearer token or ?token=: 202 { runId }, the body as input, trigger hook', async () => {
    const viaHeader = await app.request('/hooks/doorbell', post({ pressed: true }, { Authorization: `Bearer ${SECRET}` }));
    expect(viaHeader.status).toBe(202);
    const body = (await viaHeader.json()) as { runId: string };
    expect(body.runId).toMatch(/^r_/);
    expect(Object.keys(body)).toEqual(['runId']);
    const viaQuery = await app.request(`/hooks/doorbell?token=${SECRET}`, post('', {}));
    expect(viaQuery.status).toBe(202);
    expect(appliance.triggers).toEqual([
      { job: 'ring', trigger: 'hook', input: { pressed: true } },
      { job: 'ring', trigger: 'hook', input: undefined },
    ]);
  });

  it('needs no API token or session: the API token is not the hook secret', async () => {
    const response = await app.request('/hooks/doorbell', post({}, AUTH), from('10.0.0.9'));
    expect(response.status).toBe(401);
    expect((await errorOf(response)).message).toBe('wrong webhook secret');
  });

  it('a wrong or missing secret is 401; after 5 failures the address gets 429, even with the right secret', async () => {
    const attacker = from('192.168.1.66');
    expect((await app.request('/hooks/doorbell', post({}, {}), attacker)).status).toBe(401);
    for (let i = 0; i < 4; i++) {
      expect((await app.request('/hooks/doorbell', post({}, { Authorization: `Bearer guess-${i}` }), attacker)).status).toBe(401);
    }
    const limited = await app.request('/hooks/doorbell', post({}, { Authorization: `Bearer ${SECRET}` }), attacker);
    expect(limited.status).toBe(429);
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
    // Someone else is not locked out, and the window passes.
    expect((await app.request('/hooks/doorbell', post({}, { Authorization: `Bearer ${SECRET}` }), from('192.168.1.67'))).status).toBe(202);
    await clock.advance(15 * 60_000 + 1000);
    expect((await app.request('/hooks/doorbell', post({}, { Authorization: `Bearer ${SECRET}` }), attacker)).status).toBe(202);
    expect(appliance.triggers).toHaveLength(2);
  });

  it('an unknown hook is 404 and counts as a failure', async () => {
    const response = await app.request('/hooks/nope', post({}, { Authorization: `Bearer ${SECRET}` }), from('10.0.0.5'));
    expect(response.status).toBe(404);
    for (let i = 0; i < 4; i++) await app.request('/hooks/nope', post({}, {}), from('10.0.0.5'));
    expect((await app.request('/hooks/doorbell', post({}, { Authorization: `Bearer ${SECRET}` }), from('10.0.0.5'))).status).toBe(429);
  });

  it('refuses a body over the limit with 413, and a non-JSON body with 415, once the secret is right', async () => {
    const auth = { Authorization: `Bearer ${SECRET}` };
    expect((await app.request('/hooks/doorbell', post({ blob: 'x'.repeat(BODY_LIMIT_BYTES) }, auth))).status).toBe(413);
    const form = await app.request('/hooks/doorbell', { method: 'POST', headers: { ...auth, 'Content-Type': 'text/plain' }, body: 'hi' });
    expect(form.status).toBe(415);
    expect((await app.request('/hooks/doorbell', post('{oops', auth))).status).toBe(400);
    expect((await app.request('/hooks/doorbell', { method: 'GET' })).status).toBe(405);
    expect(appliance.triggers).toEqual([]);
  });

  it('never logs the secret, right or wrong', async () => {
    await app.request('/hooks/doorbell', post({}, { Authorization: `Bearer ${SECRET}x` }), from('10.0.0.7'));
    await app.request(`/hooks/doorbell?token=${SECRET}y`, post({}, {}), from('10.0.0.7'));
    await app.request('/hooks/doorbell', post({}, { Authorization: `Bearer ${SECRET}` }), from('10.0.0.8'));
    expect(logLines.some((line) => line.includes('webhook refused'))).toBe(true);
    expect(logLines.join('\n')).not.toContain(SECRET);
  });
});
