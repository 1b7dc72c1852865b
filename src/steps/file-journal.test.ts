import { appendFile, mkdtemp, readFile, readdir, rm, stat, utimes } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { FakeClock } from '../core/clock.js';
import { job, testEngine } from '../engine/testing.js';
import { FileStepJournal } from './file-journal.js';
import { MemoryInboxStore } from './inbox.js';
import { foldJournal, LARGE_RESULT_BYTES, MemoryStepJournal, stepTimeline, type StepEntry, type StepJournal } from './journal.js';

const dirs: string[] = [];
afterEach(async () => {
  await Promise.all(dirs.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
});

async function fileJournal(): Promise<{ journal: FileStepJournal; dir: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'hearth-steps-'));
  dirs.push(dir);
  const journal = new FileStepJournal(join(dir, 'steps'));
  await journal.init();
  return { journal, dir: join(dir, 'steps') };
}

function entry(n: number, extra: Partial<StepEntry> = {}): StepEntry {
  return { task: 'main', id: `s${n}`, kind: 'run', n, t: '2026-03-01T12:00:00.000Z', ...extra };
}

/** What every journal backend must do. */
function conformance(name: string, make: () => Promise<StepJournal>) {
  describe(`${name} (journal conformance)`, () => {
    it('loads what was appended, in order; an unknown run has no entries', async () => {
      const journal = await make();
      await journal.append('r_1', entry(0, { done: true, result: { a: 1 } }));
      await journal.append('r_1', entry(1, { at: '2026-03-01T13:00:00.000Z', kind: 'sleep' }));
      expect(await journal.load('r_1')).toEqual([entry(0, { done: true, result: { a: 1 } }), entry(1, { at: '2026-03-01T13:00:00.000Z', kind: 'sleep' })]);
      expect(await journal.load('r_2')).toEqual([]);
    });

    it('a large result can be read back whole', async () => {
      const journal = await make();
      const big = { text: 'x'.repeat(LARGE_RESULT_BYTES + 1) };
      await journal.append('r_1', entry(0, { done: true, result: big }));
      const [loaded] = await journal.load('r_1');
      const value = loaded!.ref !== undefined ? await journal.readResult('r_1', loaded!.ref) : loaded!.result;
      expect(value).toEqual(big);
    });

    it('prunes journals of finished runs last written before the cutoff', async () => {
      const journal = await make();
      await journal.append('r_old', entry(0, { t: '2020-01-01T00:00:00.000Z' }));
      await journal.append('r_busy', entry(0, { t: '2020-01-01T00:00:00.000Z' }));
      if (journal instanceof FileStepJournal) {
        for (const id of ['r_old', 'r_busy']) await utimes(join(journal.directory, `${id}.jsonl`), new Date('2020-01-01'), new Date('2020-01-01'));
      }
      expect(await journal.prune({ before: Date.parse('2021-01-01'), isActive: (id) => id === 'r_busy' })).toBe(1);
      expect(await journal.load('r_old')).toEqual([]);
      expect(await journal.load('r_busy')).toHaveLength(1);
    });
  });
}

conformance('MemoryStepJournal', async () => new MemoryStepJournal());
conformance('FileStepJournal', async () => (await fileJournal()).journal);

describe('FileStepJournal', () => {
  it('drops a torn last line (a power cut mid-append) and appends cleanly after it', async () => {
    const { journal, dir } = await fileJournal();
    await journal.append('r_1', entry(0, { done: true, result: 1 }));
    await appendFile(join(dir, 'r_1.jsonl'), '{"task":"main","id":"s1","ki');
    expect(await journal.load('r_1')).toEqual([entry(0, { done: true, result: 1 })]);
    await journal.append('r_1', entry(1, { done: true, result: 2 }));
    expect((await journal.load('r_1')).map((e) => e.result)).toEqual([1, 2]);
  });

  it('names the file and line of a damaged entry that is not the last', async () => {
    const { journal, dir } = await fileJournal();
    await appendFile(join(dir, 'r_1.jsonl'), 'garbage\n{"task":"main","id":"s0","kind":"run","n":0,"t":"x"}\n');
    await expect(journal.load('r_1')).rejects.toThrow(`${join(dir, 'r_1.jsonl')}:1: unreadable step journal entry`);
  });

  it('keeps results over 64 KB in a private file beside the journal, not in the line', async () => {
    const { journal, dir } = await fileJournal();
    await journal.append('r_1', entry(0, { done: true, result: 'y'.repeat(LARGE_RESULT_BYTES + 1) }));
    await journal.append('r_1', entry(1, { done: true, result: 'small' }));
    const line = (await readFile(join(dir, 'r_1.jsonl'), 'utf8')).split('\n')[0]!;
    expect(line.length).toBeLessThan(300);
    const files = (await readdir(dir)).sort();
    expect(files).toHaveLength(2);
    for (const file of files) expect((await stat(join(dir, file))).mode & 0o777).toBe(0o600);
    const [first] = await journal.load('r_1');
    expect(first!.ref).toBe(files.find((f) => f.endsWith('.json')));
    await expect(journal.readResult('r_1', '../secrets/x')).rejects.toThrow('invalid step result reference');
  });

  it('refuses a run id that could escape the directory', async () => {
    const { journal } = await fileJournal();
    await expect(journal.append('../x', entry(0))).rejects.toThrow('invalid run id');
  });
});

