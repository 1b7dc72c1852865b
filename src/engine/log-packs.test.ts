import { appendFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { FakeClock } from '../core/clock.js';
import { RunIdGenerator } from '../core/ids.js';
import { readRange } from '../core/log-reader.js';
import { crc32, dayOf } from './log-packs.js';
import { pruneRunLogs } from './log-retention.js';
import { RunLogs } from './run-logs.js';

const DAY = 86_400_000;
const dirs: string[] = [];

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'hearth-packs-'));
  dirs.push(dir);
  return dir;
}

afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function setup(dir = tempDir(), clock = new FakeClock('2026-03-01T12:00:00Z')) {
  const logs = new RunLogs(dir, clock);
  const ids = new RunIdGenerator();
  return { dir, clock, logs, newId: () => ids.next(clock.now()) };
}

/** A small run's log as the engine writes it: a few lines, then finish. */
async function smallRun(logs: RunLogs, runId: string, lines = ['hello', 'wörld ✓', 'done']): Promise<string> {
  logs.write(runId, 'hearth', `run ${runId} of demo started by manual`);
  for (const line of lines) logs.write(runId, 'main', line);
  logs.write(runId, 'hearth', 'run succeeded in 12ms');
  const before = await logs.read(runId);
  await logs.finish(runId);
  await logs.flushPacks();
  return before;
}

async function follow(logs: RunLogs, runId: string, tail?: number): Promise<string[]> {
  const lines: string[] = [];
  let ended = false;
  await logs.follow(runId, false, (line) => void lines.push(line), () => (ended = true), tail === undefined ? {} : { tail });
  expect(ended).toBe(true);
  return lines;
}

/** The run's complete entries in its day's index (a torn line is not one). */
function indexLines(dir: string, runId: string): string[] {
  const index = join(dir, 'packs', `${dayOf(runId)}.idx`);
  return existsSync(index) ? readFileSync(index, 'latin1').split('\n').filter((line) => new RegExp(`^${runId} \\d+ \\d+ [0-9a-f]{8}$`).test(line)) : [];
}

