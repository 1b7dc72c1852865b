import { ChannelError } from '../core/errors.js';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FakeClock } from '../core/clock.js';
import { createLogger } from '../core/logger.js';
import { loadText, yamlLines } from '../config/testing.js';
import type { HearthConfig } from '../config/types.js';
import type { ChannelSender } from './channels/index.js';
import { type OutgoingMessage } from './message.js';
import { Notifier, type NotifierLimits } from './notifier.js';
import { NOTIFICATION_KINDS, type Notification } from './types.js';
import { NOTIFY_KINDS } from '../config/types.js';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createChannel } from './channels/index.js';
import { SecretsStore } from '../secrets/store.js';

/** A channel that records what it was given, and fails while `down` is true. */
class FakeReceiver {
  received: Array<{ channel: string; message: OutgoingMessage }> = [];
  down = new Set<string>();
  sender(channel: string): ChannelSender {
    return {
      secrets: ['s3cret-token'],
      send: async (message) => {
        if (this.down.has(channel)) throw new ChannelError(`receiver down (token s3cret-token)`, 503);
        this.received.push({ channel, message });
        return { status: '200 OK', detail: 'stored' };
      },
    };
  }
  of(channel: string): OutgoingMessage[] {
    return this.received.filter((entry) => entry.channel === channel).map((entry) => entry.message);
  }
}

const CONFIG = yamlLines(
  'timezone: Europe/London',
  'notify:',
  '  channels:',
  '    phone: { type: ntfy, url: "http://127.0.0.1:9/t" }',
  '    mail: { type: webhook, url: "http://127.0.0.1:9/m" }',
  '  default: { on: [failure, recovery, appliance], to: [phone] }',
  '  baseUrl: http://hearth.local:8080',
  'jobs:',
  '  backup: { run: "true", notify: { to: [phone, mail] } }',
  '  quiet-one: { run: "true", notify: off }',
  '  plain: { run: "true" }',
);

