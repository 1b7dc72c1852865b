import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ConflictError, NonRetriableError, NotFoundError } from '../core/errors.js';
import { FakeClock } from '../core/clock.js';
import { createLogger, silentLogger } from '../core/logger.js';
import { FileRunStore } from '../runs/file-store.js';
import { MemoryRunStore } from '../runs/memory-store.js';
import type { ShellOptions, ShellResult } from '../pool/process/shell.js';
import { createEngine } from './create-engine.js';
import { RunLogs } from './run-logs.js';
import type { Run } from '../runs/model.js';
import type { ActionDefinition } from '../actions/types.js';
import { config, job, task, testEngine } from './testing.js';

async function settle(clock: FakeClock, ms = 0): Promise<void> {
  await clock.advance(ms);
}

async function runOf(store: { getRun(id: string): Promise<Run | undefined> }, id: string): Promise<Run> {
  const run = await store.getRun(id);
  if (!run) throw new Error(`run ${id} missing`);
  return run;
}

const flow = job('flow', [
  task('collect', 'collect'),
  task('summarise', 'summarise', { dependsOn: ['collect'] }),
  task('publish', 'publish', { dependsOn: ['summarise'] }),
]);

describe('flows', () => {
  it('runs tasks in dependency order and passes upstream output on', async () => {
    const t = await testEngine({
      jobs: [flow],
      scripts: { collect: { ms: 10, lines: ['42 items'] }, summarise: { ms: 10 }, publish: { ms: 10 } },
    });
    const run = await t.engine.triggerJob('flow', 'manual');
    await settle(t.clock, 100);
    const done = await runOf(t.store, run.id);
    expect(done.status).toBe('succeeded');
    expect(t.calls.map((c) => c.command)).toEqual(['collect', 'summarise', 'publish']);
    expect(t.calls[1]!.env.HEARTH_OUTPUT_COLLECT).toBe('42 items');
    expect(t.calls[1]!.env.HEARTH_TRIGGER).toBe('manual');
    expect(t.calls[1]!.env.HEARTH_JOB).toBe('flow');
    expect(t.calls[1]!.env.HEARTH_TASK).toBe('summarise');
    expect(t.calls[1]!.env.HEARTH_ATTEMPT).toBe('1');
    expect(t.calls[1]!.at - t.calls[0]!.at).toBe(10);
  });

  it('starts independent tasks in parallel', async () => {
    const fan = job('fan', [task('a', 'a'), task('b', 'b'), task('c', 'c', { dependsOn: ['a', 'b'] })]);
    const t = await testEngine({ jobs: [fan], scripts: { a: { ms: 50 }, b: { ms: 50 } } });
    await t.engine.triggerJob('fan', 'api');
    await settle(t.clock, 200);
    const [a, b, c] = t.calls;
    expect(a!.at).toBe(b!.at);
    expect(c!.at - a!.at).toBe(50);
  });

  it('skips dependants of a failed task and fails the run', async () => {
    const t = await testEngine({ jobs: [flow], scripts: { collect: { exit: 3 } } });
    const run = await t.engine.triggerJob('flow', 'manual');
    await settle(t.clock, 100);
    const done = await runOf(t.store, run.id);
    expect(done.status).toBe('failed');
    expect(done.tasks.collect).toMatchObject({ status: 'failed', exitCode: 3, error: 'exit code 3' });
    expect(done.tasks.summarise!.status).toBe('skipped');
    expect(done.tasks.publish!.status).toBe('skipped');
    expect(done.error).toContain('collect: exit code 3');
  });

  it('lets dependants run after a continue_on_error task fails', async () => {
    const lenient = job('lenient', [task('a', 'a', { continueOnError: true }), task('b', 'b', { dependsOn: ['a'] })]);
    const t = await testEngine({ jobs: [lenient], scripts: { a: { exit: 1 } } });
    const run = await t.engine.triggerJob('lenient', 'manual');
    await settle(t.clock, 10);
    const done = await runOf(t.store, run.id);
    expect(done.tasks.a!.status).toBe('failed');
    expect(done.tasks.b!.status).toBe('succeeded');
    expect(done.status).toBe('succeeded');
  });

  it('writes a timestamped log with task output and engine notes', async () => {
    const t = await testEngine({ jobs: [flow], scripts: { collect: { lines: ['hello'] } } });
    const run = await t.engine.triggerJob('flow', 'manual');
    await settle(t.clock, 10);
    const log = await t.engine.readLog(run.id);
    expect(log).toMatch(/^2026-03-01T12:00:00\.000Z \[hearth\] run r_\w+ of flow started by manual/m);
    expect(log).toMatch(/\[collect\] hello$/m);
    expect(log).toMatch(/\[hearth\] run succeeded/);
  });
});

