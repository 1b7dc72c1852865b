import { afterEach, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import type { Run } from '../../src/runs/model.js';
import { FakeSlack } from '../../src/integrations/slack/fake-slack.js';
import { baseConfig, fileLines, freePort, startHearth, tempDir, type HearthProcess } from '../helpers/hearth-process.js';

// The real hearth process, the real @slack/web-api client, a fake Slack on 127.0.0.1.

const TOKEN = 'xoxp-integration-secret';
let running: HearthProcess | undefined;
let slack: FakeSlack | undefined;

afterEach(async () => {
  await running?.stop('SIGKILL');
  running = undefined;
  await slack?.stop();
  slack = undefined;
});

function config(port: number, apiUrl: string, extra = ''): string {
  return `${baseConfig(port, `
  slack:
    action: ingest.slack
    with: { connection: slack-home, channels: [general], pageSize: 5, batchPages: 2, perMinute: 600${extra} }
`)}
knowledge: { embedder: hashing }
connections:
  slack-home: { type: slack, token: \${SLACK_TOKEN}, apiUrl: "${apiUrl}" }
`;
}

async function finished(hearth: HearthProcess, runId: string): Promise<Run> {
  return hearth.waitFor('the run to finish', async () => {
    const { body: run } = await hearth.api<Run>(`/api/runs/${runId}`);
    return run.status === 'succeeded' || run.status === 'failed' ? run : undefined;
  }, 60_000);
}

describe('ingest.slack in the real process', () => {
  it('resumes a channel from the last stored page after kill -9, fetching no stored page again, then finds the messages with hearth search', async () => {
    const dir = tempDir();
    const port = await freePort();
    slack = new FakeSlack({ token: TOKEN });
    const apiUrl = await slack.start();
    slack.addChannel('C001', 'general');
    slack.addUser('U1', 'alice');
    const now = Date.now();
    for (let i = 0; i < 60; i++) slack.post('C001', { ts: `${Math.floor(now / 1000) - 3600 + i * 30}.000100`, user: 'U1', text: `entry ${i} word${i}x` });
    let historyAnswers = 0;
    let hearth: HearthProcess;
    slack.onRequest = (request) => {
      if (request.method === 'conversations.history' && ++historyAnswers === 6) hearth.child.kill('SIGKILL');
    };
    const cfg = config(port, apiUrl);
    hearth = await startHearth({ dir, port, config: cfg, env: { SLACK_TOKEN: TOKEN } });
    running = hearth;
    const { body } = await hearth.api<{ runId: string }>('/api/jobs/slack/run', { method: 'POST' });
    await new Promise<void>((resolve) => hearth.child.once('exit', () => resolve()));
    const killedAt = slack.requests.length;
    slack.onRequest = undefined;

    hearth = await startHearth({ dir, port, config: cfg, env: { SLACK_TOKEN: TOKEN } });
    running = hearth;
    const run = await finished(hearth, body.runId);
    expect(run.status).toBe('succeeded');
    const after = slack.requests.slice(killedAt).filter((r) => r.method === 'conversations.history');
    // 60 messages, 5 a page, stored two pages at a time: the kill came after page 6, so pages 1-4 were stored
    // and are not asked again; 5 and 6 (fetched, not stored) are.
    expect(after[0]!.params.cursor).toBeTruthy();
    expect(historyAnswers - 1 + after.length).toBeLessThanOrEqual(13);
    const raw = fileLines(join(dir, 'data', 'knowledge', 'raw', 'slack', 'T001', 'C001', new Date((Math.floor(now / 1000) - 3600) * 1000).toISOString().slice(0, 10) + '.jsonl'));
    const day2 = fileLines(join(dir, 'data', 'knowledge', 'raw', 'slack', 'T001', 'C001', new Date((Math.floor(now / 1000) - 3600 + 59 * 30) * 1000).toISOString().slice(0, 10) + '.jsonl'));
    const lines = raw === day2 ? raw : [...new Set([...raw, ...day2])];
    expect(new Set(lines.map((line) => (JSON.parse(line) as { ts: string }).ts)).size).toBe(60);
    expect(lines).toHaveLength(60);
    const { body: found } = await hearth.api<{ hits: Array<{ author: string; title: string; url: string; snippet: string }> }>('/api/search?q=word17x&source=slack');
    expect(found.hits[0]).toMatchObject({ author: 'alice' });
    expect(found.hits[0]!.snippet).toContain('word17x');
    expect(found.hits[0]!.url).toMatch(/^https:\/\/fake\.slack\.com\/archives\/C001\/p/);
    const { body: log } = await hearth.api<string>(`/api/runs/${body.runId}/logs`);
    expect(log).toMatch(/channel 1 of 1 \(#general\): resuming after page \d+/);
    expect(hearth.output()).not.toContain(TOKEN);
    expect(log).not.toContain(TOKEN);
  });

  it('parks the run for a 429 and, restarted during the back-off, asks nothing before the time Slack named', async () => {
    const dir = tempDir();
    const port = await freePort();
    slack = new FakeSlack({ token: TOKEN });
    const apiUrl = await slack.start();
    slack.addChannel('C001', 'general');
    const now = Date.now();
    for (let i = 0; i < 12; i++) slack.post('C001', { ts: `${Math.floor(now / 1000) - 600 + i}.000100`, text: `note ${i}` });
    let history = 0;
    slack.onRequest = (request) => {
      if (request.method === 'conversations.history' && request.status === 200 && ++history === 1) slack!.rateLimit('conversations.history', 4);
    };
    const cfg = config(port, apiUrl);
    let hearth = await startHearth({ dir, port, config: cfg, env: { SLACK_TOKEN: TOKEN } });
    running = hearth;
    const { body } = await hearth.api<{ runId: string }>('/api/jobs/slack/run', { method: 'POST' });
    await hearth.waitFor('the run to park', async () => ((await hearth.api<Run>(`/api/runs/${body.runId}`)).body.status === 'waiting' ? true : undefined));
    const limited = slack.requests.find((r) => r.status === 429)!;
    await hearth.stop('SIGKILL');
    const seen = slack.requests.length;
    hearth = await startHearth({ dir, port, config: cfg, env: { SLACK_TOKEN: TOKEN } });
    running = hearth;
    const run = await finished(hearth, body.runId);
    expect(run.status).toBe('succeeded');
    const later = slack.requests.slice(seen).filter((r) => r.method.startsWith('conversations.history'));
    expect(later.length).toBeGreaterThan(0);
    for (const request of later) expect(request.at).toBeGreaterThanOrEqual(limited.at + 4000);
    expect(later[0]!.params.cursor).toBeTruthy();
    expect(slack.requests.filter((r) => r.status === 429)).toHaveLength(1);
    const { body: log } = await hearth.api<string>(`/api/runs/${body.runId}/logs`);
    expect(log).toContain("waiting 4 s for Slack's rate limit");
  });

  it('fails the run with a clear message when Slack refuses the token', async () => {
    const dir = tempDir();
    const port = await freePort();
    slack = new FakeSlack({ token: 'xoxp-the-real-one' });
    const apiUrl = await slack.start();
    const hearth = await startHearth({ dir, port, config: config(port, apiUrl), env: { SLACK_TOKEN: TOKEN } });
    running = hearth;
    const { body } = await hearth.api<{ runId: string }>('/api/jobs/slack/run', { method: 'POST' });
    const run = await finished(hearth, body.runId);
    expect(run.status).toBe('failed');
    expect(run.error).toMatch(/Slack refused the token \(invalid_auth\) on auth\.test: it was revoked or is wrong/);
    expect(Object.values(run.tasks).map((task) => task.attempts)).toEqual([1]);
  });
});
