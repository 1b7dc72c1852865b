import { describe, expect, it } from 'vitest';
import { FakeClock } from '../../core/clock.js';
import { QuotaPacer } from './pacer.js';

/** The largest number of units granted in any 60-second window. */
function worstMinute(grants: Array<[number, number]>): number {
  let worst = 0;
  for (const [start] of grants) {
    let sum = 0;
    for (const [at, units] of grants) if (at >= start && at < start + 60_000) sum += units;
    worst = Math.max(worst, sum);
  }
  return worst;
}

describe('QuotaPacer', () => {
  it('never grants more than the configured units in any minute, on the fake clock', async () => {
    const clock = new FakeClock('2026-05-01T00:00:00Z');
    const pacer = new QuotaPacer(clock, 100);
    const grants: Array<[number, number]> = [];
    const costs = [20, 5, 20, 2, 20, 20, 1, 20, 5, 20, 20, 20, 50, 20, 5, 20, 20, 20, 20, 2];
    const all = Promise.all(
      costs.flatMap((cost) => [cost, cost]).map(async (cost) => {
        await pacer.acquire(cost);
        grants.push([clock.now(), cost]);
      }),
    );
    for (let i = 0; i < 600 && grants.length < costs.length * 2; i++) await clock.advance(1_000);
    await all;
    const total = costs.reduce((a, b) => a + b, 0) * 2;
    expect(grants).toHaveLength(costs.length * 2);
    expect(worstMinute(grants)).toBeLessThanOrEqual(100);
    // …and it is not needlessly slow: the whole lot takes about total/100 minutes.
    const span = grants.at(-1)![0] - grants[0]![0];
    expect(span).toBeLessThanOrEqual(Math.ceil(total / 100) * 60_000);
    expect(pacer.units).toBe(total);
  });

  it('holds every request until a not-before time, and tells the owner first', async () => {
    const clock = new FakeClock('2026-05-01T00:00:00Z');
    const told: number[] = [];
    const pacer = new QuotaPacer(clock, 6000, (at) => {
      told.push(at);
    });
    await pacer.pauseUntil(clock.now() + 30_000);
    expect(told).toEqual([clock.now() + 30_000]);
    let granted = false;
    const wait = pacer.acquire(1).then(() => (granted = true));
    await clock.advance(29_000);
    expect(granted).toBe(false);
    await clock.advance(1_000);
    await wait;
    expect(granted).toBe(true);
  });

  it('stops waiting when the signal aborts', async () => {
    const clock = new FakeClock();
    const pacer = new QuotaPacer(clock, 10);
    await pacer.acquire(10);
    const controller = new AbortController();
    const waiting = pacer.acquire(10, controller.signal);
    controller.abort();
    await expect(waiting).rejects.toThrow(/cancelled/);
  });
});
