import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ConnectionDef } from '../../config/types.js';
import { Connections } from '../../integrations/connect.js';
import { connectFlows } from '../../integrations/flows.js';
import { FakeSlack } from '../../integrations/slack/fake-slack.js';
import { SecretsStore } from '../../secrets/store.js';
import { dashboardHarness, formPost, logIn, type Harness } from './testing.js';

const TOKEN = 'xoxp-dashboard-secret-42';
let h: Harness;
let slack: FakeSlack;
let cookie: string;

beforeEach(async () => {
  slack = new FakeSlack({ token: TOKEN });
  await slack.start();
  const defs: Record<string, ConnectionDef> = { 'slack-home': { name: 'slack-home', type: 'slack', settings: { apiUrl: slack.url } } };
  const dataDir = await mkdtemp(join(tmpdir(), 'hearth-dash-'));
  const connections = new Connections({ connections: () => defs, secrets: new SecretsStore(dataDir), flows: connectFlows() });
  h = await dashboardHarness({ dataDir, connections });
  cookie = await logIn(h);
});

afterEach(async () => {
  await slack.stop();
  await rm(h.dataDir, { recursive: true, force: true });
});

describe('Settings › Connections', () => {
  it('lists the connections of hearth.yaml with their type, the scopes needed and what is saved', async () => {
    const page = await (await h.app.request('/settings/connections', { headers: { Cookie: cookie } })).text();
    expect(page).toContain('slack-home');
    expect(page).toContain('needs a secret');
    expect(page).toContain('channels:history');
    expect(await (await h.app.request('/settings', { headers: { Cookie: cookie } })).text()).toContain('href="/settings/connections"');
  });

  it('saves a pasted token, shows the check (workspace, scopes) and never shows the token again, nor logs it', async () => {
    const saved = await h.app.request('/settings/connections/slack-home', formPost({ token: TOKEN }, { Cookie: cookie }));
    expect(saved.status).toBe(200);
    const body = await saved.text();
    expect(body).toContain('connected: workspace Home (T001) as me, user token');
    expect(body).toContain('scopes granted: channels:read');
    expect(body).not.toContain(TOKEN);
    const page = await (await h.app.request('/settings/connections', { headers: { Cookie: cookie } })).text();
    expect(page).toContain('set up');
    expect(page).toMatch(/saved: <span class="mono">token<\/span>/);
    expect(page).not.toContain(TOKEN);
    expect(h.logs.join('\n')).toContain('connection secrets saved from the dashboard');
    expect(h.logs.join('\n')).not.toContain(TOKEN);
  });

  it('shows a refused token, needs a session, and forgets saved secrets', async () => {
    expect(await (await h.app.request('/settings/connections/slack-home', formPost({ token: 'xoxp-wrong' }, { Cookie: cookie }))).text()).toContain('Slack refused the token');
    expect((await h.app.request('/settings/connections/slack-home', formPost({ token: TOKEN }))).status).toBe(401);
    expect((await h.app.request('/settings/connections/slack-home/forget', formPost({}, { Cookie: cookie }))).status).toBe(303);
    expect(await (await h.app.request('/settings/connections', { headers: { Cookie: cookie } })).text()).toContain('nothing saved');
  });
});
