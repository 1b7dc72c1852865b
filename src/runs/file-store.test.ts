import { appendFile, cp, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { FakeClock } from '../core/clock.js';
import { ConflictError } from '../core/errors.js';
import { createLogger } from '../core/logger.js';
import type { Logger } from '../core/logger.js';
import { FileRunStore } from './file-store.js';
import { HistoryArchive } from './history-archive.js';
import type { FileRunStoreOptions } from './file-store.js';
import type { Run } from './model.js';
import type { StateDocument } from './run-state.js';
import type { WalWriter } from './wal.js';
import { finished, listAll, RunFactory, runStoreConformance } from './store-conformance.js';
import { scheduleLedgerConformance } from './schedule-ledger-conformance.js';
import { runRepositoryConformance } from './run-repository-conformance.js';
import { runQueueConformance } from './run-queue-conformance.js';

const DAY_MS = 86_400_000;
const dirs: string[] = [];
const stores: FileRunStore[] = [];
/** Errors logged by stores that were not given a test's own logger: there should be none. */
const unexpectedErrors: unknown[] = [];
const strictLogger = createLogger({
  level: 'error',
  write: (line) => unexpectedErrors.push(JSON.parse(line)),
});

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'hearth-runs-'));
  dirs.push(dir);
  return dir;
}

afterEach(async () => {
  for (const store of stores.splice(0)) await store.close().catch(() => {});
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
  expect(unexpectedErrors.splice(0)).toEqual([]);
});

interface LogRecord {
  level: string;
  msg: string;
  [field: string]: unknown;
}

function captureLogger(): { logger: Logger; records: LogRecord[] } {
  const records: LogRecord[] = [];
  const logger = createLogger({ level: 'debug', write: (line) => records.push(JSON.parse(line) as LogRecord) });
  return { logger, records };
}

type StoreOptions = Partial<Omit<FileRunStoreOptions, 'dataDir'>>;

/** Opens a store; tests that simulate a crash simply never close it (afterEach releases its file handle). */
async function openStore(dataDir: string, options: StoreOptions = {}): Promise<FileRunStore> {
  const store = new FileRunStore({
    dataDir,
    clock: options.clock ?? new FakeClock('2026-03-01T12:00:00Z'),
    logger: options.logger ?? strictLogger,
    ...options,
  });
  await store.open();
  stores.push(store);
  return store;
}

/** A copy of a data directory as it is now (to open a store on it while the original stays as it was). */
async function copyOf(dir: string): Promise<string> {
  const copy = await tempDir();
  await cp(dir, copy, { recursive: true });
  return copy;
}

async function readState(dir: string): Promise<StateDocument> {
  return JSON.parse(await readFile(join(dir, 'state.json'), 'utf8')) as StateDocument;
}

