import { describe, expect, it } from 'vitest';
import { FakeClock } from '../core/clock.js';
import { createLogger, silentLogger } from '../core/logger.js';
import type { CatchupPolicy, JobDef } from '../config/types.js';
import { MemoryRunStore } from '../runs/memory-store.js';
import type { Run } from '../runs/model.js';
import type { RunStore } from '../runs/store.js';
import { job, task, testEngine } from './testing.js';
import { compileSchedule } from '../schedule/index.js';
import { LAST_SEEN_PERSIST_MS, MAX_SLEEP_MS, RESOLVE_SLICE, Scheduler } from './scheduler.js';

function scheduled(name: string, cron: string, catchup: CatchupPolicy = 'latest', extra: Partial<JobDef> = {}): JobDef {
  return job(name, [task('main', 'work')], {
    schedule: { spec: { kind: 'cron', expr: cron }, timezone: 'UTC', catchup, maxCatchup: 3 },
    overlap: 'allow',
    ...extra,
  });
}

async function runsOf(store: RunStore, name: string): Promise<Run[]> {
  return (await store.listRuns({ job: name, limit: 100 })).runs.reverse();
}

describe('scheduler', () => {
  it('fires a cron job at its instants, on time, with scheduledFor', async () => {
    const clock = new FakeClock('2026-03-01T12:00:30Z');
    const t = await testEngine({ jobs: [scheduled('tick', '* * * * *')], clock });
    await clock.advance(29_000);
    expect(await runsOf(t.store, 'tick')).toEqual([]);
    await clock.advance(2 * 60_000);
    const runs = await runsOf(t.store, 'tick');
    expect(runs.map((r) => [r.scheduledFor, r.trigger, r.occurrences])).toEqual([
      ['2026-03-01T12:01:00.000Z', 'schedule', 1],
      ['2026-03-01T12:02:00.000Z', 'schedule', 1],
    ]);
    expect(runs.every((r) => r.status === 'succeeded')).toBe(true);
    expect(t.calls[0]!.at).toBe(Date.parse('2026-03-01T12:01:00Z'));
  });

  it('counts finished passes for the watchdog, and stops counting while a pass is stuck on the store', async () => {
    const clock = new FakeClock('2026-03-01T12:00:30Z');
    const store = new MemoryRunStore();
    const t = await testEngine({ jobs: [scheduled('tick', '* * * * *')], clock, store });
    const atStart = t.engine.schedulerPasses();
    await clock.advance(2 * MAX_SLEEP_MS);
    const beforeStall = t.engine.schedulerPasses();
    expect(beforeStall).toBeGreaterThanOrEqual(atStart + 2); // a pass at least every 30 s
    // A store that never acknowledges the insert: the 12:01 pass cannot finish.
    store.insertRun = () => new Promise<void>(() => {});
    await clock.advance(5 * MAX_SLEEP_MS);
    const stalled = t.engine.schedulerPasses();
    await clock.advance(5 * MAX_SLEEP_MS);
    expect(t.engine.schedulerPasses()).toBe(stalled);
  });

  it('does not count an occurrence as handled when its run could not be written (a full disk), and runs it once the disk takes writes again', async () => {
    const clock = new FakeClock('2026-03-01T12:00:30Z');
    const store = new MemoryRunStore();
    const t = await testEngine({ jobs: [scheduled('tick', '0 * * * *')], clock, store });
    const insert = store.insertRun.bind(store);
    let diskFull = true;
    store.insertRun = (run) =>
      diskFull ? Promise.reject(Object.assign(new Error('ENOSPC: no space left on device'), { code: 'ENOSPC' })) : insert(run);
    await clock.advance(60 * 60_000); // 13:00 passes on a full disk
    expect(await runsOf(store, 'tick')).toEqual([]);
    expect(store.getSchedule('tick')?.lastHandled).toBe(Date.parse('2026-03-01T12:00:30Z'));
    diskFull = false;
    await clock.advance(MAX_SLEEP_MS);
    const runs = await runsOf(store, 'tick');
    // A minute late: the planner still labels it by its own rule (schedule or catchup); what matters is that it runs.
    expect(runs.map((r) => r.scheduledFor)).toEqual(['2026-03-01T13:00:00.000Z']);
    expect(store.getSchedule('tick')?.lastHandled).toBe(Date.parse('2026-03-01T13:00:00Z'));
    // Handled once: the next hours do not bring it back.
    await clock.advance(60 * 60_000);
    expect((await runsOf(store, 'tick')).map((r) => r.scheduledFor)).toEqual(['2026-03-01T13:00:00.000Z', '2026-03-01T14:00:00.000Z']);
  });

  it('after a crash between creating a run and recording its occurrence, the restart does not create that occurrence again', async () => {
    const clock = new FakeClock('2026-03-01T12:00:30Z');
    const store = new MemoryRunStore({ clock });
    await testEngine({ jobs: [scheduled('tick', '0 * * * *')], clock, store });
    const advance = store.schedules.advance;
    // The process dies after the 13:00 run is durable, before lastHandled moves (the first engine is abandoned, stuck there).
    store.schedules.advance = () => new Promise<boolean>(() => {});
    await clock.advance(60 * 60_000);
    expect((await runsOf(store, 'tick')).map((r) => r.scheduledFor)).toEqual(['2026-03-01T13:00:00.000Z']);
    expect(store.getSchedule('tick')?.lastHandled).toBe(Date.parse('2026-03-01T12:00:30Z'));
    store.schedules.advance = advance;
    // The restart learns of the 13:00 run from the run repository (its read model), not from lastHandled.
    await testEngine({ jobs: [scheduled('tick', '0 * * * *')], clock, store });
    await clock.advance(MAX_SLEEP_MS);
    expect((await runsOf(store, 'tick')).map((r) => r.scheduledFor)).toEqual(['2026-03-01T13:00:00.000Z']);
    await clock.advance(60 * 60_000);
    expect((await runsOf(store, 'tick')).map((r) => r.scheduledFor)).toEqual(['2026-03-01T13:00:00.000Z', '2026-03-01T14:00:00.000Z']);
  });

  it('keeps a pause made while the runs of a pass were being created (the recorded occurrence does not overwrite it)', async () => {
    const clock = new FakeClock('2026-03-01T12:00:30Z');
    const store = new MemoryRunStore();
    const t = await testEngine({ jobs: [scheduled('tick', '0 * * * *')], clock, store });
    const insert = store.insertRun.bind(store);
    store.insertRun = async (run) => {
      await insert(run);
      await t.engine.setPaused('tick', true); // the person pauses the job while the scheduler waits for the disk
    };
    await clock.advance(60 * 60_000);
    expect((await runsOf(store, 'tick')).map((r) => r.scheduledFor)).toEqual(['2026-03-01T13:00:00.000Z']);
    expect(store.getSchedule('tick')).toMatchObject({ paused: true, lastHandled: Date.parse('2026-03-01T13:00:00Z') });
    store.insertRun = insert;
    await clock.advance(2 * 60 * 60_000);
    expect(await runsOf(store, 'tick')).toHaveLength(1);
  });

  it('keeps what another scheduler recorded on the shared ledger meanwhile, and plans on from it', async () => {
    const clock = new FakeClock('2026-03-01T12:00:30Z');
    const store = new MemoryRunStore();
    const lines: Array<{ level: string; msg: string; job?: string }> = [];
    const logger = createLogger({ level: 'warn', write: (line) => lines.push(JSON.parse(line)) });
    const t = await testEngine({ jobs: [scheduled('tick', '0 * * * *')], clock, store, logger });
    const insert = store.insertRun.bind(store);
    let other = true;
    store.insertRun = async (run) => {
      await insert(run);
      if (!other) return;
      other = false;
      // Another scheduler on the same ledger records through 14:00 between this one's insert and its advance.
      const from = (await store.schedules.get('tick'))!.lastHandled;
      expect(await store.schedules.advance('tick', { from, to: Date.parse('2026-03-01T14:00:00Z') })).toBe(true);
    };
    await clock.advance(60 * 60_000);
    expect(store.getSchedule('tick')?.lastHandled).toBe(Date.parse('2026-03-01T14:00:00Z'));
    expect(lines).toContainEqual(expect.objectContaining({ level: 'warn', job: 'tick', msg: expect.stringContaining('advanced elsewhere') }));
    await clock.advance(2 * 60 * 60_000); // to 15:00:30: 14:00 was the other scheduler's, 15:00 is this one's
    expect((await runsOf(t.store, 'tick')).map((r) => r.scheduledFor)).toEqual(['2026-03-01T13:00:00.000Z', '2026-03-01T15:00:00.000Z']);
  });

  it('never sleeps longer than 30 s, so a wall-clock jump is noticed', async () => {
    const clock = new FakeClock('2026-03-01T12:00:00Z');
    const t = await testEngine({ jobs: [scheduled('daily', '0 3 * * *', 'latest')], clock });
    // Suspend-like jump: the clock moves a day on without timers firing in between.
    clock.set('2026-03-02T12:00:00Z');
    await clock.advance(MAX_SLEEP_MS);
    const runs = await runsOf(t.store, 'daily');
    expect(runs.map((r) => [r.scheduledFor, r.trigger])).toEqual([['2026-03-02T03:00:00.000Z', 'catchup']]);
  });

  it.each([
    ['none', [] as Array<[string, number]>],
    ['latest', [['2026-03-01T17:00:00.000Z', 5]] as Array<[string, number]>],
    [
      'all',
      [
        ['2026-03-01T15:00:00.000Z', 3],
        ['2026-03-01T16:00:00.000Z', 1],
        ['2026-03-01T17:00:00.000Z', 1],
      ] as Array<[string, number]>,
    ],
  ])('catches up with policy %s after being off', async (policy, expected) => {
    const clock = new FakeClock('2026-03-01T12:30:00Z');
    const store = new MemoryRunStore();
    const jobs = [scheduled('hourly', '0 * * * *', policy as CatchupPolicy)];
    const first = await testEngine({ jobs, clock, store });
    await first.engine.stop();
    clock.set('2026-03-01T17:30:00Z'); // off from 12:30 to 17:30: 13:00 … 17:00 missed
    await testEngine({ jobs, clock, store });
    await clock.advance(10);
    const runs = await runsOf(store, 'hourly');
    expect(runs.map((r) => [r.scheduledFor, r.occurrences])).toEqual(expected);
    expect(runs.every((r) => r.trigger === 'catchup')).toBe(true);
    if (policy !== 'none') expect(store.getSchedule('hourly')!.lastCatchup).toMatchObject({ occurrences: 5, policy });
  });

  it('does not backfill a job it sees for the first time, nor a job whose schedule changed', async () => {
    const clock = new FakeClock('2026-03-01T12:30:00Z');
    const store = new MemoryRunStore();
    const first = await testEngine({ jobs: [scheduled('j', '0 * * * *')], clock, store });
    await first.engine.stop();
    clock.set('2026-03-01T17:30:00Z');
    await testEngine({ jobs: [scheduled('j', '15 * * * *'), scheduled('new', '0 * * * *')], clock, store });
    await clock.advance(10);
    expect(await runsOf(store, 'j')).toEqual([]);
    expect(await runsOf(store, 'new')).toEqual([]);
    await clock.advance(45 * 60_000);
    expect((await runsOf(store, 'j')).map((r) => r.scheduledFor)).toEqual(['2026-03-01T18:15:00.000Z']);
  });

  it('schedules nothing while the wall clock is behind the last time seen, and says so', async () => {
    const clock = new FakeClock('2026-03-01T12:00:00Z');
    const store = new MemoryRunStore();
    const jobs = [scheduled('tick', '*/5 * * * *')];
    const first = await testEngine({ jobs, clock, store });
    await clock.advance(6 * 60_000); // fires 12:05
    await first.engine.stop();
    const before = (await runsOf(store, 'tick')).length;
    expect(before).toBe(1);
    clock.set('2026-01-01T00:00:00Z'); // a Pi booting with a stale clock
    const second = await testEngine({ jobs, clock, store });
    await clock.advance(20 * 60_000);
    expect((await runsOf(store, 'tick')).length).toBe(before);
    expect(second.engine.health().clock).toMatchObject({ trusted: false });
    expect(second.engine.health().clock.message).toMatch(/earlier than the last time seen/);
    clock.set('2026-03-01T12:32:00Z'); // NTP synced
    await clock.advance(MAX_SLEEP_MS);
    expect(second.engine.health().clock.trusted).toBe(true);
    const runs = await runsOf(store, 'tick');
    // 12:10 … 12:30 were missed while the clock was wrong: one catch-up run standing for five.
    expect(runs.slice(before).map((r) => [r.scheduledFor, r.trigger, r.occurrences])).toEqual([
      ['2026-03-01T12:30:00.000Z', 'catchup', 5],
    ]);
  });

  it('skips an occurrence while the previous run of an overlap: skip job is active', async () => {
    const clock = new FakeClock('2026-03-01T12:00:30Z');
    const t = await testEngine({
      jobs: [scheduled('slow', '* * * * *', 'latest', { overlap: 'skip' })],
      clock,
      scripts: { work: { ms: 90_000 } },
    });
    await clock.advance(3 * 60_000);
    const runs = await runsOf(t.store, 'slow');
    expect(runs.map((r) => r.scheduledFor)).toEqual(['2026-03-01T12:01:00.000Z', '2026-03-01T12:03:00.000Z']);
  });

  it('keeps a paused schedule paused, and resumes without backfilling the pause', async () => {
    const clock = new FakeClock('2026-03-01T12:00:30Z');
    const t = await testEngine({ jobs: [scheduled('tick', '* * * * *')], clock });
    t.engine.setPaused('tick', true);
    await clock.advance(5 * 60_000);
    expect(await runsOf(t.store, 'tick')).toEqual([]);
    expect(t.engine.getJob('tick')!.schedule!.paused).toBe(true);
    t.engine.setPaused('tick', false);
    await clock.advance(60_000);
    expect((await runsOf(t.store, 'tick')).map((r) => r.scheduledFor)).toEqual(['2026-03-01T12:06:00.000Z']);
  });

  describe('an idle appliance', () => {
    /** A FakeClock that remembers every timer armed, to see how often an idle engine wakes. */
    class CountingClock extends FakeClock {
      readonly armed: number[] = [];
      override setTimer(ms: number, fn: () => void) {
        this.armed.push(ms);
        return super.setTimer(ms, fn);
      }
    }

    it('arms no timer shorter than 1 s and wakes only for the 30 s scheduler pass and the 5 min appliance check when nothing is due', async () => {
      const clock = new CountingClock('2026-03-01T12:00:00Z');
      const t = await testEngine({ jobs: [scheduled('nightly', '0 3 * * *'), scheduled('weekly', '0 9 * * 1')], clock });
      await clock.advance(60_000); // start-up settles
      const before = clock.armed.length;
      await clock.advance(60 * 60_000);
      const armed = clock.armed.slice(before);
      expect(armed.filter((ms) => ms < 1_000)).toEqual([]);
      // An hour: 120 scheduler passes and 12 checks of the Watch (disk, clock, power; src/engine/watch.ts).
      expect(armed.length).toBeLessThanOrEqual(2 * 60 + 12 + 1);
      await t.engine.stop();
    });

    it('stores the last wall-clock time seen every ten minutes, not on every pass, and exactly on stop', async () => {
      const clock = new FakeClock('2026-03-01T12:00:00Z');
      const store = new MemoryRunStore();
      const writes: number[] = [];
      const setMeta = store.setMeta.bind(store);
      store.setMeta = (key: string, value: unknown) => {
        if (key === 'lastSeenWallClock') writes.push(value as number);
        setMeta(key, value);
      };
      const t = await testEngine({ jobs: [scheduled('nightly', '0 3 * * *')], clock, store });
      await clock.advance(60 * 60_000);
      expect(writes.length).toBeLessThanOrEqual(60 / (LAST_SEEN_PERSIST_MS / 60_000) + 1);
      expect(writes.length).toBeGreaterThanOrEqual(60 / (LAST_SEEN_PERSIST_MS / 60_000));
      await clock.advance(5_000);
      await t.engine.stop();
      // The last pass (13:00:00, passes run every 30 s) is what this process saw last.
      expect(store.getMeta('lastSeenWallClock')).toBe(Date.parse('2026-03-01T13:00:00Z'));
    });
  });
});

