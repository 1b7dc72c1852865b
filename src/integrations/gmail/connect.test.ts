import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { systemClock } from '../../core/clock.js';
import { UsageError } from '../../core/errors.js';
import type { ConnectionDef } from '../../config/types.js';
import { SecretsStore } from '../../secrets/store.js';
import { createGmailConnector, GMAIL_SCOPE, parseRedirect } from './connect.js';
import { FakeGoogle } from './fake-google.js';
import { openGoogleGmail } from './google.js';

let fake: FakeGoogle;
let dir: string;
let secrets: SecretsStore;
let settings: Record<string, string>;

beforeEach(async () => {
  fake = await new FakeGoogle().start();
  dir = await mkdtemp(join(tmpdir(), 'hearth-gmail-connect-'));
  secrets = new SecretsStore(dir);
  settings = { apiUrl: fake.apiUrl, tokenUrl: fake.tokenUrl, authUrl: fake.authUrl };
});

afterEach(async () => {
  await fake.stop();
  await rm(dir, { recursive: true, force: true });
});

const connector = () => createGmailConnector({ connections: (): Record<string, ConnectionDef> => ({ 'gmail-me': { name: 'gmail-me', type: 'gmail', settings } }), secrets });

describe('connecting Gmail with a Desktop client, PKCE and a pasted 127.0.0.1 address', () => {
  it('builds the consent URL, exchanges the pasted redirect (PKCE checked by the fake) and saves a refresh token that works', async () => {
    const gmail = connector();
    expect(await gmail.status('gmail-me')).toMatchObject({ connected: false, pending: false, hasClientSecret: false });
    const { url, redirectUri } = await gmail.begin('gmail-me', { clientId: fake.clientId, clientSecret: fake.clientSecret });
    const consent = new URL(url);
    expect(`${consent.origin}${consent.pathname}`).toBe(fake.authUrl);
    expect(Object.fromEntries(consent.searchParams)).toMatchObject({
      client_id: fake.clientId,
      redirect_uri: redirectUri,
      access_type: 'offline',
      prompt: 'consent',
      scope: GMAIL_SCOPE,
      code_challenge_method: 'S256',
      response_type: 'code',
    });
    expect(redirectUri).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(await gmail.status('gmail-me')).toMatchObject({ pending: true, connected: false, hasClientSecret: true, clientId: fake.clientId });

    // The phone approves; its browser fails to load 127.0.0.1; the person pastes that address.
    const pasted = fake.approve(url);
    await gmail.finish('gmail-me', `  ${pasted}\n`);
    const saved = await secrets.get('gmail-me');
    expect(fake.refreshTokens.has(saved.refreshToken!)).toBe(true);
    expect(Object.keys(saved).sort()).toEqual(['clientId', 'clientSecret', 'refreshToken']);
    expect(await gmail.status('gmail-me')).toMatchObject({ connected: true, pending: false });
    // The saved token is one the Gmail client can use.
    const api = await openGoogleGmail({ clientId: fake.clientId, clientSecret: saved.clientSecret!, refreshToken: saved.refreshToken!, apiUrl: fake.apiUrl, tokenUrl: fake.tokenUrl }, () => systemClock.now());
    expect((await api.profile()).emailAddress).toBe('me@example.com');
    // Secrets files are private.
    const mode = (await import('node:fs')).statSync(join(dir, 'secrets', 'gmail-me.json')).mode & 0o777;
    expect(mode).toBe(0o600);
  });

  it('the fake refuses a code exchanged with the wrong verifier (the PKCE check is real)', async () => {
    const gmail = connector();
    const { url } = await gmail.begin('gmail-me', { clientId: fake.clientId, clientSecret: fake.clientSecret });
    const pasted = fake.approve(url);
    await secrets.set('gmail-me', { pkceVerifier: 'x'.repeat(64) });
    await expect(gmail.finish('gmail-me', pasted)).rejects.toThrow(/did not accept the code \(invalid_grant: Invalid code verifier/);
    expect(await secrets.value('gmail-me', 'refreshToken')).toBeUndefined();
  });

  it('refuses an address from another attempt, a refusal on the consent page, and an address without a code', async () => {
    const gmail = connector();
    const first = await gmail.begin('gmail-me', { clientId: fake.clientId, clientSecret: fake.clientSecret });
    const stale = fake.approve(first.url);
    await gmail.begin('gmail-me');
    await expect(gmail.finish('gmail-me', stale)).rejects.toThrow(/another attempt/);
    await expect(gmail.finish('gmail-me', 'http://127.0.0.1:53682/?error=access_denied&state=x')).rejects.toThrow(/access_denied/);
    await expect(gmail.finish('gmail-me', 'http://127.0.0.1:53682/')).rejects.toThrow(/no code=/);
    expect(() => parseRedirect('')).toThrow(UsageError);
    expect(parseRedirect('state=s&code=4/abc')).toEqual({ code: '4/abc', state: 's' });
  });

  it('needs a client id and secret before it can make a consent link, and names an unknown connection', async () => {
    const gmail = connector();
    await expect(gmail.begin('gmail-me')).rejects.toThrow(/no client ID/);
    await expect(gmail.status('nope')).rejects.toThrow(/no connection "nope" in hearth.yaml/);
  });

  it('never writes the refresh token anywhere but the secrets file', async () => {
    const gmail = connector();
    const { url } = await gmail.begin('gmail-me', { clientId: fake.clientId, clientSecret: fake.clientSecret });
    await gmail.finish('gmail-me', fake.approve(url));
    const token = (await secrets.value('gmail-me', 'refreshToken'))!;
    expect(JSON.stringify(await gmail.status('gmail-me'))).not.toContain(token);
    expect(await readFile(join(dir, 'secrets', 'gmail-me.json'), 'utf8')).toContain(token);
  });
});
