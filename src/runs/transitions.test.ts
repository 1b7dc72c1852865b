import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { IllegalTransitionError } from '../core/errors.js';
import type { RetryPolicy } from '../config/types.js';
import type { Run, TaskState, Wait } from './model.js';
import { isFinished, waitDeadline } from './model.js';
import { retryDelayMs } from './retry.js';
import {
  SETTLED_TASK_STATUSES,
  cancelRemainingTasks,
  cancelTask,
  completeRun,
  failTask,
  failTaskAttempt,
  finishRunEarly,
  interruptRun,
  interruptTask,
  markTaskCrashed,
  newRun,
  parkRun,
  parkTask,
  reconcileWaitingRun,
  requestCancel,
  skipTask,
  startRun,
  startTask,
  succeedTask,
  summarizeWait,
  wake,
  type WakeSignal,
} from './transitions.js';

const T0 = Date.parse('2026-03-01T12:00:00Z');
const iso = (ms: number) => new Date(ms).toISOString();
const policy: RetryPolicy = { max: 2, delayMs: 1_000, backoff: 'exponential', maxDelayMs: 60_000, jitter: 0 };

function fresh(tasks = ['a', 'b']): Run {
  return newRun({ id: 'r_1', job: 'j', tasks, trigger: 'manual', occurrences: 1 }, T0);
}

/** A running run whose task `name` is running. */
function withRunningTask(name = 'a', tasks = ['a', 'b']): Run {
  const run = fresh(tasks);
  startRun(run, T0);
  startTask(run, name, T0);
  return run;
}

function expectIllegal(run: Run, change: () => unknown): void {
  const before = structuredClone(run);
  expect(change).toThrow(IllegalTransitionError);
  expect(run).toEqual(before);
}

