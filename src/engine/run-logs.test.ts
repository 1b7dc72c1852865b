import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { FakeClock } from '../core/clock.js';
import { mountSmallDisk, type SmallDisk } from '../core/testing/small-disk.js';
import { LOG_CHUNK_BYTES } from '../core/log-reader.js';
import type { Logger } from '../core/logger.js';
import { RunLogs } from './run-logs.js';

const clock = new FakeClock('2026-03-01T12:00:00Z');
const MB = 1024 * 1024;
const dirs: string[] = [];

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'hearth-runlogs-'));
  dirs.push(dir);
  return dir;
}

afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function runFiles(dir: string, runId: string): number {
  return readdirSync(dir)
    .filter((name) => name.startsWith(`${runId}.log`))
    .reduce((sum, name) => sum + statSync(join(dir, name)).size, 0);
}

/** Writes `total` bytes of numbered lines, letting the streams flush every MB as a real task's pipe would. */
async function produce(logs: RunLogs, runId: string, total: number, onFlush?: () => void): Promise<{ lines: number; bytes: number }> {
  const filler = 'x'.repeat(900);
  let written = 0;
  let lines = 0;
  while (written < total) {
    const text = `line ${lines++} ${filler}`;
    logs.write(runId, 'task', text);
    written += Buffer.byteLength(`${new Date(clock.now()).toISOString()} [task] ${text}\n`);
    if (lines % 1000 === 0) {
      await (await logs.openReader(runId)).close(); // waits for the streams to flush
      onFlush?.();
    }
  }
  return { lines, bytes: written };
}

describe('run log cap', () => {
  it('keeps the head and the tail of a 100 MB output, marks the gap, and never holds more than the cap on disk', async () => {
    const dir = tempDir();
    const cap = 16 * MB;
    const logs = new RunLogs(dir, clock, { maxRunBytes: cap });
    await logs.init();
    let largest = 0;
    const { lines, bytes } = await produce(logs, 'r_big', 100 * MB, () => (largest = Math.max(largest, runFiles(dir, 'r_big'))));
    expect(largest).toBeLessThanOrEqual(cap + 4096);
    await logs.finish('r_big');

    expect(readdirSync(dir)).toEqual(['r_big.log']);
    const text = readFileSync(join(dir, 'r_big.log'), 'utf8');
    expect(Buffer.byteLength(text)).toBeLessThanOrEqual(cap + 4096);
    const all = text.split('\n').slice(0, -1);
    expect(all[0]).toMatch(/\[task\] line 0 x+$/);
    expect(all[all.length - 1]).toMatch(new RegExp(`\\[task\\] line ${lines - 1} x+$`));
    const markers = all.filter((line) => line.includes('[hearth] …'));
    expect(markers).toHaveLength(1);
    const dropped = Number(/… (\d+) bytes of output dropped here/.exec(markers[0]!)?.[1]);
    // Every byte written is either in the file or counted as dropped.
    expect(Buffer.byteLength(text) - Buffer.byteLength(markers[0]!) - 1 + dropped).toBe(bytes);
    // The lines on both sides of the marker are whole and consecutive on each side.
    const at = all.indexOf(markers[0]!);
    expect(Number(/line (\d+)/.exec(all[at - 1]!)![1])).toBe(at - 1);
    const firstTail = Number(/line (\d+)/.exec(all[at + 1]!)![1]);
    expect(firstTail + (all.length - at - 2)).toBe(lines - 1);
  }, 60_000);

  it('shows a running capped log as head, marker and tail', async () => {
    const dir = tempDir();
    const logs = new RunLogs(dir, clock, { maxRunBytes: 64 * 1024 });
    await logs.init();
    for (let i = 0; i < 1000; i++) logs.write('r_live', 'task', `line ${i} ${'y'.repeat(100)}`);
    const text = await logs.read('r_live');
    expect(Buffer.byteLength(text)).toBeLessThanOrEqual(64 * 1024 + 1024);
    expect(text).toMatch(/^\S+ \[task\] line 0 /);
    expect(text).toMatch(/\[hearth\] … \d+ bytes of output dropped here/);
    expect(text).toMatch(/\[task\] line 999 y+\n$/);
    await logs.finish('r_live');
  });

  it.each([['prepared', true], ['first written to by the engine', false]])('carries on in its tail segments when a capped run resumes after a restart (%s)', async (_, viaPrepare) => {
    const dir = tempDir();
    const first = new RunLogs(dir, clock, { maxRunBytes: 64 * 1024 });
    for (let i = 0; i < 1000; i++) first.write('r_again', 'task', `before ${i} ${'y'.repeat(100)}`);
    await first.openReader('r_again').then((reader) => reader.close());
    // A crash: the process goes without finishing the log.
    const second = new RunLogs(dir, clock, { maxRunBytes: 64 * 1024 });
    if (viaPrepare) second.prepare('r_again');
    second.write('r_again', 'task', 'after the restart');
    await second.finish('r_again');
    expect(readdirSync(dir)).toEqual(['r_again.log']);
    const text = readFileSync(join(dir, 'r_again.log'), 'utf8');
    expect(text).toMatch(/^\S+ \[task\] before 0 /);
    expect(text).toMatch(/\[hearth\] … at least \d+ bytes of output dropped here/);
    expect(text).toMatch(/\[task\] before 999 y+\n\S+ \[task\] after the restart\n$/);
  });
});

