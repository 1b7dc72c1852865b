import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { logInAt, phoneContext, startDashboard } from './browser.js';
import { baseConfig, freePort, tempDir, type HearthProcess } from '../helpers/hearth-process.js';

/**
 * Settings › Notifications on a phone: the channels fit the screen and
 * "Send test" reaches the receiver and shows its answer.
 * UPDATE_SCREENSHOTS=1 writes docs/settings-notify-phone.png.
 */

const PASSWORD = 'correct horse battery';
let hearth: HearthProcess;
let browser: Browser;
let receiver: Server;
let shots: string;
const received: string[] = [];

beforeAll(async () => {
  receiver = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      received.push(String(req.headers['x-hearth-id']));
      res.writeHead(200, { 'Content-Type': 'application/json' }).end('{"stored":true}');
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  const hookUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hearth`;
  const port = await freePort();
  const dir = tempDir('hearth-e2e-notify-');
  const config = `${baseConfig(port, '  hello: { run: echo hi }\n')}
notify:
  channels:
    home-assistant-webhook: { type: webhook, url: "${hookUrl}" }
    phone: { type: ntfy, url: "http://127.0.0.1:${await freePort()}/a-very-long-topic-name-for-the-family-phones" }
`;
  ({ hearth, browser, shots } = await startDashboard({ dir, port, config, password: PASSWORD }));
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await hearth?.stop();
  receiver?.close();
});

describe('Settings › Notifications in a browser', () => {
  it('lists the channels without overflowing a phone screen, and Send test shows the answer', async () => {
    const context = await phoneContext(browser);
    const page = await logInAt(context, hearth.url, '/settings', PASSWORD);
    expect(await page.textContent('#notifications')).toContain('home-assistant-webhook');

    // The phone channel cannot be reached: its test fails and says why.
    await page.tap('li[data-channel="phone"] button:has-text("Send test")');
    await page.waitForSelector('#notifications .note.error');
    expect(await page.textContent('#notifications .note.error')).toMatch(/Test to phone failed: could not reach 127\.0\.0\.1:\d+: connection refused/);

    await page.tap('li[data-channel="home-assistant-webhook"] button:has-text("Send test")');
    await page.waitForSelector('#notifications .note[role=status]');
    expect(await page.textContent('#notifications .note[role=status]')).toContain('Test sent to home-assistant-webhook: 200 OK');
    expect(received).toHaveLength(1);
    expect(await page.textContent('li[data-channel="phone"]')).toContain('failing (1×)');
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    expect(overflow).toBeLessThanOrEqual(0);
    await page.locator('#notifications').screenshot({ path: join(shots, 'settings-notify-phone.png') });
    await context.close();
  }, 60_000);
});
