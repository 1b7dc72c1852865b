import { describe, expect, it } from 'vitest';
import { FakeClock } from '../core/clock.js';
import type { ActionDefinition, ActionContext } from '../actions/types.js';
import type { JobDef } from '../config/types.js';
import { MemoryRunStore } from '../runs/memory-store.js';
import type { Notification, NotificationSink } from '../notify/types.js';
import type { StepApi } from '../steps/types.js';
import { MemoryInboxStore } from '../steps/inbox.js';
import { MemoryStepJournal } from '../steps/journal.js';
import { MemoryEventLog } from '../steps/events.js';
import { config, job, task, testEngine, type Script } from './testing.js';
import type { EngineDeps } from './engine.js';

/** Detection on the FakeClock: every kind, published once, through a recording sink. */

function recording(): NotificationSink & { sent: Notification[]; kinds(): string[] } {
  const sent: Notification[] = [];
  return { sent, publish: async (n) => void sent.push(n), kinds: () => sent.map((n) => `${n.kind}:${n.job ?? n.key}`) };
}

const MIN = 60_000;
const HOUR = 60 * MIN;

async function watched(jobs: JobDef[], scripts: Record<string, Script | ((env: Record<string, string>) => Script)>, extra: Parameters<typeof testEngine>[0] extends infer O ? Partial<O> : never = {}) {
  const sink = recording();
  const t = await testEngine({ jobs, scripts, ...extra, deps: { notifications: sink, ...extra.deps } });
  const settle = async (ms = 0) => {
    await t.clock.advance(ms);
    await t.engine.watch.idle();
    await t.clock.advance(0);
    await t.engine.watch.idle();
  };
  return { ...t, sink, settle };
}

describe('failure and recovery', () => {
  it('publishes a failure with trigger, failing task, error and its last output lines; one recovery on the first success after', async () => {
    let fail = true;
    const backup = job('backup', [task('archive', 'archive'), task('upload', 'upload', { dependsOn: ['archive'] })]);
    const lines = Array.from({ length: 14 }, (_, i) => `line ${i + 1}`);
    const t = await watched([backup], { archive: { lines: ['archived'] }, upload: () => (fail ? { exit: 3, lines: [...lines, 'curl: (6) Could not resolve host: nas.local'] } : { exit: 0 }) });

    const first = await t.engine.triggerJob('backup', 'manual');
    await t.settle(1000);
    expect(t.sink.kinds()).toEqual(['failure:backup']);
    const failure = t.sink.sent[0]!;
    expect(failure).toMatchObject({ kind: 'failure', job: 'backup', runId: first.id, title: 'backup failed', path: `/runs/${first.id}` });
    expect(failure.body).toContain('Trigger: manual');
    expect(failure.body).toContain('Failing task: upload');
    expect(failure.body).toContain('Error: exit code 3');
    const tail = failure.body.split('Last output of upload:\n')[1]!.split('\n');
    expect(tail).toEqual([...lines.slice(-9), 'curl: (6) Could not resolve host: nas.local']);
    expect(failure.body).not.toContain('archived');

    const attention = await t.engine.attention();
    expect(attention.summary).toBe('1 job failing: backup');
    expect(attention.failing[0]).toMatchObject({ job: 'backup', runId: first.id, failures: 1 });
    expect(attention.failing[0]!.reason).toBe('upload: exit code 3 · curl: (6) Could not resolve host: nas.local');
    expect(t.engine.getJob('backup')!.attention?.failing?.reason).toBe(attention.failing[0]!.reason);

    await t.engine.triggerJob('backup', 'manual');
    await t.settle(1000);
    expect((await t.engine.attention()).failing[0]!.failures).toBe(2);

    fail = false;
    const fixed = await t.engine.triggerJob('backup', 'manual');
    await t.settle(1000);
    await t.engine.triggerJob('backup', 'manual');
    await t.settle(1000);
    expect(t.sink.kinds()).toEqual(['failure:backup', 'failure:backup', 'recovery:backup']);
    expect(t.sink.sent[2]).toMatchObject({ title: 'backup recovered', runId: fixed.id, path: `/runs/${fixed.id}` });
    expect(t.sink.sent[2]!.body).toContain('after 2 failed runs');
    expect(await t.engine.attention()).toMatchObject({ ok: true, summary: 'All good', failing: [] });
    expect(t.engine.getJob('backup')!.attention).toBeUndefined();
  });

  it('keeps the failing streak in the store: a restart still shows it and the next success is a recovery', async () => {
    const store = new MemoryRunStore();
    let exit = 1;
    const first = await watched([job('nas-check', [task('main', 'check')])], { check: () => ({ exit }) }, { store });
    await first.engine.triggerJob('nas-check', 'manual');
    await first.settle(1000);
    await first.engine.stop();

    exit = 0;
    const second = await watched([job('nas-check', [task('main', 'check')])], { check: () => ({ exit }) }, { store, clock: first.clock });
    expect((await second.engine.attention()).summary).toBe('1 job failing: nas-check');
    await second.engine.triggerJob('nas-check', 'manual');
    await second.settle(1000);
    expect(second.sink.kinds()).toEqual(['recovery:nas-check']);
  });
});

