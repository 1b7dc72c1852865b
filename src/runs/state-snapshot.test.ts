import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { FakeClock } from '../core/clock.js';
import { silentLogger } from '../core/logger.js';
import { FileRunStore } from './file-store.js';
import { chainIsComplete, snapshotStateFiles } from './state-snapshot.js';
import { listAll, RunFactory } from './store-conformance.js';

const dirs: string[] = [];
afterEach(async () => {
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
});

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'hearth-snapshot-'));
  dirs.push(dir);
  return dir;
}

function store(dataDir: string, checkpointBytes?: number): FileRunStore {
  return new FileRunStore({ dataDir, clock: new FakeClock('2026-03-01T12:00:00Z'), logger: silentLogger, ...(checkpointBytes ? { checkpointBytes } : {}) });
}

describe('snapshotStateFiles', () => {
  it('copies a state that opens with every run acknowledged before the copy, while inserts and checkpoints go on', async () => {
    const dataDir = await tempDir();
    // A checkpoint every few inserts: the copies race state.json rewrites and WAL resets.
    const live = store(dataDir, 1_500);
    await live.open();
    const factory = new RunFactory();
    const acknowledged: string[] = [];
    let writing = true;
    const writer = (async () => {
      while (writing) {
        const run = factory.run('a');
        await live.insertRun(run);
        acknowledged.push(run.id);
      }
    })();
    try {
      for (let i = 0; i < 25; i++) {
        const before = [...acknowledged];
        const copy = await tempDir();
        await snapshotStateFiles(dataDir, copy);
        const reopened = store(copy);
        await reopened.open();
        const ids = new Set((await listAll(reopened, {}, 500)).map((run) => run.id));
        await reopened.close();
        expect(before.filter((id) => !ids.has(id)), `snapshot ${i}`).toEqual([]);
      }
    } finally {
      writing = false;
      await writer;
      await live.close();
    }
    expect(live.stats().checkpoints).toBeGreaterThan(3);
  });

  it.each([1, 2, 3])('copies a complete chain when %i checkpoint(s) happen right after state.json was copied', async (checkpoints) => {
    const dataDir = await tempDir();
    const live = store(dataDir, 1_000);
    await live.open();
    const factory = new RunFactory();
    const acknowledged: string[] = [];
    const insert = async () => {
      const run = factory.run('a');
      await live.insertRun(run);
      acknowledged.push(run.id);
    };
    for (let i = 0; i < 5; i++) await insert();
    const before = [...acknowledged];
    const copy = await tempDir();
    await snapshotStateFiles(dataDir, copy, {
      afterCopy: async (name, attempt) => {
        if (name !== 'state.json' || attempt > 1) return;
        const target = live.stats().checkpoints + checkpoints;
        while (live.stats().checkpoints < target) await insert();
      },
    });
    await live.close();
    const reopened = store(copy);
    await reopened.open();
    const ids = new Set((await listAll(reopened, {}, 500)).map((run) => run.id));
    await reopened.close();
    expect(before.filter((id) => !ids.has(id))).toEqual([]);
    expect(acknowledged.length).toBeGreaterThan(before.length);
  });

  it('checks that the WAL generations lead from the copied state.json to the end', async () => {
    const dir = await tempDir();
    const state = (gen: number) => writeFile(join(dir, 'state.json'), JSON.stringify({ version: 1, runs: {}, schedules: {}, meta: {}, lastSuccess: {}, walGeneration: gen }));
    const wal = (name: string, gen: number) => writeFile(join(dir, name), `${JSON.stringify({ t: 'wal', gen })}\n`);
    await state(4);
    await wal('state.wal.prev', 3);
    await wal('state.wal', 4);
    expect(await chainIsComplete(dir)).toBe(true);
    await wal('state.wal.prev', 4);
    await wal('state.wal', 5);
    expect(await chainIsComplete(dir)).toBe(true);
    // Two checkpoints overtook the copy of state.json: generation 4's WAL is gone.
    await wal('state.wal.prev', 5);
    await wal('state.wal', 6);
    expect(await chainIsComplete(dir)).toBe(false);
  });
});
