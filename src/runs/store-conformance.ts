import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConflictError, NotFoundError, UsageError } from '../core/errors.js';
import { newRunId } from '../core/ids.js';
import type { Run, RunQuery, RunStatus } from './model.js';
import type { RunStore } from './store.js';

/**
 * The one test suite every RunStore implementation must pass. Call it from
 * the implementation's test file:
 *
 *   runStoreConformance('MemoryRunStore', async () => ({ store: await openedStore() }));
 *
 * `makeStore` returns an opened store; `reopen`, when given, opens a new
 * store on the same backing storage (the suite closes the first one before).
 */
export interface StoreUnderTest {
  store: RunStore;
  reopen?: () => Promise<RunStore>;
}

const DAY_MS = 86_400_000;

/** Makes runs whose ids and createdAt advance by `stepMs`, so creation order is known. */
export class RunFactory {
  constructor(
    private time = Date.UTC(2025, 0, 1),
    private readonly stepMs = DAY_MS,
  ) {}

  run(job: string, fields: Partial<Run> = {}): Run {
    const createdAt = this.time;
    this.time += this.stepMs;
    return {
      id: newRunId(createdAt),
      job,
      status: 'queued',
      trigger: 'manual',
      occurrences: 1,
      createdAt: new Date(createdAt).toISOString(),
      tasks: { main: { name: 'main', status: 'pending', attempts: 0 } },
      taskOrder: ['main'],
      ...fields,
    };
  }
}

export function finished(run: Run, status: RunStatus = 'succeeded'): Run {
  const startedAt = new Date(Date.parse(run.createdAt) + 1_000).toISOString();
  const finishedAt = new Date(Date.parse(run.createdAt) + 5_000).toISOString();
  return {
    ...run,
    status,
    startedAt,
    finishedAt,
    tasks: { main: { name: 'main', status: status === 'succeeded' ? 'succeeded' : 'failed', attempts: 1 } },
  };
}

/** Every run matching `query` (without limit), by following nextBefore pages of `pageSize`. */
export async function listAll(store: RunStore, query: RunQuery, pageSize: number): Promise<Run[]> {
  const all: Run[] = [];
  let before: string | undefined;
  for (let page = 0; page < 10_000; page++) {
    const result = await store.listRuns({ ...query, limit: pageSize, ...(before ? { before } : {}) });
    expect(result.runs.length).toBeLessThanOrEqual(pageSize);
    all.push(...result.runs);
    if (!result.nextBefore) return all;
    expect(result.runs.length).toBe(pageSize);
    before = result.nextBefore;
  }
  throw new Error('pagination did not end');
}

const ids = (runs: Run[]) => runs.map((run) => run.id);
const newestFirstIds = (runs: Run[]) => ids(runs).sort().reverse();

