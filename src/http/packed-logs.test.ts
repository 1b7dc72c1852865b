import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../core/logger.js';
import { RunLogs } from '../engine/run-logs.js';
import { job, task, testEngine, type TestEngine } from '../engine/testing.js';
import { CapturedOutput } from '../cli/testing.js';
import { runCli } from '../cli/cli.js';
import { createApiApp } from './app.js';
import { createTokenCheck } from './token.js';

/**
 * A small run's log moves into the day's pack when the run finishes
 * (engine/log-packs.ts). Every way of reading it must not notice: the API's
 * text (whole, Range, ?tail, ?download), its event stream, the dashboard's
 * tail and `hearth logs` (plain, --tail, -f), before and after a restart.
 */
const TOKEN = 'packed-logs-token';
const AUTH = { Authorization: `Bearer ${TOKEN}` };
const dirs: string[] = [];
let t: TestEngine | undefined;

afterEach(async () => {
  await t?.engine.stop();
  t = undefined;
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

async function finishedRun(logsDir: string): Promise<{ runId: string; text: string }> {
  t = await testEngine({
    jobs: [job('greet', [task('main', 'greet')])],
    scripts: { greet: { lines: ['hello from greet', 'ünïcode ✓', 'bye'] } },
    logsDir,
  });
  const run = await t.engine.triggerJob('greet', 'manual');
  for (let i = 0; i < 50 && (await t.store.getRun(run.id))?.status !== 'succeeded'; i++) await t.clock.advance(10);
  expect((await t.store.getRun(run.id))?.status).toBe('succeeded');
  await t.logs.closeAll(); // waits for the pack
  expect(existsSync(join(logsDir, `${run.id}.log`))).toBe(false);
  expect(readdirSync(join(logsDir, 'packs'))).toHaveLength(2);
  return { runId: run.id, text: await t.logs.read(run.id) };
}

async function everyReader(runId: string, text: string): Promise<void> {
  const app = createApiApp({ appliance: t!.engine, auth: createTokenCheck([TOKEN]), logger: silentLogger, clock: t!.clock });
  const lines = text.split('\n').slice(0, -1);
  expect(lines.length).toBeGreaterThanOrEqual(5);
  expect(text).toMatch(/\[main\] hello from greet\n.*\[main\] ünïcode ✓\n/);

  const whole = await app.request(`/api/runs/${runId}/logs`, { headers: AUTH });
  expect(whole.status).toBe(200);
  expect(whole.headers.get('content-length')).toBe(String(Buffer.byteLength(text)));
  expect(await whole.text()).toBe(text);

  const range = await app.request(`/api/runs/${runId}/logs`, { headers: { ...AUTH, Range: 'bytes=5-60' } });
  expect(range.status).toBe(206);
  expect(range.headers.get('content-range')).toBe(`bytes 5-60/${Buffer.byteLength(text)}`);
  expect(Buffer.from(await range.arrayBuffer())).toEqual(Buffer.from(text).subarray(5, 61));

  const tail = await app.request(`/api/runs/${runId}/logs?tail=2`, { headers: AUTH });
  expect(await tail.text()).toBe(lines.slice(-2).join('\n') + '\n');
  // The dashboard's log view asks for its last 5000 lines.
  expect(await (await app.request(`/api/runs/${runId}/logs?tail=5000`, { headers: AUTH })).text()).toBe(text);

  const download = await app.request(`/api/runs/${runId}/logs?download`, { headers: AUTH });
  expect(download.headers.get('content-disposition')).toBe(`attachment; filename="${runId}.log"`);
  expect(await download.text()).toBe(text);

  const events = await app.request(`/api/runs/${runId}/logs`, { headers: { ...AUTH, Accept: 'text/event-stream' } });
  const expected = lines.map((line) => `event: line\ndata: ${line}\n\n`).join('') + 'event: end\ndata: {"status":"succeeded"}\n\n';
  expect(await events.text()).toBe(expected);

  const cli = async (argv: string[]) => {
    const stdout = new CapturedOutput();
    const stderr = new CapturedOutput();
    const code = await runCli({
      argv,
      env: { HEARTH_URL: 'http://hearth.test:8080', HEARTH_TOKEN: TOKEN, TZ: 'UTC' },
      cwd: '/nonexistent',
      stdout,
      stderr,
      fetch: async (url, init) => await app.request(url, init),
      sleep: async () => {},
      now: () => t!.clock.now(),
    });
    return { code, stdout: stdout.text, stderr: stderr.text };
  };
  expect(await cli(['logs', runId])).toEqual({ code: 0, stdout: text, stderr: '' });
  expect(await cli(['logs', runId, '--tail', '3'])).toEqual({ code: 0, stdout: lines.slice(-3).join('\n') + '\n', stderr: '' });
  expect(await cli(['logs', runId, '-f'])).toEqual({ code: 0, stdout: text, stderr: '' });
}

describe('a small run log after it moved into the day pack', () => {
  it('reads back identically through the API, its event stream, the dashboard tail and hearth logs', async () => {
    const logsDir = mkdtempSync(join(tmpdir(), 'hearth-packed-'));
    dirs.push(logsDir);
    const { runId, text } = await finishedRun(logsDir);
    await everyReader(runId, text);
  });

  it('reads back identically after a restart', async () => {
    const logsDir = mkdtempSync(join(tmpdir(), 'hearth-packed-'));
    dirs.push(logsDir);
    const { runId, text } = await finishedRun(logsDir);
    const { store, clock } = t!;
    await t!.engine.stop();
    t = await testEngine({ jobs: [job('greet', [task('main', 'greet')])], store, clock, logsDir });
    const fresh = new RunLogs(logsDir, clock);
    expect(await fresh.read(runId)).toBe(text);
    await everyReader(runId, text);
  });
});
