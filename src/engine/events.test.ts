import { mkdtemp, readFile, rm, stat, utimes } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ConflictError, TooManyRequestsError, UsageError } from '../core/errors.js';
import { FakeClock } from '../core/clock.js';
import { createLogger, silentLogger } from '../core/logger.js';
import type { ActionDefinition } from '../actions/types.js';
import { FileRunStore } from '../runs/file-store.js';
import type { Run } from '../runs/model.js';
import { INLINE_INPUT_BYTES, inputPath } from '../runs/run-input.js';
import type { RunStore } from '../runs/store.js';
import { EVENT_ID_TTL_MS, MAX_IDS_PER_HOUR } from './event-ledger.js';
import { job, task, testEngine } from './testing.js';

const dirs: string[] = [];
afterEach(async () => {
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
});

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'hearth-events-'));
  dirs.push(dir);
  return dir;
}

const WAIT = { timeout: 5_000, interval: 5 };

/** Tasks start after real file I/O (the input file), so wait for them rather than for fake time alone. */
async function startedAll(t: { clock: FakeClock; calls: unknown[] }, count: number): Promise<void> {
  await vi.waitFor(async () => {
    await t.clock.advance(1);
    expect(t.calls.length).toBeGreaterThanOrEqual(count);
  }, WAIT);
}

async function finished(t: { clock: FakeClock; store: RunStore }, ids: string[]): Promise<void> {
  await vi.waitFor(async () => {
    await t.clock.advance(1);
    for (const id of ids) expect((await runOf(t.store, id)).finishedAt).toBeDefined();
  }, WAIT);
}

async function runOf(store: RunStore, id: string): Promise<Run> {
  const run = await store.getRun(id);
  if (!run) throw new Error(`run ${id} missing`);
  return run;
}

/** A module-like action that records the input it was given. */
function recordingAction(seen: unknown[]): ActionDefinition {
  return { name: 'record', validate: () => [], execute: async (_params, ctx) => void seen.push(ctx.input) };
}

const ring = job('ring', [task('main', 'ring-bell')], { on: { events: ['doorbell'] } });
const log = job('log', [task('main', 'log-it')], { on: { events: ['doorbell', 'motion'] } });
const other = job('other', [task('main', 'other')]);

