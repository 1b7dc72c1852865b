import { describe, expect, it } from 'vitest';
import type { RunEvent } from '../../engine/port.js';
import { job, task, testEngine } from '../../engine/testing.js';

describe('engine run events (what the dashboard and metrics listen to)', () => {
  it('fires created, updated and finished for a run, per engine instance', async () => {
    const t = await testEngine({ jobs: [job('flow', [task('a', 'a'), task('b', 'b', { dependsOn: ['a'] })])], scripts: { a: { ms: 10 }, b: { ms: 10 } } });
    const events: Array<[RunEvent['type'], string, string]> = [];
    const stop = t.engine.onRunEvent((event) => events.push([event.type, event.run.status, JSON.stringify(Object.values(event.run.tasks).map((s) => s.status))]));
    const run = await t.engine.triggerJob('flow', 'manual');
    await t.clock.advance(100);
    expect(events[0]).toEqual(['created', 'queued', '["pending","pending"]']);
    expect(events).toContainEqual(['updated', 'running', '["running","pending"]']);
    expect(events).toContainEqual(['updated', 'running', '["succeeded","running"]']);
    expect(events.at(-1)).toEqual(['finished', 'succeeded', '["succeeded","succeeded"]']);
    stop();
    await t.engine.triggerJob('flow', 'manual');
    expect(events.filter(([type]) => type === 'created')).toHaveLength(1);
    expect((await t.store.getRun(run.id))?.status).toBe('succeeded');
  });

  it('pause and resume are persisted in the schedule state', async () => {
    const t = await testEngine({ jobs: [job('nightly', [task('a', 'a')], { schedule: { spec: { kind: 'cron', expr: '0 3 * * *' }, timezone: 'UTC', catchup: 'latest', maxCatchup: 24 } })], scripts: { a: {} } });
    await t.engine.setPaused('nightly', true);
    expect(t.store.getSchedule('nightly')?.paused).toBe(true);
    expect(t.engine.getJob('nightly')?.schedule?.paused).toBe(true);
    await t.engine.setPaused('nightly', false);
    expect(t.engine.getJob('nightly')?.schedule?.paused).toBe(false);
    await expect(t.engine.setPaused('nope', true)).rejects.toThrow(/not found/);
  });
});
