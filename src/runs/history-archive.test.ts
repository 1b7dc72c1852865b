import { appendFile, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { FakeClock } from '../core/clock.js';
import { createLogger, silentLogger } from '../core/logger.js';
import { FileRunStore } from './file-store.js';
import { HistoryArchive } from './history-archive.js';
import type { Run, RunQuery, RunStatus } from './model.js';
import { newestFirst, normalizeQuery } from './run-query.js';
import { finished, RunFactory } from './store-conformance.js';

const DAY_MS = 86_400_000;
const dirs: string[] = [];
const archives: HistoryArchive[] = [];

afterEach(async () => {
  // Sidecars are saved in the background: let them land before the directory goes.
  await Promise.all(archives.splice(0).map((archive) => archive.settled()));
  await Promise.all(dirs.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
});

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'hearth-history-'));
  dirs.push(dir);
  return dir;
}

async function openArchive(dir: string, logs: string[] = [], sidecarEvery = 1): Promise<HistoryArchive> {
  const archive = new HistoryArchive({ dir, logger: createLogger({ level: 'debug', write: (line) => logs.push(line) }), sidecarEvery });
  await archive.open();
  archives.push(archive);
  return archive;
}

/** `perMonth` finished runs in each of `months` months from Jan 2025, jobs taking turns; `status` picks each run's status. */
function history(months: number, perMonth: number, jobs: string[], status: (i: number) => RunStatus = () => 'succeeded'): Run[] {
  const runs: Run[] = [];
  for (let month = 0; month < months; month++) {
    const monthFactory = new RunFactory(Date.UTC(2025, month, 1, 1), Math.floor((27 * DAY_MS) / perMonth));
    for (let i = 0; i < perMonth; i++) runs.push(finished(monthFactory.run(jobs[runs.length % jobs.length]!), status(runs.length)));
  }
  return runs;
}

async function query(archive: HistoryArchive, raw: RunQuery): Promise<Run[]> {
  const normalized = normalizeQuery(raw);
  const candidates = new Map<string, Run>();
  await archive.collectNewest(normalized, normalized.limit, candidates, () => false);
  return [...candidates.values()].sort(newestFirst);
}

function expected(runs: Run[], raw: RunQuery): string[] {
  const limit = raw.limit ?? 50;
  return runs
    .filter((run) => (raw.job === undefined || run.job === raw.job) && (raw.status === undefined || run.status === raw.status) && (raw.before === undefined || run.id < raw.before))
    .sort(newestFirst)
    .slice(0, limit)
    .map((run) => run.id);
}

