import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FakeGoogle } from '../integrations/gmail/fake-google.js';
import { FakeSlack } from '../integrations/slack/fake-slack.js';
import { SecretsStore } from '../secrets/store.js';
import { connectCommand } from './connect.js';
import type { SecretInput } from './connect.js';
import type { CliContext } from './context.js';
import { CliFailure } from './errors.js';
import { UsageError } from '../core/errors.js';
import { CapturedOutput } from './testing.js';

const TOKEN = 'xoxp-cli-secret-777';
let dir: string;
let slack: FakeSlack;
let config: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'hearth-connect-cli-'));
  slack = new FakeSlack({ token: TOKEN });
  await slack.start();
  config = join(dir, 'hearth.yaml');
  await writeFile(config, `dataDir: ./data\nconnections:\n  slack-home: { type: slack, apiUrl: "${slack.url}" }\njobs: {}\n`);
});

afterEach(async () => {
  await slack.stop();
  await rm(dir, { recursive: true, force: true });
});

async function connect(flags: Record<string, string | boolean>, values: string[] = [], name = 'slack-home') {
  const stdout = new CapturedOutput();
  const stderr = new CapturedOutput();
  const asked: string[][] = [];
  const input: SecretInput = { read: async (labels) => (asked.push(labels), values) };
  const ctx: CliContext = { argv: [], env: {}, cwd: dir, stdout, stderr, fetch: () => { throw new Error('no network'); } };
  let code: number | Error;
  try {
    code = await connectCommand({ values: { config, ...flags }, positionals: [name] }, ctx, input);
  } catch (error) {
    code = error as Error;
  }
  return { code, stdout: stdout.text, stderr: stderr.text, asked };
}

describe('hearth connect NAME', () => {
  it('reads the token, saves it 0600, checks it with auth.test and lists the scopes required and granted, never printing it', async () => {
    const result = await connect({}, [TOKEN]);
    expect(result.code).toBe(0);
    expect(result.asked).toEqual([['Token (xoxp-… user token, or xoxb-… bot token): ']]);
    expect(result.stderr).toContain('scopes needed: channels:read, channels:history, groups:read, groups:history, users:read');
    expect(result.stdout).toContain('ok: slack-home: connected: workspace Home (T001) as me, user token');
    expect(result.stdout).toContain('scopes granted: channels:read,');
    expect(result.stdout + result.stderr).not.toContain(TOKEN);
    expect((await stat(join(dir, 'data', 'secrets', 'slack-home.json'))).mode & 0o777).toBe(0o600);
    expect((await connect({ check: true })).code).toBe(0);
  });

  it('exits 1 with the reason when Slack refuses the token or scopes are missing; --forget deletes it', async () => {
    const refused = await connect({}, ['xoxp-revoked']);
    expect(refused.code).toBeInstanceOf(CliFailure);
    expect(refused.stdout).toContain('problem: slack-home: Slack refused the token (invalid_auth)');
    slack.scopes = ['channels:history'];
    await connect({}, [TOKEN]);
    const check = await connect({ check: true });
    expect(check.stdout).toContain('missing: channels:read, groups:read, groups:history, users:read');
    expect((await connect({ forget: true })).stdout).toContain('forgot the saved secrets of slack-home');
    await expect(stat(join(dir, 'data', 'secrets', 'slack-home.json'))).rejects.toThrow(/ENOENT/);
  });

  it('refuses an empty answer and an unknown connection', async () => {
    expect(String((await connect({}, [''])).code)).toMatch(/nothing given; nothing was saved/);
    await writeFile(config, 'dataDir: ./data\njobs: {}\n');
    expect(String((await connect({}, [TOKEN])).code)).toMatch(/no connection "slack-home" in .*hearth\.yaml; add one under connections:/);
  });
});

describe('hearth connect CHANNEL (a notification channel)', () => {
  const BOT = '7000001:telegram-bot-secret';

  it("saves the secret settings of the channel's type under its name, where the appliance reads them; --forget deletes them", async () => {
    await writeFile(config, 'dataDir: ./data\nnotify:\n  channels:\n    phone: { type: telegram, chatId: "42" }\njobs: {}\n');
    const result = await connect({}, [BOT], 'phone');
    expect(result.code).toBe(0);
    expect(result.asked).toEqual([['token (empty: leave as it is): ']]);
    expect(await new SecretsStore(join(dir, 'data')).get('phone')).toEqual({ token: BOT });
    expect((await stat(join(dir, 'data', 'secrets', 'phone.json'))).mode & 0o777).toBe(0o600);
    expect(result.stdout).toContain('saved token for the notification channel phone');
    expect(result.stdout).toContain('hearth notify test phone');
    expect(result.stdout + result.stderr).not.toContain(BOT);
    const check = await connect({ check: true }, [], 'phone');
    expect(check.code).toBe(0);
    expect(check.stdout).toContain('phone (telegram): saved: token');
    expect((await connect({ forget: true }, [], 'phone')).stdout).toContain('forgot the saved secrets of phone');
    await expect(stat(join(dir, 'data', 'secrets', 'phone.json'))).rejects.toThrow(/ENOENT/);
  });

  it('names both connections and channels when NAME is neither', async () => {
    await writeFile(config, 'dataDir: ./data\nnotify:\n  channels:\n    phone: { type: ntfy, url: "http://127.0.0.1:9/t" }\njobs: {}\n');
    expect(String((await connect({}, [BOT], 'nope')).code)).toMatch(/no connection or notification channel "nope" in .*hearth\.yaml \(it has: phone\)/);
  });
});