describe('events start the jobs that listen to them', () => {
  it('one run per listening job, trigger event, the data as input; HEARTH_INPUT and HEARTH_INPUT_FILE', async () => {
    const dataDir = await tempDir();
    const t = await testEngine({ jobs: [ring, log, other], dataDir });
    const receipt = await t.engine.sendEvent({ name: 'doorbell', data: { door: 'front', at: 7 } });
    expect(receipt.duplicate).toBe(false);
    expect(receipt.runs).toHaveLength(2);
    // Durable before the answer: both runs are in the store already.
    const runs = await Promise.all(receipt.runs.map((id) => runOf(t.store, id)));
    expect(runs.map((r) => [r.job, r.trigger, r.input, r.event?.name]).sort()).toEqual([
      ['log', 'event', { door: 'front', at: 7 }, 'doorbell'],
      ['ring', 'event', { door: 'front', at: 7 }, 'doorbell'],
    ]);
    await startedAll(t, 2);
    const ringCall = t.calls.find((c) => c.command === 'ring-bell')!;
    expect(ringCall.env.HEARTH_TRIGGER).toBe('event');
    expect(JSON.parse(ringCall.env.HEARTH_INPUT!)).toEqual({ door: 'front', at: 7 });
    const file = ringCall.env.HEARTH_INPUT_FILE!;
    expect(file).toBe(inputPath(dataDir, ringCall.env.HEARTH_RUN_ID!));
    expect(JSON.parse(await readFile(file, 'utf8'))).toEqual({ door: 'front', at: 7 });
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect(t.calls.map((c) => c.command)).not.toContain('other');
  });

  it('an event no job listens to is accepted and logged, and starts nothing', async () => {
    const lines: string[] = [];
    const t = await testEngine({ jobs: [ring], logger: createLogger({ write: (line) => lines.push(line) }) });
    const receipt = await t.engine.sendEvent({ name: 'nobody-listens', data: 1 });
    expect(receipt).toMatchObject({ runs: [], skipped: [], duplicate: false });
    expect(receipt.eventId).toMatch(/^ev_/);
    expect(lines.some((line) => line.includes('no job listens') && line.includes('nobody-listens'))).toBe(true);
    expect((await t.store.listRuns({})).runs).toEqual([]);
  });

  it('an event without data starts runs with no input: HEARTH_INPUT and HEARTH_INPUT_FILE are empty', async () => {
    const t = await testEngine({ jobs: [ring] });
    const { runs } = await t.engine.sendEvent({ name: 'doorbell' });
    expect((await runOf(t.store, runs[0]!)).inputBytes).toBeUndefined();
    await t.clock.advance(10);
    expect(t.calls[0]!.env).toMatchObject({ HEARTH_INPUT: '', HEARTH_INPUT_FILE: '' });
  });

  it('the same id twice makes one event; the second answer names the same runs', async () => {
    const t = await testEngine({ jobs: [ring] });
    const first = await t.engine.sendEvent({ name: 'doorbell', id: 'press-1', data: 1 });
    const second = await t.engine.sendEvent({ name: 'doorbell', id: 'press-1', data: 1 });
    expect(second).toEqual({ ...first, duplicate: true });
    // Even at the same moment, before the first has answered.
    const [a, b] = await Promise.all([
      t.engine.sendEvent({ name: 'doorbell', id: 'press-2' }),
      t.engine.sendEvent({ name: 'doorbell', id: 'press-2' }),
    ]);
    expect(b.runs).toEqual(a.runs);
    expect([a.duplicate, b.duplicate]).toEqual([false, true]);
    expect((await t.store.listRuns({ job: 'ring' })).runs).toHaveLength(2);
  });

  it('an id is remembered for 24 hours, then a new event may reuse it', async () => {
    const t = await testEngine({ jobs: [ring] });
    const first = await t.engine.sendEvent({ name: 'doorbell', id: 'daily' });
    await t.clock.advance(EVENT_ID_TTL_MS - 60_000);
    expect((await t.engine.sendEvent({ name: 'doorbell', id: 'daily' })).duplicate).toBe(true);
    await t.clock.advance(120_000);
    const later = await t.engine.sendEvent({ name: 'doorbell', id: 'daily' });
    expect(later.duplicate).toBe(false);
    expect(later.runs).not.toEqual(first.runs);
    // An hourly bucket wholly past the 24 hours is deleted from the store's meta.
    const hour = Math.floor(Date.parse('2026-03-01T12:00:00Z') / 3_600_000);
    expect(t.store.getMeta(`events:${hour}`)).toBeDefined();
    await t.clock.advance(3_600_000);
    await t.engine.sendEvent({ name: 'doorbell', id: 'next' });
    expect(t.store.getMeta(`events:${hour}`)).toBeUndefined();
  });

  it('daily housekeeping drops ids past the 24 hours even when no new event comes', async () => {
    const t = await testEngine({ jobs: [ring] });
    await t.engine.sendEvent({ name: 'doorbell', id: 'once' });
    const hour = Math.floor(t.clock.now() / 3_600_000);
    expect(t.store.getMeta(`events:${hour}`)).toBeDefined();
    // The daily pass after the one that still sees them inside the window.
    await t.clock.advance(60_000 + 2 * 86_400_000);
    expect(t.store.getMeta(`events:${hour}`)).toBeUndefined();
  });

  it('remembers at most MAX_IDS_PER_HOUR ids an hour: more is a TooManyRequestsError, and nothing is created', async () => {
    const t = await testEngine({ jobs: [other] });
    for (let i = 0; i < MAX_IDS_PER_HOUR; i++) await t.engine.sendEvent({ name: 'tick', id: `t-${i}` });
    const refused = t.engine.sendEvent({ name: 'tick', id: 'one-too-many' });
    await expect(refused).rejects.toBeInstanceOf(TooManyRequestsError);
    await t.clock.advance(3_600_000);
    expect((await t.engine.sendEvent({ name: 'tick', id: 'one-too-many' })).duplicate).toBe(false);
  });

  it('refuses a bad name or id with a UsageError', async () => {
    const t = await testEngine({ jobs: [ring] });
    await expect(t.engine.sendEvent({ name: '' })).rejects.toBeInstanceOf(UsageError);
    await expect(t.engine.sendEvent({ name: 'a b' })).rejects.toBeInstanceOf(UsageError);
    await expect(t.engine.sendEvent({ name: 'ok', id: 'has space' })).rejects.toBeInstanceOf(UsageError);
  });

  it('overlap: skip skips a job whose run is still active, and says so', async () => {
    const busy = job('busy', [task('main', 'slow')], { on: { events: ['doorbell'] }, overlap: 'skip' });
    const t = await testEngine({ jobs: [busy], scripts: { slow: { ms: 60_000 } } });
    const first = await t.engine.sendEvent({ name: 'doorbell' });
    await t.clock.advance(10);
    const second = await t.engine.sendEvent({ name: 'doorbell' });
    expect(second.runs).toEqual([]);
    expect(second.skipped).toEqual([{ job: 'busy', reason: expect.stringContaining(first.runs[0]!) }]);
  });

  it('a refused write forgets the id too, so the sender can send the event again', async () => {
    const t = await testEngine({ jobs: [ring] });
    const insert = vi.spyOn(t.store, 'insertRun').mockRejectedValueOnce(Object.assign(new Error('ENOSPC'), { code: 'ENOSPC' }));
    await expect(t.engine.sendEvent({ name: 'doorbell', id: 'lost' })).rejects.toMatchObject({ code: 'ENOSPC' });
    insert.mockRestore();
    const again = await t.engine.sendEvent({ name: 'doorbell', id: 'lost' });
    expect(again.duplicate).toBe(false);
    expect(again.runs).toHaveLength(1);
  });
});