describe('transitions: examples', () => {
  it('runs a task through start, success and completion', () => {
    const run = withRunningTask('a', ['a']);
    expect(run).toMatchObject({ status: 'running', startedAt: iso(T0) });
    expect(run.tasks.a).toMatchObject({ status: 'running', attempts: 1, startedAt: iso(T0) });
    succeedTask(run, 'a', 'done', T0 + 5);
    completeRun(run, T0 + 6);
    expect(run).toMatchObject({ status: 'succeeded', finishedAt: iso(T0 + 6) });
    expect(run.tasks.a).toMatchObject({ status: 'succeeded', output: 'done', finishedAt: iso(T0 + 5) });
  });

  it('applies the retry policy: a timer wait per retry from retry.ts, then failed after max', () => {
    const run = withRunningTask('a', ['a']);
    const outcomes = [];
    for (let attempt = 1; attempt <= 3; attempt++) {
      const now = T0 + attempt * 100_000;
      outcomes.push(failTaskAttempt(run, 'a', { error: `boom ${attempt}`, retriable: true, policy }, now));
      if (run.tasks.a!.status === 'waiting') {
        expect(run.tasks.a!.wait).toEqual({ kind: 'timer', at: iso(now + retryDelayMs(policy, attempt)) });
        expect(wake(run, { kind: 'timer' }, now + 60_000)).toEqual(['a']);
        startTask(run, 'a', now + 60_000);
      }
    }
    expect(outcomes).toEqual([
      { retry: true, failures: 1, delayMs: 1_000 },
      { retry: true, failures: 2, delayMs: 2_000 },
      { retry: false, failures: 3 },
    ]);
    expect(run.tasks.a).toMatchObject({ status: 'failed', attempts: 3, error: 'boom 3' });
    completeRun(run, T0 + 400_000);
    expect(run).toMatchObject({ status: 'failed', error: 'a: boom 3' });
  });

  it('retries no earlier than a RetryAfterError asks, and not at all when the error forbids it', () => {
    const run = withRunningTask('a');
    expect(failTaskAttempt(run, 'a', { error: 'later', retriable: true, retryAt: T0 + 90_000, policy }, T0)).toEqual({ retry: true, failures: 1, delayMs: 90_000 });
    expect(run.tasks.a!.wait).toEqual({ kind: 'timer', at: iso(T0 + 90_000) });
    startTask(run, 'b', T0);
    expect(failTaskAttempt(run, 'b', { error: 'no', retriable: false, policy }, T0)).toEqual({ retry: false, failures: 1 });
    expect(run.tasks.b!.status).toBe('failed');
  });

  it('does not count interrupted attempts against the retries', () => {
    const run = withRunningTask('a', ['a']);
    interruptTask(run, 'a');
    startTask(run, 'a', T0);
    expect(run.tasks.a).toMatchObject({ attempts: 2, interruptions: 1 });
    expect(failTaskAttempt(run, 'a', { error: 'x', retriable: true, policy }, T0)).toMatchObject({ retry: true, failures: 1 });
  });

  it('a task a step parked resumes its attempt when woken; a retry timer starts a new attempt', () => {
    const run = fresh(['a']);
    startRun(run, T0);
    startTask(run, 'a', T0);
    parkTask(run, 'a', { kind: 'timer', at: iso(T0 + 1000) });
    expect(run.tasks.a).toMatchObject({ status: 'waiting', suspended: true, attempts: 1 });
    parkRun(run);
    wake(run, { kind: 'timer' }, T0 + 1000);
    startRun(run, T0 + 1000);
    startTask(run, 'a', T0 + 1000);
    expect(run.tasks.a!.attempts).toBe(1);
    expect(run.tasks.a!.suspended).toBeUndefined();
    failTaskAttempt(run, 'a', { error: 'x', retriable: true, policy }, T0 + 1000);
    expect(run.tasks.a!.suspended).toBeUndefined();
    wake(run, { kind: 'timer' }, T0 + 10_000_000);
    startTask(run, 'a', T0 + 10_000_000);
    expect(run.tasks.a!.attempts).toBe(2);
  });

  it('parks a run on the wait that ends first and wakes it only through wake()', () => {
    const run = fresh(['a', 'b', 'c']);
    startRun(run, T0);
    for (const name of ['a', 'b', 'c']) startTask(run, name, T0);
    parkTask(run, 'a', { kind: 'input', id: 'q1' });
    parkTask(run, 'b', { kind: 'event', name: 'door', match: { side: 'front' }, until: iso(T0 + 60_000) });
    parkTask(run, 'c', { kind: 'timer', at: iso(T0 + 30_000) });
    parkRun(run);
    expect(run).toMatchObject({ status: 'waiting', wait: { kind: 'timer', at: iso(T0 + 30_000) } });

    expect(wake(run, { kind: 'input', id: 'other' }, T0)).toEqual([]);
    expect(wake(run, { kind: 'event', name: 'door', data: { side: 'back' } }, T0)).toEqual([]);
    expect(wake(run, { kind: 'timer' }, T0 + 29_999)).toEqual([]);
    expect(run.status).toBe('waiting');

    expect(wake(run, { kind: 'event', name: 'door', data: { side: 'front', at: 1 } }, T0)).toEqual(['b']);
    expect(run.status).toBe('queued');
    expect(run.wait).toBeUndefined();
    expect(run.tasks.a).toMatchObject({ status: 'waiting', wait: { kind: 'input', id: 'q1' } });
  });

  it('parks a run waiting only for input without any deadline, and a children wait ends when every child has', () => {
    const run = fresh(['a', 'b']);
    startRun(run, T0);
    startTask(run, 'a', T0);
    startTask(run, 'b', T0);
    parkTask(run, 'a', { kind: 'input', id: 'q1' });
    parkTask(run, 'b', { kind: 'children', runIds: ['c1', 'c2'] });
    parkRun(run);
    expect(run.wait).toEqual({ kind: 'input', id: 'q1' });
    expect(wake(run, { kind: 'timer' }, T0 + 10 * 365 * 86_400_000)).toEqual([]);
    expect(wake(run, { kind: 'child', runId: 'c1' }, T0)).toEqual([]);
    expect(run.tasks.b!.wait).toEqual({ kind: 'children', runIds: ['c2'] });
    expect(run.status).toBe('waiting');
    expect(wake(run, { kind: 'child', runId: 'c2' }, T0)).toEqual(['b']);
    expect(run.status).toBe('queued');
  });

  it('cancels only the remaining tasks, keeping the earlier error of a task waiting to retry', () => {
    const run = fresh(['a', 'b', 'c', 'd']);
    startRun(run, T0);
    startTask(run, 'a', T0);
    succeedTask(run, 'a', 1, T0 + 1);
    startTask(run, 'b', T0);
    failTaskAttempt(run, 'b', { error: 'flaky', retriable: true, policy }, T0 + 2);
    const settledA = structuredClone(run.tasks.a);
    finishRunEarly(run, 'cancelled', 'cancelled by request', T0 + 3);
    expect(run.tasks.a).toEqual(settledA);
    expect(run.tasks.b).toEqual({ ...run.tasks.b, status: 'cancelled', error: 'flaky', finishedAt: iso(T0 + 3) });
    expect(run.tasks.b!.wait).toBeUndefined();
    expect(run.tasks.c).toMatchObject({ status: 'cancelled', attempts: 0, finishedAt: iso(T0 + 3) });
    expect(run).toMatchObject({ status: 'cancelled', error: 'cancelled by request', finishedAt: iso(T0 + 3) });
  });

  it('puts a waiting run read from disk back in shape, queueing one with nothing to wait for', () => {
    const run = fresh(['a']);
    run.status = 'waiting';
    expect(reconcileWaitingRun(run)).toBe('queued');
    expect(run.status).toBe('queued');
    const parked = fresh(['a']);
    parked.status = 'waiting';
    parked.tasks.a = { ...parked.tasks.a!, status: 'waiting', wait: { kind: 'input', id: 'q' } };
    expect(reconcileWaitingRun(parked)).toBe('parked');
    expect(parked.wait).toEqual({ kind: 'input', id: 'q' });
  });

  it('treats an unreadable wait time as due, never as NaN', () => {
    const run = withRunningTask('a', ['a']);
    parkTask(run, 'a', { kind: 'timer', at: 'not a time' });
    parkRun(run);
    expect(wake(run, { kind: 'timer' }, T0)).toEqual(['a']);
    expect(run.status).toBe('queued');
  });

  it('throws a typed error for illegal transitions and changes nothing', () => {
    const run = fresh(['a']);
    expectIllegal(run, () => startTask(run, 'a', T0)); // run not started
    expectIllegal(run, () => completeRun(run, T0));
    expectIllegal(run, () => parkRun(run));
    startRun(run, T0);
    expectIllegal(run, () => startRun(run, T0));
    expectIllegal(run, () => succeedTask(run, 'a', 1, T0)); // pending, not running
    expectIllegal(run, () => startTask(run, 'nope', T0));
    expectIllegal(run, () => completeRun(run, T0)); // a task is pending
    startTask(run, 'a', T0);
    expectIllegal(run, () => interruptRun(run)); // a task still runs
    expectIllegal(run, () => parkRun(run));
    succeedTask(run, 'a', 1, T0);
    expectIllegal(run, () => failTaskAttempt(run, 'a', { error: 'x', retriable: true, policy }, T0));
    expectIllegal(run, () => skipTask(run, 'a', 'x', T0));
    expectIllegal(run, () => failTask(run.tasks.a!, 'x', T0));
    completeRun(run, T0);
    expectIllegal(run, () => finishRunEarly(run, 'cancelled', 'x', T0));
    expectIllegal(run, () => wake(run, { kind: 'timer' }, T0));
    expectIllegal(run, () => requestCancel(run));
    const error = (() => {
      try {
        completeRun(run, T0);
      } catch (e) {
        return e as IllegalTransitionError;
      }
    })();
    expect(error).toMatchObject({ subject: 'run r_1', from: 'succeeded', transition: 'complete', message: 'run r_1: cannot complete from succeeded' });
  });
});

