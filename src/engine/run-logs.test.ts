import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { FakeClock } from '../core/clock.js';
import { RunLogs } from './run-logs.js';

const dirs: string[] = [];
afterEach(async () => {
  await Promise.all(dirs.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
});

async function logs(): Promise<RunLogs> {
  const dir = await mkdtemp(join(tmpdir(), 'hearth-runlogs-'));
  dirs.push(dir);
  const runLogs = new RunLogs(dir, new FakeClock('2026-03-01T12:00:00Z'));
  await runLogs.init();
  return runLogs;
}

describe('RunLogs.release (a parked run keeps no open file)', () => {
  it('closes the file; the next write reopens it and a follower then gets every line once', async () => {
    const l = await logs();
    l.write('r_1', 'main', 'before the sleep');
    await l.release('r_1');
    expect((l as unknown as { open: Map<string, unknown> }).open.has('r_1')).toBe(false);
    l.write('r_1', 'main', 'after the sleep');
    const seen: string[] = [];
    let ended = false;
    await l.follow('r_1', true, (line) => seen.push(line), () => (ended = true));
    l.write('r_1', 'main', 'live');
    await l.finish('r_1');
    expect(seen.map((line) => line.slice(line.indexOf('] ') + 2))).toEqual(['before the sleep', 'after the sleep', 'live']);
    expect(ended).toBe(true);
  });

  it('keeps the file open while someone follows the run', async () => {
    const l = await logs();
    l.write('r_1', 'main', 'one');
    const seen: string[] = [];
    await l.follow('r_1', true, (line) => seen.push(line), () => {});
    await l.release('r_1');
    l.write('r_1', 'main', 'two');
    expect(seen).toHaveLength(2);
    await l.finish('r_1');
  });
});