describe('Notifier', () => {
  let dir: string;
  let clock: FakeClock;
  let receiver: FakeReceiver;
  let logLines: string[];
  const notifiers: Notifier[] = [];

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'hearth-notify-'));
    clock = new FakeClock('2026-03-02T09:00:00Z');
    receiver = new FakeReceiver();
    logLines = [];
  });
  afterEach(async () => {
    for (const notifier of notifiers.splice(0)) await notifier.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  function config(text = CONFIG): HearthConfig {
    return { ...loadText(text), dataDir: dir };
  }

  async function notifier(cfg = config(), limits: Partial<NotifierLimits> = {}): Promise<Notifier> {
    const made = new Notifier({
      config: cfg,
      clock,
      logger: createLogger({ write: (line) => logLines.push(line) }),
      createChannel: (def) => receiver.sender(def.name),
      limits,
    });
    notifiers.push(made);
    await made.start();
    return made;
  }

  function failure(job = 'backup', extra: Partial<Notification> = {}): Notification {
    return { kind: 'failure', job, runId: 'r1', title: `${job} failed`, body: 'exit 1', path: '/runs/r1', at: clock.now(), ...extra };
  }

  it('config and notify agree on the kinds', () => {
    expect([...NOTIFY_KINDS]).toEqual([...NOTIFICATION_KINDS]);
  });

  it('routes by the job override, the default, and sends nothing for a job with notify off or a kind not listed', async () => {
    const n = await notifier();
    await n.publish(failure('backup'));
    await n.publish(failure('plain'));
    await n.publish(failure('quiet-one'));
    await n.publish({ kind: 'stuck', job: 'plain', title: 'plain is stuck', body: '', at: clock.now() });
    await n.idle();
    expect(receiver.of('phone').map((m) => m.title)).toEqual(['backup failed', 'plain failed']);
    expect(receiver.of('mail').map((m) => m.title)).toEqual(['backup failed']);
    const [first] = receiver.of('phone');
    expect(first!.url).toBe('http://hearth.local:8080/runs/r1');
    // The same notification has one id on every channel: the receiver can deduplicate on it.
    expect(receiver.of('mail')[0]!.id).toBe(first!.id);
  });

  it('a flapping job sends one failure per quiet window and sums up the rest in the next one', async () => {
    const n = await notifier();
    // Fails every minute for two hours.
    for (let minute = 0; minute < 120; minute++) {
      await n.publish(failure('plain', { title: `plain failed (${minute})` }));
      await clock.advance(60_000);
      await n.idle();
    }
    const titles = receiver.of('phone').map((m) => m.title);
    expect(titles).toEqual(['plain failed (0)', 'plain failed (59)', 'plain failed (119)']);
    const held = receiver.of('phone').map((m) => m.held?.text);
    expect(held).toEqual([undefined, 'and 58 more failures of plain since 09:01', 'and 59 more failures of plain since 10:00']);
    // A different kind of the same job is not held back by the failures' window.
    await n.publish({ kind: 'recovery', job: 'plain', title: 'plain recovered', body: '', at: clock.now() });
    await n.idle();
    expect(receiver.of('phone').at(-1)!.title).toBe('plain recovered');
  });

  it('sends what was held back when the window ends even if nothing new comes', async () => {
    const n = await notifier();
    await n.publish(failure('plain', { title: 'a' }));
    await clock.advance(5 * 60_000);
    await n.publish(failure('plain', { title: 'b' }));
    await n.idle();
    expect(receiver.of('phone').map((m) => m.title)).toEqual(['a']);
    await clock.advance(55 * 60_000);
    await n.idle();
    expect(receiver.of('phone').map((m) => m.title)).toEqual(['a', 'b']);
    // Only one was held back, and it is the one sent: nothing more to sum up.
    expect(receiver.of('phone')[1]!.held).toBeUndefined();
  });

  it('retries with backoff while a channel is down, delivers once when it is back, and shows the failures meanwhile', async () => {
    const n = await notifier();
    receiver.down.add('phone');
    await n.publish(failure('plain'));
    await n.idle();
    for (let i = 0; i < 5; i++) {
      await clock.advance(10 * 60_000);
      await n.idle();
    }
    const status = n.status().find((s) => s.name === 'phone')!;
    expect(status.consecutiveFailures).toBeGreaterThanOrEqual(4);
    expect(status.pending).toBe(1);
    expect(status.lastError).toContain('receiver down');
    expect(status.lastError).not.toContain('s3cret-token');
    expect(logLines.join('\n')).not.toContain('s3cret-token');
    receiver.down.delete('phone');
    await clock.advance(30 * 60_000);
    await n.idle();
    await clock.advance(60 * 60_000);
    await n.idle();
    expect(receiver.of('phone')).toHaveLength(1);
    const after = n.status().find((s) => s.name === 'phone')!;
    expect(after).toMatchObject({ consecutiveFailures: 0, pending: 0, type: 'ntfy' });
    expect(after.lastDeliveryAt).toBeDefined();
  });

  it('what a quiet window held back survives a restart: the latest is sent when the window ends, summing up the others', async () => {
    const first = await notifier();
    await first.publish(failure('plain', { title: 'a' }));
    for (const title of ['b', 'c', 'd']) {
      await clock.advance(5 * 60_000);
      await first.publish(failure('plain', { title }));
    }
    await first.idle();
    await first.stop();
    expect(receiver.of('phone').map((m) => m.title)).toEqual(['a']);
    const second = await notifier();
    await clock.advance(10 * 60_000);
    await second.publish(failure('plain', { title: 'e' }));
    await second.idle();
    expect(receiver.of('phone').map((m) => m.title)).toEqual(['a']);
    await clock.advance(35 * 60_000);
    await second.idle();
    expect(receiver.of('phone').map((m) => m.title)).toEqual(['a', 'e']);
    expect(receiver.of('phone')[1]!.held?.text).toBe('and 3 more failures of plain since 09:05');
    // Sent: a third start has nothing held back any more.
    await second.stop();
    const third = await notifier();
    await clock.advance(120 * 60_000);
    await third.idle();
    expect(receiver.of('phone')).toHaveLength(2);
  });

  it('a delivery queued before a restart is sent after it, with the same id, exactly once', async () => {
    receiver.down.add('phone');
    const first = await notifier();
    await first.publish(failure('plain'));
    await first.idle();
    await first.stop();
    const queued = readFileSync(join(dir, 'notify', 'outbox.jsonl'), 'utf8');
    expect(queued).toContain('"op":"add"');
    receiver.down.delete('phone');
    const second = await notifier();
    await second.idle();
    expect(receiver.of('phone')).toHaveLength(1);
    expect(queued).toContain(receiver.of('phone')[0]!.id);
    // A third start finds it delivered and sends nothing.
    await second.stop();
    const third = await notifier();
    await third.idle();
    expect(receiver.of('phone')).toHaveLength(1);
    // The quiet window survived the restarts too.
    await third.publish(failure('plain'));
    await third.idle();
    expect(receiver.of('phone')).toHaveLength(1);
  });

  it('keeps the outbox file bounded and drops the oldest undelivered message past the cap', async () => {
    const n = await notifier(config(), { maxPending: 5, keepDelivered: 10, compactAfterLines: 40 });
    for (let i = 0; i < 200; i++) {
      await n.publish({ kind: 'appliance', title: `alert ${i}`, body: '', key: `appliance:${i}`, at: clock.now() });
      await n.idle();
    }
    const lines = readFileSync(join(dir, 'notify', 'outbox.jsonl'), 'utf8').trim().split('\n');
    expect(lines.length).toBeLessThanOrEqual(40);
    expect(receiver.of('phone')).toHaveLength(200);
    receiver.down.add('phone');
    for (let i = 0; i < 8; i++) await n.publish({ kind: 'appliance', title: `late ${i}`, body: '', key: `late:${i}`, at: clock.now() });
    await n.idle();
    expect(n.status().find((s) => s.name === 'phone')!.pending).toBe(5);
    expect(logLines.join('\n')).toContain('outbox full');
  });

  it('test() sends through the outbox and returns the answer, or throws a ChannelError without secrets', async () => {
    const n = await notifier();
    await expect(n.test('mail')).resolves.toEqual({ status: '200 OK', detail: 'stored' });
    expect(receiver.of('mail')[0]).toMatchObject({ kind: 'test', title: 'Test from Hearth' });
    receiver.down.add('phone');
    const error = await n.test('phone').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ChannelError);
    expect((error as Error).message).toContain('receiver down');
    expect((error as Error).message).not.toContain('s3cret-token');
    await expect(n.test('nope')).rejects.toThrow('no channel "nope"');
  });

  it('with the real webhook channel: a receiver down for a while, then up, gets the message once', async () => {
    const seen: string[] = [];
    let up = false;
    let taken = 0;
    const server = createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        seen.push(String(req.headers['x-hearth-id']));
        if (up) taken += 1;
        res.writeHead(up ? 200 : 503).end(up ? 'ok' : 'down');
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
      const cfg = config(yamlLines('notify:', '  channels:', `    hook: { type: webhook, url: "${url}" }`));
      const n = new Notifier({ config: cfg, clock, logger: createLogger({ write: (line) => logLines.push(line) }), createChannel });
      notifiers.push(n);
      await n.start();
      await n.publish({ kind: 'appliance', title: 'disk 91% full', body: '', at: clock.now() });
      await n.idle();
      for (let minute = 0; minute < 3; minute++) {
        await clock.advance(60_000);
        await n.idle();
      }
      expect(seen.length).toBeGreaterThanOrEqual(3);
      expect(n.status()[0]).toMatchObject({ name: 'hook', pending: 1 });
      up = true;
      await clock.advance(10 * 60_000);
      await n.idle();
      await clock.advance(60 * 60_000);
      await n.idle();
      expect(new Set(seen).size).toBe(1);
      // Every attempt before was refused; exactly one was taken.
      expect(taken).toBe(1);
      expect(n.status()[0]).toMatchObject({ consecutiveFailures: 0, pending: 0 });
      const attemptsAfterUp = seen.length;
      await clock.advance(24 * 3_600_000);
      await n.idle();
      expect(seen.length).toBe(attemptsAfterUp);
      expect(taken).toBe(1);
    } finally {
      server.close();
    }
  });

  it('a channel\'s secrets saved in the secrets store under its name reach the channel', async () => {
    const store = new SecretsStore(dir);
    await store.set('phone', { token: 'saved-phone-token' });
    const given: Array<Record<string, string>> = [];
    const n = new Notifier({
      config: config(),
      clock,
      logger: createLogger({ write: (line) => logLines.push(line) }),
      secrets: (channel) => store.get(channel),
      createChannel: (def, saved) => {
        given.push(saved);
        return receiver.sender(def.name);
      },
    });
    notifiers.push(n);
    await n.start();
    await n.test('phone');
    await n.test('mail');
    expect(given).toEqual([{ token: 'saved-phone-token' }, {}]);
    expect(logLines.join('\n')).not.toContain('saved-phone-token');
  });
});
