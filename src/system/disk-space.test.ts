import { describe, expect, it } from 'vitest';
import { FakeClock } from '../core/clock.js';
import { DiskSpace, diskView } from './disk-space.js';

const MB = 1024 ** 2;
const GB = 1024 ** 3;

/** A statfs stand-in: 4 KiB blocks, free space set by the test. */
function fakeStatfs(state: { freeBytes: number; totalBytes: number; calls: number; fail?: boolean }) {
  return async () => {
    state.calls++;
    if (state.fail) throw new Error('EIO');
    return { bsize: 4096, bavail: Math.floor(state.freeBytes / 4096), blocks: Math.floor(state.totalBytes / 4096) };
  };
}

describe('DiskSpace', () => {
  it('says the disk is full below 64 MB free, and nearly full below 5%', () => {
    expect(diskView(10 * MB, 8 * GB)).toEqual({
      freeBytes: 10 * MB,
      totalBytes: 8 * GB,
      full: true,
      message: "The data directory's disk is full (10 MB free of 8192 MB): runs may fail and their logs may be cut. Free some space.",
    });
    expect(diskView(300 * MB, 8 * GB)).toEqual({ freeBytes: 300 * MB, totalBytes: 8 * GB, full: false, message: "The data directory's disk is nearly full (300 MB free of 8192 MB)." });
    expect(diskView(4 * GB, 8 * GB)).toEqual({ freeBytes: 4 * GB, totalBytes: 8 * GB, full: false });
  });

  it('serves a cached reading and refreshes it in the background once it is stale', async () => {
    const clock = new FakeClock();
    const state = { freeBytes: 4 * GB, totalBytes: 8 * GB, calls: 0 };
    const disk = new DiskSpace({ path: '/data', clock, statfs: fakeStatfs(state), refreshMs: 10_000 });
    await disk.refresh();
    expect(disk.current()).toMatchObject({ full: false });
    state.freeBytes = 1 * MB;
    for (let i = 0; i < 100; i++) disk.current();
    expect(state.calls).toBe(1);
    await clock.advance(10_000);
    expect(disk.current()).toMatchObject({ full: false });
    await clock.advance(0);
    expect(disk.current()).toMatchObject({ full: true, freeBytes: 1 * MB });
    expect(state.calls).toBe(2);
  });

  it('reports nothing rather than a stale figure when statfs fails', async () => {
    const state = { freeBytes: 4 * GB, totalBytes: 8 * GB, calls: 0, fail: true };
    const disk = new DiskSpace({ path: '/data', clock: new FakeClock(), statfs: fakeStatfs(state) });
    await disk.refresh();
    expect(disk.current()).toBeUndefined();
  });
});
