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
async function harness(options: { leaseMs?: number; concurrency?: number; pools?: Record<string, number> } = {}) {
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
    pools: () =>
      options.pools
        ? Object.fromEntries(Object.entries(options.pools).map(([name, concurrency]) => [name, { name, concurrency }]))
        : { default: { name: 'default', concurrency: options.concurrency ?? 1 } },
    ...(options.leaseMs ? { leaseMs: options.leaseMs } : {}),
    // With several pools, a job named `pool:job` runs in `pool`.
    job: (name) => ({ ...jobDef(name), ...(name.includes(':') ? { pool: name.split(':')[0]! } : {}) }),
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

describe('Dispatcher: a consumer of the run queue', () => {
  const queuedRun = (id: string, job = 'work') => newRun({ id, job, tasks: ['main'], trigger: 'manual', occurrences: 1 }, T0);

  it('starts a run another pool holds only once that lease expires', async () => {
    const h = await harness({ leaseMs: 60_000 });
    const run = queuedRun('r_1');
    await h.store.insertRun(run);
    await h.store.queue.enqueue({ runId: 'r_1', job: 'work' });
    expect(await h.store.queue.claim({ owner: 'pi-2', leaseMs: 60_000 })).toHaveLength(1);
    await h.dispatcher.pump();
    expect(h.started).toEqual([]);
    await h.clock.advance(60_000);
    await h.dispatcher.pump();
    expect(h.started).toEqual(['r_1']);
    // The other pool lost it: it can no longer complete it.
    expect(await h.store.queue.complete('r_1', 'pi-2')).toBe(false);
  });

  it('claims runs enqueued elsewhere, reading them from the repository', async () => {
    const h = await harness();
    await h.store.insertRun(queuedRun('r_1'));
    await h.store.queue.enqueue({ runId: 'r_1', job: 'work' });
    await h.dispatcher.pump();
    expect(h.started).toEqual(['r_1']);
    expect(h.dispatcher.isActive('r_1')).toBe(true);
  });

  it('renews the lease of a run while it runs, and leaves the queue with it when it ends; an idle pool keeps no timer', async () => {
    const h = await harness({ leaseMs: 60_000 });
    const run = queuedRun('r_1');
    await h.store.insertRun(run);
    await h.dispatcher.enqueue(run);
    expect(h.started).toEqual(['r_1']);
    await h.clock.advance(10 * 60_000);
    // Still held by this pool ten leases later.
    expect(await h.store.queue.extend('r_1', 'local', 60_000)).toBe(true);
    await h.finish('r_1');
    expect(await h.store.queue.size()).toBe(0);
    expect(h.clock.pendingTimers()).toBe(0);
  });

  it('hands a run its pool cannot start back to the queue and starts the next one that can (oldest first)', async () => {
    const h = await harness({ concurrency: 2 });
    for (const [id, job] of [['r_1', 'a'], ['r_2', 'b'], ['r_3', 'c']] as const) {
      const run = queuedRun(id, job);
      await h.store.insertRun(run);
      await h.dispatcher.enqueue(run);
    }
    expect(h.started).toEqual(['r_1', 'r_2']);
    expect(h.dispatcher.counts()).toEqual({ queued: 1, running: 2, waiting: 0 });
    await h.finish('r_2');
    expect(h.started).toEqual(['r_1', 'r_2', 'r_3']);
    expect(h.dispatcher.counts()).toEqual({ queued: 0, running: 2, waiting: 0 });
  });

  it('a run its full pool cannot start does not hold back an older-queued run of another pool', async () => {
    const h = await harness({ pools: { slow: 1, fast: 1 } });
    for (const [id, job] of [['r_1', 'slow:a'], ['r_2', 'slow:b'], ['r_3', 'slow:a'], ['r_4', 'fast:c']] as const) {
      const run = queuedRun(id, job);
      await h.store.insertRun(run);
      await h.store.queue.enqueue({ runId: id, job });
    }
    await h.dispatcher.pump();
    expect(h.started).toEqual(['r_1', 'r_4']);
  });

  it('cancels a queued run by taking it from the queue, so no pool starts it', async () => {
    const h = await harness();
    const busy = queuedRun('r_1');
    const waiting = queuedRun('r_2');
    for (const run of [busy, waiting]) {
      await h.store.insertRun(run);
      await h.dispatcher.enqueue(run);
    }
    const cancelled = await h.dispatcher.cancel('r_2');
    expect(cancelled).toMatchObject({ status: 'cancelled', error: 'cancelled by request' });
    expect(await h.store.queue.claimRun('r_2', 'pi-2', 60_000)).toBeUndefined();
    await h.finish('r_1');
    expect(h.started).toEqual(['r_1']);
    expect((await h.store.getRun('r_2'))!.status).toBe('cancelled');
  });
});
