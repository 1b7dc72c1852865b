import { afterEach, describe, expect, it } from 'vitest';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Run } from '../../src/runs/model.js';
import type { InboxItem } from '../../src/steps/inbox.js';
import { baseConfig, fileLines, freePort, startHearth, tempDir, type HearthProcess } from '../helpers/hearth-process.js';

let running: HearthProcess | undefined;
afterEach(async () => {
  await running?.stop('SIGKILL');
  running = undefined;
});

/**
 * A workflow whose every step.run body appends a line to `marks`: after
 * kill -9 at each kind of wait and a restart, each line must be there once.
 */
function writeModules(dir: string, marks: string): void {
  writeFileSync(join(dir, 'wf.mjs'), `
import { appendFileSync } from 'node:fs';
const mark = (line) => appendFileSync(${JSON.stringify(marks)}, line + '\\n');
export default async function ({ step }) {
  await step.run('one', () => mark('one'));
  await step.sleep('nap', '2s');
  await step.run('two', () => mark('two'));
  const answer = await step.waitForInput('go-on', { prompt: 'Go on?', choices: ['yes', 'no'] });
  await step.run('three', () => mark('three ' + answer.value));
  const report = await step.invoke('report', { job: 'child', input: { n: 21 } });
  await step.run('four', () => mark('four ' + JSON.stringify(report)));
  return report;
}
`);
  writeFileSync(join(dir, 'child.mjs'), `
import { appendFileSync } from 'node:fs';
const mark = (line) => appendFileSync(${JSON.stringify(marks)}, line + '\\n');
export default async function ({ step, input }) {
  const doubled = await step.run('work', () => { mark('child'); return { doubled: input.n * 2 }; });
  await step.sleep('settle', '2s');
  return doubled;
}
`);
}

describe('durable workflows (real process)', () => {
  it('survives kill -9 while sleeping, while waiting for input and while a child runs; every step body runs once', async () => {
    const dir = tempDir();
    const port = await freePort();
    const marks = join(dir, 'marks');
    writeModules(dir, marks);
    // One slot: the parent must leave it while its child runs.
    const config = `${baseConfig(port, `
  wf:
    action: module
    with: { path: ./wf.mjs }
  child:
    action: module
    with: { path: ./child.mjs }
`)}pools:
  default: { concurrency: 1 }
`;
    let hearth = await startHearth({ dir, port, config });
    running = hearth;
    const { body } = await hearth.api<{ runId: string }>('/api/jobs/wf/run', { method: 'POST' });
    const runOf = async () => (await hearth.api<Run>(`/api/runs/${body.runId}`)).body;
    await hearth.waitFor('the workflow to sleep', async () => ((await runOf()).status === 'waiting' ? true : undefined));
    expect(fileLines(marks)).toEqual(['one']);
    expect(readFileSync(join(dir, 'data/steps', `${body.runId}.jsonl`), 'utf8')).toContain('"id":"nap"');

    // 1. kill -9 while it sleeps.
    await hearth.stop('SIGKILL');
    hearth = await startHearth({ dir, port, config });
    running = hearth;
    const question = await hearth.waitFor('the question', async () => {
      const { body: inbox } = await hearth.api<{ questions: InboxItem[] }>('/api/inbox');
      return inbox.questions[0];
    });
    expect(question).toMatchObject({ runId: body.runId, job: 'wf', prompt: 'Go on?', choices: ['yes', 'no'] });
    await hearth.waitFor('the workflow to park on the question', async () => ((await runOf()).wait?.kind === 'input' ? true : undefined));
    expect(fileLines(marks)).toEqual(['one', 'two']);

    // 2. kill -9 while it waits for input; answer right after the restart.
    await hearth.stop('SIGKILL');
    hearth = await startHearth({ dir, port, config });
    running = hearth;
    const answered = await hearth.api(`/api/inbox/${question.id}`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ value: 'yes' }),
    });
    expect(answered.status).toBe(200);
    const again = await hearth.api(`/api/inbox/${question.id}`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ value: 'no' }),
    });
    expect(again.status).toBe(409);

    // 3. kill -9 while the child run sleeps (the parent waits for it, holding no slot).
    await hearth.waitFor('the child to start', () => (fileLines(marks).includes('child') ? true : undefined));
    const { body: children } = await hearth.api<{ runs: Run[] }>('/api/runs?job=child');
    expect(children.runs).toHaveLength(1);
    await hearth.waitFor('the child to sleep', async () => ((await hearth.api<Run>(`/api/runs/${children.runs[0]!.id}`)).body.status === 'waiting' ? true : undefined));
    await hearth.stop('SIGKILL');
    hearth = await startHearth({ dir, port, config });
    running = hearth;

    const done = await hearth.waitFor('the workflow to finish', async () => {
      const run = await runOf();
      return run.status === 'succeeded' || run.status === 'failed' ? run : undefined;
    }, 30_000);
    expect(done.status).toBe('succeeded');
    expect(done.tasks.main!.output).toEqual({ doubled: 42 });
    expect(done.tasks.main!.attempts).toBe(1);
    expect(fileLines(marks)).toEqual(['one', 'two', 'three yes', 'child', 'four {"doubled":42}']);
    const { body: childRuns } = await hearth.api<{ runs: Run[] }>('/api/runs?job=child');
    expect(childRuns.runs.map((run) => [run.status, run.trigger, run.parentRunId])).toEqual([['succeeded', 'invoke', body.runId]]);
  }, 90_000);
});

describe('suspended workflows (real process)', () => {
  it('200 sleeping workflows hold no pool slot and grow RSS by only a few MB', async () => {
    const dir = tempDir();
    const port = await freePort();
    writeFileSync(join(dir, 'sleeper.mjs'), `export default async ({ step }) => { await step.run('hello', () => 1); await step.sleep('nap', '1h'); };\n`);
    const config = `${baseConfig(port, `
  sleeper:
    overlap: allow
    action: module
    with: { path: ./sleeper.mjs }
`)}pools:
  default: { concurrency: 2 }
`;
    // As systemd/hearth.service runs it: glibc hands freed memory back.
    // Without the code cache: its one-off write 3 s after start (a few MB, bin/hearth.js) would fall inside the measurement.
    const hearth = await startHearth({ dir, port, config, env: { MALLOC_ARENA_MAX: '2', MALLOC_MMAP_THRESHOLD_: '131072', HEARTH_CODE_CACHE: 'off' } });
    running = hearth;
    const rss = () => Number(/^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${hearth.child.pid}/status`, 'utf8'))![1]) * 1024;
    const health = async () => (await hearth.api<{ runs: { waiting: number; running: number; queued: number } }>('/api/health')).body.runs;
    const sleepers = async (count: number, total: number) => {
      for (let i = 0; i < count; i++) await hearth.api('/api/jobs/sleeper/run', { method: 'POST' });
      await hearth.waitFor(`${total} workflows asleep`, async () => ((await health()).waiting === total ? true : undefined), 60_000);
    };
    // Warm up with a burst of the same size: the heap and the allocator grow to what a burst needs once.
    await sleepers(200, 200);
    const before = rss();
    await sleepers(200, 400);
    expect(await health()).toEqual({ waiting: 400, running: 0, queued: 0 });
    const grown = rss() - before;
    console.log(`RSS grew ${(grown / 1048576).toFixed(1)} MB for 200 more suspended workflows`);
    expect(grown).toBeLessThan(6 * 1048576);
  }, 120_000);
});