describe('foldJournal', () => {
  it('later entries complete a step; a completed step stays as it completed', () => {
    const folded = foldJournal([
      entry(0, { kind: 'sleep', at: 'A' }),
      entry(1, { error: 'boom' }),
      entry(1, { done: true, result: 3 }),
      entry(0, { kind: 'sleep', done: true }),
      entry(1, { error: 'later' }),
    ]).get('main')!;
    expect(folded.get(0)).toMatchObject({ kind: 'sleep', at: 'A', done: true });
    expect(folded.get(1)).toEqual(entry(1, { done: true, result: 3 }));
  });
});

describe('stepTimeline', () => {
  it('shows each step with its status, times and what a waiting step waits for', () => {
    const t0 = '2026-03-01T12:00:00.000Z';
    const t1 = '2026-03-01T12:00:05.000Z';
    const views = stepTimeline([
      entry(0, { t: t0 }),
      entry(0, { t: t1, done: true, result: 1 }),
      entry(1, { kind: 'sleep', t: t1, at: '2026-03-01T13:00:00.000Z', done: true }),
      entry(2, { kind: 'input', t: t1, inbox: 'q_1', at: '2026-03-02T00:00:00.000Z' }),
      entry(3, { error: 'boom', t: t1 }),
    ]);
    expect(views).toEqual([
      { task: 'main', id: 's0', kind: 'run', status: 'succeeded', startedAt: t0, finishedAt: t1 },
      { task: 'main', id: 's1', kind: 'sleep', status: 'succeeded', startedAt: t1, finishedAt: t1 },
      { task: 'main', id: 's2', kind: 'input', status: 'waiting', startedAt: t1, wait: { kind: 'input', id: 'q_1', until: '2026-03-02T00:00:00.000Z' } },
      { task: 'main', id: 's3', kind: 'run', status: 'failed', startedAt: t1, error: 'boom' },
    ]);
    expect(stepTimeline([entry(0, { kind: 'sleep', at: t1 })], true)[0]!.status).toBe('cancelled');
  });
});

describe('a workflow on the file journal', () => {
  it('replays a result over 64 KB from its file after a sleep', async () => {
    const { journal, dir } = await fileJournal();
    const big = 'z'.repeat(LARGE_RESULT_BYTES * 2);
    const seen: number[] = [];
    let calls = 0;
    const t = await testEngine({
      clock: new FakeClock('2026-03-01T12:00:00Z'),
      jobs: [job('big', [{ name: 'main', action: 'wf', dependsOn: [], with: {}, env: {}, continueOnError: false }])],
      actions: [{
        name: 'wf',
        validate: () => [],
        execute: async (_params, ctx) => {
          const text = await ctx.step!.run('fetch', () => { calls++; return big; });
          seen.push(text.length);
          await ctx.step!.sleep('nap', '1m');
        },
      }],
      workflows: { journal, inbox: new MemoryInboxStore() },
    });
    const run = await t.engine.triggerJob('big', 'manual');
    for (let i = 0; i < 100 && (await t.store.getRun(run.id))?.status !== 'waiting'; i++) await new Promise((r) => setTimeout(r, 5));
    await t.clock.advance(60_000);
    for (let i = 0; i < 100 && (await t.store.getRun(run.id))?.status !== 'succeeded'; i++) await new Promise((r) => setTimeout(r, 5));
    expect((await t.store.getRun(run.id))?.status).toBe('succeeded');
    expect(calls).toBe(1);
    expect(seen).toEqual([big.length, big.length]);
    expect((await readdir(dir)).filter((name) => name.endsWith('.json'))).toHaveLength(1);
    await t.engine.stop();
  });
});
