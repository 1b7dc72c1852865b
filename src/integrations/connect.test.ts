import { mkdtemp, rm, stat, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ConnectionDef } from '../config/types.js';
import { NotFoundError } from '../core/errors.js';
import { SecretsStore } from '../secrets/store.js';
import { Connections } from './connect.js';
import type { ConnectFlow } from './connect.js';
import { connectFlows } from './flows.js';
import { FakeSlack } from './slack/fake-slack.js';

let dir: string;
let slack: FakeSlack;
let defs: Record<string, ConnectionDef>;
let connections: Connections;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'hearth-connect-'));
  slack = new FakeSlack({ token: 'xoxp-secret-value-123' });
  await slack.start();
  defs = { 'slack-home': { name: 'slack-home', type: 'slack', settings: { apiUrl: slack.url } } };
  connections = new Connections({ connections: () => defs, secrets: new SecretsStore(dir), flows: connectFlows() });
});

afterEach(async () => {
  await slack.stop();
  await rm(dir, { recursive: true, force: true });
});

describe('Connections (the shared connect flow)', () => {
  it('lists connections from the config with their type and which secrets are saved, names only', async () => {
    expect(await connections.list()).toMatchObject([{ name: 'slack-home', type: 'slack', saved: [], fromConfig: [], ready: false }]);
    await connections.save('slack-home', { token: 'xoxp-secret-value-123' });
    const [info] = await connections.list();
    expect(info).toMatchObject({ saved: ['token'], ready: true });
    expect(info!.description.scopes).toContain('channels:history');
    expect(JSON.stringify(await connections.list())).not.toContain('xoxp-secret-value-123');
  });

  it('saves a Slack token to the secrets store (0600) and checks it with auth.test: workspace, scopes required and granted', async () => {
    const check = await connections.save('slack-home', { token: ' xoxp-secret-value-123 ' });
    expect(check).toMatchObject({ ok: true, missingScopes: [] });
    expect(check.summary).toBe('connected: workspace Home (T001) as me, user token');
    expect(check.details[0]).toMatch(/^scopes required: channels:read, channels:history/);
    const file = join(dir, 'secrets', 'slack-home.json');
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect(JSON.parse(await readFile(file, 'utf8'))).toEqual({ token: 'xoxp-secret-value-123' });
    expect(slack.calls('auth.test')).toHaveLength(1);
  });

  it('names the scopes a token lacks', async () => {
    slack.scopes = ['channels:read', 'channels:history'];
    const check = await connections.save('slack-home', { token: 'xoxp-secret-value-123' });
    expect(check.ok).toBe(false);
    expect(check.missingScopes).toEqual(['groups:read', 'groups:history', 'users:read']);
    expect(check.details.join('\n')).toContain('missing: groups:read, groups:history, users:read');
  });

  it('says when Slack refuses the token, and a value from hearth.yaml wins over a saved one', async () => {
    expect((await connections.save('slack-home', { token: 'xoxp-wrong' })).summary).toMatch(/refused the token \(invalid_auth\)/);
    defs['slack-home']!.settings.token = 'xoxp-secret-value-123';
    expect((await connections.check('slack-home')).ok).toBe(true);
    expect((await connections.resolve('slack-home')).values.token).toBe('xoxp-secret-value-123');
    expect((await connections.get('slack-home')).fromConfig).toEqual(['token']);
  });

  it('refuses fields the type does not take and unknown connections; forget deletes the saved secrets', async () => {
    await expect(connections.save('slack-home', { password: 'x' })).rejects.toThrow(/has no field "password"; it takes token/);
    await expect(connections.save('nope', { token: 'x' })).rejects.toBeInstanceOf(NotFoundError);
    await connections.save('slack-home', { token: 'xoxp-secret-value-123' });
    await connections.forget('slack-home');
    expect((await connections.get('slack-home')).saved).toEqual([]);
    expect((await connections.check('slack-home')).summary).toBe('not set up: token missing');
  });

  it("lets a type's flow turn what was pasted into what is saved (an OAuth code exchanged for a refresh token)", async () => {
    const exchanged: string[] = [];
    const flow: ConnectFlow = {
      type: 'gmail',
      describe: () => ({ type: 'gmail', summary: 'mail', fields: [{ key: 'code', label: 'Code', secret: true }, { key: 'refreshToken', label: 'Refresh token', secret: true, optional: true }], help: [], scopes: [] }),
      prepare: async (_def, values) => (exchanged.push(values.code!), { refreshToken: `rt-for-${values.code}` }),
      check: async (_def, values) => ({ ok: Boolean(values.refreshToken), summary: 'checked', details: [], missingScopes: [] }),
    };
    defs['gmail-me'] = { name: 'gmail-me', type: 'gmail', settings: {} };
    const withGmail = new Connections({ connections: () => defs, secrets: new SecretsStore(dir), flows: [...connectFlows(), flow] });
    await withGmail.save('gmail-me', { code: '4/abc' });
    expect(exchanged).toEqual(['4/abc']);
    expect(await new SecretsStore(dir).get('gmail-me')).toEqual({ refreshToken: 'rt-for-4/abc' });
  });
});
