import { getEventListeners } from 'node:events';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { ActionDefinition } from '../actions/types.js';
import { FakeClock } from '../core/clock.js';
import { silentLogger } from '../core/logger.js';
import { FileRunStore } from '../runs/file-store.js';
import { MemoryRunStore } from '../runs/memory-store.js';
import type { Run } from '../runs/model.js';
import { job, task, testEngine } from './testing.js';

// statSync counted (and still done): a run starting for the first time has no log to look at on disk.
vi.mock('node:fs', async (importOriginal) => {
  const fs = await importOriginal<typeof import('node:fs')>();
  return { ...fs, statSync: vi.fn(fs.statSync) };
});

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/**
 * What a run costs the disk, counted in forced flushes (each is a WAL append
 * plus an fdatasync on the file store): issue 13, item 8. Not timing-based.
 */
function countingStore() {
  const store = new MemoryRunStore();
  const flushes: string[] = [];
  const flush = store.flush.bind(store);
  store.flush = async () => {
    const runs = (await store.listRuns({ limit: 1 })).runs as Run[];
    const run = runs[0];
    flushes.push(run ? `${run.status}:${run.taskOrder.map((name) => run.tasks[name]?.status).join(',')}` : 'none');
    return flush();
  };
  return { store, flushes };
}

describe('durable run cost', () => {
  it('a one-task run forces two flushes: the attempt before it starts, and the run once it ends', async () => {
    const { store, flushes } = countingStore();
    const t = await testEngine({ jobs: [job('true', [task('main', 'true')])], store, scripts: { true: { ms: 5 } } });
    flushes.length = 0;
    const run = await t.engine.triggerJob('true', 'api');
    await t.clock.advance(100);
    expect((await store.getRun(run.id))?.status).toBe('succeeded');
    expect(flushes).toEqual(['running:running', 'succeeded:succeeded']);
  });

  it('a task with dependants is on disk as finished before they start', async () => {
    const { store, flushes } = countingStore();
    const flow = job('flow', [task('a', 'a'), task('b', 'b', { dependsOn: ['a'] })]);
    const t = await testEngine({ jobs: [flow], store, scripts: { a: { ms: 5 }, b: { ms: 5 } } });
    flushes.length = 0;
    await t.engine.triggerJob('flow', 'api');
    await t.clock.advance(100);
    expect(flushes).toEqual(['running:running,pending', 'running:succeeded,pending', 'running:succeeded,running', 'succeeded:succeeded,succeeded']);
  });
});

describe('in-memory cost of a run', () => {
  const noop: ActionDefinition = { name: 'noop', validate: () => [], execute: async () => null };

  it("an action run without timeouts makes one AbortController (the pool's), and its attempts leave no listener on it", async () => {
    const made: AbortController[] = [];
    const Original = globalThis.AbortController;
    globalThis.AbortController = class extends Original {
      constructor() {
        super();
        made.push(this);
      }
    };
    try {
      const tasks = Array.from({ length: 12 }, (_, i) => task(`t${i}`, '', { run: undefined, action: 'noop', dependsOn: i ? [`t${i - 1}`] : [] }));
      const t = await testEngine({ jobs: [job('noop', tasks)], actions: [noop] });
      made.length = 0;
      const run = await t.engine.triggerJob('noop', 'api');
      await t.clock.advance(100);
      expect((await t.engine.getRun(run.id))?.status).toBe('succeeded');
      expect(made).toHaveLength(1);
      expect(getEventListeners(made[0]!.signal, 'abort')).toEqual([]);
      // A job timeout or a task timeout still gets its own (tested with the timeouts in engine.test.ts).
    } finally {
      globalThis.AbortController = Original;
    }
  });
});