describe('backlog', () => {
  it('tells a writer to wait while more than a megabyte waits for the disk, and lets it go once written', async () => {
    const logs = new RunLogs(tempDir(), clock, { maxRunBytes: 64 * MB });
    await logs.init();
    expect(logs.backlog('r_fast')).toBeUndefined();
    // 4 MB in one tick: none of it can be on disk yet.
    for (let i = 0; i < 4096; i++) logs.write('r_fast', 'task', 'x'.repeat(1000));
    const wait = logs.backlog('r_fast');
    expect(wait).toBeInstanceOf(Promise);
    await wait;
    expect(logs.backlog('r_fast')).toBeUndefined();
    await logs.finish('r_fast');
    expect(logs.backlog('r_fast')).toBeUndefined();
  });
});

describe('reading a large log', () => {
  it('hands four concurrent readers of a 100 MB log bounded chunks, never the whole file', async () => {
    const dir = tempDir();
    const logs = new RunLogs(dir, clock);
    await logs.init();
    // A log written before the cap existed.
    const line = `2026-03-01T12:00:00.000Z [task] ${'z'.repeat(990)}\n`;
    writeFileSync(join(dir, 'r_huge.log'), line.repeat(100 * 1024));
    const size = statSync(join(dir, 'r_huge.log')).size;
    const readers = await Promise.all([1, 2, 3, 4].map(() => logs.openReader('r_huge')));
    let largest = 0;
    const totals = await Promise.all(
      readers.map(async (reader) => {
        let total = 0;
        for await (const chunk of reader.chunks()) {
          largest = Math.max(largest, chunk.length);
          total += chunk.length;
        }
        await reader.close();
        return total;
      }),
    );
    expect(totals).toEqual([size, size, size, size]);
    expect(largest).toBeLessThanOrEqual(LOG_CHUNK_BYTES);
  }, 60_000);

  it('follows a finished log from its last lines, one line at a time with back-pressure', async () => {
    const dir = tempDir();
    const logs = new RunLogs(dir, clock);
    writeFileSync(join(dir, 'r_done.log'), Array.from({ length: 50_000 }, (_, i) => `l${i}\n`).join(''));
    const got: string[] = [];
    let inFlight = 0;
    let maxInFlight = 0;
    let ended = false;
    await logs.follow(
      'r_done',
      false,
      async (line) => {
        inFlight++;
        maxInFlight = Math.max(maxInFlight, inFlight);
        await Promise.resolve();
        got.push(line);
        inFlight--;
      },
      () => (ended = true),
      { tail: 3 },
    );
    expect(got).toEqual(['l49997', 'l49998', 'l49999']);
    expect(maxInFlight).toBe(1);
    expect(ended).toBe(true);
  });

  it('replays an active log then delivers live lines, none lost or repeated', async () => {
    const dir = tempDir();
    const logs = new RunLogs(dir, clock, { maxRunBytes: 32 * 1024 });
    for (let i = 0; i < 500; i++) logs.write('r_follow', 'task', `old ${i} ${'q'.repeat(100)}`);
    const got: string[] = [];
    let ended = false;
    const following = logs.follow('r_follow', true, (line) => void got.push(line), () => (ended = true), { tail: 2 });
    logs.write('r_follow', 'task', 'while replaying');
    await following;
    logs.write('r_follow', 'task', 'live');
    await logs.finish('r_follow');
    expect(got.map((line) => line.replace(/^\S+ \[task\] /, ''))).toEqual([
      `old 498 ${'q'.repeat(100)}`,
      `old 499 ${'q'.repeat(100)}`,
      'while replaying',
      'live',
    ]);
    expect(ended).toBe(true);
  });
});