describe('event ids survive a restart (FileRunStore, crash = reopen without close)', () => {
  it('the same id after kill -9 and restart is still a duplicate', async () => {
    const dataDir = await tempDir();
    const clock = new FakeClock('2026-03-01T12:00:00Z');
    const store = new FileRunStore({ dataDir, clock, logger: silentLogger });
    const first = await testEngine({ jobs: [ring], dataDir, clock, store });
    const sent = await first.engine.sendEvent({ name: 'doorbell', id: 'press-9', data: { n: 9 } });
    // No close, no flush: what the 202 promised must already be on disk.
    const clock2 = new FakeClock('2026-03-01T12:05:00Z');
    const store2 = new FileRunStore({ dataDir, clock: clock2, logger: silentLogger });
    const second = await testEngine({ jobs: [ring], dataDir, clock: clock2, store: store2 });
    const again = await second.engine.sendEvent({ name: 'doorbell', id: 'press-9', data: { n: 9 } });
    expect(again).toEqual({ ...sent, duplicate: true });
    expect((await store2.listRuns({ job: 'ring' })).runs.map((r) => r.id)).toEqual(sent.runs);
    await second.engine.stop();
    await store2.close();
    await first.engine.stop();
    await store.close();
  });

  it('an id of an event that started nothing is durable too', async () => {
    const dataDir = await tempDir();
    const clock = new FakeClock('2026-03-01T12:00:00Z');
    const store = new FileRunStore({ dataDir, clock, logger: silentLogger });
    const first = await testEngine({ jobs: [ring], dataDir, clock, store });
    await first.engine.sendEvent({ name: 'unheard', id: 'u-1' });
    const store2 = new FileRunStore({ dataDir, clock, logger: silentLogger });
    const second = await testEngine({ jobs: [ring], dataDir, clock, store: store2 });
    expect((await second.engine.sendEvent({ name: 'unheard', id: 'u-1' })).duplicate).toBe(true);
    await second.engine.stop();
    await store2.close();
    await first.engine.stop();
    await store.close();
  });
});