/** `durable: true` adds the close-and-reopen test; such stores must supply `reopen`. */
export function runStoreConformance(name: string, makeStore: () => Promise<StoreUnderTest>, options: { durable?: boolean } = {}): void {
  describe(`RunStore conformance: ${name}`, () => {
    let subject: StoreUnderTest;
    let store: RunStore;
    let factory: RunFactory;
    const opened: RunStore[] = [];

    beforeEach(async () => {
      subject = await makeStore();
      store = subject.store;
      opened.push(store);
      factory = new RunFactory();
    });

    afterEach(async () => {
      for (const each of opened.splice(0)) await each.close();
    });

    async function reopen(): Promise<RunStore> {
      await store.close();
      store = await subject.reopen!();
      opened.push(store);
      return store;
    }

    /** Inserts runs of `jobs` in turn, then finishes them with statuses from `statuses` in turn. */
    async function insertFinished(count: number, jobs: string[], statuses: RunStatus[]): Promise<Run[]> {
      const runs: Run[] = [];
      for (let i = 0; i < count; i++) runs.push(factory.run(jobs[i % jobs.length]!));
      await Promise.all(runs.map((run) => store.insertRun(run)));
      const done = runs.map((run, i) => finished(run, statuses[i % statuses.length]));
      for (const run of done) store.updateRun(run);
      await store.flush();
      return done;
    }

    describe('insert and get', () => {
      it('reads back an inserted run', async () => {
        const run = factory.run('backup');
        await store.insertRun(run);
        expect(await store.getRun(run.id)).toEqual(run);
        expect(await store.getRun(newRunId(Date.UTC(2030, 0, 1)))).toBeUndefined();
        expect(await store.getRun('not-a-run-id')).toBeUndefined();
      });

      it('hands out copies, so callers cannot change stored runs behind its back', async () => {
        const run = factory.run('backup');
        await store.insertRun(run);
        run.status = 'failed';
        const read = (await store.getRun(run.id))!;
        expect(read.status).toBe('queued');
        read.status = 'cancelled';
        store.activeRuns()[0]!.status = 'cancelled';
        expect((await store.getRun(run.id))!.status).toBe('queued');
      });

      it('rejects a second run with the same id', async () => {
        const run = factory.run('backup');
        await store.insertRun(run);
        await expect(store.insertRun({ ...run, job: 'other' })).rejects.toBeInstanceOf(ConflictError);
        expect((await store.getRun(run.id))!.job).toBe('backup');
      });
    });

    describe('update', () => {
      it('replaces the run, visible at once everywhere', async () => {
        const run = factory.run('backup');
        await store.insertRun(run);
        const running: Run = { ...run, status: 'running', startedAt: '2025-01-01T00:00:01.000Z' };
        store.updateRun(running);
        expect(await store.getRun(run.id)).toEqual(running);
        expect(store.activeRuns()).toEqual([running]);
        expect(store.lastRun('backup')).toEqual(running);
        expect((await store.listRuns({ status: 'running' })).runs).toEqual([running]);
        const done = finished(running);
        store.updateRun(done);
        expect(store.activeRuns()).toEqual([]);
        expect(await store.getRun(run.id)).toEqual(done);
      });

      it('refuses to update a run it does not have', async () => {
        expect(() => store.updateRun(factory.run('backup'))).toThrow(NotFoundError);
      });

      it('copies the run on update', async () => {
        const run = factory.run('backup');
        await store.insertRun(run);
        const update: Run = { ...run, status: 'running' };
        store.updateRun(update);
        update.status = 'failed';
        expect((await store.getRun(run.id))!.status).toBe('running');
      });
    });

    describe('listRuns', () => {
      it('returns newest first with a default page of 50 and a maximum of 500', async () => {
        const runs = Array.from({ length: 520 }, () => factory.run('busy'));
        await Promise.all(runs.map((run) => store.insertRun(run)));
        const firstPage = await store.listRuns({});
        expect(ids(firstPage.runs)).toEqual(newestFirstIds(runs).slice(0, 50));
        expect(firstPage.nextBefore).toBe(firstPage.runs[49]!.id);
        expect((await store.listRuns({ limit: 1000 })).runs).toHaveLength(500);
        const lastPage = await store.listRuns({ limit: 500, before: (await store.listRuns({ limit: 500 })).nextBefore! });
        expect(lastPage.runs).toHaveLength(20);
        expect(lastPage.nextBefore).toBeUndefined();
      });

      it('rejects a limit that is not a positive whole number', async () => {
        await expect(store.listRuns({ limit: 0 })).rejects.toBeInstanceOf(UsageError);
        await expect(store.listRuns({ limit: 2.5 })).rejects.toBeInstanceOf(UsageError);
      });

      it('returns an empty page for an empty store or unknown job', async () => {
        expect(await store.listRuns({})).toEqual({ runs: [] });
        await store.insertRun(factory.run('backup'));
        expect(await store.listRuns({ job: 'nope' })).toEqual({ runs: [] });
      });

      it('filters by job and by status', async () => {
        const done = await insertFinished(24, ['a', 'b', 'c'], ['succeeded', 'failed', 'succeeded', 'cancelled']);
        const active = factory.run('a');
        await store.insertRun(active);
        const all = [...done, active];
        for (const job of ['a', 'b', 'c']) {
          for (const status of [undefined, 'succeeded', 'failed', 'cancelled', 'queued'] as const) {
            const expected = all.filter((run) => run.job === job && (!status || run.status === status));
            const page = await store.listRuns({ job, ...(status ? { status } : {}), limit: 100 });
            expect(ids(page.runs), `${job}/${status}`).toEqual(newestFirstIds(expected));
          }
        }
        const failed = await store.listRuns({ status: 'failed' });
        expect(ids(failed.runs)).toEqual(newestFirstIds(all.filter((run) => run.status === 'failed')));
      });

      it('pages through everything with no duplicates and no gaps, with and without filters', async () => {
        // Five days apart over ~15 months: for the file store most of these live in history/.
        factory = new RunFactory(Date.UTC(2025, 0, 1), 5 * DAY_MS);
        const done = await insertFinished(90, ['a', 'b', 'c'], ['succeeded', 'failed', 'succeeded']);
        const active = [factory.run('a'), factory.run('b')];
        for (const run of active) await store.insertRun(run);
        const all = [...done, ...active];
        for (const pageSize of [1, 7, 50]) {
          expect(ids(await listAll(store, {}, pageSize))).toEqual(newestFirstIds(all));
        }
        const onlyA = all.filter((run) => run.job === 'a');
        expect(ids(await listAll(store, { job: 'a' }, 4))).toEqual(newestFirstIds(onlyA));
        const failedB = all.filter((run) => run.job === 'b' && run.status === 'failed');
        expect(ids(await listAll(store, { job: 'b', status: 'failed' }, 3))).toEqual(newestFirstIds(failedB));
        expect(await listAll(store, {}, 7)).toEqual([...all].sort((x, y) => (x.id < y.id ? 1 : -1)));
      });

      it('treats `before` as an exclusive bound, even for an id that is not stored', async () => {
        const runs = Array.from({ length: 5 }, () => factory.run('a'));
        for (const run of runs) await store.insertRun(run);
        const page = await store.listRuns({ before: runs[3]!.id });
        expect(ids(page.runs)).toEqual([runs[2]!.id, runs[1]!.id, runs[0]!.id]);
        const between = `${runs[3]!.id.slice(0, -1)}0`;
        expect((await store.listRuns({ before: between })).runs[0]!.id).toBe(runs[2]!.id);
      });
    });

    it('lists active runs oldest first, and only active ones', async () => {
      const queued = factory.run('a');
      const running = factory.run('b', { status: 'running' });
      const doneRun = factory.run('a', { status: 'succeeded' });
      const waiting = factory.run('c', { status: 'waiting' });
      for (const run of [waiting, doneRun, running, queued]) await store.insertRun(run);
      expect(ids(store.activeRuns())).toEqual([queued.id, running.id, waiting.id]);
      store.updateRun(finished(running, 'failed'));
      expect(ids(store.activeRuns())).toEqual([queued.id, waiting.id]);
    });

    describe('lastSuccess and lastRun', () => {
      it('finds the newest succeeded run of a job, even after later failures', async () => {
        expect(await store.lastSuccess('a')).toBeUndefined();
        const [first, second] = await insertFinished(2, ['a'], ['succeeded']);
        expect((await store.lastSuccess('a'))!.id).toBe(second!.id);
        expect(first).toBeDefined();
        // Enough later failures to push the success out of state.json in the file store.
        await insertFinished(20, ['a'], ['failed']);
        expect(await store.lastSuccess('a')).toEqual(second);
        expect(await store.lastSuccess('b')).toBeUndefined();
      });

      it('finds the newest run of any status, active or finished', async () => {
        expect(store.lastRun('a')).toBeUndefined();
        const done = await insertFinished(3, ['a', 'b'], ['succeeded']);
        expect(store.lastRun('a')!.id).toBe(done[2]!.id);
        const next = factory.run('a');
        await store.insertRun(next);
        expect(store.lastRun('a')).toEqual(next);
        expect(store.lastRun('b')!.id).toBe(done[1]!.id);
      });
    });

    it('keeps schedule state per job', async () => {
      expect(store.getSchedule('a')).toBeUndefined();
      const state = { lastHandled: 1_000, lastCatchup: { at: 2_000, occurrences: 3, runs: 1, policy: 'latest' } };
      store.setSchedule('a', state);
      state.lastHandled = 5;
      expect(store.getSchedule('a')).toEqual({ ...state, lastHandled: 1_000 });
      store.setSchedule('a', { lastHandled: 9_000, paused: true });
      expect(store.getSchedule('a')).toEqual({ lastHandled: 9_000, paused: true });
      expect(store.getSchedule('b')).toBeUndefined();
    });

    it('keeps meta values', async () => {
      expect(store.getMeta('lastSeenWallClock')).toBeUndefined();
      store.setMeta('lastSeenWallClock', 1_234);
      store.setMeta('flags', { dark: true, list: [1, 2] });
      expect(store.getMeta<number>('lastSeenWallClock')).toBe(1_234);
      expect(store.getMeta('flags')).toEqual({ dark: true, list: [1, 2] });
      store.setMeta('lastSeenWallClock', 5_678);
      expect(store.getMeta('lastSeenWallClock')).toBe(5_678);
      store.setMeta('flags', undefined);
      expect(store.getMeta('flags')).toBeUndefined();
    });

    it('lists the meta keys under a prefix, without deleted ones', async () => {
      expect(store.metaKeys('events:')).toEqual([]);
      store.setMeta('events:10', { a: 1 });
      store.setMeta('events:12', { b: 2 });
      store.setMeta('events', 'not under the prefix');
      store.setMeta('lastSeenWallClock', 1);
      store.setMeta('events:11', { c: 3 });
      store.setMeta('events:12', undefined);
      expect(store.metaKeys('events:').sort()).toEqual(['events:10', 'events:11']);
      expect(store.metaKeys('').sort()).toEqual(['events', 'events:10', 'events:11', 'lastSeenWallClock']);
      expect(store.metaKeys('nothing')).toEqual([]);
      expect(store.metaKeys('toString')).toEqual([]);
    });

    it('closes twice without error and refuses writes afterwards', async () => {
      await store.insertRun(factory.run('a'));
      await store.close();
      await store.close();
      await expect(store.insertRun(factory.run('a'))).rejects.toBeInstanceOf(ConflictError);
      expect(() => store.setMeta('x', 1)).toThrow(ConflictError);
    });

    // Registered only for durable stores: an in-memory store has nothing to reopen.
    (options.durable ? it : () => undefined)('keeps everything across close and reopen', async () => {
      if (!subject.reopen) throw new Error(`${name} is durable but its factory gives no reopen()`);
      factory = new RunFactory(Date.UTC(2025, 0, 1), 3 * DAY_MS);
      const done = await insertFinished(40, ['a', 'b'], ['succeeded', 'failed', 'failed', 'failed']);
      const queued = factory.run('a');
      const running = factory.run('b');
      await store.insertRun(queued);
      await store.insertRun(running);
      store.updateRun({ ...running, status: 'running' });
      store.setSchedule('a', { lastHandled: 42 });
      store.setMeta('lastSeenWallClock', 99);
      store.setMeta('events:7', { id: { at: 1 } });
      store.setMeta('events:8', { id: { at: 2 } });
      store.setMeta('events:8', undefined);
      const before = {
        all: await listAll(store, {}, 500),
        active: store.activeRuns(),
        lastA: store.lastRun('a'),
        successA: await store.lastSuccess('a'),
        successB: await store.lastSuccess('b'),
      };
      expect(before.all).toHaveLength(done.length + 2);

      const again = await reopen();
      expect(await listAll(again, {}, 9)).toEqual(before.all);
      expect(again.activeRuns()).toEqual(before.active);
      expect(again.lastRun('a')).toEqual(before.lastA);
      expect(await again.lastSuccess('a')).toEqual(before.successA);
      expect(await again.lastSuccess('b')).toEqual(before.successB);
      expect(again.getSchedule('a')).toEqual({ lastHandled: 42 });
      expect(again.getMeta('lastSeenWallClock')).toBe(99);
      expect(again.metaKeys('events:')).toEqual(['events:7']);
      for (const run of done) expect(await again.getRun(run.id)).toEqual(run);
    });
  });
}