// ── property tests ──────────────────────────────────────────────────────

const TASKS = ['a', 'b', 'c'];

type Event =
  | { e: 'startRun' }
  | { e: 'interruptRun' }
  | { e: 'requestCancel' }
  | { e: 'parkRun' }
  | { e: 'completeRun'; mayFail: boolean }
  | { e: 'finishEarly'; status: 'failed' | 'cancelled' }
  | { e: 'reconcile' }
  | { e: 'crash' }
  | { e: 'startTask'; t: string }
  | { e: 'succeedTask'; t: string }
  | { e: 'failAttempt'; t: string; retriable: boolean; retryAfterMs?: number }
  | { e: 'parkTask'; t: string; wait: Wait }
  | { e: 'cancelTask'; t: string }
  | { e: 'interruptTask'; t: string }
  | { e: 'skipTask'; t: string }
  | { e: 'wake'; signal: WakeSignal }
  | { e: 'advance'; ms: number };

const taskName = fc.constantFrom(...TASKS);
const ids = fc.constantFrom('q1', 'q2');
const childIds = fc.constantFrom('c1', 'c2', 'c3');
const offset = fc.integer({ min: 0, max: 120_000 });

const waitArb = (now: () => number): fc.Arbitrary<Wait> =>
  fc.oneof(
    offset.map((ms): Wait => ({ kind: 'timer', at: iso(now() + ms) })),
    fc.record({ id: ids, until: fc.option(offset, { nil: undefined }) }).map(({ id, until }): Wait =>
      until === undefined ? { kind: 'input', id } : { kind: 'input', id, until: iso(now() + until) }),
    fc.record({ name: fc.constantFrom('door', 'mail'), side: fc.option(fc.constantFrom('front', 'back'), { nil: undefined }) }).map(({ name, side }): Wait =>
      side === undefined ? { kind: 'event', name } : { kind: 'event', name, match: { side } }),
    fc.uniqueArray(childIds, { minLength: 1, maxLength: 3 }).map((runIds): Wait => ({ kind: 'children', runIds })),
  );

