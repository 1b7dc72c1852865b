import { describe, expect, it } from 'vitest';
import { FakeAppliance } from '../testing/fake-appliance.js';
import { CHART_RUNS, MAX_SCANNED, jobHistory } from './history.js';

const NOW = Date.parse('2026-05-01T10:00:00Z');
const ago = (ms: number) => new Date(NOW - ms).toISOString();

describe('jobHistory', () => {
  it('reads past the first page of runs to count the whole 30 days, and stops at the first older run', async () => {
    const appliance = new FakeAppliance();
    appliance.addRun({ job: 'j', status: 'failed', createdAt: ago(31 * 86_400_000) });
    // 1,200 runs over the last 25 days, every fourth one failed.
    for (let i = 1200; i > 0; i--) appliance.addRun({ job: 'j', status: i % 4 === 0 ? 'failed' : 'succeeded', createdAt: ago(i * 30 * 60_000) });
    const calls: unknown[] = [];
    const listRuns = appliance.listRuns.bind(appliance);
    appliance.listRuns = async (query) => (calls.push(query), listRuns(query));
    const history = await jobHistory(appliance, 'j', NOW);
    expect(history.recent).toHaveLength(CHART_RUNS);
    expect(history.rates[1]).toEqual({ days: 30, succeeded: 900, finished: 1200 });
    // 7 days = 336 half-hours.
    expect(history.rates[0]).toEqual({ days: 7, succeeded: 336 - 84, finished: 336 });
    expect(history.capped).toBe(false);
    expect(calls).toHaveLength(3);
  });

  it('stops after MAX_SCANNED runs and says the rate is over the newest runs only', async () => {
    const appliance = new FakeAppliance();
    for (let i = MAX_SCANNED + 100; i > 0; i--) appliance.addRun({ job: 'j', status: 'succeeded', createdAt: ago(i * 60_000) });
    const history = await jobHistory(appliance, 'j', NOW);
    expect(history.capped).toBe(true);
    expect(history.rates[1]!.finished).toBe(MAX_SCANNED);
  });
});