describe('stuck', () => {
  it('publishes once when a run passes its stuckAfter, and shows it on the overview', async () => {
    const t = await watched([job('hang', [task('main', 'slow')], { stuckAfterMs: 30 * MIN })], { slow: { ms: 5 * HOUR } });
    const run = await t.engine.triggerJob('hang', 'manual');
    await t.settle(29 * MIN);
    expect(t.sink.sent).toEqual([]);
    expect((await t.engine.attention()).ok).toBe(true);
    await t.settle(2 * MIN);
    expect(t.sink.kinds()).toEqual(['stuck:hang']);
    expect(t.sink.sent[0]).toMatchObject({ runId: run.id, title: 'hang looks stuck', path: `/runs/${run.id}` });
    await t.settle(2 * HOUR);
    expect(t.sink.kinds()).toEqual(['stuck:hang']);
    const attention = await t.engine.attention();
    expect(attention.summary).toBe('1 run stuck');
    expect(attention.stuck[0]).toMatchObject({ job: 'hang', runId: run.id, stuckAfterMs: 30 * MIN });
    expect(attention.stuck[0]!.reason).toBe('running for 2h31m (stuck after 30m)');
    await t.settle(3 * HOUR);
    expect((await t.engine.attention()).stuck).toEqual([]);
  });

  it('defaults to 3× the median of the last successful runs, at least 10 min; 10 min with no history', async () => {
    let ms = 20 * MIN;
    const t = await watched([job('sync', [task('main', 'sync')])], { sync: () => ({ ms }) });
    ms = 2 * HOUR;
    await t.engine.triggerJob('sync', 'manual');
    await t.settle(9 * MIN);
    expect(t.sink.sent).toEqual([]);
    await t.settle(2 * MIN);
    expect(t.sink.kinds()).toEqual(['stuck:sync']);
    await t.settle(2 * HOUR);

    ms = 20 * MIN;
    for (let i = 0; i < 3; i++) {
      await t.engine.triggerJob('sync', 'manual');
      await t.settle(21 * MIN);
    }
    ms = 5 * HOUR;
    await t.engine.triggerJob('sync', 'manual');
    await t.settle(59 * MIN);
    expect(t.sink.kinds()).toEqual(['stuck:sync']);
    await t.settle(2 * MIN);
    expect(t.sink.kinds()).toEqual(['stuck:sync', 'stuck:sync']);
  });

  it('reads a job\'s successes from the store once, not at every run it starts (the stuck deadline keeps up from finished runs)', async () => {
    const store = new MemoryRunStore();
    const queries: unknown[] = [];
    const listRuns = store.listRuns.bind(store);
    store.listRuns = (query) => {
      queries.push(query);
      return listRuns(query);
    };
    let ms = 20 * MIN;
    const t = await watched([job('sync', [task('main', 'sync')])], { sync: () => ({ ms }) }, { store });
    for (let i = 0; i < 5; i++) {
      await t.engine.triggerJob('sync', 'manual');
      await t.settle(21 * MIN);
    }
    expect(queries).toEqual([{ job: 'sync', status: 'succeeded', limit: 10 }]);
    // With no success yet the first run counted as stuck after 10 min; the deadline then follows the runs that finished since: 3 × 20 min.
    expect(t.sink.kinds()).toEqual(['stuck:sync']);
    ms = 5 * HOUR;
    await t.engine.triggerJob('sync', 'manual');
    await t.settle(59 * MIN);
    expect(t.sink.kinds()).toEqual(['stuck:sync']);
    await t.settle(2 * MIN);
    expect(t.sink.kinds()).toEqual(['stuck:sync', 'stuck:sync']);
    expect(queries).toHaveLength(1);
  });

  it('a parked workflow is not stuck while it waits', async () => {
    const sleeper: ActionDefinition = {
      name: 'sleeper',
      validate: () => [],
      execute: async (_p, ctx) => (ctx as ActionContext & { step: StepApi }).step.sleep('nap', '3h'),
    };
    const t = await watched([job('nap', [{ name: 'main', action: 'sleeper', dependsOn: [], with: {}, env: {}, continueOnError: false }])], {}, { actions: [sleeper] });
    await t.engine.triggerJob('nap', 'manual');
    await t.settle(2 * HOUR);
    expect(t.sink.sent).toEqual([]);
  });

  it('publishes once when occurrences are skipped because a run is still active, and the job says so', async () => {
    const clock = new FakeClock('2026-03-01T12:00:30Z');
    const slow = job('slow', [task('main', 'work')], {
      schedule: { spec: { kind: 'cron', expr: '*/15 * * * *' }, timezone: 'UTC', catchup: 'latest', maxCatchup: 3 },
      overlap: 'skip',
      stuckAfterMs: 10 * HOUR,
    });
    const t = await watched([slow], { work: { ms: 5 * HOUR } }, { clock });
    await t.settle(15 * MIN);
    expect(t.sink.sent).toEqual([]);
    await t.settle(15 * MIN);
    expect(t.sink.kinds()).toEqual(['stuck:slow']);
    expect(t.sink.sent[0]!.title).toBe('slow is being skipped');
    await t.settle(30 * MIN);
    expect(t.sink.kinds()).toEqual(['stuck:slow']);
    const view = t.engine.getJob('slow')!;
    expect(view.attention?.stuck).toMatchObject({ skipped: 3 });
    expect(view.attention?.stuck?.reason).toBe('running for 45m30s; 3 occurrences skipped while it runs');
    expect((await t.engine.attention()).summary).toBe('1 run stuck');
  });
});

