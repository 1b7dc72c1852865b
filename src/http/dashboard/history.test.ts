import { describe, expect, it } from 'vitest';
import type { RunQuery } from '../../runs/model.js';
import { FakeAppliance } from '../testing/fake-appliance.js';
import { CHART_RUNS, JobHistoryReader, jobsForStrips, MAX_SCANNED, OVERVIEW_STRIP_JOBS } from './history.js';

const NOW = Date.parse('2026-05-01T10:00:00Z');
const ago = (ms: number) => new Date(NOW - ms).toISOString();

function counting(appliance: FakeAppliance): RunQuery[] {
  const calls: RunQuery[] = [];
  const listRuns = appliance.listRuns.bind(appliance);
  appliance.listRuns = async (query) => (calls.push(query), listRuns(query));
  return calls;
}

describe('JobHistoryReader', () => {
  it('reads past the first page of runs to count the whole 30 days, and stops at the first older run', async () => {
    const appliance = new FakeAppliance();
    appliance.addRun({ job: 'j', status: 'failed', createdAt: ago(31 * 86_400_000) });
    // 1,200 runs over the last 25 days, every fourth one failed.
    for (let i = 1200; i > 0; i--) appliance.addRun({ job: 'j', status: i % 4 === 0 ? 'failed' : 'succeeded', createdAt: ago(i * 30 * 60_000) });
    const calls = counting(appliance);
    const history = await new JobHistoryReader(appliance).read('j', NOW);
    expect(history.recent).toHaveLength(CHART_RUNS);
    expect(history.rates[1]).toEqual({ days: 30, succeeded: 900, finished: 1200 });
    // 7 days = 336 half-hours.
    expect(history.rates[0]).toEqual({ days: 7, succeeded: 336 - 84, finished: 336 });
    expect(history.capped).toBe(false);
    // The chart's page, then three pages of 500.
    expect(calls).toHaveLength(4);
  });

  it('stops after MAX_SCANNED runs and says the rate is over the newest runs only', async () => {
    const appliance = new FakeAppliance();
    for (let i = MAX_SCANNED + 100; i > 0; i--) appliance.addRun({ job: 'j', status: 'succeeded', createdAt: ago(i * 60_000) });
    const history = await new JobHistoryReader(appliance).read('j', NOW);
    expect(history.capped).toBe(true);
    expect(history.rates[1]!.finished).toBe(MAX_SCANNED);
  });

  it('reuses the rates while the last runs are unchanged, and counts again when one changes or after maxAgeMs', async () => {
    const appliance = new FakeAppliance();
    appliance.addRun({ job: 'j', status: 'succeeded', createdAt: ago(3_600_000) });
    const calls = counting(appliance);
    const reader = new JobHistoryReader(appliance, 60_000);
    await reader.read('j', NOW);
    expect(calls).toHaveLength(2);
    expect((await reader.read('j', NOW + 1000)).rates[0]).toEqual({ days: 7, succeeded: 1, finished: 1 });
    expect(calls).toHaveLength(3);
    // A new run: counted at once.
    const run = appliance.addRun({ job: 'j', status: 'running', createdAt: ago(0) });
    expect((await reader.read('j', NOW + 2000)).rates[0]).toEqual({ days: 7, succeeded: 1, finished: 1 });
    appliance.runs.set(run.id, { ...run, status: 'failed' });
    expect((await reader.read('j', NOW + 3000)).rates[0]).toEqual({ days: 7, succeeded: 1, finished: 2 });
    const before = calls.length;
    await reader.read('j', NOW + 3000 + 60_000);
    expect(calls.length - before).toBe(2);
  });
});

describe('jobsForStrips', () => {
  const job = (i: number, ranAt?: number) => ({ name: `job-${i}`, ...(ranAt === undefined ? {} : { lastRun: { id: `r_${String(ranAt).padStart(14, '0')}` } }) });

  it('keeps every job on a small appliance, in order, ran or not', () => {
    const jobs = Array.from({ length: OVERVIEW_STRIP_JOBS }, (_, i) => job(i, i % 3 === 0 ? undefined : 100 - i));
    expect(jobsForStrips(jobs)).toEqual(jobs);
  });

  it('keeps only the OVERVIEW_STRIP_JOBS that ran last among 1,000, in the given order', () => {
    // Job i last ran at (i * 7919) % 1000; a tenth never ran.
    const jobs = Array.from({ length: 1000 }, (_, i) => job(i, i % 10 === 0 ? undefined : (i * 7919) % 1000));
    const shown = jobsForStrips(jobs);
    expect(shown).toHaveLength(OVERVIEW_STRIP_JOBS);
    const newest = jobs.filter((j) => j.lastRun).sort((a, b) => b.lastRun!.id.localeCompare(a.lastRun!.id)).slice(0, OVERVIEW_STRIP_JOBS);
    expect(new Set(shown.map((j) => j.name))).toEqual(new Set(newest.map((j) => j.name)));
    expect(shown.map((j) => Number(j.name.slice(4)))).toEqual(shown.map((j) => Number(j.name.slice(4))).sort((a, b) => a - b));
  });
});