describe('scheduler: next occurrences computed lazily (start-up at 1,000 jobs)', () => {
  function rrule(name: string, rule: string): JobDef {
    return job(name, [task('main', 'work')], {
      schedule: { spec: { kind: 'rrule', rule }, timezone: 'Europe/London', catchup: 'latest', maxCatchup: 3 },
      overlap: 'allow',
    });
  }

  it('setJobs compiles nothing; nextRun computes one job on demand; the first pass computes the rest in slices', async () => {
    const clock = new FakeClock('2026-03-01T12:00:30Z');
    const store = new MemoryRunStore({ clock });
    const compiled: string[] = [];
    const scheduler = new Scheduler({
      clock,
      store,
      logger: silentLogger,
      newestScheduledFor: () => undefined,
      compile: (def) => {
        compiled.push(def.name);
        return compileSchedule(def.schedule!.spec, def.schedule!.timezone);
      },
      submit: async () => {},
    });
    const count = 2 * RESOLVE_SLICE + 50;
    scheduler.setJobs(Array.from({ length: count }, (_, i) => scheduled(`j${i}`, `${i % 60} ${i % 24} * * *`)));
    expect(compiled).toEqual([]);
    expect(scheduler.nextRunWork()).toEqual({ pending: count, computed: 0 });
    expect(scheduler.nextRun('j7')).toBe(Date.parse('2026-03-02T07:07:00Z'));
    expect(compiled).toEqual(['j7']);
    const pass = scheduler.tick();
    // The pass yields to the event loop between slices: after its first slice most jobs are still to be computed.
    expect(scheduler.nextRunWork().pending).toBe(count - RESOLVE_SLICE);
    await pass;
    expect(scheduler.nextRunWork()).toEqual({ pending: 0, computed: count });
    expect(new Set(compiled).size).toBe(count);
    expect(compiled).toHaveLength(count);
    expect(scheduler.nextRun('j30')).toBe(Date.parse('2026-03-02T06:30:00Z'));
    expect(scheduler.nextRun('j12')).toBe(Date.parse('2026-03-01T12:12:00Z'));
    await scheduler.stop();
  });

  it('a restart reuses the next occurrences of the last stop: nothing is compiled or computed until a job is due, and runs come at the same times', async () => {
    const jobs = [scheduled('hourly', '0 * * * *'), rrule('weekly', 'FREQ=WEEKLY;BYDAY=MO;BYHOUR=9'), scheduled('daily', '15 3 * * *')];
    const clock = new FakeClock('2026-03-01T12:00:30Z');
    const store = new MemoryRunStore({ clock });
    const first = await testEngine({ jobs, clock, store });
    await clock.advance(60 * 60_000); // hourly fires at 13:00
    await first.engine.stop();
    const records = first.engine.nextRunRecords();
    expect([...records.keys()].sort()).toEqual(['daily', 'hourly', 'weekly']);
    const next = (t: { engine: { getJob(name: string): { schedule?: { nextRun?: string } } | undefined } }, name: string) => t.engine.getJob(name)!.schedule!.nextRun;

    const second = await testEngine({ jobs, clock, store, deps: { knownNextRuns: records } });
    await clock.advance(1_000);
    expect(second.engine.nextRunWork()).toEqual({ pending: 0, computed: 0 });
    expect([next(second, 'hourly'), next(second, 'weekly'), next(second, 'daily')]).toEqual([
      '2026-03-01T14:00:00+00:00',
      '2026-03-02T09:00:00+00:00',
      '2026-03-02T03:15:00+00:00',
    ]);
    await clock.advance(60 * 60_000);
    // Only the job that came due was compiled and moved on.
    expect(second.engine.nextRunWork().computed).toBe(1);
    expect((await runsOf(store, 'hourly')).map((r) => r.scheduledFor)).toEqual(['2026-03-01T13:00:00.000Z', '2026-03-01T14:00:00.000Z']);
    await second.engine.stop();
  });

  it('catch-up after a stop is the same with the reused next occurrences as without them', async () => {
    const jobs = [scheduled('hourly', '0 * * * *', 'all'), scheduled('daily', '15 3 * * *', 'latest')];
    const outcomes: Array<Array<[string | undefined, string, number]>> = [];
    for (const reuse of [false, true]) {
      const clock = new FakeClock('2026-03-01T12:00:30Z');
      const store = new MemoryRunStore({ clock });
      const first = await testEngine({ jobs, clock, store });
      await clock.advance(30 * 60_000);
      await first.engine.stop();
      const records = first.engine.nextRunRecords();
      clock.set('2026-03-02T05:00:30Z'); // off for the night: 17 hourly occurrences and the 03:15 daily one missed
      const second = await testEngine({ jobs, clock, store, ...(reuse && { deps: { knownNextRuns: records } }) });
      await clock.advance(1_000);
      const runs = [...(await runsOf(store, 'hourly')), ...(await runsOf(store, 'daily'))];
      outcomes.push(runs.map((r) => [r.scheduledFor, r.trigger, r.occurrences]));
      await second.engine.stop();
    }
    expect(outcomes[0]).toHaveLength(4); // maxCatchup 3 hourly, 1 daily
    expect(outcomes[1]).toEqual(outcomes[0]);
  });

  it('a record for another schedule, or for an earlier lastHandled than it covers, is computed again', async () => {
    const clock = new FakeClock('2026-03-01T12:00:30Z');
    const store = new MemoryRunStore({ clock });
    const first = await testEngine({ jobs: [scheduled('a', '0 * * * *'), scheduled('b', '0 * * * *')], clock, store });
    await first.engine.stop();
    const records = first.engine.nextRunRecords();
    // b's record claims to hold only from after its lastHandled: it does not cover the restart's question.
    records.set('b', { ...records.get('b')!, from: records.get('b')!.from + 1 });
    const second = await testEngine({ jobs: [scheduled('a', '30 * * * *'), scheduled('b', '0 * * * *')], clock, store, deps: { knownNextRuns: records } });
    await clock.advance(1_000);
    // a's schedule changed (first sight of the new spec: from now) and b's record did not fit: both computed.
    expect(second.engine.nextRunWork().computed).toBe(2);
    expect(second.engine.getJob('a')!.schedule!.nextRun).toBe('2026-03-01T12:30:00+00:00');
    expect(second.engine.getJob('b')!.schedule!.nextRun).toBe('2026-03-01T13:00:00+00:00');
    await second.engine.stop();
  });
});