describe('missed (expect)', () => {
  const nightly = (extra: Partial<JobDef> = {}) => job('backup', [task('main', 'backup')], { expectEveryMs: 26 * HOUR, ...extra });

  it('publishes once per expect window when no run succeeds, counting from when the job was first seen', async () => {
    const t = await watched([nightly()], {});
    await t.settle(26 * HOUR - MIN);
    expect(t.sink.sent).toEqual([]);
    await t.settle(2 * MIN);
    expect(t.sink.kinds()).toEqual(['missed:backup']);
    expect(t.sink.sent[0]).toMatchObject({ path: '/jobs/backup' });
    expect((await t.engine.attention()).summary).toBe('1 job overdue: backup');
    await t.settle(20 * HOUR);
    expect(t.sink.kinds()).toEqual(['missed:backup']);
    await t.settle(7 * HOUR);
    expect(t.sink.kinds()).toEqual(['missed:backup', 'missed:backup']);

    await t.engine.triggerJob('backup', 'manual');
    await t.settle(1000);
    expect((await t.engine.attention()).ok).toBe(true);
    await t.settle(26 * HOUR + MIN);
    expect(t.sink.kinds()).toEqual(['missed:backup', 'missed:backup', 'missed:backup']);
  });

  it('after the box was off past expect: once at start-up, against the last success; not again on another restart', async () => {
    const store = new MemoryRunStore();
    const first = await watched([nightly()], {}, { store, clock: new FakeClock('2026-03-01T03:00:00Z') });
    await first.engine.triggerJob('backup', 'manual');
    await first.settle(1000);
    await first.engine.stop();
    expect(first.sink.sent).toEqual([]);

    // Off for three days.
    const later = new FakeClock('2026-03-04T09:00:00Z');
    const second = await watched([nightly()], {}, { store, clock: later });
    await second.settle();
    expect(second.sink.kinds()).toEqual(['missed:backup']);
    expect(second.sink.sent[0]!.body).toContain('its last success was 2026-03-01T03:00:00.000Z');
    await second.engine.stop();

    const third = await watched([nightly()], {}, { store, clock: new FakeClock('2026-03-04T09:05:00Z') });
    await third.settle();
    expect(third.sink.sent).toEqual([]);
    expect((await third.engine.attention()).overdue).toMatchObject([{ job: 'backup', lastSuccessAt: '2026-03-01T03:00:00.000Z' }]);
  });

  it('a paused job is missed all the same', async () => {
    const clock = new FakeClock('2026-03-01T12:00:00Z');
    const paused = nightly({ schedule: { spec: { kind: 'cron', expr: '0 3 * * *' }, timezone: 'UTC', catchup: 'latest', maxCatchup: 3 }, timeoutMs: HOUR });
    const t = await watched([paused], {}, { clock });
    await t.engine.setPaused('backup', true);
    await t.settle(27 * HOUR);
    expect(t.sink.kinds()).toEqual(['missed:backup']);
  });
});