describe('a slow follower', () => {
  it('skips live lines beyond 1 MB held during its replay, and says how many', async () => {
    const dir = tempDir();
    const logs = new RunLogs(dir, clock);
    logs.write('r_slow', 'task', 'old');
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const got: string[] = [];
    const following = logs.follow('r_slow', true, async (line) => {
      got.push(line);
      if (got.length === 1) await gate; // the reader stalls on the first replayed line
    }, () => {});
    await new Promise((resolve) => setTimeout(resolve, 20));
    for (let i = 0; i < 3000; i++) logs.write('r_slow', 'task', `live ${i} ${'s'.repeat(1000)}`);
    release();
    await following;
    await logs.finish('r_slow');
    const skipped = got.find((line) => line.includes('lines skipped'));
    expect(skipped).toMatch(/\[hearth\] … (\d+) lines skipped: this reader fell behind the task's output …/);
    const count = Number(/… (\d+) lines skipped/.exec(skipped!)![1]);
    const live = got.filter((line) => / \[task\] live /.test(line));
    expect(live.length + count).toBe(3000);
    expect(live.reduce((sum, line) => sum + line.length, 0)).toBeLessThanOrEqual(1024 * 1024);
  });
});

describe('a full disk', () => {
  const disks: SmallDisk[] = [];
  afterEach(() => {
    for (const disk of disks.splice(0)) disk.remove();
  });

  function smallTmpfs(): string | undefined {
    const disk = mountSmallDisk('1m');
    if ('error' in disk) {
      console.warn(`skipping the ENOSPC test: cannot mount a tmpfs here (${disk.error}); run it as root`);
      return undefined;
    }
    disks.push(disk);
    return disk.dir;
  }

  it('cuts a run log that hits ENOSPC with a marker, and neither crashes nor stops other logs', async (context) => {
    const mount = smallTmpfs();
    if (!mount) return context.skip();
    const dir = join(mount, 'logs');
    mkdirSync(dir);
    const warnings: string[] = [];
    const logger = { warn: (message: string) => warnings.push(message) } as unknown as Logger;
    const uncaught: unknown[] = [];
    const onUncaught = (error: unknown) => uncaught.push(error);
    process.on('uncaughtException', onUncaught);
    try {
      writeFileSync(join(mount, 'filler'), Buffer.alloc(256 * 1024));
      const logs = new RunLogs(dir, clock, { logger });
      await logs.init();
      // Twice the disk: the writes fail part-way.
      for (let i = 0; i < 2000; i++) {
        logs.write('r_full', 'task', `line ${i} ${'f'.repeat(1000)}`);
        if (i % 100 === 0) await (await logs.openReader('r_full')).close();
      }
      const live = await logs.read('r_full');
      expect(live).toMatch(/\[hearth\] … the log is cut here: writing it failed \(ENOSPC: [^)]*\); \d+ later lines were not written …\n$/);
      expect(warnings).toEqual(['a run log cannot be written; the log is cut here and the run goes on']);

      // Space comes back (the filler goes): the cut marker reaches the file at the end, and other runs log again.
      rmSync(join(mount, 'filler'));
      await logs.finish('r_full');
      expect(readFileSync(join(dir, 'r_full.log'), 'utf8')).toMatch(/\[hearth\] … the log is cut here: writing it failed \(ENOSPC/);
      logs.write('r_next', 'task', 'still logging');
      await logs.finish('r_next');
      expect(readFileSync(join(dir, 'r_next.log'), 'utf8')).toMatch(/\[task\] still logging\n$/);
      rmSync(join(dir, 'r_full.log'));
    } finally {
      process.off('uncaughtException', onUncaught);
    }
    expect(uncaught).toEqual([]);
  });
});

describe('RunLogs.release (a parked run keeps no open file)', () => {
  async function logs(): Promise<RunLogs> {
    const runLogs = new RunLogs(tempDir(), clock);
    await runLogs.init();
    return runLogs;
  }

  it('closes the file; the next write reopens it and a follower then gets every line once', async () => {
    const l = await logs();
    l.write('r_1', 'main', 'before the sleep');
    await l.release('r_1');
    expect((l as unknown as { open: Map<string, unknown> }).open.has('r_1')).toBe(false);
    l.write('r_1', 'main', 'after the sleep');
    const seen: string[] = [];
    let ended = false;
    await l.follow('r_1', true, (line) => void seen.push(line), () => (ended = true));
    l.write('r_1', 'main', 'live');
    await l.finish('r_1');
    expect(seen.map((line) => line.slice(line.indexOf('] ') + 2))).toEqual(['before the sleep', 'after the sleep', 'live']);
    expect(ended).toBe(true);
  });

  it('keeps the file open while someone follows the run', async () => {
    const l = await logs();
    l.write('r_1', 'main', 'one');
    const seen: string[] = [];
    await l.follow('r_1', true, (line) => void seen.push(line), () => {});
    await l.release('r_1');
    l.write('r_1', 'main', 'two');
    expect(seen).toHaveLength(2);
    await l.finish('r_1');
  });
});
