import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { UsageError } from '../core/errors.js';
import { FakeGoogle } from '../integrations/gmail/fake-google.js';
import { SecretsStore } from '../secrets/store.js';
import { connectCommand } from './connect.js';
import type { CliContext } from './context.js';
import { CapturedOutput } from './testing.js';

let fake: FakeGoogle;
let dir: string;

beforeEach(async () => {
  fake = await new FakeGoogle().start();
  dir = mkdtempSync(join(tmpdir(), 'hearth-connect-cli-'));
  writeFileSync(join(dir, 'hearth.yaml'), `dataDir: ./data
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

describe('hearth connect NAME (gmail)', () => {
  it('asks for the missing secret, prints the consent link, takes the pasted 127.0.0.1 address and saves the refresh token', async () => {
    const ctx = context();
    const asked: string[] = [];
    const input = {
      ask: async (prompt: string) => {
        asked.push(prompt);
        if (prompt.startsWith('Client secret')) return fake.clientSecret;
        const url = /^(http:\/\/127\.0\.0\.1:\d+\/o\/oauth2\/v2\/auth\?\S+)$/m.exec(ctx.stdout.text)![1]!;
        return fake.approve(url);
      },
    };
    const code = await connectCommand({ values: { config: join(dir, 'hearth.yaml') }, positionals: ['gmail-me'] }, ctx, input);
    expect(code).toBe(0);
    expect(asked).toEqual(['Client secret: ', 'Paste the http://127.0.0.1… address the browser then failed to open: ']);
    expect(ctx.stdout.text).toContain('7 days');
    expect(ctx.stdout.text).toMatch(/Connected: the refresh token is saved in .*secrets\/gmail-me\.json/);
    const token = await new SecretsStore(join(dir, 'data')).value('gmail-me', 'refreshToken');
    expect(fake.refreshTokens.has(token!)).toBe(true);
    expect(ctx.stdout.text + ctx.stderr.text).not.toContain(token!);
  });

  it('names the connections there are when NAME is unknown', async () => {
    const ctx = context();
    await expect(connectCommand({ values: { config: join(dir, 'hearth.yaml') }, positionals: ['gmail-you'] }, ctx, { ask: async () => '' })).rejects.toThrow(UsageError);
    await expect(connectCommand({ values: { config: join(dir, 'hearth.yaml') }, positionals: ['gmail-you'] }, ctx, { ask: async () => '' })).rejects.toThrow(/connections: gmail-me/);
  });
});