describe('input', () => {
  it('publishes each new inbox question once, with a path straight to it', async () => {
    const asker: ActionDefinition = {
      name: 'asker',
      validate: () => [],
      execute: async (_p, ctx) => (ctx as ActionContext & { step: StepApi }).step.waitForInput('ok', { prompt: 'Delete 3 files?', choices: ['yes', 'no'] }),
    };
    const inbox = new MemoryInboxStore();
    const t = await watched([job('tidy', [{ name: 'main', action: 'asker', dependsOn: [], with: {}, env: {}, continueOnError: false }])], {}, {
      actions: [asker],
      workflows: { journal: new MemoryStepJournal(), inbox, events: new MemoryEventLog() },
    });
    const run = await t.engine.triggerJob('tidy', 'manual');
    await t.settle(1000);
    const [item] = await inbox.listOpen();
    expect(t.sink.kinds()).toEqual(['input:tidy']);
    expect(t.sink.sent[0]).toMatchObject({ runId: run.id, title: 'tidy asks: Delete 3 files?', path: `/inbox#${item!.id}` });
    expect(t.sink.sent[0]!.body).toContain('Choices: yes, no');
    expect((await t.engine.attention()).summary).toBe('1 question waiting');
    await t.engine.answerQuestion(item!.id, 'yes');
    await t.settle(1000);
    expect(t.sink.kinds()).toEqual(['input:tidy']);
    expect((await t.engine.attention()).ok).toBe(true);
  });
});