describe('small run logs in day packs', () => {
  it('moves a finished small log into the day pack and reads it back identically through every reader', async () => {
    const { dir, logs, newId } = setup();
    await logs.init();
    const id = newId();
    const text = await smallRun(logs, id);
    expect(text.split('\n')).toHaveLength(6);

    expect(existsSync(join(dir, `${id}.log`))).toBe(false);
    expect(readdirSync(join(dir, 'packs')).sort()).toEqual(['2026-03-01.idx', '2026-03-01.log']);
    expect(indexLines(dir, id)).toHaveLength(1);

    expect(await logs.read(id)).toBe(text);
    const reader = await logs.openReader(id);
    expect(reader.size).toBe(Buffer.byteLength(text));
    expect((await readRange(reader, 10, 40)).toString()).toBe(Buffer.from(text).subarray(10, 40).toString());
    await reader.close();
    expect(await follow(logs, id)).toEqual(text.split('\n').slice(0, -1));
    expect(await follow(logs, id, 2)).toEqual(text.split('\n').slice(-3, -1));
  });

  it('packs a burst of runs in batches, each log intact, and survives a restart', async () => {
    const { dir, clock, logs, newId } = setup();
    await logs.init();
    const ids = Array.from({ length: 300 }, () => newId());
    const texts = new Map<string, string>();
    await Promise.all(
      ids.map(async (id, i) => {
        texts.set(id, await smallRun(logs, id, [`line of run ${i}`, 'x'.repeat(i)]));
      }),
    );
    await logs.closeAll();
    expect(readdirSync(dir).filter((name) => name.endsWith('.log'))).toEqual([]);

    const restarted = new RunLogs(dir, clock);
    await restarted.init();
    for (const id of ids) expect(await restarted.read(id)).toBe(texts.get(id));
  });

  it('lets finished logs wait up to 5 s to share one batch, then packs them together', async () => {
    const { dir, clock, logs, newId } = setup();
    await logs.init();
    const ids = [newId(), newId(), newId()];
    for (const id of ids) {
      logs.write(id, 'main', `output of ${id}`);
      await logs.finish(id);
    }
    const own = () => readdirSync(dir).filter((name) => name.endsWith('.log'));
    await clock.advance(4_000);
    // Real time for any file I/O a batch would do: none starts before the 5 s.
    for (let i = 0; i < 30 && own().length === 3; i++) await new Promise((resolve) => setTimeout(resolve, 10));
    expect(own()).toHaveLength(3);
    await clock.advance(1_000);
    // The timer started the batch: wait for its file I/O (no flush here).
    for (let i = 0; i < 200 && own().length > 0; i++) await new Promise((resolve) => setTimeout(resolve, 5));
    expect(own()).toEqual([]);
    expect(indexLines(dir, ids[0]!)).toHaveLength(1);
    for (const id of ids) expect(await logs.read(id)).toMatch(new RegExp(`\\[main\\] output of ${id}\n$`));
  });

    it('keeps a log above the pack limit, a capped one and a cut one in their own files', async () => {
    const { dir, newId, clock } = setup();
    const logs = new RunLogs(dir, clock, { packMaxBytes: 1024 });
    await logs.init();
    const big = newId();
    const text = await smallRun(logs, big, Array.from({ length: 40 }, (_, i) => `line ${i}`));
    expect(Buffer.byteLength(text)).toBeGreaterThan(1024);
    expect(readFileSync(join(dir, `${big}.log`), 'utf8')).toBe(text);
    expect(existsSync(join(dir, 'packs'))).toBe(false);
    // An id that names no day (not a run id Hearth made) is never packed.
    await smallRun(logs, 'r_custom');
    expect(existsSync(join(dir, 'r_custom.log'))).toBe(true);
  });

  it('puts a run in the pack of the day it was created, even when it finishes days later', async () => {
    const { dir, clock, logs, newId } = setup();
    await logs.init();
    const id = newId();
    logs.write(id, 'main', 'before the long sleep');
    await logs.release(id);
    await clock.advance(3 * DAY);
    logs.write(id, 'main', 'after it');
    await logs.finish(id);
    await logs.flushPacks();
    expect(readdirSync(join(dir, 'packs')).sort()).toEqual(['2026-03-01.idx', '2026-03-01.log']);
    expect(await logs.read(id)).toMatch(/before the long sleep\n.*after it\n$/);
  });

  it('after a crash between the pack append and the file removal: one copy read, no loss, housekeeping removes the file', async () => {
    const { dir, clock, logs, newId } = setup();
    await logs.init();
    const id = newId();
    const other = newId();
    const text = await smallRun(logs, id);
    const otherText = await smallRun(logs, other, ['another run']);
    // The crash: the index has the entry and the own file is still there.
    writeFileSync(join(dir, `${id}.log`), text);

    const restarted = new RunLogs(dir, clock);
    await restarted.init();
    expect(await restarted.read(id)).toBe(text);
    expect(await follow(restarted, id)).toEqual(text.split('\n').slice(0, -1));

    const packBytes = statSync(join(dir, 'packs', '2026-03-01.log')).size;
    const removed = await pruneRunLogs(dir, { now: clock.now(), retentionMs: 30 * DAY, isActive: () => false, packs: restarted });
    expect(removed).toBe(0);
    expect(existsSync(join(dir, `${id}.log`))).toBe(false);
    // Not appended again: the pack already held these bytes.
    expect(statSync(join(dir, 'packs', '2026-03-01.log')).size).toBe(packBytes);
    expect(indexLines(dir, id)).toHaveLength(1);
    expect(await restarted.read(id)).toBe(text);
    expect(await restarted.read(other)).toBe(otherText);
  });

  it('after a crash between the pack append and its index line: the own file is read, and packed again by housekeeping', async () => {
    const { dir, clock, logs, newId } = setup();
    await logs.init();
    const first = newId();
    const firstText = await smallRun(logs, first);
    const id = newId();
    logs.write(id, 'main', 'written before the power cut');
    await logs.closeAll(); // packs nothing: the run was not finished
    // The crash: the bytes reached the pack, the index line did not (and a torn line is left behind).
    const ownText = readFileSync(join(dir, `${id}.log`), 'utf8');
    appendFileSync(join(dir, 'packs', '2026-03-01.log'), ownText);
    appendFileSync(join(dir, 'packs', '2026-03-01.idx'), `${id} 99`);

    const restarted = new RunLogs(dir, clock);
    await restarted.init();
    expect(await restarted.read(id)).toBe(ownText);
    await pruneRunLogs(dir, { now: clock.now(), retentionMs: 30 * DAY, isActive: () => false, packs: restarted });
    expect(existsSync(join(dir, `${id}.log`))).toBe(false);
    expect(indexLines(dir, id)).toHaveLength(1);
    expect(await restarted.read(id)).toBe(ownText);
    expect(await restarted.read(first)).toBe(firstText);
  });

  it('ignores an index entry whose bytes did not reach the disk intact, and never lets it harm other runs', async () => {
    const { dir, logs, newId } = setup();
    await logs.init();
    const good = newId();
    const goodText = await smallRun(logs, good);
    const bad = newId();
    const badText = await smallRun(logs, bad, ['damaged']);
    const pack = join(dir, 'packs', '2026-03-01.log');
    const bytes = readFileSync(pack);
    const at = Buffer.byteLength(goodText) + 5;
    bytes[at] = bytes[at]! ^ 0xff;
    writeFileSync(pack, bytes);
    expect(crc32(bytes.subarray(Buffer.byteLength(goodText)))).not.toBe(crc32(Buffer.from(badText)));
    expect(await logs.read(bad)).toBe('');
    expect(await logs.read(good)).toBe(goodText);
  });

  it('retention drops whole days of packs older than history.keepLogs, keeps newer ones and active runs', async () => {
    const { dir, clock, logs, newId } = setup();
    await logs.init();
    const old = newId();
    const oldText = await smallRun(logs, old);
    await clock.advance(40 * DAY);
    const recent = newId();
    const recentText = await smallRun(logs, recent);
    const active = newId();
    logs.write(active, 'main', 'still running');
    await logs.release(active);
    const now = clock.now();
    for (const name of ['2026-03-01.idx', '2026-03-01.log']) {
      const t = (now - 40 * DAY) / 1000;
      utimesSync(join(dir, 'packs', name), t, t);
    }
    const t = (now - 40 * DAY) / 1000;
    utimesSync(join(dir, `${active}.log`), t, t);

    const removed = await pruneRunLogs(dir, { now, retentionMs: 30 * DAY, isActive: (id) => id === active, packs: logs });
    expect(removed).toBe(1);
    expect(readdirSync(join(dir, 'packs')).sort()).toEqual(['2026-04-10.idx', '2026-04-10.log']);
    expect(await logs.read(old)).toBe('');
    expect(await logs.read(recent)).toBe(recentText);
    expect(existsSync(join(dir, `${active}.log`))).toBe(true);
    expect(oldText).not.toBe('');
  });

  it('packs the own files an older Hearth left (finished runs only) on the next housekeeping pass', async () => {
    const { dir, clock, newId } = setup();
    const before = new RunLogs(dir, clock, { packMaxBytes: 0 });
    await before.init();
    const ids = [newId(), newId(), newId()];
    const texts = await Promise.all(ids.map((id) => smallRun(before, id)));
    const active = newId();
    before.write(active, 'main', 'running');
    await before.closeAll();
    expect(readdirSync(dir).filter((name) => name.endsWith('.log'))).toHaveLength(4);

    const logs = new RunLogs(dir, clock);
    await logs.init();
    await pruneRunLogs(dir, { now: clock.now(), retentionMs: 30 * DAY, isActive: (id) => id === active, packs: logs });
    expect(readdirSync(dir).filter((name) => name.endsWith('.log'))).toEqual([`${active}.log`]);
    for (const [i, id] of ids.entries()) expect(await logs.read(id)).toBe(texts[i]);
  });
});

