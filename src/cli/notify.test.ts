import { ChannelError } from '../core/errors.js';
import { describe, expect, it } from 'vitest';
import type { NotifyPort } from '../notify/port.js';
import { cliHarness } from './testing.js';

/** `hearth notify` and `hearth notify test CHANNEL` against the API (a fake notifier behind it). */
function fakeNotify(): NotifyPort & { tested: string[] } {
  const tested: string[] = [];
  return {
    tested,
    channels: () => [
      { name: 'phone', type: 'ntfy', lastDeliveryAt: '2026-03-28T11:00:00.000Z', consecutiveFailures: 0, pending: 0 },
      { name: 'mail', type: 'email', lastErrorAt: '2026-03-28T11:30:00.000Z', lastError: 'could not reach mail.lan:587: ECONNREFUSED', consecutiveFailures: 3, pending: 2 },
    ],
    test: async (channel) => {
      tested.push(channel);
      if (channel === 'mail') throw new ChannelError('could not reach mail.lan:587: ECONNREFUSED');
      return { status: '200 OK', detail: '{"id":"abc","event":"message"}' };
    },
  };
}

describe('hearth notify', () => {
  it('test CHANNEL prints what the channel answered and exits 0', async () => {
    const notify = fakeNotify();
    const result = await cliHarness({ notify }).run(['notify', 'test', 'phone']);
    expect(result).toEqual({ code: 0, stdout: 'sent a test message to phone: 200 OK\n{"id":"abc","event":"message"}\n', stderr: '' });
    expect(notify.tested).toEqual(['phone']);
  });

  it('test CHANNEL exits 1 with the reason when the channel failed, and for an unknown channel', async () => {
    const cli = cliHarness({ notify: fakeNotify() });
    expect(await cli.run(['notify', 'test', 'mail'])).toEqual({ code: 1, stdout: '', stderr: 'hearth: could not reach mail.lan:587: ECONNREFUSED\n' });
    const unknown = await cli.run(['notify', 'test', 'nope']);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toBe('hearth: notification channel "nope" not found\n');
  });

  it('lists the channels with their state; a wrong action is a usage error', async () => {
    const cli = cliHarness({ notify: fakeNotify() });
    const list = await cli.run(['notify']);
    expect(list.code).toBe(0);
    const lines = list.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^CHANNEL\s+TYPE\s+LAST DELIVERY\s+STATE\s+WAITING$/);
    expect(lines[1]).toMatch(/^phone\s+ntfy\s+2026-03-28 11:00\S*\s+ok\s+0$/);
    expect(lines[2]).toMatch(/^mail\s+email\s+-\s+3 failed: could not reach mail\.lan:587: ECONNREFUSED\s+2$/);
    expect((await cli.run(['notify', 'send'])).code).toBe(2);
    expect((await cli.run(['notify', 'test'])).code).toBe(2);
  });
});