const signalArb: fc.Arbitrary<WakeSignal> = fc.oneof(
  fc.constant<WakeSignal>({ kind: 'timer' }),
  ids.map((id): WakeSignal => ({ kind: 'input', id })),
  fc.record({ name: fc.constantFrom('door', 'mail'), side: fc.constantFrom('front', 'back') }).map(({ name, side }): WakeSignal => ({ kind: 'event', name, data: { side } })),
  childIds.map((runId): WakeSignal => ({ kind: 'child', runId })),
);

// Waits are built relative to T0; `advance` moves time forward, so deadlines fall due along the way.
const eventArb: fc.Arbitrary<Event> = fc.oneof(
  { weight: 6, arbitrary: fc.constant<Event>({ e: 'startRun' }) },
  fc.constant<Event>({ e: 'interruptRun' }),
  fc.constant<Event>({ e: 'requestCancel' }),
  { weight: 6, arbitrary: fc.constant<Event>({ e: 'parkRun' }) },
  fc.boolean().map((mayFail): Event => ({ e: 'completeRun', mayFail })),
  fc.constantFrom('failed' as const, 'cancelled' as const).map((status): Event => ({ e: 'finishEarly', status })),
  fc.constant<Event>({ e: 'reconcile' }),
  fc.constant<Event>({ e: 'crash' }),
  { weight: 6, arbitrary: taskName.map((t): Event => ({ e: 'startTask', t })) },
  { weight: 3, arbitrary: taskName.map((t): Event => ({ e: 'succeedTask', t })) },
  { weight: 3, arbitrary: fc.record({ t: taskName, retriable: fc.boolean(), retryAfterMs: fc.option(offset, { nil: undefined }) }).map((r): Event => ({ e: 'failAttempt', ...r })) },
  { weight: 4, arbitrary: fc.record({ t: taskName, wait: waitArb(() => T0) }).map((r): Event => ({ e: 'parkTask', ...r })) },
  taskName.map((t): Event => ({ e: 'cancelTask', t })),
  taskName.map((t): Event => ({ e: 'interruptTask', t })),
  taskName.map((t): Event => ({ e: 'skipTask', t })),
  { weight: 5, arbitrary: signalArb.map((signal): Event => ({ e: 'wake', signal })) },
  { weight: 2, arbitrary: fc.integer({ min: 1, max: 60_000 }).map((ms): Event => ({ e: 'advance', ms })) },
);

/**
 * What recovery does to a run found active at start-up, in transitions
 * (engine/recovery.ts adds the crash-loop rule on top).
 */
function crash(run: Run): void {
  if (isFinished(run)) throw new IllegalTransitionError(`run ${run.id}`, run.status, 'recover');
  for (const state of Object.values(run.tasks)) if (state.status === 'running') markTaskCrashed(state);
  if (run.status === 'running') interruptRun(run);
  if (run.status === 'waiting') reconcileWaitingRun(run);
}