describe('run input', () => {
  const echo = job('echo', [task('main', 'echo')]);
  const mod = job('mod', [{ ...task('main', ''), run: undefined, action: 'record' }]);

  it('a small input stays in the run; a large one goes to a file beside it, both reach shell tasks whole', async () => {
    const dataDir = await tempDir();
    const t = await testEngine({ jobs: [echo], dataDir });
    const small = await t.engine.triggerJob('echo', 'api', { input: { path: '/tmp/x' } });
    const big = { text: 'x'.repeat(INLINE_INPUT_BYTES + 100) };
    const large = await t.engine.triggerJob('echo', 'api', { input: big });
    expect(await runOf(t.store, small.id)).toMatchObject({ input: { path: '/tmp/x' }, inputBytes: 17 });
    const stored = await runOf(t.store, large.id);
    expect(stored.input).toBeUndefined();
    expect(stored).toMatchObject({ inputInFile: true, inputBytes: JSON.stringify(big).length });
    // Written before the run was acknowledged.
    expect(JSON.parse(await readFile(inputPath(dataDir, large.id), 'utf8'))).toEqual(big);
    await startedAll(t, 2);
    const envOf = (id: string) => t.calls.find((c) => c.env.HEARTH_RUN_ID === id)!.env;
    expect(envOf(small.id).HEARTH_INPUT).toBe('{"path":"/tmp/x"}');
    expect(JSON.parse(envOf(large.id).HEARTH_INPUT!)).toEqual(big);
    expect(envOf(large.id).HEARTH_INPUT_FILE).toBe(inputPath(dataDir, large.id));
  });

  it('null and plain strings are inputs too; no input at all is none', async () => {
    const t = await testEngine({ jobs: [echo], dataDir: await tempDir() });
    const none = await t.engine.triggerJob('echo', 'api');
    const nul = await t.engine.triggerJob('echo', 'api', { input: null });
    const text = await t.engine.triggerJob('echo', 'api', { input: 'hello' });
    await startedAll(t, 3);
    const envOf = (id: string) => t.calls.find((c) => c.env.HEARTH_RUN_ID === id)!.env;
    expect(envOf(none.id).HEARTH_INPUT).toBe('');
    expect(envOf(nul.id).HEARTH_INPUT).toBe('null');
    expect(envOf(text.id).HEARTH_INPUT).toBe('"hello"');
  });

  it('an input over the limit is refused before anything is stored', async () => {
    const t = await testEngine({ jobs: [echo], dataDir: await tempDir() });
    await expect(t.engine.triggerJob('echo', 'api', { input: 'x'.repeat(70 * 1024) })).rejects.toBeInstanceOf(UsageError);
    expect((await t.store.listRuns({})).runs).toEqual([]);
  });

  it('actions (module tasks) get ctx.input, inline or from the file', async () => {
    const seen: unknown[] = [];
    const t = await testEngine({ jobs: [mod], dataDir: await tempDir(), actions: [recordingAction(seen)] });
    await t.engine.triggerJob('mod', 'api', { input: [1, 2] });
    await t.engine.triggerJob('mod', 'api', { input: { big: 'y'.repeat(INLINE_INPUT_BYTES) } });
    await t.engine.triggerJob('mod', 'api');
    await vi.waitFor(async () => {
      await t.clock.advance(1);
      expect(seen).toHaveLength(3);
    }, WAIT);
    // In any order: the file-kept input is read from disk.
    expect(seen).toEqual(expect.arrayContaining([[1, 2], { big: 'y'.repeat(INLINE_INPUT_BYTES) }, undefined]));
  });

  it('a retried run keeps its input, inline or in a file', async () => {
    const t = await testEngine({ jobs: [echo], dataDir: await tempDir(), scripts: { echo: { exit: 1 } } });
    const big = 'z'.repeat(INLINE_INPUT_BYTES * 2);
    const small = await t.engine.triggerJob('echo', 'api', { input: { a: 1 } });
    const large = await t.engine.triggerJob('echo', 'api', { input: big });
    await startedAll(t, 2);
    await finished(t, [small.id, large.id]);
    const retriedSmall = await t.engine.retryRun(small.id);
    const retriedLarge = await t.engine.retryRun(large.id);
    expect(retriedSmall).toMatchObject({ trigger: 'retry', input: { a: 1 } });
    await startedAll(t, 4);
    const envOf = (id: string) => t.calls.find((c) => c.env.HEARTH_RUN_ID === id)!.env;
    expect(envOf(retriedSmall.id).HEARTH_INPUT).toBe('{"a":1}');
    expect(envOf(retriedLarge.id).HEARTH_INPUT).toBe(JSON.stringify(big));
  });

  it('input files are deleted with the logs, never while their run is active; a retry then says why it cannot', async () => {
    const dataDir = await tempDir();
    const t = await testEngine({ jobs: [echo, job('slow', [task('main', 'slow')])], dataDir, scripts: { slow: { ms: 40 * 86_400_000 } } });
    const done = await t.engine.triggerJob('echo', 'api', { input: 'q'.repeat(INLINE_INPUT_BYTES + 1) });
    const active = await t.engine.triggerJob('slow', 'api', { input: 'w'.repeat(INLINE_INPUT_BYTES + 1) });
    await startedAll(t, 2);
    await finished(t, [done.id]);
    const old = new Date(t.clock.now() - 31 * 86_400_000);
    for (const id of [done.id, active.id]) await utimes(inputPath(dataDir, id), old, old);
    expect(await t.engine.pruneInputs()).toBe(1);
    await expect(stat(inputPath(dataDir, active.id))).resolves.toBeDefined();
    await expect(t.engine.retryRun(done.id)).rejects.toBeInstanceOf(ConflictError);
  });
});