describe('retries', () => {
  it('retries on a durable timer with exponential backoff and then succeeds', async () => {
    const flaky = job('flaky', [task('main', 'flaky')], {
      retries: { max: 3, delayMs: 10_000, backoff: 'exponential', maxDelayMs: 60_000, jitter: 0 },
    });
    const t = await testEngine({
      jobs: [flaky],
      scripts: { flaky: (env) => ({ exit: Number(env.HEARTH_ATTEMPT) < 3 ? 1 : 0 }) },
    });
    const run = await t.engine.triggerJob('flaky', 'manual');
    await settle(t.clock);
    let state = await runOf(t.store, run.id);
    expect(state.status).toBe('waiting');
    expect(state.tasks.main).toMatchObject({ status: 'waiting', attempts: 1 });
    expect(state.wait).toEqual({ kind: 'timer', at: '2026-03-01T12:00:10.000Z' });
    await settle(t.clock, 10_000);
    state = await runOf(t.store, run.id);
    expect(state.tasks.main!.attempts).toBe(2);
    expect(state.wait).toEqual({ kind: 'timer', at: '2026-03-01T12:00:30.000Z' }); // 10 s, then 20 s
    await settle(t.clock, 20_000);
    state = await runOf(t.store, run.id);
    expect(state.status).toBe('succeeded');
    expect(t.calls.map((c) => c.env.HEARTH_ATTEMPT)).toEqual(['1', '2', '3']);
  });

  it('gives up after retries.max and records the failures', async () => {
    const doomed = job('doomed', [task('main', 'doomed')], { retries: { max: 1, delayMs: 1000, backoff: 'fixed', maxDelayMs: 1000, jitter: 0 } });
    const t = await testEngine({ jobs: [doomed], scripts: { doomed: { exit: 1 } } });
    const run = await t.engine.triggerJob('doomed', 'manual');
    await settle(t.clock, 5_000);
    const done = await runOf(t.store, run.id);
    expect(done.status).toBe('failed');
    expect(done.tasks.main!.attempts).toBe(2);
  });

  it('hands actions the engine\'s clock: an action\'s wait runs on the FakeClock', async () => {
    const wait: ActionDefinition = {
      name: 'wait',
      validate: () => [],
      execute: async (_params, ctx) => {
        await new Promise<void>((resolve) => ctx.clock.setTimer(3_600_000, resolve));
        return new Date(ctx.clock.now()).toISOString();
      },
    };
    const t = await testEngine({ jobs: [job('patient', [{ ...task('main', ''), run: undefined, action: 'wait' }])], actions: [wait] });
    const run = await t.engine.triggerJob('patient', 'manual');
    await settle(t.clock, 3_599_000);
    expect((await runOf(t.store, run.id)).status).toBe('running');
    await settle(t.clock, 1_000);
    const done = await runOf(t.store, run.id);
    expect(done.status).toBe('succeeded');
    expect(done.tasks.main!.output).toBe('2026-03-01T13:00:00.000Z');
  });

  it('stops retrying on a NonRetriableError from an action', async () => {
    let calls = 0;
    const refuse: ActionDefinition = {
      name: 'refuse',
      validate: () => [],
      execute: async () => {
        calls++;
        throw new NonRetriableError('bad credentials');
      },
    };
    const j = job('strict', [{ ...task('main', ''), run: undefined, action: 'refuse' }], {
      retries: { max: 5, delayMs: 1000, backoff: 'fixed', maxDelayMs: 1000, jitter: 0 },
    });
    const t = await testEngine({ jobs: [j], actions: [refuse] });
    const run = await t.engine.triggerJob('strict', 'manual');
    await settle(t.clock, 10_000);
    const done = await runOf(t.store, run.id);
    expect(calls).toBe(1);
    expect(done.status).toBe('failed');
    expect(done.tasks.main!.error).toBe('bad credentials');
  });

  it('fails a task that exceeds its timeout and retries it', async () => {
    const slow = job('slow', [task('main', 'slow', { timeoutMs: 1000, retries: { max: 1, delayMs: 500, backoff: 'fixed', maxDelayMs: 500, jitter: 0 } })]);
    const t = await testEngine({ jobs: [slow], scripts: { slow: { ms: 60_000 } } });
    const run = await t.engine.triggerJob('slow', 'manual');
    await settle(t.clock, 1000);
    let state = await runOf(t.store, run.id);
    expect(state.tasks.main).toMatchObject({ status: 'waiting', error: 'timed out after 1s' });
    await settle(t.clock, 2000);
    state = await runOf(t.store, run.id);
    expect(state.status).toBe('failed');
    expect(state.tasks.main!.attempts).toBe(2);
  });

  it('fails the whole run when the job timeout runs out, without retrying', async () => {
    const j = job('bounded', [task('main', 'slow')], { timeoutMs: 5000, retries: { max: 3, delayMs: 1, backoff: 'fixed', maxDelayMs: 1, jitter: 0 } });
    const t = await testEngine({ jobs: [j], scripts: { slow: { ms: 60_000 } } });
    const run = await t.engine.triggerJob('bounded', 'manual');
    await settle(t.clock, 6000);
    const done = await runOf(t.store, run.id);
    expect(done.status).toBe('failed');
    expect(done.error).toBe('job timed out after 5s');
    expect(t.calls).toHaveLength(1);
  });

  it('stops a shell task with no timeout (its own or its job\'s) after the 6h default, or the config\'s defaultTimeout', async () => {
    const hangs = job('hangs', [task('main', 'forever')]);
    const t = await testEngine({ jobs: [hangs], scripts: { forever: { ms: 100 * 3_600_000 } } });
    const run = await t.engine.triggerJob('hangs', 'manual');
    await settle(t.clock, 6 * 3_600_000 - 1000);
    expect((await runOf(t.store, run.id)).status).toBe('running');
    await settle(t.clock, 2000);
    const done = await runOf(t.store, run.id);
    expect(done.status).toBe('failed');
    expect(done.tasks.main!.error).toBe('timed out after 6h (the default for shell tasks without a timeout; set timeout: to change it)');

    const shorter = await testEngine({ jobs: [hangs], scripts: { forever: { ms: 100 * 3_600_000 } }, config: { defaultTimeoutMs: 60_000 } });
    const second = await shorter.engine.triggerJob('hangs', 'manual');
    await settle(shorter.clock, 61_000);
    expect((await runOf(shorter.store, second.id)).tasks.main!.error).toMatch(/^timed out after 1m \(the default/);
  });

  it('lets an explicit job timeout win over the default task timeout', async () => {
    const long = job('long', [task('main', 'slow')], { timeoutMs: 8 * 3_600_000 });
    const t = await testEngine({ jobs: [long], scripts: { slow: { ms: 7 * 3_600_000 } } });
    const run = await t.engine.triggerJob('long', 'manual');
    await settle(t.clock, 7 * 3_600_000 + 1000);
    expect((await runOf(t.store, run.id)).status).toBe('succeeded');
  });
});

describe('pools, overlap and cancel', () => {
  it('never runs more than the pool concurrency at once', async () => {
    const jobs = ['a', 'b', 'c'].map((n) => job(n, [task('main', 'work')]));
    const t = await testEngine({ jobs, scripts: { work: { ms: 100 } }, config: { pools: { default: { name: 'default', concurrency: 2 } } } });
    for (const j of jobs) await t.engine.triggerJob(j.name, 'manual');
    await settle(t.clock);
    expect(t.calls).toHaveLength(2);
    expect(t.engine.health().runs).toEqual({ queued: 1, running: 2, waiting: 0 });
    await settle(t.clock, 100);
    expect(t.calls).toHaveLength(3);
    expect(t.calls[2]!.at - t.calls[0]!.at).toBe(100);
  });

  it('refuses a manual run of an overlap: skip job that is active', async () => {
    const t = await testEngine({ jobs: [job('solo', [task('main', 'work')], { overlap: 'skip' })], scripts: { work: { ms: 100 } } });
    await t.engine.triggerJob('solo', 'manual');
    await expect(t.engine.triggerJob('solo', 'manual')).rejects.toBeInstanceOf(ConflictError);
  });

  it('runs overlap: queue runs one after another', async () => {
    const t = await testEngine({ jobs: [job('serial', [task('main', 'work')], { overlap: 'queue' })], scripts: { work: { ms: 100 } } });
    await t.engine.triggerJob('serial', 'manual');
    await t.engine.triggerJob('serial', 'manual');
    await settle(t.clock, 250);
    expect(t.calls.map((c) => c.at - t.calls[0]!.at)).toEqual([0, 100]);
  });

  it('cancels a running run and skips what had not started', async () => {
    const t = await testEngine({ jobs: [flow], scripts: { collect: { ms: 10_000 } } });
    const run = await t.engine.triggerJob('flow', 'manual');
    await settle(t.clock, 10);
    await t.engine.cancelRun(run.id);
    await settle(t.clock, 10);
    const done = await runOf(t.store, run.id);
    expect(done.status).toBe('cancelled');
    expect(done.tasks.collect!.status).toBe('cancelled');
    expect(done.tasks.publish!.status).toBe('cancelled');
    await expect(t.engine.cancelRun(run.id)).rejects.toBeInstanceOf(ConflictError);
  });

  it('a reload that changes killGrace applies to the next task stop, also of a task already running', async () => {
    const t = await testEngine({ jobs: [flow], scripts: { collect: { ms: 10_000 } }, config: { killGraceMs: 1000 } });
    const first = await t.engine.triggerJob('flow', 'manual');
    await settle(t.clock, 10);
    t.engine.reload(config([flow], { killGraceMs: 4000 }));
    await t.engine.cancelRun(first.id);
    await settle(t.clock, 10);
    expect(t.calls[0]!.stoppedWithGraceMs).toBe(4000);

    t.engine.reload(config([flow], { killGraceMs: 250 }));
    const second = await t.engine.triggerJob('flow', 'manual');
    await settle(t.clock, 10);
    await t.engine.cancelRun(second.id);
    await settle(t.clock, 10);
    expect(t.calls[1]!.stoppedWithGraceMs).toBe(250);
  });

  it('cancels a queued run at once', async () => {
    const t = await testEngine({ jobs: [job('serial', [task('main', 'work')], { overlap: 'queue' })], scripts: { work: { ms: 100 } } });
    await t.engine.triggerJob('serial', 'manual');
    const second = await t.engine.triggerJob('serial', 'manual');
    const cancelled = await t.engine.cancelRun(second.id);
    expect(cancelled.status).toBe('cancelled');
    await settle(t.clock, 500);
    expect(t.calls).toHaveLength(1);
  });

  it('names unknown jobs and runs', async () => {
    const t = await testEngine({ jobs: [] });
    await expect(t.engine.triggerJob('nope', 'api')).rejects.toBeInstanceOf(NotFoundError);
    await expect(t.engine.cancelRun('r_0000000000deadbeef')).rejects.toBeInstanceOf(NotFoundError);
  });
});

/** A store whose flush() waits, while `held`, until the test calls release(): a task start's durable point, frozen. */
class GatedFlushStore extends MemoryRunStore {
  held = false;
  pendingFlushes = 0;
  private waiters: Array<() => void> = [];

  override async flush(): Promise<void> {
    if (!this.held) return;
    this.pendingFlushes++;
    await new Promise<void>((resolve) => this.waiters.push(resolve));
  }

  release(): void {
    this.held = false;
    for (const resolve of this.waiters.splice(0)) resolve();
  }
}

describe('a stop arriving while a task starts', () => {
  it('a job timeout that fires while the start is being made durable keeps the task from starting', async () => {
    const store = new GatedFlushStore();
    const bounded = job('bounded', [task('main', 'work')], { timeoutMs: 5000 });
    const t = await testEngine({ jobs: [bounded], store, scripts: { work: { ms: 1000, lines: ['did the work'] } } });
    store.held = true;
    const run = await t.engine.triggerJob('bounded', 'manual');
    await settle(t.clock);
    expect(store.pendingFlushes).toBe(1);
    expect((await runOf(store, run.id)).tasks.main!.status).toBe('running');
    // The job timeout fires while the task's start is still being flushed.
    await settle(t.clock, 6000);
    store.release();
    await settle(t.clock, 5000);
    expect(t.calls).toHaveLength(0);
    const done = await runOf(store, run.id);
    expect(done.status).toBe('failed');
    expect(done.error).toBe('job timed out after 5s');
    expect(done.tasks.main).toMatchObject({ status: 'failed', error: 'job timed out after 5s' });
    const log = await t.logs.read(run.id);
    expect(log).not.toContain('did the work');
    expect(log).not.toMatch(/task main started/);
  });

  it('a cancel during the start cancels the task without starting it', async () => {
    const store = new GatedFlushStore();
    const t = await testEngine({ jobs: [flow], store, scripts: { collect: { ms: 1000 } } });
    store.held = true;
    const run = await t.engine.triggerJob('flow', 'manual');
    await settle(t.clock);
    // The cancel is answered once it is on disk, so it waits for the held flush.
    const cancelled = t.engine.cancelRun(run.id);
    store.release();
    await cancelled;
    await settle(t.clock, 2000);
    expect(t.calls).toHaveLength(0);
    const done = await runOf(store, run.id);
    expect(done.status).toBe('cancelled');
    expect(Object.values(done.tasks).map((s) => s.status)).toEqual(['cancelled', 'cancelled', 'cancelled']);
  });

  it('an action task stopped during its start is never executed', async () => {
    let executed = 0;
    const record: ActionDefinition = { name: 'record', validate: () => [], execute: async () => void executed++ };
    const store = new GatedFlushStore();
    const j = job('acting', [{ ...task('main', ''), run: undefined, action: 'record' }], { timeoutMs: 1000 });
    const t = await testEngine({ jobs: [j], store, actions: [record] });
    store.held = true;
    const run = await t.engine.triggerJob('acting', 'manual');
    await settle(t.clock, 2000);
    store.release();
    await settle(t.clock, 10);
    expect(executed).toBe(0);
    expect(await runOf(store, run.id)).toMatchObject({ status: 'failed', error: 'job timed out after 1s' });
  });

  it('a shutdown during the start hands the task back unstarted, and it runs once on the next start', async () => {
    const clock = new FakeClock('2026-03-01T12:00:00Z');
    const store = new GatedFlushStore();
    const first = await testEngine({ jobs: [flow], clock, store, scripts: { collect: { ms: 1000 } } });
    store.held = true;
    const run = await first.engine.triggerJob('flow', 'manual');
    await settle(clock);
    const stopping = first.engine.stop();
    store.release();
    await settle(clock);
    await stopping;
    expect(first.calls).toHaveLength(0);
    const stopped = await runOf(store, run.id);
    expect(stopped.status).toBe('queued');
    expect(stopped.tasks.collect).toMatchObject({ status: 'pending', interruptions: 1 });
    const second = await testEngine({ jobs: [flow], clock, store });
    await settle(clock, 10);
    expect((await runOf(store, run.id)).status).toBe('succeeded');
    expect(second.calls.map((c) => c.command)).toEqual(['collect', 'summarise', 'publish']);
  });
});

describe('restart and recovery', () => {
  it('resumes an interrupted flow without re-running finished tasks', async () => {
    const clock = new FakeClock('2026-03-01T12:00:00Z');
    const store = new MemoryRunStore();
    const first = await testEngine({ jobs: [flow], clock, store, scripts: { summarise: { ms: 10_000 } } });
    const run = await first.engine.triggerJob('flow', 'manual');
    await settle(clock, 100);
    expect((await runOf(store, run.id)).tasks.summarise!.status).toBe('running');
    // Simulate a crash: a new engine on the same store, the old one never told.
    const second = await testEngine({ jobs: [flow], clock, store });
    await settle(clock, 100);
    const done = await runOf(store, run.id);
    expect(done.status).toBe('succeeded');
    expect(second.calls.map((c) => c.command)).toEqual(['summarise', 'publish']);
    expect(done.tasks.collect!.attempts).toBe(1);
    expect(done.tasks.summarise).toMatchObject({ attempts: 2, interruptions: 1 });
    expect(second.calls[0]!.env.HEARTH_ATTEMPT).toBe('2');
  });

  it('fails a run whose task was running at two crashes in a row instead of resuming it a third time', async () => {
    const clock = new FakeClock('2026-03-01T12:00:00Z');
    const store = new MemoryRunStore();
    const crashy = job('crashy', [task('fill', 'fill'), task('after', 'after', { dependsOn: ['fill'] })]);
    // "fill" never finishes: in real life it fills the disk and the appliance dies with it.
    const scripts = { fill: { ms: 3_600_000 } };
    const first = await testEngine({ jobs: [crashy], clock, store, scripts });
    const run = await first.engine.triggerJob('crashy', 'manual');
    await settle(clock, 10);
    expect(first.calls.map((c) => c.command)).toEqual(['fill']);

    // First crash: resumed, as before.
    const second = await testEngine({ jobs: [crashy], clock, store, scripts });
    await settle(clock, 10);
    expect(second.calls.map((c) => c.command)).toEqual(['fill']);
    expect((await runOf(store, run.id)).tasks.fill).toMatchObject({ status: 'running', attempts: 2, interruptions: 1, crashes: 1 });

    // Second crash in a row: not resumed a third time.
    const events: string[] = [];
    const third = await testEngine({ jobs: [crashy], clock, store, scripts, start: false });
    third.engine.onRunEvent((event) => events.push(`${event.type} ${event.run.status}`));
    await third.engine.start();
    await settle(clock, 10);
    expect(third.calls).toHaveLength(0);
    const done = await runOf(store, run.id);
    expect(done.status).toBe('failed');
    expect(done.error).toBe(
      'interrupted repeatedly: task fill was running when Hearth stopped unexpectedly 2 times in a row (crash, kill -9 or power cut); not resuming it again',
    );
    expect(done.finishedAt).toBeDefined();
    expect(done.tasks.fill).toMatchObject({ status: 'failed', attempts: 2, crashes: 2, error: done.error });
    expect(done.tasks.after).toMatchObject({ status: 'cancelled', attempts: 0 });
    expect(await third.logs.read(run.id)).toContain(`appliance restarted; run failed: ${done.error}`);
    expect(events).toContain('finished failed');
  });

  it('counts only crashes in a row: an attempt that ends in between starts the count afresh', async () => {
    const clock = new FakeClock('2026-03-01T12:00:00Z');
    const store = new MemoryRunStore();
    const flaky = job('flaky', [task('fill', 'fill')], { retries: { max: 3, delayMs: 1000, backoff: 'fixed', maxDelayMs: 1000, jitter: 0 } });
    // Attempt 2 fails on its own (a normal end); every other attempt hangs until the appliance dies.
    const scripts = { fill: (env: Record<string, string>) => (env.HEARTH_ATTEMPT === '2' ? { exit: 1 } : { ms: 3_600_000 }) };
    const first = await testEngine({ jobs: [flaky], clock, store, scripts });
    const run = await first.engine.triggerJob('flaky', 'manual');
    await settle(clock, 10);
    const second = await testEngine({ jobs: [flaky], clock, store, scripts });
    await settle(clock, 1010);
    expect(second.calls.map((c) => c.env.HEARTH_ATTEMPT)).toEqual(['2', '3']);
    expect((await runOf(store, run.id)).tasks.fill).toMatchObject({ status: 'running', attempts: 3 });
    expect((await runOf(store, run.id)).tasks.fill!.crashes).toBeUndefined();
    const third = await testEngine({ jobs: [flaky], clock, store, scripts });
    await settle(clock, 10);
    expect(third.calls.map((c) => c.env.HEARTH_ATTEMPT)).toEqual(['4']);
    expect((await runOf(store, run.id)).tasks.fill).toMatchObject({ status: 'running', crashes: 1 });
  });

  it('does not start a recovered run before its recovery is on disk, even when a newer run starts meanwhile', async () => {
    const clock = new FakeClock('2026-03-01T12:00:00Z');
    const store = new MemoryRunStore({ clock });
    const first = await testEngine({ jobs: [flow], clock, store, scripts: { summarise: { ms: 3_600_000 } } });
    const run = await first.engine.triggerJob('flow', 'manual');
    await settle(clock, 100);
    // A stop (the run goes back to queued, its claim released), then a restart on a full disk.
    await first.engine.stop();
    vi.spyOn(store, 'flush').mockRejectedValueOnce(Object.assign(new Error('ENOSPC: no space left on device'), { code: 'ENOSPC' }));
    const second = await testEngine({ jobs: [flow], clock, store });
    // The queue holds the recovered run (stored as queued) before this one; the pool must still leave it alone.
    const fresh = await second.engine.triggerJob('flow', 'manual');
    await settle(clock, 1_000);
    expect([...new Set(second.calls.map((c) => c.env.HEARTH_RUN_ID))]).toEqual([fresh.id]);
    await settle(clock, 30_000);
    expect((await runOf(store, run.id)).status).toBe('succeeded');
  });

  it('starts even when the recovered state cannot be written (disk full), and resumes the runs once it can', async () => {
    const clock = new FakeClock('2026-03-01T12:00:00Z');
    const store = new MemoryRunStore();
    // summarise hangs in the first engine until the "crash" (never stopped: it must not finish and write the run during the test).
    const first = await testEngine({ jobs: [flow], clock, store, scripts: { summarise: { ms: 3_600_000 } } });
    const run = await first.engine.triggerJob('flow', 'manual');
    await settle(clock, 100);
    // Crash; the restart finds the disk full.
    vi.spyOn(store, 'flush').mockRejectedValueOnce(Object.assign(new Error('ENOSPC: no space left on device'), { code: 'ENOSPC' }));
    const second = await testEngine({ jobs: [flow], clock, store });
    await settle(clock, 1_000);
    expect(second.calls).toEqual([]);
    await settle(clock, 30_000);
    expect((await runOf(store, run.id)).status).toBe('succeeded');
    expect(second.calls.map((c) => c.command)).toEqual(['summarise', 'publish']);
  });

  it('hands running work back on a graceful stop and resumes it on start', async () => {
    const clock = new FakeClock('2026-03-01T12:00:00Z');
    const store = new MemoryRunStore();
    const first = await testEngine({ jobs: [flow], clock, store, scripts: { collect: { ms: 10_000 } } });
    const run = await first.engine.triggerJob('flow', 'manual');
    await settle(clock, 10);
    await first.engine.stop();
    const stopped = await runOf(store, run.id);
    expect(stopped.status).toBe('queued');
    expect(stopped.tasks.collect!.status).toBe('pending');
    const second = await testEngine({ jobs: [flow], clock, store });
    await settle(clock, 10);
    expect((await runOf(store, run.id)).status).toBe('succeeded');
    expect(second.calls).toHaveLength(3);
  });

  it('re-arms a retry timer after a restart', async () => {
    const clock = new FakeClock('2026-03-01T12:00:00Z');
    const store = new MemoryRunStore();
    const flaky = job('flaky', [task('main', 'flaky')], { retries: { max: 1, delayMs: 60_000, backoff: 'fixed', maxDelayMs: 60_000, jitter: 0 } });
    const first = await testEngine({ jobs: [flaky], clock, store, scripts: { flaky: { exit: 1 } } });
    const run = await first.engine.triggerJob('flaky', 'manual');
    await settle(clock, 10);
    await first.engine.stop();
    const second = await testEngine({ jobs: [flaky], clock, store, scripts: { flaky: { exit: 0 } } });
    await settle(clock, 59_000);
    expect(second.calls).toHaveLength(0);
    await settle(clock, 2_000);
    expect((await runOf(store, run.id)).status).toBe('succeeded');
  });
});

describe('daily housekeeping', () => {
  it('prunes run history older than history.keepRuns a minute after start, then every day', async () => {
    const clock = new FakeClock('2026-03-01T12:00:00Z');
    const store = new MemoryRunStore();
    const cutoffs: string[] = [];
    store.pruneHistory = async (before) => {
      cutoffs.push(new Date(before).toISOString());
      return [];
    };
    await testEngine({ jobs: [], clock, store, config: { historyRetentionMs: 90 * 86_400_000 } });
    await clock.advance(59_000);
    expect(cutoffs).toEqual([]);
    await clock.advance(1_000);
    expect(cutoffs).toEqual(['2025-12-01T12:01:00.000Z']);
    await clock.advance(86_400_000);
    expect(cutoffs).toEqual(['2025-12-01T12:01:00.000Z', '2025-12-02T12:01:00.000Z']);
  });

  it('logs a failed prune and keeps the daily schedule', async () => {
    const clock = new FakeClock('2026-03-01T12:00:00Z');
    const store = new MemoryRunStore();
    let calls = 0;
    store.pruneHistory = async () => {
      calls++;
      throw new Error('disk on fire');
    };
    await testEngine({ jobs: [], clock, store });
    await clock.advance(60_000 + 86_400_000);
    expect(calls).toBe(2);
  });

  it('keeps the daily schedule while a prune hangs, and skips only that chore until it ends', async () => {
    const clock = new FakeClock('2026-03-01T12:00:00Z');
    const store = new MemoryRunStore();
    let calls = 0;
    let release = () => {};
    store.pruneHistory = async () => {
      calls++;
      if (calls === 1) await new Promise<void>((resolve) => { release = resolve; });
      return [];
    };
    const lines: string[] = [];
    const logger = createLogger({ write: (line) => lines.push(line) });
    const { engine } = await testEngine({ jobs: [], clock, store, logger });
    const pruneLogs = vi.spyOn(engine, 'pruneLogs').mockResolvedValue(0);
    await clock.advance(60_000);
    expect(calls).toBe(1);
    await clock.advance(86_400_000);
    expect(calls).toBe(1);
    expect(pruneLogs).toHaveBeenCalledTimes(2);
    expect(lines.filter((l) => l.includes('housekeeping skipped'))).toHaveLength(1);
    expect(lines.find((l) => l.includes('housekeeping skipped'))).toContain('"chore":"history"');
    release();
    await clock.advance(86_400_000);
    expect(calls).toBe(2);
    expect(pruneLogs).toHaveBeenCalledTimes(3);
  });
});

describe('acknowledged means on disk (FileRunStore, crash = reopen without close)', () => {
  const dirs: string[] = [];
  afterEach(async () => {
    for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
  });

  /** An engine on a FileRunStore whose tasks, like real processes, take 5 s (fake time) to stop after SIGTERM. */
  async function fileEngine(dataDir: string, clock: FakeClock, calls: string[], store = new FileRunStore({ dataDir, clock, logger: silentLogger })) {
    await store.open();
    const logs = new RunLogs(join(dataDir, 'logs'), clock);
    await logs.init();
    const runShell = (options: ShellOptions): Promise<ShellResult> => {
      calls.push(options.command);
      options.onSpawn?.(4242);
      return new Promise((resolve) => {
        const exit = clock.setTimer(60_000, () => resolve({ exitCode: 0, signal: null, timedOut: false, cancelled: false, tail: [], pid: 4242 }));
        options.signal.addEventListener('abort', () => {
          exit.cancel();
          clock.setTimer(5_000, () => resolve({ exitCode: null, signal: 'SIGTERM', timedOut: false, cancelled: true, tail: [], pid: 4242 }));
        }, { once: true });
      });
    };
    const engine = createEngine({
      config: config([flow]),
      store,
      clock,
      logs,
      logger: silentLogger,
      version: 'test',
      runShell,
      actions: { get: () => undefined },
      dataDir,
      baseEnv: {},
      random: () => 0.5,
    });
    await engine.start();
    return { engine, store };
  }

  it('a cancel of a running run is durable when answered: a crash right after still cancels it', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'hearth-engine-cancel-'));
    dirs.push(dir);
    const clock = new FakeClock('2026-03-01T12:00:00Z');
    const calls: string[] = [];
    const first = await fileEngine(dir, clock, calls);
    const run = await first.engine.triggerJob('flow', 'manual');
    // The task starts once its start is on disk (real I/O).
    await vi.waitFor(() => expect(calls).toEqual(['collect']));
    await first.engine.cancelRun(run.id);

    // kill -9 now (the task is still stopping): a new engine on what is on disk.
    const afterCrash: string[] = [];
    const clock2 = new FakeClock('2026-03-01T12:01:00Z');
    const second = await fileEngine(dir, clock2, afterCrash);
    await settle(clock2, 120_000);
    const done = await runOf(second.store, run.id);
    expect(done.status).toBe('cancelled');
    expect(afterCrash).toEqual([]);
    await second.engine.stop();
    await second.store.close();
    await first.store.close();
  });

  it('a run refused because its insert could not be written never runs, not even after a restart', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'hearth-engine-refused-'));
    dirs.push(dir);
    const clock = new FakeClock('2026-03-01T12:00:00Z');
    const calls: string[] = [];
    const store = new FileRunStore({ dataDir: dir, clock, logger: silentLogger });
    const first = await fileEngine(dir, clock, calls, store);
    const wal = (store as unknown as { wal: { append(lines: string[]): Promise<void> } }).wal;
    vi.spyOn(wal, 'append').mockRejectedValueOnce(Object.assign(new Error('ENOSPC: no space left on device'), { code: 'ENOSPC' }));
    await expect(first.engine.triggerJob('flow', 'api')).rejects.toMatchObject({ code: 'ENOSPC' });
    await settle(clock, 10_000);
    expect(calls).toEqual([]);
    expect((await store.listRuns({ limit: 10 })).runs).toEqual([]);

    const clock2 = new FakeClock('2026-03-01T12:01:00Z');
    const second = await fileEngine(dir, clock2, calls);
    await settle(clock2, 10_000);
    expect(calls).toEqual([]);
    expect((await second.store.listRuns({ limit: 10 })).runs).toEqual([]);
    await second.engine.stop();
    await second.store.close();
    await store.close();
  });
});