function apply(run: Run, event: Event, now: number): void {
  switch (event.e) {
    case 'startRun': return startRun(run, now);
    case 'interruptRun': return interruptRun(run);
    case 'requestCancel': return requestCancel(run);
    case 'parkRun': return parkRun(run);
    case 'completeRun': return completeRun(run, now, () => event.mayFail);
    case 'finishEarly': return finishRunEarly(run, event.status, 'stopped', now);
    case 'reconcile': {
      reconcileWaitingRun(run);
      return;
    }
    case 'crash': return crash(run);
    case 'startTask': {
      startTask(run, event.t, now);
      return;
    }
    case 'succeedTask': return succeedTask(run, event.t, { t: event.t }, now);
    case 'failAttempt': {
      failTaskAttempt(run, event.t, {
        error: `failed at ${now}`,
        retriable: event.retriable,
        ...(event.retryAfterMs !== undefined ? { retryAt: now + event.retryAfterMs } : {}),
        policy,
      }, now);
      return;
    }
    case 'parkTask': return parkTask(run, event.t, event.wait);
    case 'cancelTask': return cancelTask(run, event.t, now);
    case 'interruptTask': return interruptTask(run, event.t);
    case 'skipTask': return skipTask(run, event.t, 'skipped', now);
    case 'wake': {
      wake(run, event.signal, now);
      return;
    }
    case 'advance': return;
  }
}

function checkInvariants(run: Run): void {
  const tasks = Object.values(run.tasks);
  for (const state of tasks) {
    // A task waits exactly when it has a wait.
    expect(state.status === 'waiting').toBe(state.wait !== undefined);
    if (state.status === 'running') expect(run.status).toBe('running');
    if (SETTLED_TASK_STATUSES.has(state.status)) expect(state.finishedAt).toBeDefined();
  }
  if (isFinished(run)) {
    expect(run.finishedAt).toBeDefined();
    expect(run.cancelRequested).toBeUndefined();
    expect(tasks.filter((state) => !SETTLED_TASK_STATUSES.has(state.status))).toEqual([]);
  }
  if (run.status === 'waiting') {
    // Exactly one wait: the one of its waiting tasks that ends first.
    expect(run.wait).toBeDefined();
    expect(run.wait).toEqual(summarizeWait(run));
    expect(tasks.some((state) => state.status === 'running')).toBe(false);
  } else {
    expect(run.wait).toBeUndefined();
  }
  if (run.status === 'running' || run.status === 'waiting') expect(run.startedAt).toBeDefined();
}

