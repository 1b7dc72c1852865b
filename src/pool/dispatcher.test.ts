import { describe, expect, it } from 'vitest';
import { FakeClock } from '../core/clock.js';
import { silentLogger } from '../core/logger.js';
import type { JobDef } from '../config/types.js';
import { DEFAULT_RETRY } from '../config/types.js';
import type { Run, Wait } from '../runs/model.js';
import { MemoryRunStore } from '../runs/memory-store.js';
import { newRun } from '../runs/transitions.js';
import { Dispatcher, type RunOutcome } from './dispatcher.js';

const T0 = Date.parse('2026-03-01T12:00:00Z');
const iso = (ms: number) => new Date(ms).toISOString();

function jobDef(name: string): JobDef {
  return {
    name,
    pool: 'default',
    overlap: 'allow',
    retries: DEFAULT_RETRY,
    env: {},
    tasks: [{ name: 'main', run: 'true', dependsOn: [], with: {}, env: {}, continueOnError: false }],
  };
}

/** A run as the executor leaves it when its only task parked on `wait`. */
function parkedRun(id: string, job: string, wait: Wait): Run {
  const run = newRun({ id, job, tasks: ['main'], trigger: 'manual', occurrences: 1 }, T0);
  run.status = 'waiting';
  run.startedAt = iso(T0);
  run.wait = structuredClone(wait);
  run.tasks.main = { name: 'main', status: 'waiting', attempts: 1, wait: structuredClone(wait) };
  return run;
}

/**
 * A dispatcher on a FakeClock over a pool of concurrency 1 whose executor
 * records each start and keeps the run running until `finish(id)`.
 */
async function harness() {
  const clock = new FakeClock(T0);
  const store = new MemoryRunStore({ clock });
  await store.open();
  const started: string[] = [];
  const running = new Map<string, () => void>();
  const dispatcher = new Dispatcher({
    clock,
    logger: silentLogger,
    runs: store.runs,
    queue: store.queue,
    pools: () => ({ default: { name: 'default', concurrency: 1 } }),
    job: (name) => jobDef(name),
    execute: (run) => {
      started.push(run.id);
      return new Promise<RunOutcome>((resolve) => running.set(run.id, () => resolve('finished')));
    },
    shutdownReason: () => new Error('shutdown'),
  });
  const finish = async (id: string) => {
    running.get(id)!();
    running.delete(id);
    await clock.advance(0);
  };
  return { clock, store, dispatcher, started, finish };
}

describe('Dispatcher: parked runs and typed waits', () => {
  it('wakes a run parked on a timer when the timer is due, not before', async () => {
    const h = await harness();
    const run = parkedRun('r_1', 'sleepy', { kind: 'timer', at: iso(T0 + 60_000) });
    await h.store.insertRun(run);
    h.dispatcher.park(run);
    await h.clock.advance(59_999);
    expect(h.started).toEqual([]);
    expect(h.dispatcher.counts()).toEqual({ queued: 0, running: 0, waiting: 1 });
    await h.clock.advance(1);
    expect(h.started).toEqual(['r_1']);
    expect(run.tasks.main).toMatchObject({ status: 'pending' });
    expect(run.tasks.main!.wait).toBeUndefined();
  });

  it.each<[string, Wait]>([
    ['input', { kind: 'input', id: 'q1' }],
    ['event', { kind: 'event', name: 'door' }],
    ['children', { kind: 'children', runIds: ['r_child'] }],
  ])('parks a run waiting for %s with no timer and no pool slot; only a matching wake starts it', async (_kind, wait) => {
    const h = await harness();
    const run = parkedRun('r_1', 'asker', wait);
    await h.store.insertRun(run);
    h.dispatcher.park(run);
    expect(h.clock.pendingTimers()).toBe(0);
    // No slot held: another job's run takes the only slot of the pool.
    const other = newRun({ id: 'r_2', job: 'other', tasks: ['main'], trigger: 'manual', occurrences: 1 }, T0);
    await h.store.insertRun(other);
    // The pool claims from the queue: enqueue resolves once that claim pass is done.
    await h.dispatcher.enqueue(other);
    expect(h.started).toEqual(['r_2']);
    await h.finish('r_2');
    // Time alone never wakes it (a missing wakeAt used to mean "now").
    await h.clock.advance(30 * 86_400_000);
    expect(h.started).toEqual(['r_2']);
    expect((await h.store.getRun('r_1'))!.status).toBe('waiting');

    expect(h.dispatcher.wake('r_1', { kind: 'input', id: 'someone-else' })).toEqual([]);
    expect(h.dispatcher.wake('r_1', { kind: 'event', name: 'doorbell' })).toEqual([]);
    expect(h.dispatcher.wake('r_1', { kind: 'child', runId: 'r_other' })).toEqual([]);
    await h.clock.advance(0);
    expect(h.started).toEqual(['r_2']);

    const signal = wait.kind === 'input' ? { kind: 'input' as const, id: 'q1' } : wait.kind === 'event' ? { kind: 'event' as const, name: 'door', data: {} } : { kind: 'child' as const, runId: 'r_child' };
    expect(h.dispatcher.wake('r_1', signal)).toEqual(['main']);
    // A woken run is saved, enqueued and claimed: it starts once that pass has run.
    await h.clock.advance(0);
    expect(h.started).toEqual(['r_2', 'r_1']);
    expect((await h.store.getRun('r_1'))!.tasks.main!.status).toBe('pending');
  });

  it('arms a timer for the deadline (until) of a wait for input, and wakes the run when it passes', async () => {
    const h = await harness();
    const run = parkedRun('r_1', 'asker', { kind: 'input', id: 'q1', until: iso(T0 + 3_600_000) });
    await h.store.insertRun(run);
    h.dispatcher.park(run);
    expect(h.clock.pendingTimers()).toBe(1);
    await h.clock.advance(3_599_999);
    expect(h.started).toEqual([]);
    await h.clock.advance(1);
    expect(h.started).toEqual(['r_1']);
  });

  it('cancels a run parked on a wait without a timer at once', async () => {
    const h = await harness();
    const run = parkedRun('r_1', 'asker', { kind: 'input', id: 'q1' });
    await h.store.insertRun(run);
    h.dispatcher.park(run);
    const cancelled = await h.dispatcher.cancel('r_1');
    expect(cancelled).toMatchObject({ status: 'cancelled', error: 'cancelled by request' });
    expect(cancelled.tasks.main).toMatchObject({ status: 'cancelled' });
    expect(cancelled.tasks.main!.wait).toBeUndefined();
    expect(h.dispatcher.counts()).toEqual({ queued: 0, running: 0, waiting: 0 });
  });
});