async function walLines(dir: string): Promise<Record<string, unknown>[]> {
  const text = await readFile(join(dir, 'state.wal'), 'utf8');
  return text
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

async function historyLines(dir: string): Promise<Run[]> {
  const history = join(dir, 'history');
  const runs: Run[] = [];
  for (const name of (await readdir(history)).sort()) {
    const text = await readFile(join(history, name), 'utf8');
    for (const line of text.split('\n').filter(Boolean)) runs.push(JSON.parse(line) as Run);
  }
  return runs;
}

/** Inserts `count` runs of `job` and finishes them, alternating succeeded / failed. */
async function insertFinished(store: FileRunStore, factory: RunFactory, count: number, job = 'a'): Promise<Run[]> {
  const runs = Array.from({ length: count }, () => factory.run(job));
  await Promise.all(runs.map((run) => store.insertRun(run)));
  const done = runs.map((run, i) => finished(run, i % 2 === 0 ? 'succeeded' : 'failed'));
  for (const run of done) store.updateRun(run);
  await store.flush();
  return done;
}

runStoreConformance('FileRunStore', async () => {
  const dir = await tempDir();
  const clock = new FakeClock('2026-03-01T12:00:00Z');
  // keepPerJob 5 so the conformance runs cross the state / history boundary.
  const build = async () => {
    const store = new FileRunStore({ dataDir: dir, clock, logger: strictLogger, keepPerJob: 5 });
    await store.open();
    return store;
  };
  return { store: await build(), reopen: build };
}, { durable: true });

scheduleLedgerConformance('FileRunStore', async () => {
  const dir = await tempDir();
  const clock = new FakeClock('2026-03-01T12:00:00Z');
  let store = await openStore(dir, { clock });
  return {
    ledger: store.schedules,
    seed: async (job, state) => store.setSchedule(job, state),
    reopen: async () => {
      await store.close();
      store = await openStore(dir, { clock });
      return store.schedules;
    },
    close: () => store.close(),
  };
}, { durable: true });

runRepositoryConformance('FileRunStore', async () => {
  const dir = await tempDir();
  const clock = new FakeClock('2026-03-01T12:00:00Z');
  // keepPerJob 2 so finished runs cross the state / history boundary.
  let store = await openStore(dir, { clock, keepPerJob: 2 });
  return {
    runs: store.runs,
    reopen: async () => {
      // A power cut: the old store is never closed nor flushed (afterEach releases it). What a durable change promised must be on disk.
      store = await openStore(dir, { clock, keepPerJob: 2 });
      return store.runs;
    },
    close: () => store.close(),
  };
}, { durable: true });

runQueueConformance('FileRunStore', async () => {
  const dir = await tempDir();
  const clock = new FakeClock('2026-03-01T12:00:00Z');
  let store = await openStore(dir, { clock });
  return {
    queue: store.queue,
    runs: store.runs,
    clock,
    reopen: async () => {
      // A power cut: never closed nor flushed (afterEach releases the old store).
      store = await openStore(dir, { clock });
      return { queue: store.queue, runs: store.runs };
    },
    close: () => store.close(),
  };
}, { durable: true });

describe('FileRunStore durability', () => {
  it('has a run on disk as soon as insertRun resolves', async () => {
    const dir = await tempDir();
    const store = await openStore(dir);
    const run = new RunFactory().run('backup');
    await store.insertRun(run);
    expect((await walLines(dir)).some((line) => line.t === 'run' && (line.run as Run).id === run.id)).toBe(true);
    const fresh = await openStore(dir);
    expect(await fresh.getRun(run.id)).toEqual(run);
  });

  it('writes a schedule advance to state.wal as a sched record, so it survives a crash once flushed', async () => {
    const dir = await tempDir();
    const crashed = await openStore(dir);
    expect(await crashed.schedules.advance('nightly', { from: undefined, to: 1_000 })).toBe(true);
    expect(await crashed.schedules.advance('nightly', { from: 500, to: 9_000 })).toBe(false);
    await crashed.flush();
    expect(await walLines(dir)).toContainEqual({ t: 'sched', job: 'nightly', state: { lastHandled: 1_000 } });
    // Never flushed (the FakeClock never fires the flush timer): lost in the "power cut", as any coalesced change.
    expect(await crashed.schedules.advance('nightly', { from: 1_000, to: 2_000 })).toBe(true);

    const recovered = await openStore(dir);
    expect(await recovered.schedules.get('nightly')).toEqual({ lastHandled: 1_000 });
    expect(await recovered.schedules.advance('nightly', { from: 1_000, to: 3_000 })).toBe(true);
  });

  it('replays the WAL after an unclean stop, keeping inserts and flushed changes', async () => {
    const dir = await tempDir();
    const factory = new RunFactory();
    const crashed = await openStore(dir);
    const [first, second] = [factory.run('a'), factory.run('b')];
    await crashed.insertRun(first!);
    await crashed.insertRun(second!);
    crashed.updateRun({ ...first!, status: 'running' });
    crashed.setSchedule('a', { lastHandled: 7 });
    crashed.setMeta('lastSeenWallClock', 123);
    await crashed.flush();
    // Never flushed and the FakeClock never fires the flush timer: lost in the "power cut".
    crashed.updateRun({ ...second!, status: 'running' });

    const recovered = await openStore(dir);
    expect((await recovered.getRun(first!.id))!.status).toBe('running');
    expect((await recovered.getRun(second!.id))!.status).toBe('queued');
    expect(recovered.getSchedule('a')).toEqual({ lastHandled: 7 });
    expect(recovered.getMeta('lastSeenWallClock')).toBe(123);
    expect(recovered.activeRuns().map((run) => run.id)).toEqual([first!.id, second!.id]);
    // Replayed changes were folded into state.json and the WAL restarted.
    expect(Object.keys((await readState(dir)).runs)).toHaveLength(2);
    expect(await walLines(dir)).toHaveLength(1);
  });

  it('writes coalesced changes by itself within flushIntervalMs', async () => {
    const dir = await tempDir();
    const clock = new FakeClock();
    const store = await openStore(dir, { clock, flushIntervalMs: 200 });
    const run = new RunFactory().run('a');
    await store.insertRun(run);
    const synced = store.stats().walSyncs;
    store.updateRun({ ...run, status: 'running' });
    await clock.advance(199);
    expect(store.stats().walSyncs).toBe(synced);
    await clock.advance(1);
    await vi.waitFor(() => expect(store.stats().walSyncs).toBe(synced + 1));
    const recovered = await openStore(dir);
    expect((await recovered.getRun(run.id))!.status).toBe('running');
  });

  it('coalesces many changes into one append, one line per run', async () => {
    const dir = await tempDir();
    const store = await openStore(dir);
    const run = new RunFactory().run('a');
    await store.insertRun(run);
    const synced = store.stats().walSyncs;
    for (let i = 0; i < 100; i++) store.updateRun({ ...run, status: 'running', error: `step ${i}` });
    for (let i = 0; i < 10; i++) store.setSchedule('a', { lastHandled: i });
    store.setMeta('k', 1);
    await store.flush();
    expect(store.stats().walSyncs).toBe(synced + 1);
    const lines = await walLines(dir);
    const runLines = lines.filter((line) => line.t === 'run' || line.t === 'upd');
    // The insert, then what the last of the 100 updates changed.
    expect(runLines).toEqual([{ t: 'run', run }, { t: 'upd', id: run.id, n: 2, set: { status: 'running', error: 'step 99' } }]);
    expect(lines.filter((line) => line.t === 'sched')).toEqual([{ t: 'sched', job: 'a', state: { lastHandled: 9 } }]);
  });

  it('writes an insert as the JSON of { t: "run", run } and later changes as the fields that changed, byte for byte', async () => {
    const dir = await tempDir();
    const store = await openStore(dir);
    const run = new RunFactory().run('a', { input: { note: 'ünïcode ✓', n: 1.5e-7, list: [1, null, true] }, inputBytes: 60 });
    await store.insertRun(run);
    const running: Run = { ...run, status: 'running', startedAt: '2025-01-01T00:00:01.000Z' };
    store.updateRun(running);
    await store.flush();
    const task = Object.keys(run.tasks)[0]!;
    const done: Run = {
      ...running,
      status: 'succeeded',
      finishedAt: '2025-01-01T00:00:02.000Z',
      tasks: { ...running.tasks, [task]: { ...running.tasks[task]!, status: 'succeeded', attempts: 1, output: null } },
    };
    store.updateRun(done);
    await store.flush();
    // Saved again unchanged: no line at all.
    store.updateRun(done);
    await store.flush();
    const lines = (await readFile(join(dir, 'state.wal'), 'utf8')).split('\n').filter(Boolean).slice(1);
    expect(lines).toEqual([
      JSON.stringify({ t: 'run', run }),
      JSON.stringify({ t: 'upd', id: run.id, n: 2, set: { status: 'running', startedAt: '2025-01-01T00:00:01.000Z' } }),
      JSON.stringify({
        t: 'upd',
        id: run.id,
        n: 3,
        set: { status: 'succeeded', finishedAt: '2025-01-01T00:00:02.000Z' },
        tasks: { [task]: { set: { status: 'succeeded', attempts: 1, output: null } } },
      }),
    ]);
    // The change lines are what a finished no-op run saves over its whole run at each step.
    expect(lines[1]!.length + lines[2]!.length).toBeLessThan(JSON.stringify({ t: 'run', run: running }).length);
    expect(await (await openStore(dir)).getRun(run.id)).toEqual(done);
  });

  it('group-commits concurrent inserts instead of one fsync each', async () => {
    const dir = await tempDir();
    const store = await openStore(dir);
    const factory = new RunFactory(Date.UTC(2026, 0, 1), 1_000);
    const synced = store.stats().walSyncs;
    await Promise.all(Array.from({ length: 1_000 }, () => store.insertRun(factory.run('busy'))));
    expect(store.stats().walSyncs - synced).toBeLessThanOrEqual(2);

    // Inserts that arrive while an fsync is in flight share the next one.
    const before = store.stats().walSyncs;
    const first = store.insertRun(factory.run('busy'));
    await new Promise((resolve) => setImmediate(resolve));
    await Promise.all([first, ...Array.from({ length: 500 }, () => store.insertRun(factory.run('busy')))]);
    expect(store.stats().walSyncs - before).toBeLessThanOrEqual(2);

    const fresh = await openStore(dir);
    expect(fresh.activeRuns()).toHaveLength(1_501);
  });

  it('ignores a torn last line in the WAL and logs it', async () => {
    const dir = await tempDir();
    const factory = new RunFactory();
    const crashed = await openStore(dir);
    const runs = [factory.run('a'), factory.run('a')];
    for (const run of runs) await crashed.insertRun(run);
    await appendFile(join(dir, 'state.wal'), '{"t":"run","run":{"id":"r_00');

    const { logger, records } = captureLogger();
    const recovered = await openStore(dir, { logger });
    expect(recovered.activeRuns().map((run) => run.id)).toEqual(runs.map((run) => run.id));
    expect(records.some((r) => r.level === 'warn' && r.msg.includes('incomplete last write in state.wal'))).toBe(true);
    expect(await walLines(dir)).toHaveLength(1);
  });

  it('skips a damaged line in the middle of the WAL, keeps the rest and logs an error', async () => {
    const dir = await tempDir();
    const factory = new RunFactory();
    const crashed = await openStore(dir);
    const [first, second] = [factory.run('a'), factory.run('a')];
    await crashed.insertRun(first!);
    await appendFile(join(dir, 'state.wal'), '\0\0garbage\n');
    await crashed.insertRun(second!);

    const { logger, records } = captureLogger();
    const recovered = await openStore(dir, { logger });
    expect(recovered.activeRuns()).toEqual([first, second]);
    expect(records.some((r) => r.level === 'error' && r.msg.includes('damaged lines in state.wal'))).toBe(true);
  });

  it("replays a run's change lines in order; after a damaged one, skips that run's later changes (it stays as its last readable line left it) and logs an error", async () => {
    const dir = await tempDir();
    const factory = new RunFactory();
    const crashed = await openStore(dir);
    const [hit, other] = [factory.run('a'), factory.run('a')];
    await Promise.all([crashed.insertRun(hit!), crashed.insertRun(other!)]);
    const running = (run: Run): Run => ({ ...run, status: 'running', startedAt: '2026-03-01T12:00:01.000Z' });
    for (const run of [hit!, other!]) await crashed.runs.save(running(run), 'task-started');
    for (const run of [hit!, other!]) await crashed.runs.save(finished(running(run)), 'finished');
    const lines = (await readFile(join(dir, 'state.wal'), 'utf8')).split('\n');
    expect(lines.filter((line) => line.includes('"t":"upd"'))).toHaveLength(4);
    // The crash-free replay first: every change comes back.
    const whole = await openStore(await copyOf(dir));
    expect(await whole.getRun(hit!.id)).toEqual(finished(running(hit!)));
    // Now damage the hit run's n=2 line (its start): its n=3 line (the end) cannot apply to the queued run.
    const damaged = lines.map((line) => (line.includes(`"id":"${hit!.id}","n":2`) ? '\0\0garbage' : line));
    expect(damaged).not.toEqual(lines);
    await writeFile(join(dir, 'state.wal'), damaged.join('\n'));

    const { logger, records } = captureLogger();
    const recovered = await openStore(dir, { logger });
    expect(await recovered.getRun(hit!.id)).toEqual(hit);
    expect(await recovered.getRun(other!.id)).toEqual(finished(running(other!)));
    expect(records.filter((r) => r.level === 'error').map((r) => [r.msg.split(';')[0], r.records ?? r.lines])).toEqual([
      ['skipped damaged lines in state.wal', [damaged.indexOf('\0\0garbage') + 1]],
      ["skipped changes in state.wal to runs whose earlier line was damaged or missing", 1],
    ]);
  });

  it('starts each state.wal after a checkpoint with a full line per run, never a change against the file before', async () => {
    const dir = await tempDir();
    // A checkpoint after every batch: each line below is the first of its run in a fresh file.
    const store = await openStore(dir, { checkpointBytes: 1 });
    const wal = (store as unknown as { wal: WalWriter }).wal;
    const batches: string[][] = [];
    const append = wal.append.bind(wal);
    vi.spyOn(wal, 'append').mockImplementation(async (lines) => (batches.push(lines), append(lines)));
    const run = new RunFactory().run('a');
    await store.insertRun(run);
    await store.runs.save({ ...run, status: 'running' }, 'task-started');
    expect(batches.map((lines) => lines.map((line) => (JSON.parse(line) as { t: string }).t))).toEqual([['run'], ['run']]);
    // The checkpoint after the last batch runs after the save is acknowledged: copied while it renames its temp
    // file, the directory is no state a crash leaves (and cp fails with ENOENT).
    await (store as unknown as { writer?: Promise<void> }).writer;
    expect(store.stats().checkpoints).toBeGreaterThanOrEqual(2);
    expect(await (await openStore(await copyOf(dir))).getRun(run.id)).toEqual({ ...run, status: 'running' });

    // Without checkpoints in between, the same saves are a full line and then a change.
    const dir2 = await tempDir();
    const plain = await openStore(dir2);
    await plain.insertRun(run);
    await plain.runs.save({ ...run, status: 'running' }, 'task-started');
    expect((await walLines(dir2)).map((line) => line.t)).toEqual(['wal', 'run', 'upd']);
  });

  it('ignores a WAL older than state.json (crash between checkpoint steps)', async () => {
    const dir = await tempDir();
    const factory = new RunFactory();
    const store = await openStore(dir);
    const run = factory.run('a');
    await store.insertRun(run);
    const staleWal = await readFile(join(dir, 'state.wal'), 'utf8');
    store.updateRun(finished(run));
    await store.close();
    // state.json now holds the finished run; put back the older WAL that still says "queued".
    await writeFile(join(dir, 'state.wal'), staleWal);
    const reopened = await openStore(dir);
    expect((await reopened.getRun(run.id))!.status).toBe('succeeded');
  });
});

describe('FileRunStore refused inserts', () => {
  const enospc = () => Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
  const walOf = (store: FileRunStore) => (store as unknown as { wal: WalWriter }).wal;

  it('undoes an insert whose write failed: not in memory, never written by the retry, gone after a restart', async () => {
    const dir = await tempDir();
    const clock = new FakeClock('2026-03-01T12:00:00Z');
    const { logger, records } = captureLogger();
    const store = await openStore(dir, { clock, logger });
    const factory = new RunFactory();
    const kept = factory.run('a');
    await store.insertRun(kept);
    store.updateRun({ ...kept, status: 'running' });
    vi.spyOn(walOf(store), 'append').mockRejectedValueOnce(enospc());
    const refused = factory.run('a');
    await expect(store.insertRun(refused)).rejects.toMatchObject({ code: 'ENOSPC' });
    expect(await store.getRun(refused.id)).toBeUndefined();
    expect(store.activeRuns().map((run) => run.id)).toEqual([kept.id]);
    expect(() => store.updateRun({ ...refused, status: 'running' })).toThrow(/not found/i);
    expect(records.find((r) => r.level === 'error')).toMatchObject({ refusedRuns: 1 });

    // The write loop retries the update of the acknowledged run, and only that.
    await clock.advance(5_000);
    await store.flush();
    const lines = await walLines(dir);
    expect(lines.filter((line) => line.t === 'run' || line.t === 'upd')).toEqual([
      { t: 'run', run: kept },
      { t: 'upd', id: kept.id, n: 2, set: { status: 'running' } },
    ]);
    const recovered = await openStore(dir);
    expect(recovered.activeRuns()).toEqual([{ ...kept, status: 'running' }]);
  });

  it('leaves an insert that is still being written out of a checkpoint, so a refusal after it leaves nothing on disk', async () => {
    const dir = await tempDir();
    // Every batch is followed by a checkpoint.
    const { logger } = captureLogger();
    const store = await openStore(dir, { checkpointBytes: 1, logger });
    const wal = walOf(store);
    const append = wal.append.bind(wal);
    const factory = new RunFactory();
    const [first, late] = [factory.run('a'), factory.run('a')];
    let lateInsert: Promise<void> | undefined;
    let calls = 0;
    vi.spyOn(wal, 'append').mockImplementation(async (lines) => {
      calls++;
      // `late` arrives while the first batch is being written: its checkpoint runs while `late` waits.
      if (calls === 1) lateInsert = store.insertRun(late);
      if (calls === 2) throw enospc();
      return append(lines);
    });
    await store.insertRun(first);
    await expect(lateInsert).rejects.toMatchObject({ code: 'ENOSPC' });
    expect(store.stats().checkpoints).toBeGreaterThanOrEqual(2);
    const recovered = await openStore(dir);
    expect(recovered.activeRuns().map((run) => run.id)).toEqual([first.id]);
    expect(await readFile(join(dir, 'state.json'), 'utf8')).not.toContain(late.id);
  });
});

describe('FileRunStore checkpoints', () => {
  it('rewrites state.json and truncates the WAL once it passes checkpointBytes', async () => {
    const dir = await tempDir();
    const store = await openStore(dir, { checkpointBytes: 4_096 });
    const factory = new RunFactory();
    const runs: Run[] = [];
    for (let i = 0; i < 60; i++) {
      const run = factory.run('a');
      runs.push(run);
      await store.insertRun(run);
    }
    expect(store.stats().checkpoints).toBeGreaterThanOrEqual(2);
    const walSize = (await stat(join(dir, 'state.wal'))).size;
    expect(walSize).toBeLessThan(4_096 + 1_024);
    const state = await readState(dir);
    const [header] = await walLines(dir);
    expect(header).toEqual({ t: 'wal', gen: state.walGeneration });
    const inState = Object.keys(state.runs).length;
    const inWal = (await walLines(dir)).filter((line) => line.t === 'run').length;
    expect(inState + inWal).toBeGreaterThanOrEqual(60);

    await store.close();
    expect(Object.keys((await readState(dir)).runs)).toHaveLength(60);
    expect(await walLines(dir)).toHaveLength(1);
  });

  it('keeps the previous state.json as state.json.bak', async () => {
    const dir = await tempDir();
    const factory = new RunFactory();
    const first = await openStore(dir);
    await first.insertRun(factory.run('a'));
    await first.close();
    const generation = (await readState(dir)).walGeneration;
    const second = await openStore(dir);
    await second.insertRun(factory.run('a'));
    await second.close();
    const backup = JSON.parse(await readFile(join(dir, 'state.json.bak'), 'utf8')) as StateDocument;
    expect(backup.walGeneration).toBe(generation);
    expect(Object.keys(backup.runs)).toHaveLength(1);
    expect(Object.keys((await readState(dir)).runs)).toHaveLength(2);
    expect((await readdir(dir)).filter((name) => name.endsWith('.tmp'))).toEqual([]);
  });

  it('rejects opening twice', async () => {
    const store = await openStore(await tempDir());
    await expect(store.open()).rejects.toBeInstanceOf(ConflictError);
  });
});

describe('FileRunStore recovery from damaged state files', () => {
  /** state.json.bak holds run `kept`; state.json additionally holds run `lost` (whose insert is in state.wal.prev). */
  async function prepare(): Promise<{ dir: string; kept: Run; lost: Run }> {
    const dir = await tempDir();
    const factory = new RunFactory();
    const kept = factory.run('a');
    const lost = factory.run('a');
    const first = await openStore(dir);
    await first.insertRun(kept);
    await first.close();
    const second = await openStore(dir);
    await second.insertRun(lost);
    await second.close();
    return { dir, kept, lost };
  }

  async function corruptCopies(dir: string, base: string): Promise<string[]> {
    return (await readdir(dir)).filter((name) => name.startsWith(`${base}.corrupt-`));
  }

  const damages: Record<string, (text: string) => string> = {
    'invalid JSON': () => '{"version": 1, "runs": {,,,',
    'a truncated file': (text) => text.slice(0, Math.floor(text.length / 2)),
    'an empty file': () => '',
    'the wrong shape': () => JSON.stringify({ version: 1, runs: [], schedules: {} }),
    'a run without a status': (text) => text.replace('"status":"queued"', '"status":"exploded"'),
  };

  for (const [damage, corrupt] of Object.entries(damages)) {
    it(`moves a state.json with ${damage} aside, loads state.json.bak and replays the WAL generations after it`, async () => {
      const { dir, kept, lost } = await prepare();
      const original = await readFile(join(dir, 'state.json'), 'utf8');
      const damaged = corrupt(original);
      await writeFile(join(dir, 'state.json'), damaged);

      const { logger, records } = captureLogger();
      const store = await openStore(dir, { logger });
      expect(await store.getRun(kept.id)).toEqual(kept);
      // Acknowledged after the .bak was written: state.wal.prev brings it back.
      expect(await store.getRun(lost.id)).toEqual(lost);

      const [aside, ...more] = await corruptCopies(dir, 'state.json');
      expect(more).toEqual([]);
      expect(aside).toMatch(/^state\.json\.corrupt-2026-03-01T12-00-00-000Z$/);
      expect(await readFile(join(dir, aside!), 'utf8')).toBe(damaged);
      const error = records.find((r) => r.level === 'error');
      expect(error?.msg).toContain('state.json is unusable');
      expect(error?.msg).toContain(aside);
      const warning = records.find((r) => r.level === 'warn');
      expect(warning?.msg).toContain('recovered the run state from state.json.bak');
      expect(warning?.loaded).toBe(join(dir, 'state.json.bak'));
      // A new, good state.json was written.
      expect(Object.keys((await readState(dir)).runs).sort()).toEqual([kept.id, lost.id].sort());
    });
  }

  it('starts empty when state.json.bak is unusable too, keeping both files and history/', async () => {
    const dir = await tempDir();
    const factory = new RunFactory();
    const first = await openStore(dir, { keepPerJob: 2 });
    const done = await insertFinished(first, factory, 5);
    await first.close();
    const second = await openStore(dir, { keepPerJob: 2 });
    await second.close();
    await writeFile(join(dir, 'state.json'), '{"trunc');
    await writeFile(join(dir, 'state.json.bak'), 'not json at all');

    const { logger, records } = captureLogger();
    const store = await openStore(dir, { logger, keepPerJob: 2 });
    expect(store.activeRuns()).toEqual([]);
    expect(await corruptCopies(dir, 'state.json')).toHaveLength(1);
    const [bakAside] = await corruptCopies(dir, 'state.json.bak');
    expect(await readFile(join(dir, bakAside!), 'utf8')).toBe('not json at all');
    const errors = records.filter((r) => r.level === 'error').map((r) => r.msg);
    expect(errors).toHaveLength(2);
    expect(errors[1]).toContain('state.json.bak is unusable too');
    expect(errors[1]).toContain('starting with an empty run state');
    // The three archived runs survive in history/, and lastSuccess finds them there.
    expect((await listAll(store, {}, 2)).map((run) => run.id)).toEqual(
      done.slice(0, 3).map((run) => run.id).reverse(),
    );
    expect((await store.lastSuccess('a'))!.id).toBe(done[2]!.id);
  });

  it('accepts a state.json without the derived fields (lastSuccess, walGeneration)', async () => {
    const dir = await tempDir();
    const run = finished(new RunFactory().run('a'));
    const minimal = { version: 1, runs: { [run.id]: run }, schedules: { a: { lastHandled: 5 } }, meta: {} };
    await writeFile(join(dir, 'state.json'), JSON.stringify(minimal));
    const store = await openStore(dir);
    expect(await store.getRun(run.id)).toEqual(run);
    expect(await store.lastSuccess('a')).toEqual(run);
    expect(store.getSchedule('a')).toEqual({ lastHandled: 5 });
    expect(await readdir(dir)).not.toContainEqual(expect.stringContaining('corrupt'));
  });

  it('migrates waits of a state.json and state.wal written before typed waits (wakeAt) to timer waits', async () => {
    const dir = await tempDir();
    const factory = new RunFactory();
    const legacy = (run: Run, extra: Record<string, unknown>) => ({ ...run, ...extra }) as unknown as Run;
    const base = factory.run('retrying');
    const waiting = legacy(
      { ...base, status: 'waiting', startedAt: base.createdAt, tasks: { main: { name: 'main', status: 'waiting', attempts: 1, error: 'exit code 1', finishedAt: '2026-03-01T11:00:00.000Z', wakeAt: '2026-03-01T11:00:10.000Z' } as never }, taskOrder: ['main'] },
      { wakeAt: '2026-03-01T11:00:10.000Z' },
    );
    // The old pool set a woken run back to queued without clearing wakeAt.
    const woken = legacy({ ...factory.run('woken'), status: 'queued' }, { wakeAt: '2026-03-01T10:00:00.000Z' });
    // A waiting task with no wakeAt at all: the old executor computed NaN from it.
    const lost = factory.run('lost');
    const noTime = legacy({ ...lost, status: 'waiting', tasks: { main: { name: 'main', status: 'waiting', attempts: 1, finishedAt: '2026-03-01T09:00:00.000Z' } }, taskOrder: ['main'] }, {});
    const old = { version: 1, runs: { [waiting.id]: waiting, [woken.id]: woken }, schedules: {}, meta: {} };
    await writeFile(join(dir, 'state.json'), JSON.stringify(old));
    await writeFile(join(dir, 'state.wal'), `${JSON.stringify({ t: 'wal', gen: 0 })}\n${JSON.stringify({ t: 'run', run: noTime })}\n`);

    const store = await openStore(dir);
    const migrated = (await store.getRun(waiting.id))!;
    expect(migrated.wait).toEqual({ kind: 'timer', at: '2026-03-01T11:00:10.000Z' });
    expect(migrated.tasks.main).toEqual({ name: 'main', status: 'waiting', attempts: 1, error: 'exit code 1', finishedAt: '2026-03-01T11:00:00.000Z', wait: { kind: 'timer', at: '2026-03-01T11:00:10.000Z' } });
    expect(migrated).not.toHaveProperty('wakeAt');
    const queued = (await store.getRun(woken.id))!;
    expect(queued).not.toHaveProperty('wakeAt');
    expect(queued.wait).toBeUndefined();
    expect((await store.getRun(noTime.id))!.tasks.main!.wait).toEqual({ kind: 'timer', at: '2026-03-01T09:00:00.000Z' });
    // Written back in the new shape.
    const onDisk = JSON.stringify(await readState(dir));
    expect(onDisk).not.toContain('wakeAt');
  });

  it('loads state.json.bak when state.json is missing', async () => {
    const { dir, kept } = await prepare();
    await rm(join(dir, 'state.json'));
    const { logger, records } = captureLogger();
    const store = await openStore(dir, { logger });
    expect(await store.getRun(kept.id)).toEqual(kept);
    expect(records.some((r) => r.level === 'warn' && r.msg.includes('state.json is missing'))).toBe(true);
  });

  it('never overwrites an earlier corrupt copy', async () => {
    const { dir } = await prepare();
    const { logger } = captureLogger();
    await writeFile(join(dir, 'state.json'), 'bad one');
    await (await openStore(dir, { logger })).close();
    await writeFile(join(dir, 'state.json'), 'bad two');
    await openStore(dir, { logger });
    const copies = (await corruptCopies(dir, 'state.json')).sort();
    expect(copies).toHaveLength(2);
    const contents = await Promise.all(copies.map((name) => readFile(join(dir, name), 'utf8')));
    expect(contents.sort()).toEqual(['bad one', 'bad two']);
  });
});

describe('FileRunStore recovery from state.json.bak loses nothing acknowledged', () => {
  interface Acknowledged {
    runs: Run[];
    waiting: Run;
    lastHandled: number;
  }

  /**
   * 20 runs inserted one by one with small checkpoints in between (so .bak,
   * state.wal.prev and state.wal all hold part of the story), a schedule's
   * lastHandled moving with them, and one run waiting on a retry timer; then a
   * crash (the store is never closed).
   */
  async function acknowledgedWork(dir: string): Promise<Acknowledged> {
    const factory = new RunFactory(Date.UTC(2026, 1, 1), 60_000);
    const store = await openStore(dir, { checkpointBytes: 2_048 });
    const runs: Run[] = [];
    let lastHandled = 0;
    let waiting: Run | undefined;
    for (let i = 0; i < 20; i++) {
      const run = factory.run('nightly', { trigger: 'schedule' });
      await store.insertRun(run);
      runs.push(run);
      lastHandled = Date.parse(run.createdAt);
      store.setSchedule('nightly', { lastHandled });
      if (i === 12) {
        waiting = { ...run, status: 'waiting', wait: { kind: 'timer', at: '2026-03-02T00:00:00.000Z' } };
        store.updateRun(waiting);
        runs[i] = waiting;
      }
      await store.flush();
    }
    expect(store.stats().checkpoints).toBeGreaterThanOrEqual(3);
    return { runs, waiting: waiting!, lastHandled };
  }

  async function expectAllThere(store: FileRunStore, work: Acknowledged): Promise<void> {
    const byId = new Map((await listAll(store, { job: 'nightly' }, 7)).map((run) => [run.id, run]));
    expect([...byId.keys()].sort()).toEqual(work.runs.map((run) => run.id).sort());
    for (const run of work.runs) expect(byId.get(run.id)).toEqual(run);
    expect((await store.getRun(work.waiting.id))!).toMatchObject({ status: 'waiting', wait: work.waiting.wait });
    expect(store.getSchedule('nightly')!.lastHandled).toBe(work.lastHandled);
  }

  const damages: Record<string, (text: string) => string> = {
    truncated: (text) => text.slice(0, Math.floor(text.length * 0.7)),
    garbage: (text) => '\0\0\xff garbage \0' + text.slice(40),
    'the wrong shape': () => JSON.stringify({ version: 1, runs: {}, schedules: [], meta: {} }),
  };

  for (const [damage, corrupt] of Object.entries(damages)) {
    it(`keeps every acknowledged run, the waiting run and lastHandled when state.json is ${damage}`, async () => {
      const dir = await tempDir();
      const work = await acknowledgedWork(dir);
      await writeFile(join(dir, 'state.json'), corrupt(await readFile(join(dir, 'state.json'), 'utf8')));
      const { logger } = captureLogger();
      const recovered = await openStore(dir, { logger });
      await expectAllThere(recovered, work);

      // The recovery itself left a chain that survives the next damage too.
      await writeFile(join(dir, 'state.json'), corrupt(await readFile(join(dir, 'state.json'), 'utf8')));
      await expectAllThere(await openStore(dir, { logger }), work);
    });
  }

  it('replays the right generations after a power cut at each checkpoint step', async () => {
    const dir = await tempDir();
    const work = await acknowledgedWork(dir);
    const files = ['state.json', 'state.json.bak', 'state.wal', 'state.wal.prev'];
    const read = async () => Object.fromEntries(await Promise.all(files.map(async (name) => [name, await readFile(join(dir, name))] as const)));
    const before = await read();
    // One more checkpoint (N to N+1), cleanly; then rebuild what disk held after each of its steps.
    const store = await openStore(dir);
    await store.close();
    const after = await read();
    const steps: Record<string, Record<string, Buffer>> = {
      'A (.bak linked)': { ...before, 'state.json.bak': before['state.json']! },
      'B (state.json written)': { ...before, 'state.json.bak': before['state.json']!, 'state.json': after['state.json']! },
      'B without A on disk': { ...before, 'state.json': after['state.json']! },
      'C (state.wal.prev linked)': { ...after, 'state.wal': before['state.wal']!, 'state.wal.prev': before['state.wal']! },
      'D (new state.wal)': after,
    };
    const { logger } = captureLogger();
    for (const [step, contents] of Object.entries(steps)) {
      for (const damaged of [false, true]) {
        for (const name of files) await writeFile(join(dir, name), contents[name]!);
        if (damaged) await writeFile(join(dir, 'state.json'), '{"version":1,"runs":{"r_');
        const recovered = new FileRunStore({ dataDir: dir, clock: new FakeClock('2026-03-01T12:00:00Z'), logger });
        await recovered.open();
        try {
          await expectAllThere(recovered, work);
        } catch (error) {
          throw new Error(`after step ${step}${damaged ? ', state.json damaged' : ''}: ${String(error)}`);
        } finally {
          await recovered.close();
        }
      }
    }
  });
});

runStoreConformance('FileRunStore (maxFinishedRuns 3)', async () => {
  const dir = await tempDir();
  const clock = new FakeClock('2026-03-01T12:00:00Z');
  // A small overall cap, so runs cross the state / history boundary however few each job has.
  const build = async () => {
    const store = new FileRunStore({ dataDir: dir, clock, logger: strictLogger, keepPerJob: 50, maxFinishedRuns: 3 });
    await store.open();
    return store;
  };
  return { store: await build(), reopen: build };
}, { durable: true });

describe('FileRunStore history archive', () => {
  it('keeps at most maxFinishedRuns finished runs in state in all (each job keeps its newest), and answers every query the same', async () => {
    const jobs = ['a', 'b', 'c', 'd'];
    const factory = new RunFactory(Date.UTC(2025, 0, 1), DAY_MS / 4);
    const runs = Array.from({ length: 30 }, () => jobs.map((job) => factory.run(job))).flat();
    const fill = async (options: StoreOptions) => {
      const dir = await tempDir();
      const store = await openStore(dir, { keepPerJob: 50, ...options });
      for (const [i, run] of runs.entries()) {
        await store.insertRun(run);
        store.updateRun(finished(run, i % 3 === 0 ? 'failed' : 'succeeded'));
        await store.flush();
      }
      return { dir, store };
    };
    const everything = await fill({ maxFinishedRuns: 10_000 });
    const bounded = await fill({ maxFinishedRuns: 10 });
    await bounded.store.close();
    const state = await readState(bounded.dir);
    expect(Object.keys(state.runs)).toHaveLength(10);
    const reopened = await openStore(bounded.dir, { keepPerJob: 50, maxFinishedRuns: 10 });
    for (const job of jobs) {
      const newest = reopened.lastRun(job);
      expect(newest).toEqual(everything.store.lastRun(job));
      expect(state.runs[newest!.id]).toBeDefined();
      expect(await reopened.lastSuccess(job)).toEqual(await everything.store.lastSuccess(job));
    }
    for (const query of [{}, { job: 'b' }, { status: 'failed' as const }, { job: 'c', status: 'succeeded' as const }]) {
      expect(await listAll(reopened, query, 7)).toEqual(await listAll(everything.store, query, 7));
    }
    const some = (await everything.store.listRuns({ limit: 120 })).runs;
    for (const run of some.filter((_, i) => i % 13 === 0)) expect(await reopened.getRun(run.id)).toEqual(run);
  });

  it('trims state to maxFinishedRuns in steps of a twentieth of the cap, not at every finished run', async () => {
    const dir = await tempDir();
    const factory = new RunFactory(Date.UTC(2025, 0, 1), DAY_MS / 4);
    const store = await openStore(dir, { keepPerJob: 500, maxFinishedRuns: 100 });
    for (let i = 0; i < 105; i++) {
      const run = factory.run(i % 2 ? 'a' : 'b');
      await store.insertRun(run);
      store.updateRun(finished(run, 'succeeded'));
    }
    await store.close();
    expect(Object.keys((await readState(dir)).runs)).toHaveLength(105);
    const reopened = await openStore(dir, { keepPerJob: 500, maxFinishedRuns: 100 });
    const run = factory.run('a');
    await reopened.insertRun(run);
    reopened.updateRun(finished(run, 'succeeded'));
    await reopened.close();
    expect(Object.keys((await readState(dir)).runs)).toHaveLength(100);
  });

  it('keeps keepPerJob finished runs in state and the rest in history/, all reachable', async () => {
    const dir = await tempDir();
    const factory = new RunFactory(Date.UTC(2025, 0, 1), DAY_MS / 4);
    const store = await openStore(dir, { keepPerJob: 50 });
    const done = await insertFinished(store, factory, 500);
    const active = factory.run('a');
    await store.insertRun(active);
    await store.close();

    const state = await readState(dir);
    expect(Object.keys(state.runs)).toHaveLength(51);
    const history = await historyLines(dir);
    expect(history).toHaveLength(450);
    expect(new Set(history.map((run) => run.id)).size).toBe(450);
    const files = await readdir(join(dir, 'history'));
    expect(files.sort()).toEqual(['2025-01.jsonl', '2025-02.jsonl', '2025-03.jsonl', '2025-04.jsonl']);
    for (const name of files) {
      const text = await readFile(join(dir, 'history', name), 'utf8');
      const months = text.trim().split('\n').map((line) => (JSON.parse(line) as Run).createdAt.slice(0, 7));
      expect(new Set(months)).toEqual(new Set([name.slice(0, 7)]));
    }
    expect(history.every((run, i) => i === 0 || run.id > history[i - 1]!.id)).toBe(true);

    const reopened = await openStore(dir, { keepPerJob: 50 });
    const all = await listAll(reopened, {}, 37);
    expect(all.map((run) => run.id)).toEqual([...done, active].map((run) => run.id).reverse());
    expect(await reopened.getRun(done[0]!.id)).toEqual(done[0]);
    expect(await reopened.lastSuccess('a')).toEqual(done[498]);
  });

  it('moves runs one at a time finished to history/ in groups of a tenth of keepPerJob: one append and fsync per six runs at 50', async () => {
    const dir = await tempDir();
    const factory = new RunFactory(Date.UTC(2025, 0, 1), 60_000);
    const store = await openStore(dir, { keepPerJob: 50 });
    const syncsAfter: number[] = [];
    const inState: number[] = [];
    for (let i = 1; i <= 110; i++) {
      await insertFinished(store, factory, 1);
      if (i % 10 === 0 || i === 55 || i === 56) {
        syncsAfter.push(store.stats().historySyncs);
        inState.push((store as unknown as { state: { size: number } }).state.size);
      }
    }
    // 50 kept; the 56th finished run moves 6 (down to 50), and so on every sixth.
    expect(syncsAfter).toEqual([0, 0, 0, 0, 0, 0, 1, 1, 3, 5, 6, 8, 10]);
    expect(inState).toEqual([10, 20, 30, 40, 50, 55, 50, 54, 52, 50, 54, 52, 50]);
    expect(store.stats().archivedRuns).toBe(60);
    expect(await listAll(store, {}, 50)).toHaveLength(110);
  });

  it('does not hold a durable save up while older runs are moved to history/ (that append and fsync go on beside the WAL)', async () => {
    const dir = await tempDir();
    const factory = new RunFactory(Date.UTC(2025, 0, 1), 1_000);
    const store = await openStore(dir, { keepPerJob: 1 });
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    const original = HistoryArchive.prototype.append;
    const append = vi.spyOn(HistoryArchive.prototype, 'append').mockImplementation(async function (this: HistoryArchive, runs: readonly Run[]) {
      await held;
      return original.call(this, runs);
    });
    try {
      const [old, last] = [factory.run('a'), factory.run('a')];
      await store.insertRun(old);
      await store.insertRun(last);
      await store.runs.save(finished(old), 'finished');
      // `old` is beyond keepPerJob once `last` finishes: its move to history/ waits on the held append.
      let saved = false;
      const save = store.runs.save(finished(last), 'finished').then(() => (saved = true));
      await vi.waitFor(() => expect(append).toHaveBeenCalledTimes(1));
      await vi.waitFor(() => expect(saved).toBe(true));
      const statuses = (await walLines(dir)).flatMap((line) =>
        line.t === 'run' ? [(line.run as Run).status] : line.t === 'upd' ? [(line.set as Partial<Run>).status] : []);
      expect(statuses).toEqual(['queued', 'queued', 'succeeded', 'succeeded']);
      release();
      await save;
      await store.flush();
      expect((await historyLines(dir)).map((run) => run.id)).toEqual([old.id]);
      expect((await walLines(dir)).at(-1)).toEqual({ t: 'archive', ids: [old.id] });
    } finally {
      release();
      append.mockRestore();
    }
  });

  it('prunes whole history months older than the cut-off, but never the month of a job’s last success', async () => {
    const dir = await tempDir();
    // Job a: runs every 6 h from January to April, alternating succeeded / failed. Job b: one success in
    // January, then only failures, so its last success lives in the oldest month.
    const factory = new RunFactory(Date.UTC(2025, 0, 1), DAY_MS / 4);
    const store = await openStore(dir, { keepPerJob: 5 });
    const [onlySuccessOfB] = await insertFinished(store, factory, 1, 'b');
    await insertFinished(store, factory, 420, 'a');
    const failuresOfB = Array.from({ length: 10 }, () => factory.run('b'));
    for (const run of failuresOfB) await store.insertRun(run);
    for (const run of failuresOfB) store.updateRun(finished(run, 'failed'));
    await store.flush();
    expect((await readdir(join(dir, 'history'))).sort()).toEqual(['2025-01.jsonl', '2025-02.jsonl', '2025-03.jsonl', '2025-04.jsonl']);
    const before = await listAll(store, { job: 'a' }, 100);

    // A month is kept until a day after it ends (the slack for ids near a month's edge)…
    expect(await store.pruneHistory(Date.UTC(2025, 2, 1, 12))).toEqual([]);
    // …so with the cut-off on 2 March, February goes and March stays.
    expect(await store.pruneHistory(Date.UTC(2025, 2, 2, 1))).toEqual(['2025-02']);
    expect((await readdir(join(dir, 'history'))).sort()).toEqual(['2025-01.jsonl', '2025-03.jsonl', '2025-04.jsonl']);
    const after = await listAll(store, { job: 'a' }, 100);
    expect(after.map((run) => run.id)).toEqual(before.filter((run) => !run.createdAt.startsWith('2025-02')).map((run) => run.id));
    expect(await store.lastSuccess('b')).toEqual(onlySuccessOfB);

    // January is kept for b's last success, and nothing newer than the cut-off goes; a second pass deletes nothing.
    expect(await store.pruneHistory(Date.UTC(2025, 2, 2, 1))).toEqual([]);
    await store.close();
    const reopened = await openStore(dir, { keepPerJob: 5 });
    expect(await reopened.lastSuccess('b')).toEqual(onlySuccessOfB);
    expect((await listAll(reopened, { job: 'a' }, 100)).map((run) => run.id)).toEqual(after.map((run) => run.id));
  });

  it('files runs by the UTC month of createdAt', async () => {
    const dir = await tempDir();
    const factory = new RunFactory(Date.UTC(2025, 0, 31, 23, 59, 59), 2_000);
    const store = await openStore(dir, { keepPerJob: 1 });
    const done = await insertFinished(store, factory, 3);
    await store.flush();
    const jan = await readFile(join(dir, 'history', '2025-01.jsonl'), 'utf8');
    const feb = await readFile(join(dir, 'history', '2025-02.jsonl'), 'utf8');
    expect(jan.trim().split('\n').map((line) => (JSON.parse(line) as Run).id)).toEqual([done[0]!.id]);
    expect(feb.trim().split('\n').map((line) => (JSON.parse(line) as Run).id)).toEqual([done[1]!.id]);
  });

  it('reads only as much history as a page needs', async () => {
    const dir = await tempDir();
    const factory = new RunFactory(Date.UTC(2025, 0, 1), DAY_MS / 2);
    const writer = await openStore(dir, { keepPerJob: 20 });
    const done = await insertFinished(writer, factory, 200);
    await writer.close();
    expect(await readdir(join(dir, "history"))).toHaveLength(3);

    const store = await openStore(dir, { keepPerJob: 20 });
    expect(store.stats().historyFilesRead).toBe(0);
    const first = await store.listRuns({ limit: 10 });
    expect(first.runs.map((run) => run.id)).toEqual(done.slice(-10).map((run) => run.id).reverse());
    expect(store.stats().historyFilesRead).toBe(0);
    await store.listRuns({ limit: 25 });
    expect(store.stats().historyFilesRead).toBe(1);
    const reads = store.stats().historyFilesRead;
    expect(await store.getRun(done[0]!.id)).toEqual(done[0]);
    expect(store.stats().historyFilesRead).toBe(reads + 1);
  });

  it('answers lastSuccess from the remembered id after a restart, reading one file at most', async () => {
    const dir = await tempDir();
    const factory = new RunFactory();
    const writer = await openStore(dir, { keepPerJob: 3 });
    const [success] = await insertFinished(writer, factory, 1, 'rare');
    const failures = Array.from({ length: 6 }, () => factory.run('rare'));
    for (const run of failures) await writer.insertRun(run);
    for (const run of failures) writer.updateRun(finished(run, 'failed'));
    await insertFinished(writer, factory, 4, 'often');
    await writer.close();
    expect((await readState(dir)).lastSuccess.rare).toEqual({ id: success!.id, finishedAt: success!.finishedAt });

    const store = await openStore(dir, { keepPerJob: 3 });
    expect(await store.lastSuccess('often')).toBeDefined();
    expect(store.stats().historyFilesRead).toBe(0);
    expect(await store.lastSuccess('rare')).toEqual(success);
    expect(store.stats().historyFilesRead).toBe(1);
    expect(await store.lastSuccess('rare')).toEqual(success);
    expect(store.stats().historyFilesRead).toBe(1);
    expect(await store.lastSuccess('never')).toBeUndefined();
    const reads = store.stats().historyFilesRead;
    expect(await store.lastSuccess('never')).toBeUndefined();
    expect(store.stats().historyFilesRead).toBe(reads);
  });

  it('survives a crash between the history append and the removal from state', async () => {
    const dir = await tempDir();
    const factory = new RunFactory();
    const crashed = await openStore(dir, { keepPerJob: 2 });
    const done = await insertFinished(crashed, factory, 3);
    // Drop the WAL's archive record, as if the power went right after the history fsync.
    const kept = (await readFile(join(dir, 'state.wal'), 'utf8'))
      .split('\n')
      .filter((line) => !line.includes('"t":"archive"'))
      .join('\n');
    await writeFile(join(dir, 'state.wal'), kept);

    const recovered = await openStore(dir, { keepPerJob: 2 });
    expect((await listAll(recovered, {}, 2)).map((run) => run.id)).toEqual(done.map((run) => run.id).reverse());
    await recovered.flush(); // archives the same run again: a duplicate line in history/
    expect((await historyLines(dir)).map((run) => run.id)).toEqual([done[0]!.id, done[0]!.id]);
    const reopened = await openStore(dir, { keepPerJob: 2 });
    expect((await listAll(reopened, {}, 1)).map((run) => run.id)).toEqual(done.map((run) => run.id).reverse());
    expect(await reopened.getRun(done[0]!.id)).toEqual(done[0]);
  });

  it('starts a fresh line after a torn history append and keeps reading', async () => {
    const dir = await tempDir();
    const factory = new RunFactory();
    const first = await openStore(dir, { keepPerJob: 1 });
    const early = await insertFinished(first, factory, 2);
    await first.close();
    await appendFile(join(dir, 'history', '2025-01.jsonl'), '{"id":"r_half');

    const { logger, records } = captureLogger();
    const second = await openStore(dir, { keepPerJob: 1, logger });
    const late = await insertFinished(second, factory, 2);
    const all = await listAll(second, {}, 10);
    expect(all.map((run) => run.id)).toEqual([...early, ...late].map((run) => run.id).reverse());
    expect(records.some((r) => r.level === 'warn' && r.msg.includes('unreadable lines in a history file'))).toBe(true);
    expect(records.filter((r) => r.level === 'error')).toEqual([]);
    // Three runs archived in all (keepPerJob 1), each on its own line after the torn fragment.
    const lines = (await readFile(join(dir, 'history', '2025-01.jsonl'), 'utf8')).split('\n');
    expect(lines).toEqual([JSON.stringify(early[0]), '{"id":"r_half', JSON.stringify(early[1]), JSON.stringify(late[0]), '']);
  });
});