describe('transitions: properties', () => {
  it('any sequence of events keeps the invariants; illegal ones throw IllegalTransitionError and change nothing', () => {
    fc.assert(
      fc.property(fc.array(eventArb, { minLength: 1, maxLength: 120, size: 'max' }), (events) => {
        const run = fresh(TASKS);
        let now = T0;
        const settled = new Map<string, TaskState>();
        const starts = new Map<string, number>();
        let finishedSnapshot: Run | undefined;
        for (const event of events) {
          if (event.e === 'advance') now += event.ms;
          const before = structuredClone(run);
          let threw: unknown;
          try {
            apply(run, event, now);
          } catch (error) {
            threw = error;
          }
          if (threw !== undefined) {
            expect(threw).toBeInstanceOf(IllegalTransitionError);
            expect(run).toEqual(before);
            continue;
          }
          // Resuming a task a step parked continues its attempt; every other start is a new one.
          if (event.e === 'startTask' && !before.tasks[event.t]?.suspended) starts.set(event.t, (starts.get(event.t) ?? 0) + 1);
          checkInvariants(run);
          for (const [name, state] of Object.entries(run.tasks)) {
            const previous = before.tasks[name]!;
            // Attempts and interruptions never decrease; attempts count the starts that were not resumptions.
            expect(state.attempts).toBeGreaterThanOrEqual(previous.attempts);
            expect(state.interruptions ?? 0).toBeGreaterThanOrEqual(previous.interruptions ?? 0);
            expect(state.attempts).toBe(starts.get(name) ?? 0);
            // A settled task never changes again (cancel-the-rest included).
            const frozen = settled.get(name);
            if (frozen) expect(state).toEqual(frozen);
            else if (SETTLED_TASK_STATUSES.has(state.status)) settled.set(name, structuredClone(state));
          }
          // A finished run never changes again.
          if (finishedSnapshot) expect(run).toEqual(finishedSnapshot);
          else if (isFinished(run)) finishedSnapshot = structuredClone(run);
        }
      }),
      { numRuns: 200 },
    );
  });

  it('cancelRemainingTasks cancels exactly the unsettled tasks and never touches settled ones', () => {
    const status = fc.constantFrom('pending', 'running', 'waiting', 'succeeded', 'failed', 'skipped', 'cancelled') as fc.Arbitrary<TaskState['status']>;
    fc.assert(
      fc.property(fc.array(status, { minLength: 1, maxLength: 6 }), (statuses) => {
        const run = fresh(statuses.map((_, i) => `t${i}`));
        statuses.forEach((s, i) => {
          const state = run.tasks[`t${i}`]!;
          state.status = s;
          if (s === 'waiting') state.wait = { kind: 'input', id: `q${i}` };
          if (SETTLED_TASK_STATUSES.has(s)) state.finishedAt = iso(T0 - 1);
        });
        const before = structuredClone(run);
        const cancelled = cancelRemainingTasks(run, T0);
        expect(cancelled).toEqual(statuses.flatMap((s, i) => (SETTLED_TASK_STATUSES.has(s) ? [] : [`t${i}`])));
        statuses.forEach((s, i) => {
          const name = `t${i}`;
          if (SETTLED_TASK_STATUSES.has(s)) expect(run.tasks[name]).toEqual(before.tasks[name]);
          else expect(run.tasks[name]).toMatchObject({ status: 'cancelled', finishedAt: iso(T0) });
          expect(run.tasks[name]!.wait).toBeUndefined();
        });
      }),
    );
  });

  it('a run driven like the executor drives it always finishes, whatever its tasks do', () => {
    const outcome = fc.constantFrom('succeed', 'fail', 'crash-retry', 'park-input', 'park-timer');
    fc.assert(
      fc.property(fc.array(outcome, { minLength: 1, maxLength: 40 }), fc.boolean(), (outcomes, mayFail) => {
        const run = fresh(TASKS);
        let now = T0;
        let step = 0;
        const next = () => outcomes[step++ % outcomes.length]!;
        for (let guard = 0; !isFinished(run); guard++) {
          expect(guard).toBeLessThan(500);
          now += 1_000;
          if (run.status === 'queued') startRun(run, now);
          if (run.status === 'waiting') {
            // Answer whatever it waits for.
            const wait = run.wait!;
            if (wait.kind === 'input') wake(run, { kind: 'input', id: wait.id }, now);
            else now = Math.max(now, waitDeadline(wait)!);
            if (run.status === 'waiting') wake(run, { kind: 'timer' }, now);
            checkInvariants(run);
            continue;
          }
          wake(run, { kind: 'timer' }, now);
          const ready = TASKS.filter((t) => run.tasks[t]!.status === 'pending');
          for (const t of ready) {
            startTask(run, t, now);
            const result = guard > 200 ? 'succeed' : next();
            if (result === 'succeed') succeedTask(run, t, null, now);
            else if (result === 'fail') failTaskAttempt(run, t, { error: 'x', retriable: true, policy }, now);
            else if (result === 'crash-retry') interruptTask(run, t);
            else if (result === 'park-input') parkTask(run, t, { kind: 'input', id: `q-${t}` });
            else parkTask(run, t, { kind: 'timer', at: iso(now + 5_000) });
          }
          checkInvariants(run);
          const open = Object.values(run.tasks).filter((s) => !SETTLED_TASK_STATUSES.has(s.status));
          if (open.length === 0) completeRun(run, now, () => mayFail);
          else if (open.every((s) => s.status === 'waiting' || s.status === 'pending') && open.some((s) => s.status === 'waiting') && !open.some((s) => s.status === 'pending')) parkRun(run);
          checkInvariants(run);
        }
        expect(['succeeded', 'failed']).toContain(run.status);
      }),
      { numRuns: 200 },
    );
  });
});
