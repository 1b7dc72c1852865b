import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ConnectionDef } from '../../config/types.js';
import { Connections } from '../../integrations/connect.js';
import { connectFlows } from '../../integrations/flows.js';
import { createGmailConnector } from '../../integrations/gmail/connect.js';
import { FakeGoogle } from '../../integrations/gmail/fake-google.js';
import { SecretsStore } from '../../secrets/store.js';
import { dashboardHarness, formPost, logIn, ORIGIN, type Harness } from './testing.js';

let fake: FakeGoogle;
let h: Harness;
let cookie: string;
let secrets: SecretsStore;

beforeEach(async () => {
  fake = await new FakeGoogle().start();
  const dataDir = mkdtempSync(join(tmpdir(), 'hearth-gmail-page-'));
  secrets = new SecretsStore(dataDir);
  const defs: Record<string, ConnectionDef> = { 'gmail-me': { name: 'gmail-me', type: 'gmail', settings: { clientId: fake.clientId, tokenUrl: fake.tokenUrl, authUrl: fake.authUrl, apiUrl: fake.apiUrl } } };
  const connector = createGmailConnector({ connections: () => defs, secrets });
  // As main.ts wires them: one SecretsStore behind the shared Connections page and the Gmail page.
  const connections = new Connections({ connections: () => defs, secrets, flows: connectFlows() });
  h = await dashboardHarness({ dataDir, gmailConnect: connector, connections });
  cookie = await logIn(h);
});

afterEach(async () => {
  await fake.stop();
});

const post = (path: string, fields: Record<string, string>) => h.app.request(path, formPost(fields, { Cookie: cookie }));

describe('Settings › Connections › Gmail', () => {
  it('explains the Desktop client and the 7-day Testing limit, makes a consent link, and connects with the pasted address', async () => {
    const page = await (await h.app.request('/settings/connections/gmail/gmail-me', { headers: { Cookie: cookie } })).text();
    expect(page).toContain('Not connected yet.');
    expect(page).toContain('Desktop app');
    expect(page).toMatch(/Testing.*7 days/);
    // The client id comes from hearth.yaml, so only the secret is asked for.
    expect(page).not.toContain('name="clientId"');

    const started = await post('/settings/connections/gmail/gmail-me/start', { clientSecret: fake.clientSecret });
    expect(started.status).toBe(200);
    const text = await started.text();
    const consent = /href="([^"]+)" target="_blank"/.exec(text)![1]!.replace(/&amp;/g, '&');
    expect(consent.startsWith(fake.authUrl)).toBe(true);
    expect(text).not.toContain(fake.clientSecret);

    const pasted = fake.approve(consent);
    const finished = await post('/settings/connections/gmail/gmail-me/finish', { redirect: pasted });
    expect(finished.status).toBe(303);
    expect(finished.headers.get('location')).toBe('/settings/connections/gmail/gmail-me?connected=1');
    const token = (await secrets.value('gmail-me', 'refreshToken'))!;
    expect(fake.refreshTokens.has(token)).toBe(true);
    const after = await (await h.app.request('/settings/connections/gmail/gmail-me?connected=1', { headers: { Cookie: cookie } })).text();
    expect(after).toContain('<strong>Connected.</strong>');
    expect(after).not.toContain(token);
    expect(h.logs.join('\n')).not.toContain(token);
  });

  it('a wrong paste shows the reason on the page (400); without a session nothing happens', async () => {
    await post('/settings/connections/gmail/gmail-me/start', { clientSecret: fake.clientSecret });
    const bad = await post('/settings/connections/gmail/gmail-me/finish', { redirect: 'http://127.0.0.1:53682/?error=access_denied' });
    expect(bad.status).toBe(400);
    expect(await bad.text()).toContain('access was refused');
    const anonymous = await h.app.request('/settings/connections/gmail/gmail-me/start', formPost({ clientSecret: 'x' }));
    expect(anonymous.status).toBe(401);
    const unknown = await h.app.request('/settings/connections/gmail/nope', { headers: { Cookie: cookie, Origin: ORIGIN } });
    expect(unknown.status).toBe(400);
  });

  it('Settings › Connections lists the gmail connection, links to these steps instead of a paste form, and its Check uses the saved sign-in', async () => {
    const list = await (await h.app.request('/settings/connections', { headers: { Cookie: cookie } })).text();
    expect(list).toContain('gmail-me');
    expect(list).toContain('href="/settings/connections/gmail/gmail-me"');
    expect(list).not.toContain('name="refreshToken"');
    expect(list).toContain('needs a secret');
    await post('/settings/connections/gmail/gmail-me/start', { clientSecret: fake.clientSecret });
    const start = await (await post('/settings/connections/gmail/gmail-me/start', {})).text();
    const consent = /href="([^"]+)" target="_blank"/.exec(start)![1]!.replace(/&amp;/g, '&');
    await post('/settings/connections/gmail/gmail-me/finish', { redirect: fake.approve(consent) });
    const token = (await secrets.value('gmail-me', 'refreshToken'))!;
    const checked = await post('/settings/connections/gmail-me/check', {});
    expect(checked.status).toBe(200);
    const body = await checked.text();
    expect(body).toContain('connected: me@example.com');
    expect(body).toContain('set up');
    expect(body).not.toContain(token);
    expect(body).not.toContain(fake.clientSecret);
  });
});
