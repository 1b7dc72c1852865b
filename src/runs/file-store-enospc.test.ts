import { rmSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { FakeClock } from '../core/clock.js';
import { fillDisk, mountSmallDisk } from '../core/testing/small-disk.js';
import { createLogger } from '../core/logger.js';
import type { Logger } from '../core/logger.js';
import { FileRunStore } from './file-store.js';
import type { Run } from './model.js';
import { RunFactory } from './store-conformance.js';

/**
 * The run store on a real full disk: a 1 MB tmpfs filled to the last byte.
 * Mounting needs root (CI runs as root); elsewhere these tests are skipped
 * and say why.
 */
const disk = mountSmallDisk('1m', 'hearth-enospc-');
const mountError = 'error' in disk ? disk.error : undefined;
if (mountError) console.warn(`skipping the full-disk run store tests: cannot mount a tmpfs (${mountError})`);
const mountPoint = 'dir' in disk ? disk.dir : '';

afterAll(() => {
  if ('remove' in disk) disk.remove();
});

let dirCount = 0;
const stores: FileRunStore[] = [];

afterEach(async () => {
  for (const store of stores.splice(0)) await store.close().catch(() => {});
  for (const name of await readdir(mountPoint)) rmSync(join(mountPoint, name), { recursive: true, force: true });
});

function quietLogger(): { logger: Logger; errors: string[] } {
  const errors: string[] = [];
  const logger = createLogger({
    level: 'error',
    write: (line) => errors.push((JSON.parse(line) as { msg: string }).msg),
  });
  return { logger, errors };
}

async function openStore(dataDir: string, clock: FakeClock, logger: Logger): Promise<FileRunStore> {
  const store = new FileRunStore({ dataDir, clock, logger });
  await store.open();
  stores.push(store);
  return store;
}

/** Every file under `dir` as one string: nothing of a refused run may be anywhere on disk. */
async function everythingOnDisk(dir: string): Promise<string> {
  const names = await readdir(dir, { recursive: true, withFileTypes: true });
  const texts = await Promise.all(names.filter((entry) => entry.isFile()).map((entry) => readFile(join(entry.parentPath, entry.name), 'utf8')));
  return texts.join('\n');
}

const runsOf = (store: FileRunStore) => store.activeRuns().map((run) => run.id);

describe.skipIf(mountError !== undefined)('FileRunStore on a full disk (tmpfs)', () => {
  it('refuses inserts cleanly, never writes them later, keeps what was acknowledged, and continues once there is space', async () => {
    const dir = join(mountPoint, `data-${++dirCount}`);
    const clock = new FakeClock('2026-03-01T12:00:00Z');
    const { logger, errors } = quietLogger();
    const factory = new RunFactory(Date.UTC(2026, 1, 1), 1_000);
    const store = await openStore(dir, clock, logger);
    const acknowledged = factory.run('backup');
    await store.insertRun(acknowledged);

    const freeDisk = fillDisk(mountPoint);
    const started = { ...acknowledged, status: 'running' as const, startedAt: '2026-03-01T12:00:01.000Z' };
    store.updateRun(started);
    // A batch of inserts big enough that part of it fits in the WAL's last page: a short write.
    const refused: Run[] = Array.from({ length: 60 }, () => factory.run('backup'));
    const results = await Promise.allSettled(refused.map((run) => store.insertRun(run)));
    for (const result of results) {
      expect(result.status).toBe('rejected');
      expect((result as PromiseRejectedResult).reason).toMatchObject({ code: 'ENOSPC' });
    }
    for (const run of refused) expect(await store.getRun(run.id)).toBeUndefined();
    expect(runsOf(store)).toEqual([acknowledged.id]);
    expect(errors.some((msg) => /refused 60 new run\(s\)/.test(msg))).toBe(true);

    // A crash now: the refused runs are nowhere, the acknowledged one is there.
    const disk = await everythingOnDisk(dir);
    for (const run of refused) expect(disk).not.toContain(run.id);
    expect(disk).toContain(acknowledged.id);

    // Space again: the write loop's retry writes the pending update, never the refused runs.
    freeDisk();
    await clock.advance(5_000);
    await store.flush();
    const later = factory.run('backup');
    await store.insertRun(later);
    const afterRetry = await everythingOnDisk(dir);
    for (const run of refused) expect(afterRetry).not.toContain(run.id);

    // Crash and reopen: exactly the acknowledged runs, with the update that waited for space.
    const reopened = await openStore(dir, new FakeClock('2026-03-01T12:01:00Z'), logger);
    expect(runsOf(reopened)).toEqual([acknowledged.id, later.id]);
    expect(await reopened.getRun(acknowledged.id)).toEqual(started);
  });

  it('opens on a full disk with its state in memory, refuses new runs until there is space, then continues', async () => {
    const dir = join(mountPoint, `data-${++dirCount}`);
    const { logger, errors } = quietLogger();
    const factory = new RunFactory(Date.UTC(2026, 1, 1), 1_000);
    const crashed = await openStore(dir, new FakeClock('2026-03-01T12:00:00Z'), logger);
    // More in the WAL than the checkpoint would free by replacing .bak and state.wal.prev.
    const kept = Array.from({ length: 150 }, () => factory.run('backup'));
    await Promise.all(kept.map((run) => crashed.insertRun(run)));
    crashed.setSchedule('backup', { lastHandled: 42 });
    await crashed.flush();
    // kill -9: never closed (afterEach releases its file handle once the test is over)

    const freeDisk = fillDisk(mountPoint);
    const clock = new FakeClock('2026-03-01T12:05:00Z');
    // Opening replays the WAL and would like to checkpoint; the disk is full, so it runs from memory.
    const store = await openStore(dir, clock, logger);
    expect(runsOf(store)).toEqual(kept.map((run) => run.id));
    expect(store.getSchedule('backup')).toEqual({ lastHandled: 42 });
    expect(errors.some((msg) => msg.includes('could not write the run state while opening'))).toBe(true);

    const refused = factory.run('backup');
    await expect(store.insertRun(refused)).rejects.toMatchObject({ code: 'ENOSPC' });
    expect(await store.getRun(refused.id)).toBeUndefined();
    await expect(store.flush()).rejects.toMatchObject({ code: 'ENOSPC' });

    freeDisk();
    const accepted = factory.run('backup');
    await store.insertRun(accepted);
    store.setSchedule('backup', { lastHandled: 43 });
    await store.flush();
    // The retried checkpoints left no temporary names behind (.bak was already state.json's second name).
    expect((await readdir(dir)).filter((name) => name.endsWith('.tmp'))).toEqual([]);

    const reopened = await openStore(dir, new FakeClock('2026-03-01T12:06:00Z'), logger);
    expect(runsOf(reopened)).toEqual([...kept, accepted].map((run) => run.id));
    expect(reopened.getSchedule('backup')).toEqual({ lastHandled: 43 });
    expect(await everythingOnDisk(dir)).not.toContain(refused.id);
  });
});