describe('silent runs: logs held in memory', () => {
  const own = (dir: string) => readdirSync(dir).filter((name) => name.endsWith('.log'));
  /** Everything handed to the run's file stream is in the file (reading waits for it). */
  const settled = async (logs: RunLogs, id: string) => void (await logs.read(id));

  it('a run that prints nothing never has a file of its own: its lines go from memory into the day pack, readable all along', async () => {
    const { dir, clock, logs, newId } = setup();
    await logs.init();
    const id = newId();
    logs.write(id, 'hearth', `run ${id} of noop started by api`);
    logs.write(id, 'hearth', 'task main started (attempt 1)');
    const live: string[] = [];
    await logs.follow(id, true, (line) => void live.push(line), () => live.push('(end)'));
    logs.write(id, 'hearth', 'run succeeded in 1ms');
    const text = await logs.read(id);
    expect(text.split('\n')).toHaveLength(4);
    expect(own(dir)).toEqual([]);
    await logs.finish(id);
    expect(live).toEqual([...text.split('\n').slice(0, -1), '(end)']);
    // Finished, waiting for its batch: still no file, and every reader has it.
    expect(own(dir)).toEqual([]);
    expect(await logs.read(id)).toBe(text);
    expect(await follow(logs, id)).toEqual(text.split('\n').slice(0, -1));
    await logs.flushPacks();
    expect(own(dir)).toEqual([]);
    expect(indexLines(dir, id)).toHaveLength(1);
    const restarted = new RunLogs(dir, clock);
    await restarted.init();
    expect(await restarted.read(id)).toBe(text);
  });

  it('waits at most a second for its pack batch (not the 5 s of a log with its own file)', async () => {
    const { dir, clock, logs, newId } = setup();
    await logs.init();
    const id = newId();
    logs.write(id, 'hearth', 'run succeeded in 1ms');
    await logs.finish(id);
    await clock.advance(999);
    expect(indexLines(dir, id)).toEqual([]);
    await clock.advance(1);
    for (let i = 0; i < 200 && indexLines(dir, id).length === 0; i++) await new Promise((resolve) => setTimeout(resolve, 5));
    expect(indexLines(dir, id)).toHaveLength(1);
  });

  it("a task's first output line gives the log its file at once, with the lines held before it", async () => {
    const { dir, logs, newId } = setup();
    await logs.init();
    const id = newId();
    logs.write(id, 'hearth', `run ${id} of demo started by manual`);
    expect(own(dir)).toEqual([]);
    logs.write(id, 'main', 'hello');
    await settled(logs, id);
    expect(own(dir)).toEqual([`${id}.log`]);
    expect(readFileSync(join(dir, `${id}.log`), 'utf8')).toMatch(/\[hearth\] run .* started by manual\n.*\[main\] hello\n$/);
    // stderr of a task, too.
    const other = newId();
    logs.write(other, 'hearth', 'started');
    logs.write(other, 'main', 'oops', 'stderr');
    await settled(logs, other);
    expect(own(dir)).toContain(`${other}.log`);
  });

  it('gives a held log its file after a second, or once it passes 4 KB, so a crash loses at most the last second of its lines', async () => {
    const { dir, clock, logs, newId } = setup();
    await logs.init();
    const slow = newId();
    logs.write(slow, 'hearth', 'task main started (attempt 1)');
    await clock.advance(500);
    const later = newId();
    logs.write(later, 'hearth', 'task main started (attempt 1)');
    await clock.advance(499);
    await settled(logs, slow);
    expect(own(dir)).toEqual([]);
    await clock.advance(1);
    await settled(logs, slow);
    expect(own(dir)).toEqual([`${slow}.log`]);
    await clock.advance(500);
    await settled(logs, later);
    expect(own(dir).sort()).toEqual([slow, later].map((id) => `${id}.log`).sort());

    const chatty = newId();
    for (let i = 0; i < 40; i++) logs.write(chatty, 'hearth', `note ${i} ${'x'.repeat(60)}`);
    await settled(logs, chatty);
    expect(own(dir)).toContain(`${chatty}.log`);
    expect(await logs.read(chatty)).toMatch(/note 0 x+\n(.*\n){38}.*note 39 x+\n$/);
  });

  it('writes held logs of unfinished runs to their own files at shutdown, and of parked runs when they park', async () => {
    const { dir, clock, logs, newId } = setup();
    await logs.init();
    const [parked, going] = [newId(), newId()];
    logs.write(parked, 'hearth', 'task main suspended at step s1');
    await logs.release(parked);
    expect(own(dir)).toEqual([`${parked}.log`]);
    logs.write(going, 'hearth', 'task main started (attempt 1)');
    const text = await logs.read(going);
    await logs.closeAll();
    expect(readFileSync(join(dir, `${going}.log`), 'utf8')).toBe(text);
    const restarted = new RunLogs(dir, clock);
    await restarted.init();
    restarted.write(going, 'hearth', 'appliance restarted; resuming');
    expect(await restarted.read(going)).toMatch(/started \(attempt 1\)\n.*appliance restarted; resuming\n$/);
  });

  it('puts a held log in its own file if the pack cannot be written', async () => {
    const { dir, logs, newId } = setup();
    await logs.init();
    writeFileSync(join(dir, 'packs'), 'not a directory');
    const id = newId();
    logs.write(id, 'hearth', 'run succeeded in 1ms');
    const text = await logs.read(id);
    await logs.finish(id);
    await logs.flushPacks();
    expect(readFileSync(join(dir, `${id}.log`), 'utf8')).toBe(text);
    expect(await logs.read(id)).toBe(text);
  });
});

describe('dayOf', () => {
  it('reads the UTC creation day from a run id, and nothing from other ids', () => {
    const ids = new RunIdGenerator();
    expect(dayOf(ids.next(Date.parse('2026-03-01T23:59:59.999Z')))).toBe('2026-03-01');
    expect(dayOf(ids.next(Date.parse('2026-03-02T00:00:00Z')))).toBe('2026-03-02');
    // The last day is remembered: back and forth between days still answers each right.
    expect(dayOf(ids.next(Date.parse('2026-03-01T00:00:00Z')))).toBe('2026-03-01');
    expect(dayOf(ids.next(Date.parse('2026-03-01T12:00:00Z')))).toBe('2026-03-01');
    expect(dayOf(ids.next(Date.parse('1970-01-01T00:00:00Z')))).toBe('1970-01-01');
    expect(dayOf('r_big')).toBeUndefined();
    expect(dayOf('../../etc/passwd')).toBeUndefined();
  });

  it('computes the standard CRC-32', () => {
    expect(crc32(Buffer.from('123456789')).toString(16)).toBe('cbf43926');
  });
});