describe('what the Watch reads per run', () => {
  it('a run of a job without `expect` makes the Watch read no kept meta (it re-arms at each start and success)', async () => {
    const store = new MemoryRunStore();
    const getMeta = vi.spyOn(store, 'getMeta');
    const jobs = Array.from({ length: 50 }, (_, i) => job(`j${i}`, [task('main', 'true')]));
    const t = await testEngine({ jobs, store, scripts: { true: { ms: 5 } } });
    getMeta.mockClear();
    const run = await t.engine.triggerJob('j7', 'api');
    await t.clock.advance(100);
    expect((await store.getRun(run.id))?.status).toBe('succeeded');
    expect(getMeta.mock.calls).toEqual([]);
  });
});

describe('durable run cost on the file store', () => {
  const noop: ActionDefinition = { name: 'noop', validate: () => [], execute: async () => null };

  // Stopped after each test: a store left open keeps its WAL's FileHandle until GC closes it (Node warns, DEP0137).
  const started: Array<{ stop(): Promise<void> }> = [];
  afterEach(async () => {
    for (const opened of started.splice(0)) await opened.stop();
  });

  async function fileEngine() {
    const dataDir = mkdtempSync(join(tmpdir(), 'hearth-run-cost-'));
    dirs.push(dataDir);
    const clock = new FakeClock('2026-03-01T12:00:00Z');
    const store = new FileRunStore({ dataDir, clock, logger: silentLogger, keepPerJob: 50 });
    const logsDir = join(dataDir, 'logs');
    const t = await testEngine({ jobs: [job('noop', [task('main', '', { run: undefined, action: 'noop' })])], actions: [noop], store, clock, logsDir, dataDir, config: { pools: { default: { name: 'default', concurrency: 64 } } } });
    const walRecords = () =>
      readFileSync(join(dataDir, 'state.wal'), 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((line) => ({ line, record: JSON.parse(line) as { t: string; run?: Run } }));
    started.push({ stop: async () => (await t.engine.stop(), await store.close()) });
    return { ...t, store, dataDir, logsDir, walRecords };
  }

  async function finishAll(t: Awaited<ReturnType<typeof fileEngine>>, ids: string[]): Promise<void> {
    for (let i = 0; i < 2_000; i++) {
      const runs = await Promise.all(ids.map((id) => t.store.getRun(id)));
      if (runs.every((run) => run?.status === 'succeeded')) return;
      await t.clock.advance(0);
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
    throw new Error('runs did not finish');
  }

  it('a no-op run writes three WAL lines (the insert in full, then what changed as it started and as it ended), 682 B in all, and no log file of its own', async () => {
    const t = await fileEngine();
    await t.store.flush();
    const before = t.walRecords().length;
    const run = await t.engine.triggerJob('noop', 'api');
    await finishAll(t, [run.id]);
    await t.store.flush();
    const lines = t.walRecords().slice(before);
    const at = (ms: number) => new Date(Date.parse('2026-03-01T12:00:00Z') + ms).toISOString();
    expect(lines.map(({ record }) => record)).toEqual([
      {
        t: 'run',
        run: { id: run.id, job: 'noop', status: 'queued', trigger: 'api', occurrences: 1, createdAt: at(0), tasks: { main: { name: 'main', status: 'pending', attempts: 0 } }, taskOrder: ['main'] },
      },
      {
        t: 'upd',
        id: run.id,
        n: 2,
        set: { status: 'running', startedAt: at(0), lastSuccessAt: '' },
        tasks: { main: { set: { status: 'running', attempts: 1, startedAt: at(0) } } },
      },
      {
        t: 'upd',
        id: run.id,
        n: 3,
        set: { status: 'succeeded', finishedAt: at(0) },
        tasks: { main: { set: { status: 'succeeded', finishedAt: at(0), output: null } } },
      },
    ]);
    // Bytes per line (ids and times have fixed widths): the whole run at each step was 236 + 356 + 455 B.
    expect(lines.map(({ line }) => Buffer.byteLength(line) + 1)).toEqual([236, 229, 217]);
    // Its log (Hearth's own lines only) was never a file: it goes from memory into the day's pack.
    expect(readdirSync(t.logsDir).filter((name) => name.endsWith('.log'))).toEqual([]);
    expect(await t.engine.readLog(run.id)).toMatch(/\[hearth\] run succeeded in/);
    await t.engine.stop();
    expect(readdirSync(t.logsDir).filter((name) => name.endsWith('.log'))).toEqual([]);
    expect(readdirSync(join(t.logsDir, 'packs'))).toEqual(['2026-03-01.idx', '2026-03-01.log']);
  });

  it('a no-op run is turned into JSON text three times (its three WAL lines), not at every save or read', async () => {
    const t = await fileEngine();
    // One run first, so the job's last success is known (read once by the Watch and the store).
    await finishAll(t, [(await t.engine.triggerJob('noop', 'api')).id]);
    await t.store.flush();
    const stringify = vi.spyOn(JSON, 'stringify');
    const parse = vi.spyOn(JSON, 'parse');
    try {
      const run = await t.engine.triggerJob('noop', 'api');
      await finishAll(t, [run.id]);
      await t.store.flush();
      const ofRuns = (args: unknown[]) => {
        const value = args[0] as { t?: string; taskOrder?: unknown } | undefined;
        return typeof value === 'object' && value !== null && (value.taskOrder !== undefined || value.t === 'run' || value.t === 'upd');
      };
      expect(stringify.mock.calls.filter(ofRuns).map((args) => (args[0] as { t?: string }).t ?? 'run object')).toEqual(['run', 'upd', 'upd']);
      expect(parse.mock.calls.filter((args) => typeof args[0] === 'string' && args[0].includes(run.id))).toEqual([]);
    } finally {
      stringify.mockRestore();
      parse.mockRestore();
    }
  });

  it('a run starting for the first time does not stat its log file (there is none yet); a resumed one does', async () => {
    const t = await fileEngine();
    vi.mocked(statSync).mockClear();
    const run = await t.engine.triggerJob('noop', 'api');
    await finishAll(t, [run.id]);
    const ofLogs = () => vi.mocked(statSync).mock.calls.filter(([path]) => String(path).startsWith(t.logsDir));
    expect(ofLogs()).toEqual([]);
    t.logs.prepare('r_00000000010000000000');
    expect(ofLogs()).toHaveLength(1);
  });

  it('200 concurrent no-op runs share their fsyncs: a handful of WAL syncs, not three per run', async () => {
    const t = await fileEngine();
    await t.store.flush();
    const synced = t.store.stats().walSyncs;
    const runs = await Promise.all(Array.from({ length: 200 }, () => t.engine.triggerJob('noop', 'api')));
    await finishAll(t, runs.map((run) => run.id));
    await t.store.flush();
    const syncs = t.store.stats().walSyncs - synced;
    expect(syncs).toBeGreaterThan(0);
    expect(syncs).toBeLessThanOrEqual(60);
    expect(readdirSync(t.logsDir).filter((name) => name.endsWith('.log'))).toEqual([]);
  });

  it('one run at a time costs exactly three WAL syncs per run (insert, attempt, end), also while older runs move to history/', async () => {
    const t = await fileEngine();
    await t.store.flush();
    const synced = t.store.stats().walSyncs;
    const archived = t.store.stats().archivedRuns;
    // Waited for until it is finished on disk (the engine's 'finished' event), not only in state: otherwise the
    // next run's insert can meet the end's fsync still in flight and share a sync with it (209, not 210).
    const finished = new Set<string>();
    t.engine.onRunEvent((event) => void (event.type === 'finished' && finished.add(event.run.id)));
    for (let i = 0; i < 70; i++) {
      const run = await t.engine.triggerJob('noop', 'api');
      for (let wait = 0; !finished.has(run.id); wait++) {
        if (wait > 2_000) throw new Error('the run did not finish');
        await t.clock.advance(0);
        await new Promise((resolve) => setTimeout(resolve, 2));
      }
    }
    expect(t.store.stats().walSyncs - synced).toBe(3 * 70);
    // keepPerJob 50: the oldest runs moved to history/ meanwhile; their archive records rode on those batches.
    expect(t.store.stats().archivedRuns - archived).toBeGreaterThan(0);
  });
});