describe('history archive index', () => {
  it('answers the first page of a query from one month file, reading a few blocks of it, not the whole month', async () => {
    const dir = await tempDir();
    const writer = await openArchive(dir);
    const runs = history(3, 3000, ['a', 'b', 'c', 'd']);
    for (let i = 0; i < runs.length; i += 500) await writer.append(runs.slice(i, i + 500));
    await writer.settled();

    const archive = await openArchive(dir);
    expect(await query(archive, { job: 'b', limit: 20 }).then((page) => page.map((run) => run.id))).toEqual(expected(runs, { job: 'b', limit: 20 }));
    expect(archive.filesRead).toBe(1);
    const monthBytes = (await readFile(join(dir, '2025-03.jsonl'))).length;
    expect(archive.bytesRead).toBeLessThan(monthBytes / 4);

    const before = archive.bytesRead;
    expect((await query(archive, { limit: 50 })).map((run) => run.id)).toEqual(expected(runs, { limit: 50 }));
    expect(archive.filesRead).toBe(2);
    expect(archive.bytesRead - before).toBeLessThan(monthBytes / 4);
  });

  it('skips months without the job or status using the saved index, opening only the month that has them', async () => {
    const dir = await tempDir();
    const writer = await openArchive(dir);
    const runs = history(12, 100, ['often', 'also-often'], (i) => (i === 250 ? 'failed' : 'succeeded'));
    const rare = finished(new RunFactory(Date.UTC(2025, 2, 10)).run('rare'));
    await writer.append(runs.filter((run) => run.createdAt < rare.createdAt));
    await writer.append([rare]);
    await writer.append(runs.filter((run) => run.createdAt > rare.createdAt));
    // Build every month's index (as a running appliance would have over time), then restart.
    expect(await query(writer, { job: 'nobody' })).toEqual([]);
    await writer.settled();
    expect((await readdir(dir)).filter((name) => name.endsWith('.idx.json'))).toHaveLength(12);

    const archive = await openArchive(dir);
    expect((await query(archive, { job: 'rare' })).map((run) => run.id)).toEqual([rare.id]);
    expect(archive.filesRead).toBe(1);
    const failed = await query(archive, { status: 'failed', limit: 10 });
    expect(failed.map((run) => run.id)).toEqual(expected(runs, { status: 'failed', limit: 10 }));
    expect(failed).toHaveLength(1);
    expect(archive.filesRead).toBe(2);
    expect(await query(archive, { job: 'nobody' })).toEqual([]);
    expect(archive.filesRead).toBe(2);
  });

  it('never reads history for statuses no archived run can have', async () => {
    const dir = await tempDir();
    const archive = await openArchive(dir);
    await archive.append(history(6, 50, ['a']));
    for (const status of ['running', 'queued', 'waiting'] as const) {
      expect(await query(archive, { status })).toEqual([]);
      expect(await query(archive, { status, job: 'a' })).toEqual([]);
    }
    expect(archive.filesRead).toBe(0);
    expect(archive.bytesRead).toBe(0);
  });

  it('pages through every query like a full scan would, across months, jobs, statuses and appends', async () => {
    const dir = await tempDir();
    const archive = await openArchive(dir, [], 4096);
    const statuses: RunStatus[] = ['succeeded', 'succeeded', 'failed', 'cancelled', 'succeeded'];
    const runs = history(5, 300, ['a', 'b', 'c'], (i) => statuses[(i * 7) % statuses.length]!);
    // Appended out of order in uneven batches, as archiving does (oldest first per job, jobs interleaved).
    const shuffled = [...runs].sort((x, y) => (x.job === y.job ? (x.id < y.id ? -1 : 1) : x.job < y.job ? -1 : 1));
    for (let i = 0; i < shuffled.length; i += 97) await archive.append(shuffled.slice(i, i + 97));
    const queries: RunQuery[] = [{}, { job: 'a' }, { job: 'c', status: 'failed' }, { status: 'cancelled' }, { status: 'succeeded', limit: 7 }, { job: 'b', limit: 500 }];
    for (const raw of queries) {
      const all: string[] = [];
      let before: string | undefined;
      for (;;) {
        const page = await query(archive, { ...raw, ...(before ? { before } : {}) });
        all.push(...page.map((run) => run.id));
        if (page.length < (raw.limit ?? 50)) break;
        before = page[page.length - 1]!.id;
      }
      expect(all).toEqual(expected(runs, { ...raw, limit: 10_000 }));
    }
    // Found by id, including after a restart from the saved indexes.
    await archive.settled();
    const reopened = await openArchive(dir);
    for (const run of [runs[0]!, runs[777]!, runs[runs.length - 1]!]) expect(await reopened.find(run.id)).toEqual(run);
  });

  it('indexes what was appended after the sidecar was saved, and rebuilds a sidecar that does not match its month', async () => {
    const dir = await tempDir();
    const writer = await openArchive(dir);
    const runs = history(1, 300, ['a', 'b']);
    await writer.append(runs.slice(0, 200));
    expect(await query(writer, { job: 'a', limit: 1 })).toHaveLength(1);
    await writer.settled();
    const sidecar = join(dir, '2025-01.idx.json');
    const saved = await readFile(sidecar, 'utf8');
    // Appended by a process that died before saving its index again.
    await appendFile(join(dir, '2025-01.jsonl'), runs.slice(200).map((run) => JSON.stringify(run) + '\n').join(''));
    await writeFile(sidecar, saved);

    const stale = await openArchive(dir);
    expect((await query(stale, { job: 'b', limit: 500 })).map((run) => run.id)).toEqual(expected(runs, { job: 'b', limit: 500 }));
    await stale.settled();

    // A sidecar for other bytes (a month file restored from elsewhere, say) is not trusted.
    const index = JSON.parse(saved) as { lastId: string };
    await writeFile(sidecar, saved.replace(index.lastId, runs[5]!.id));
    const logs: string[] = [];
    const mismatched = await openArchive(dir, logs);
    expect((await query(mismatched, { limit: 500 })).map((run) => run.id)).toEqual(expected(runs, { limit: 500 }));
    expect(logs.join('\n')).toContain('does not match');

    for (const garbage of ['{"v":1,"size":', '{"v":1,"size":999999999,"blocks":[],"postings":{}}', '[]']) {
      await writeFile(sidecar, garbage);
      const rebuilt = await openArchive(dir);
      expect((await query(rebuilt, { job: 'a', limit: 500 })).map((run) => run.id)).toEqual(expected(runs, { job: 'a', limit: 500 }));
      await rebuilt.settled();
    }
  });

  it('indexes lines after a torn one and skips the torn line', async () => {
    const dir = await tempDir();
    const logs: string[] = [];
    const archive = await openArchive(dir, logs);
    const runs = history(1, 10, ['a']);
    await archive.append(runs.slice(0, 5));
    await appendFile(join(dir, '2025-01.jsonl'), JSON.stringify(runs[5]).slice(0, 40));
    const restarted = await openArchive(dir, logs);
    expect((await query(restarted, {})).map((run) => run.id)).toEqual(expected(runs.slice(0, 5), {}));
    await restarted.append(runs.slice(6));
    expect((await query(restarted, {})).map((run) => run.id)).toEqual(expected([...runs.slice(0, 5), ...runs.slice(6)], {}));
    expect(logs.join('\n')).toContain('unreadable lines');
  });
});