describe('typed waits', () => {
  const pair = job('pair', [task('ask', 'ask'), task('tidy', 'tidy'), task('report', 'report', { dependsOn: ['ask'] })]);

  /** A run of `pair` whose task "ask" waits on `wait` (as a step will leave it), with the rest still to do. */
  async function storeWithRun(status: 'queued' | 'waiting', wait: Run['wait']): Promise<{ store: MemoryRunStore; run: Run }> {
    const store = new MemoryRunStore();
    await store.open();
    const run: Run = {
      id: 'r_00000000000_wait',
      job: 'pair',
      status,
      trigger: 'manual',
      occurrences: 1,
      createdAt: '2026-03-01T11:00:00.000Z',
      startedAt: '2026-03-01T11:00:00.000Z',
      lastSuccessAt: '',
      taskOrder: ['ask', 'tidy', 'report'],
      tasks: {
        ask: { name: 'ask', status: 'waiting', attempts: 1, startedAt: '2026-03-01T11:00:00.000Z', wait },
        tidy: { name: 'tidy', status: 'pending', attempts: 0 },
        report: { name: 'report', status: 'pending', attempts: 0 },
      },
      ...(status === 'waiting' ? { wait } : {}),
    };
    await store.insertRun(run);
    return { store, run };
  }

  it('parks a run whose remaining task waits for input, with no timer, instead of failing on "Invalid time value"', async () => {
    const { store, run } = await storeWithRun('queued', { kind: 'input', id: 'q1' });
    const t = await testEngine({ jobs: [pair], store });
    await settle(t.clock, 100);
    let state = await runOf(store, run.id);
    expect(state.error).toBeUndefined();
    expect(state.status).toBe('waiting');
    expect(state.wait).toEqual({ kind: 'input', id: 'q1' });
    expect(state.tasks.tidy!.status).toBe('succeeded');
    expect(state.tasks.report!.status).toBe('pending');
    expect(t.engine.health().runs).toEqual({ queued: 0, running: 0, waiting: 1 });
    // Nothing but an answer wakes it: a week passes and nothing runs again.
    await settle(t.clock, 7 * 86_400_000);
    state = await runOf(store, run.id);
    expect(state.status).toBe('waiting');
    expect(t.calls.map((c) => c.command)).toEqual(['tidy']);
    await t.engine.stop();
  });

  it('keeps a run waiting for an event parked across a restart; one waiting with nothing to wait for runs again', async () => {
    const parked = await storeWithRun('waiting', { kind: 'event', name: 'door' });
    const t = await testEngine({ jobs: [pair], store: parked.store });
    await settle(t.clock, 86_400_000);
    expect(t.calls).toEqual([]);
    expect(await runOf(parked.store, parked.run.id)).toMatchObject({ status: 'waiting', wait: { kind: 'event', name: 'door' } });
    await t.engine.stop();

    // A waiting run whose tasks wait for nothing (written by hand, or by an older Hearth) is not stuck forever.
    const stray = await storeWithRun('waiting', undefined);
    stray.run.tasks.ask = { name: 'ask', status: 'succeeded', attempts: 1, finishedAt: '2026-03-01T11:00:01.000Z' };
    stray.store.updateRun(stray.run);
    const t2 = await testEngine({ jobs: [pair], store: stray.store });
    await settle(t2.clock, 100);
    expect((await runOf(stray.store, stray.run.id)).status).toBe('succeeded');
    expect(t2.calls.map((c) => c.command).sort()).toEqual(['report', 'tidy']);
  });

  it('skips a pending task a reload removed from the job, so the resumed run still finishes in a legal shape', async () => {
    const { store, run } = await storeWithRun('queued', undefined);
    run.tasks.ask = { name: 'ask', status: 'succeeded', attempts: 1, finishedAt: '2026-03-01T11:00:01.000Z' };
    run.tasks.gone = { name: 'gone', status: 'pending', attempts: 0 };
    run.taskOrder.push('gone');
    store.updateRun(run);
    const t = await testEngine({ jobs: [pair], store });
    await settle(t.clock, 100);
    const done = await runOf(store, run.id);
    expect(done.status).toBe('succeeded');
    expect(done.tasks.gone).toMatchObject({ status: 'skipped', error: 'skipped: no longer in the job' });
    expect(t.calls.map((c) => c.command).sort()).toEqual(['report', 'tidy']);
  });

  it('cancels a run waiting for input at once, cancelling its remaining tasks', async () => {
    const { store, run } = await storeWithRun('waiting', { kind: 'input', id: 'q1' });
    const t = await testEngine({ jobs: [pair], store });
    await settle(t.clock, 10);
    const cancelled = await t.engine.cancelRun(run.id);
    expect(cancelled.status).toBe('cancelled');
    const done = await runOf(store, run.id);
    expect(Object.values(done.tasks).map((s) => s.status)).toEqual(['cancelled', 'cancelled', 'cancelled']);
    expect(done.wait).toBeUndefined();
    expect(t.engine.health().runs.waiting).toBe(0);
  });
});
