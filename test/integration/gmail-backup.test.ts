import { afterEach, describe, expect, it } from 'vitest';
import { readdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { Run } from '../../src/runs/model.js';
import { FakeGoogle, sampleMessage } from '../../src/integrations/gmail/fake-google.js';
import { baseConfig, freePort, startHearth, tempDir, type HearthProcess } from '../helpers/hearth-process.js';

let running: HearthProcess | undefined;
let fake: FakeGoogle | undefined;
afterEach(async () => {
  await running?.stop('SIGKILL');
  running = undefined;
  await fake?.stop();
  fake = undefined;
});

function emlFiles(dir: string): Map<string, string> {
  const found = new Map<string, string>();
  let names: string[] = [];
  try {
    names = readdirSync(dir, { recursive: true }) as string[];
  } catch {
    return found;
  }
  for (const name of names) if (name.endsWith('.eml') && !name.split('/').pop()!.startsWith('.')) found.set(name.split('/').pop()!.slice(0, -4), name);
  return found;
}

describe('gmail.backup in the real appliance', () => {
  it('resumes a full sync after kill -9 without fetching a stored message again', async () => {
    fake = await new FakeGoogle({ getDelayMs: 15 }).start();
    const ids: string[] = [];
    for (let i = 0; i < 240; i++) ids.push(fake.addMessage(sampleMessage(i), { date: Date.UTC(2025, i % 12, 1 + (i % 28), 9) }));
    const dir = tempDir('hearth-gmail-it-');
    const port = await freePort();
    const mail = join(dir, 'data', 'mail');
    const config = `${baseConfig(port, `
  mail-backup:
    action: gmail.backup
    with: { connection: gmail-me, dir: mail, quota: 1000000, index: false }
`)}
connections:
  gmail-me:
    type: gmail
    clientId: ${fake.clientId}
    clientSecret: \${GMAIL_CLIENT_SECRET}
    refreshToken: \${GMAIL_REFRESH_TOKEN}
    apiUrl: ${fake.apiUrl}
    tokenUrl: ${fake.tokenUrl}
`;
    const env = { GMAIL_CLIENT_SECRET: fake.clientSecret, GMAIL_REFRESH_TOKEN: fake.issueRefreshToken() };
    let hearth = await startHearth({ dir, port, config, env });
    running = hearth;
    const { body } = await hearth.api<{ runId: string }>('/api/jobs/mail-backup/run', { method: 'POST' });
    await hearth.waitFor('a third of the mailbox on disk', () => (emlFiles(mail).size >= 80 ? true : undefined), 60_000);
    expect(await hearth.stop('SIGKILL')).toBe(null);
    const storedAtKill = emlFiles(mail);
    expect(storedAtKill.size).toBeLessThan(ids.length);
    const rawGets = () => fake!.requests.filter((r) => /\/messages\/[^/]+$/.test(r.path) && r.query.format === 'raw').map((r) => r.path.split('/').pop()!);
    const before = rawGets().length;

    hearth = await startHearth({ dir, port, config, env });
    running = hearth;
    const done = await hearth.waitFor('the run to finish', async () => {
      const { body: run } = await hearth.api<Run>(`/api/runs/${body.runId}`);
      return run.status === 'succeeded' || run.status === 'failed' ? run : undefined;
    }, 60_000);
    const { body: log } = await hearth.api<string>(`/api/runs/${body.runId}/logs`);
    expect(done.status, log).toBe('succeeded');
    const refetched = rawGets().slice(before).filter((id) => storedAtKill.has(id));
    expect(refetched).toEqual([]);
    const files = emlFiles(mail);
    expect(files.size).toBe(ids.length);
    for (const id of ids) expect(readFileSync(join(mail, files.get(id)!)).equals(fake.messages.get(id)!.raw)).toBe(true);
    // The bundled appliance loads sql.js and writes GYB's index of every stored message.
    const { default: initSqlJs } = await import('sql.js');
    const gyb = new (await initSqlJs()).Database(readFileSync(join(mail, 'msg-db.sqlite')));
    expect(gyb.exec('SELECT count(*) FROM messages')[0]!.values[0]![0]).toBe(ids.length);
    gyb.close();
    expect(log).toMatch(/continuing the full sync an earlier run began/);
    expect(log).toMatch(/240 of 240 messages|of \d+ messages/);
  }, 120_000);

  it('a refused Gmail token asks "reconnect" in the inbox and sends it as a notification', async () => {
    fake = await new FakeGoogle().start();
    const refreshToken = fake.issueRefreshToken();
    fake.revokeAll();
    const received: Array<{ kind: string; title: string }> = [];
    const receiver = createServer((req, res) => {
      let text = '';
      req.on('data', (chunk: Buffer) => (text += chunk.toString()));
      req.on('end', () => {
        received.push(JSON.parse(text) as { kind: string; title: string });
        res.writeHead(200).end('{}');
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    try {
      const dir = tempDir('hearth-gmail-grant-');
      const port = await freePort();
      const config = `${baseConfig(port, `
  mail-backup:
    action: gmail.backup
    with: { connection: gmail-me, dir: mail, index: false }
`)}
connections:
  gmail-me:
    type: gmail
    clientId: ${fake.clientId}
    clientSecret: \${GMAIL_CLIENT_SECRET}
    refreshToken: \${GMAIL_REFRESH_TOKEN}
    apiUrl: ${fake.apiUrl}
    tokenUrl: ${fake.tokenUrl}
notify:
  channels:
    hook: { type: webhook, url: "http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hearth" }
  quiet: 1m
`;
      running = await startHearth({ dir, port, config, env: { GMAIL_CLIENT_SECRET: fake.clientSecret, GMAIL_REFRESH_TOKEN: refreshToken } });
      const { body } = await running.api<{ runId: string }>('/api/jobs/mail-backup/run', { method: 'POST' });
      await running.waitFor('the run to fail', async () => ((await running!.api<Run>(`/api/runs/${body.runId}`)).body.status === 'failed' ? true : undefined), 30_000);
      const questions = (await running.api<{ questions: Array<{ prompt: string }> }>('/api/inbox')).body.questions;
      expect(questions.map((q) => q.prompt).join('\n')).toMatch(/reconnect/i);
      // Both are sent, each on its own: the question when it is asked, the failure when the run ends.
      await running.waitFor('the input and failure notifications', () => (received.length >= 2 ? true : undefined), 30_000);
      expect(received.map((n) => n.kind).sort()).toEqual(['failure', 'input']);
      expect(JSON.stringify(received)).not.toContain(refreshToken);
    } finally {
      receiver.close();
    }
  }, 60_000);
});