describe('history archive memory', () => {
  it('reads every block, scan and index check into one reused buffer: queries allocate no buffer of their own', async () => {
    const dir = await tempDir();
    const writer = await openArchive(dir);
    const statuses: RunStatus[] = ['succeeded', 'failed', 'succeeded', 'cancelled'];
    const runs = history(3, 3000, ['a', 'b', 'c', 'd'], (i) => statuses[i % statuses.length]!);
    for (let i = 0; i < runs.length; i += 500) await writer.append(runs.slice(i, i + 500));
    await writer.settled();
    // One month without its sidecar: the first query that needs it scans the whole month.
    await rm(join(dir, '2025-02.idx.json'));

    const archive = await openArchive(dir);
    const queries: RunQuery[] = [{}, { job: 'a' }, { job: 'b', status: 'failed', limit: 200 }, { status: 'cancelled', limit: 500 }, { job: 'c', limit: 500 }];
    for (const raw of queries) {
      let before: string | undefined;
      for (let page = 0; page < 3; page++) {
        const got = await query(archive, { ...raw, ...(before ? { before } : {}) });
        expect(got.map((run) => run.id)).toEqual(expected(runs, { ...raw, ...(before ? { before } : {}) }));
        before = got[got.length - 1]?.id;
      }
    }
    for (const run of [runs[3]!, runs[4500]!, runs[runs.length - 1]!]) expect(await archive.find(run.id)).toEqual(run);
    // Month files opened again and again, megabytes read (a whole month scanned), one buffer of 128 KB.
    expect(archive.filesRead).toBeGreaterThanOrEqual(15);
    expect(archive.bytesRead).toBeGreaterThan(2 * 1024 * 1024);
    expect(archive.readBuffers).toEqual({ allocated: 1, busiest: 1, oversized: 0, size: 128 * 1024 });
  });

  it('reads with at most 4 buffers however many queries run at once (the home page asks for 50 jobs together); a line longer than a buffer is read whole', async () => {
    const dir = await tempDir();
    const writer = await openArchive(dir);
    const jobs = Array.from({ length: 50 }, (_, i) => `job-${i}`);
    const runs = history(2, 2000, jobs);
    // A run whose line is longer than a read buffer (a big error text, say).
    runs[1500] = { ...runs[1500]!, error: 'x'.repeat(300 * 1024) };
    await writer.append(runs);
    await writer.settled();
    // The newest month is indexed again by the first query while the other 49 wait for it.
    await rm(join(dir, '2025-02.idx.json'));

    const archive = await openArchive(dir);
    const pages = await Promise.all(jobs.map((job) => query(archive, { job, limit: 60 })));
    for (const [i, page] of pages.entries()) expect(page.map((run) => run.id)).toEqual(expected(runs, { job: jobs[i]!, limit: 60 }));
    expect(archive.readBuffers.busiest).toBeGreaterThan(1);
    expect(archive.readBuffers.allocated).toBeLessThanOrEqual(4);
    const allocated = archive.readBuffers.allocated;
    for (let i = 0; i < 20; i++) await query(archive, { job: jobs[i]!, limit: 100 * (1 + (i % 5)) });
    await Promise.all(jobs.map((job) => archive.find(runs.find((run) => run.job === job)!.id)));
    expect(archive.readBuffers.allocated).toBe(allocated);

    expect(await archive.find(runs[1500]!.id)).toEqual(runs[1500]);
    expect((await query(archive, { job: runs[1500]!.job, limit: 500 })).map((run) => run.id)).toEqual(expected(runs, { job: runs[1500]!.job, limit: 500 }));
    expect(archive.readBuffers.oversized).toBeGreaterThanOrEqual(1);
    expect(archive.readBuffers.allocated).toBe(allocated);
  });
});