describe('appliance', () => {
  it('a failed reload is published once per episode', async () => {
    const t = await watched([], {});
    t.engine.reloadFailed(['hearth.yaml:3:5: jobs.a.rnu: unknown key']);
    t.engine.reloadFailed(['hearth.yaml:3:5: jobs.a.rnu: unknown key']);
    await t.settle();
    expect(t.sink.kinds()).toEqual(['appliance:appliance:config']);
    expect(t.sink.sent[0]).toMatchObject({ title: 'config reload failed (1 problem)', key: 'appliance:config' });
    expect((await t.engine.attention()).summary).toBe('config reload failed (1 problem)');
    t.engine.reload(config([]));
    expect((await t.engine.attention()).ok).toBe(true);
    t.engine.reloadFailed(['x']);
    await t.settle();
    expect(t.sink.kinds()).toHaveLength(2);
  });

  it('disk over 90 %, under-voltage, and a clock untrusted for 10 minutes, each once per episode', async () => {
    let disk: ReturnType<NonNullable<EngineDeps['disk']>> = { freeBytes: 5, totalBytes: 100, full: false };
    let underVoltage = true;
    const store = new MemoryRunStore();
    await store.open();
    const clock = new FakeClock('2026-03-01T12:00:00Z');
    // The wall clock is behind what was seen before: untrusted until it passes that.
    store.setMeta('lastSeenWallClock', Date.parse('2026-03-01T12:30:00Z'));
    const t = await watched([], {}, { store, clock, deps: { disk: () => disk, power: async () => ({ underVoltageNow: underVoltage, throttledNow: false, frequencyCappedNow: false }) } });
    await t.settle();
    expect(t.sink.kinds().sort()).toEqual(['appliance:appliance:disk', 'appliance:appliance:power']);
    expect((await t.engine.attention()).summary).toBe('data disk 95% full · power: under-voltage');
    await t.settle(10 * MIN);
    expect(t.sink.kinds()).toContain('appliance:appliance:clock');
    expect(t.sink.sent).toHaveLength(3);
    await t.settle(10 * MIN);
    expect(t.sink.sent).toHaveLength(3);

    disk = { freeBytes: 50, totalBytes: 100, full: false };
    underVoltage = false;
    await t.settle(5 * MIN);
    // 12:25: the wall clock is still behind 12:30.
    expect((await t.engine.attention()).appliance.map((p) => p.key)).toEqual(['appliance:clock']);
    await t.settle(10 * MIN);
    expect((await t.engine.attention()).ok).toBe(true);
    disk = { freeBytes: 1, totalBytes: 100, full: true };
    await t.settle(5 * MIN);
    expect(t.sink.kinds().filter((k) => k === 'appliance:appliance:disk')).toHaveLength(2);
    expect(t.sink.sent).toHaveLength(4);
  });

  it('an episode still present after a restart is not published again; one that ended meanwhile is, when it comes back', async () => {
    let disk: ReturnType<NonNullable<EngineDeps['disk']>> = { freeBytes: 5, totalBytes: 100, full: false };
    const store = new MemoryRunStore();
    await store.open();
    const clock = new FakeClock('2026-03-01T12:00:00Z');
    // The wall clock is behind what was seen before: untrusted until it passes that.
    store.setMeta('lastSeenWallClock', Date.parse('2026-03-01T14:00:00Z'));
    const deps = { disk: () => disk, power: async () => ({ underVoltageNow: true, throttledNow: false, frequencyCappedNow: false }) };
    const first = await watched([], {}, { store, clock, deps });
    await first.settle(10 * MIN);
    expect(first.sink.kinds().sort()).toEqual(['appliance:appliance:clock', 'appliance:appliance:disk', 'appliance:appliance:power']);
    await first.engine.stop();

    // Restarted 5 minutes later: still full, under-voltage and untrusted. Nothing new to tell.
    await clock.advance(5 * MIN);
    const second = await watched([], {}, { store, clock, deps });
    await second.settle(15 * MIN);
    expect(second.sink.sent).toEqual([]);
    expect((await second.engine.attention()).appliance.map((p) => p.key).sort()).toEqual(['appliance:clock', 'appliance:disk', 'appliance:power']);
    await second.engine.stop();

    // The disk was cleaned while the box was off, then filled again: a new episode.
    disk = { freeBytes: 50, totalBytes: 100, full: false };
    const third = await watched([], {}, { store, clock, deps });
    await third.settle();
    expect(third.sink.sent).toEqual([]);
    disk = { freeBytes: 1, totalBytes: 100, full: true };
    await third.settle(5 * MIN);
    expect(third.sink.kinds()).toEqual(['appliance:appliance:disk']);
  });

  it('asks for power flags no more where nothing reports them', async () => {
    let asked = 0;
    const t = await watched([], {}, { deps: { power: async () => void asked++ } });
    await t.settle(30 * MIN);
    expect(asked).toBe(1);
    expect(t.sink.sent).toEqual([]);
  });
});

describe('a cancelled blocking run', () => {
  it('stops counting as stuck once it is cancelled', async () => {
    const t = await watched([job('hang', [task('main', 'slow')], { stuckAfterMs: 30 * MIN })], { slow: { ms: 5 * HOUR } });
    const run = await t.engine.triggerJob('hang', 'manual');
    await t.settle(31 * MIN);
    expect((await t.engine.attention()).summary).toBe('1 run stuck');
    await t.engine.cancelRun(run.id);
    await t.settle(10_000);
    expect((await t.engine.attention()).ok).toBe(true);
    expect(t.sink.kinds()).toEqual(['stuck:hang']);
  });
});