describe('hearth connect NAME (gmail)', () => {
  let fake: FakeGoogle;

  beforeEach(async () => {
    fake = await new FakeGoogle().start();
    await writeFile(config, `dataDir: ./data
jobs: {}
connections:
  gmail-me:
    type: gmail
    clientId: ${fake.clientId}
    apiUrl: ${fake.apiUrl}
    tokenUrl: ${fake.tokenUrl}
    authUrl: ${fake.authUrl}
`);
  });

  afterEach(async () => {
    await fake.stop();
  });

  function context(): CliContext & { stdout: CapturedOutput; stderr: CapturedOutput } {
    return { argv: [], env: {}, cwd: dir, stdout: new CapturedOutput(), stderr: new CapturedOutput(), fetch: () => { throw new Error('no network'); } };
  }

  it('asks for the missing secret, prints the consent link, takes the pasted 127.0.0.1 address, saves the refresh token and checks it', async () => {
    const ctx = context();
    const asked: string[] = [];
    const input: SecretInput = {
      read: async (labels) =>
        labels.map((label) => {
          asked.push(label);
          if (label.startsWith('Client secret')) return fake.clientSecret;
          const url = /^(http:\/\/127\.0\.0\.1:\d+\/o\/oauth2\/v2\/auth\?\S+)$/m.exec(ctx.stdout.text)![1]!;
          return fake.approve(url);
        }),
    };
    const code = await connectCommand({ values: { config }, positionals: ['gmail-me'] }, ctx, input);
    expect(code).toBe(0);
    expect(asked).toEqual(['Client secret: ', 'Paste the http://127.0.0.1… address the browser then failed to open: ']);
    expect(ctx.stdout.text).toContain('7 days');
    expect(ctx.stdout.text).toMatch(/Connected: the refresh token is saved in .*secrets\/gmail-me\.json/);
    expect(ctx.stdout.text).toContain('ok: gmail-me: connected: me@example.com');
    const token = await new SecretsStore(join(dir, 'data')).value('gmail-me', 'refreshToken');
    expect(fake.refreshTokens.has(token!)).toBe(true);
    expect(ctx.stdout.text + ctx.stderr.text).not.toContain(token!);
    expect(ctx.stdout.text + ctx.stderr.text).not.toContain(fake.clientSecret);
  });

  it('--check says when Google refuses the saved refresh token; --forget deletes it', async () => {
    await new SecretsStore(join(dir, 'data')).set('gmail-me', { clientSecret: fake.clientSecret, refreshToken: fake.issueRefreshToken() });
    const ok = context();
    expect(await connectCommand({ values: { config, check: true }, positionals: ['gmail-me'] }, ok)).toBe(0);
    expect(ok.stdout.text).toContain('ok: gmail-me: connected: me@example.com');
    fake.revokeAll();
    const refused = context();
    await expect(connectCommand({ values: { config, check: true }, positionals: ['gmail-me'] }, refused)).rejects.toThrow(CliFailure);
    expect(refused.stdout.text).toContain('problem: gmail-me: Google refused the refresh token (invalid_grant)');
    const forgot = context();
    await connectCommand({ values: { config, forget: true }, positionals: ['gmail-me'] }, forgot);
    expect(forgot.stdout.text).toContain('forgot the saved secrets of gmail-me (hearth.yaml still sets clientId)');
    await expect(stat(join(dir, 'data', 'secrets', 'gmail-me.json'))).rejects.toThrow(/ENOENT/);
  });

  it('names the connections there are when NAME is unknown', async () => {
    const ctx = context();
    const none: SecretInput = { read: async (labels) => labels.map(() => '') };
    await expect(connectCommand({ values: { config }, positionals: ['gmail-you'] }, ctx, none)).rejects.toThrow(UsageError);
    await expect(connectCommand({ values: { config }, positionals: ['gmail-you'] }, ctx, none)).rejects.toThrow(/it has: gmail-me/);
  });
});