describe('run store queries over a long history', () => {
  it("the home page's queries: active statuses never touch history, the rest read one month file", async () => {
    const dir = await tempDir();
    const clock = new FakeClock('2026-01-01T00:00:00Z');
    const writer = new FileRunStore({ dataDir: dir, clock, logger: silentLogger, keepPerJob: 5 });
    await writer.open();
    const factory = new RunFactory(Date.UTC(2025, 0, 1), 2 * DAY_MS);
    const runs = Array.from({ length: 180 }, (_, i) => factory.run(['a', 'b', 'c'][i % 3]!));
    for (const run of runs) await writer.insertRun(run);
    runs.forEach((run, i) => writer.updateRun(finished(run, i % 2 === 0 ? 'failed' : 'succeeded')));
    await writer.close();
    expect((await readdir(join(dir, 'history'))).filter((name) => name.endsWith('.jsonl')).length).toBeGreaterThanOrEqual(11);

    const store = new FileRunStore({ dataDir: dir, clock, logger: silentLogger, keepPerJob: 5 });
    await store.open();
    try {
      for (const status of ['running', 'queued', 'waiting'] as const) expect((await store.listRuns({ status, limit: 10 })).runs).toEqual([]);
      expect(store.stats().historyFilesRead).toBe(0);
      const failed = await store.listRuns({ status: 'failed', limit: 10 });
      expect(failed.runs).toHaveLength(10);
      expect(store.stats().historyFilesRead).toBeLessThanOrEqual(1);
      const page = await store.listRuns({ job: 'b', limit: 6 });
      expect(page.runs.map((run) => run.id)).toEqual(runs.filter((run) => run.job === 'b').map((run) => run.id).reverse().slice(0, 6));
      expect(store.stats().historyFilesRead).toBeLessThanOrEqual(2);
    } finally {
      await store.close();
    }
  });
});
