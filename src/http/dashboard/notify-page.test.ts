import { ChannelError } from '../../core/errors.js';
import { describe, expect, it } from 'vitest';
import type { NotifyPort } from '../../notify/port.js';
import { dashboardHarness, formPost, logIn } from './testing.js';

/** Settings › Notifications: channels, last delivery and error, and "Send test". */
function fakeNotify(): NotifyPort & { tested: string[] } {
  const tested: string[] = [];
  return {
    tested,
    channels: () => [
      { name: 'phone', type: 'ntfy', lastDeliveryAt: '2026-05-01T09:00:00.000Z', consecutiveFailures: 0, pending: 0 },
      { name: 'mail', type: 'email', lastErrorAt: '2026-05-01T09:30:00.000Z', lastError: 'could not reach <mail.lan>:587', consecutiveFailures: 4, pending: 2 },
    ],
    test: async (channel) => {
      tested.push(channel);
      if (channel === 'mail') throw new ChannelError('could not reach <mail.lan>:587');
      return { status: '200 OK', detail: '{"id":"abc"}' };
    },
  };
}

describe('Settings › Notifications', () => {
  it('lists each channel with its last delivery, a failing one with its error (escaped), and a Send test button', async () => {
    const h = await dashboardHarness({ notify: fakeNotify() });
    const cookie = await logIn(h);
    const page = await (await h.app.request('/settings', { headers: { Cookie: cookie } })).text();
    expect(page).toContain('<h2>Notifications</h2>');
    expect(page).toMatch(/<li data-channel="phone">[\s\S]*last delivery <time datetime="2026-05-01T09:00:00.000Z"/);
    expect(page).toContain('failing (4×)');
    expect(page).toContain('could not reach &lt;mail.lan&gt;:587');
    expect(page).toContain('2 waiting');
    expect(page).toContain('action="/settings/notify/phone/test"');
    expect(page).toContain('action="/settings/notify/mail/test"');
  });

  it('Send test shows what the channel answered, or why it failed', async () => {
    const notify = fakeNotify();
    const h = await dashboardHarness({ notify });
    const cookie = await logIn(h);
    const ok = await h.app.request('/settings/notify/phone/test', formPost({}, { Cookie: cookie }));
    expect(ok.status).toBe(200);
    expect(await ok.text()).toContain('Test sent to <strong>phone</strong>: 200 OK');
    const failed = await (await h.app.request('/settings/notify/mail/test', formPost({}, { Cookie: cookie }))).text();
    expect(failed).toContain('Test to <strong>mail</strong> failed: could not reach &lt;mail.lan&gt;:587');
    expect(notify.tested).toEqual(['phone', 'mail']);
    expect((await h.app.request('/settings/notify/nope/test', formPost({}, { Cookie: cookie }))).status).toBe(404);
  });

  it('Send test needs a session and a same-origin form', async () => {
    const notify = fakeNotify();
    const h = await dashboardHarness({ notify });
    expect((await h.app.request('/settings/notify/phone/test', formPost({}))).status).not.toBe(200);
    const cookie = await logIn(h);
    const crossSite = await h.app.request('/settings/notify/phone/test', formPost({}, { Cookie: cookie, Origin: 'http://evil.example', 'Sec-Fetch-Site': 'cross-site' }));
    expect(crossSite.status).toBe(403);
    expect(notify.tested).toEqual([]);
  });

  it('without notify.channels there is no section', async () => {
    const h = await dashboardHarness();
    const cookie = await logIn(h);
    expect(await (await h.app.request('/settings', { headers: { Cookie: cookie } })).text()).not.toContain('Notifications');
  });

  it('a channel that keeps failing shows as a banner on every page, linking to Settings', async () => {
    const h = await dashboardHarness({ notify: fakeNotify() });
    const cookie = await logIn(h);
    h.appliance.healthOverrides = { notify: { channels: fakeNotify().channels() } };
    for (const path of ['/', '/jobs']) {
      const text = await (await h.app.request(path, { headers: { Cookie: cookie } })).text();
      expect(text, path).toContain('<strong>Notifications are not getting through:</strong> mail (4 failed attempts, 2 waiting). <a href="/settings#notifications">Settings</a>');
    }
    h.appliance.healthOverrides = { notify: { channels: [{ name: 'mail', type: 'email', consecutiveFailures: 2, pending: 1 }] } };
    expect(await (await h.app.request('/', { headers: { Cookie: cookie } })).text()).not.toContain('Notifications are not getting through');
  });
});