describe('webhooks', () => {
  const hooks = { doorbell: { name: 'doorbell', job: 'ring', secret: 'hook-secret-0123' } };

  it('checks the secret, starts the job with trigger hook and the body as input', async () => {
    const t = await testEngine({ jobs: [ring], config: { hooks } });
    expect(t.engine.checkHook('doorbell', 'hook-secret-0123')).toBe('ok');
    expect(t.engine.checkHook('doorbell', 'hook-secret-0124')).toBe('wrong');
    expect(t.engine.checkHook('doorbell', '')).toBe('wrong');
    expect(t.engine.checkHook('nope', 'hook-secret-0123')).toBe('unknown');
    const run = await t.engine.triggerHook('doorbell', { pressed: true });
    expect(run).toMatchObject({ job: 'ring', trigger: 'hook', hook: 'doorbell', input: { pressed: true } });
    await startedAll(t, 1);
    expect(t.calls[0]!.env).toMatchObject({ HEARTH_TRIGGER: 'hook', HEARTH_INPUT: '{"pressed":true}' });
  });

  it('the job list names the events and hooks that start a job, never a secret', async () => {
    const t = await testEngine({ jobs: [ring, other], config: { hooks } });
    const jobs = t.engine.listJobs();
    expect(jobs.find((j) => j.name === 'ring')?.on).toEqual({ events: ['doorbell'], hooks: ['doorbell'] });
    expect(jobs.find((j) => j.name === 'other')?.on).toBeUndefined();
    expect(JSON.stringify(jobs)).not.toContain('hook-secret-0123');
    expect(JSON.stringify(t.engine.health())).not.toContain('hook-secret-0123');
  });
});
