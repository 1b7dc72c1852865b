import { describe, expect, it } from 'vitest';
import { job, task, testEngine } from './testing.js';

/** Issue 9, defect 6: durations past setTimeout's 24.8 days behave like any other. */

const DAY = 86_400_000;

describe('durations longer than 24.8 days', () => {
  it('a 30-day job timeout neither fires at once nor early, and fails the run after 30 days', async () => {
    const j = job('long', [task('main', 'slow')], { timeoutMs: 30 * DAY });
    const t = await testEngine({ jobs: [j], scripts: { slow: { ms: 40 * DAY } } });
    const run = await t.engine.triggerJob('long', 'manual');
    await t.clock.advance(1);
    expect((await t.store.getRun(run.id))!.status).toBe('running');
    await t.clock.advance(30 * DAY - 2);
    expect((await t.store.getRun(run.id))!.status).toBe('running');
    await t.clock.advance(1);
    const done = (await t.store.getRun(run.id))!;
    expect(done.status).toBe('failed');
    expect(done.error).toBe('job timed out after 30d');
  });

  it('a 30-day retry delay waits 30 days before the next attempt', async () => {
    const retries = { max: 1, delayMs: 30 * DAY, backoff: 'fixed' as const, maxDelayMs: 30 * DAY, jitter: 0 };
    const t = await testEngine({ jobs: [job('flaky', [task('main', 'flaky', { retries })])], scripts: { flaky: { exit: 1 } } });
    const run = await t.engine.triggerJob('flaky', 'manual');
    await t.clock.advance(1);
    expect(t.calls).toHaveLength(1);
    expect((await t.store.getRun(run.id))!.tasks.main!.status).toBe('waiting');
    await t.clock.advance(30 * DAY - 2);
    expect(t.calls).toHaveLength(1);
    await t.clock.advance(1);
    expect(t.calls).toHaveLength(2);
    expect(t.calls[1]!.at - t.calls[0]!.at).toBe(30 * DAY);
  });
});
