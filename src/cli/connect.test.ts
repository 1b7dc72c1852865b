import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FakeSlack } from '../integrations/slack/fake-slack.js';
import { connectCommand } from './connect.js';
import type { SecretInput } from './connect.js';
import type { CliContext } from './context.js';
import { CliFailure } from './errors.js';
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

async function connect(flags: Record<string, string | boolean>, values: string[] = []) {
  const stdout = new CapturedOutput();
  const stderr = new CapturedOutput();
  const asked: string[][] = [];
  const input: SecretInput = { read: async (labels) => (asked.push(labels), values) };
  const ctx: CliContext = { argv: [], env: {}, cwd: dir, stdout, stderr, fetch: () => { throw new Error('no network'); } };
  let code: number | Error;
  try {
    code = await connectCommand({ values: { config, ...flags }, positionals: ['slack-home'] }, ctx, input);
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
