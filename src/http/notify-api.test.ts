import { ChannelError } from '../core/errors.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FakeClock } from '../core/clock.js';
import { silentLogger } from '../core/logger.js';
import { loadText, yamlLines } from '../config/testing.js';
import { Notifier } from '../notify/notifier.js';
import { createApiApp } from './app.js';
import { createTokenCheck } from './token.js';
import { FakeAppliance } from './testing/fake-appliance.js';

/** `GET /api/notify/channels`, `POST /api/notify/:channel/test` and the notify section of /api/health. */

const TOKEN = 'test-token-0123456789';
const auth = { Authorization: `Bearer ${TOKEN}` };
let dir: string;
let notifier: Notifier;
let appliance: FakeAppliance;
let app: ReturnType<typeof createApiApp>;
let down = false;

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'hearth-notify-api-'));
  const config = loadText(
    yamlLines(
      'notify:',
      '  channels:',
      '    phone: { type: ntfy, url: "http://127.0.0.1:9/topic-secret-1", token: tok-secret-2 }',
      '    hook: { type: webhook, url: "http://127.0.0.1:9/h" }',
    ),
  );
  notifier = new Notifier({
    config: { ...config, dataDir: dir },
    clock: new FakeClock('2026-03-02T09:00:00Z'),
    logger: silentLogger,
    createChannel: (def) => ({
      secrets: ['tok-secret-2'],
      send: async () => {
        if (down) throw new ChannelError(`127.0.0.1:9 answered 503 Service Unavailable: nope`, 503);
        return { status: '200 OK', detail: `{"id":"m1","topic":"${def.name}"}` };
      },
    }),
  });
  await notifier.start();
  appliance = new FakeAppliance();
  app = createApiApp({ appliance, auth: createTokenCheck([TOKEN]), logger: silentLogger, clock: new FakeClock(), notify: { channels: () => notifier.status(), test: (c) => notifier.test(c) } });
  down = false;
});

afterEach(async () => {
  await notifier.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('notification API', () => {
  it('lists channels with names, types and delivery state, never settings or secrets', async () => {
    const response = await app.request('/api/notify/channels', { headers: auth });
    expect(response.status).toBe(200);
    const text = await response.text();
    expect(JSON.parse(text)).toEqual({
      channels: [
        { name: 'phone', type: 'ntfy', consecutiveFailures: 0, pending: 0 },
        { name: 'hook', type: 'webhook', consecutiveFailures: 0, pending: 0 },
      ],
    });
    expect(text).not.toContain('secret');
    expect((await app.request('/api/notify/channels')).status).toBe(401);
  });

  it('sends a test and returns what the channel answered; a failure is 502 with the reason and shows in the list', async () => {
    const ok = await app.request('/api/notify/phone/test', { method: 'POST', headers: auth });
    expect(ok.status).toBe(200);
    expect(await ok.json()).toEqual({ ok: true, channel: 'phone', answer: { status: '200 OK', detail: '{"id":"m1","topic":"phone"}' } });
    down = true;
    const failed = await app.request('/api/notify/hook/test', { method: 'POST', headers: auth });
    expect(failed.status).toBe(502);
    expect(await failed.json()).toEqual({ error: { code: 'notify_failed', message: '127.0.0.1:9 answered 503 Service Unavailable: nope' }, channel: 'hook', status: 503 });
    const list = (await (await app.request('/api/notify/channels', { headers: auth })).json()) as { channels: Array<Record<string, unknown>> };
    expect(list.channels[0]).toMatchObject({ name: 'phone', consecutiveFailures: 0, lastDeliveryAt: '2026-03-02T09:00:00.000Z' });
    expect(list.channels[1]).toMatchObject({ name: 'hook', consecutiveFailures: 1, pending: 1, lastError: '127.0.0.1:9 answered 503 Service Unavailable: nope' });
  });

  it('an unknown channel is 404, and a test needs a token', async () => {
    const response = await app.request('/api/notify/nope/test', { method: 'POST', headers: auth });
    expect(response.status).toBe(404);
    expect((await app.request('/api/notify/phone/test', { method: 'POST' })).status).toBe(401);
  });

  it('/api/health carries the channels; without a token it leaves out the error text', async () => {
    down = true;
    await notifier.test('hook').catch(() => {});
    appliance.healthOverrides = { notify: { channels: notifier.status() } };
    const open = (await (await app.request('/api/health')).json()) as { notify: { channels: Array<Record<string, unknown>> } };
    expect(open.notify.channels[1]).toMatchObject({ name: 'hook', consecutiveFailures: 1, lastErrorAt: '2026-03-02T09:00:00.000Z' });
    expect(open.notify.channels[1]).not.toHaveProperty('lastError');
    const full = (await (await app.request('/api/health', { headers: auth })).json()) as { notify: { channels: Array<Record<string, unknown>> } };
    expect(full.notify.channels[1]).toHaveProperty('lastError', '127.0.0.1:9 answered 503 Service Unavailable: nope');
  });
});
