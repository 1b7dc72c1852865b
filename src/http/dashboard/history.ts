import type { AppliancePort } from '../../engine/port.js';
import type { Run } from '../../runs/model.js';

/**
 * A job's history at a glance: its last runs (for the duration chart) and how
 * often it succeeded over the last 7 and 30 days. Read through the same
 * `listRuns` pages as the Runs tab, newest first, stopping at the first run
 * older than 30 days; a job that ran more than MAX_SCANNED times in 30 days is
 * counted over its newest MAX_SCANNED runs (and says so).
 */

export const CHART_RUNS = 50;
export const STRIP_RUNS = 20;
const PAGE = 500;
export const MAX_SCANNED = 5000;
const DAY_MS = 86_400_000;

export interface SuccessRate {
  days: number;
  succeeded: number;
  /** Succeeded plus failed: cancelled and unfinished runs are not counted. */
  finished: number;
}

export interface JobHistory {
  /** Newest first, at most CHART_RUNS. */
  recent: Run[];
  rates: SuccessRate[];
  /** True when the 30-day window held more runs than were read. */
  capped: boolean;
}

/**
 * Reads job histories. The last runs are read on every call (they are in state.json); the success
 * rates, which may read a month or two of the history archive from the SD card, are kept per job
 * and reused while the job's last CHART_RUNS runs (ids and statuses) are unchanged, for at most
 * `maxAgeMs` (so days sliding out of the windows are noticed). A live job page re-reads on every
 * run event; this keeps that to one small read.
 */
export class JobHistoryReader {
  private readonly cache = new Map<string, { key: string; at: number; rates: SuccessRate[]; capped: boolean }>();

  constructor(private readonly appliance: AppliancePort, private readonly maxAgeMs = 10 * 60_000) {}

  async read(job: string, now: number): Promise<JobHistory> {
    const recent = (await this.appliance.listRuns({ job, limit: CHART_RUNS })).runs;
    const key = recent.map((run) => `${run.id}:${run.status}`).join(',');
    const known = this.cache.get(job);
    if (known && known.key === key && now - known.at < this.maxAgeMs && now >= known.at) return { recent, rates: known.rates, capped: known.capped };
    const { rates, capped } = await successRates(this.appliance, job, now);
    // One entry per job name; names of removed jobs are few, but never let it grow without bound.
    if (this.cache.size >= 1000) this.cache.clear();
    this.cache.set(job, { key, at: now, rates, capped });
    return { recent, rates, capped };
  }
}

async function successRates(appliance: AppliancePort, job: string, now: number): Promise<{ rates: SuccessRate[]; capped: boolean }> {
  const oldest = now - 30 * DAY_MS;
  const rates: SuccessRate[] = [7, 30].map((days) => ({ days, succeeded: 0, finished: 0 }));
  let before: string | undefined;
  let scanned = 0;
  let capped = false;
  for (;;) {
    const page = await appliance.listRuns({ job, limit: PAGE, ...(before ? { before } : {}) });
    let done = false;
    for (const run of page.runs) {
      const created = Date.parse(run.createdAt);
      if (created < oldest) {
        done = true;
        break;
      }
      for (const rate of rates) {
        if (created < now - rate.days * DAY_MS) continue;
        if (run.status === 'succeeded') rate.succeeded += 1;
        if (run.status === 'succeeded' || run.status === 'failed') rate.finished += 1;
      }
    }
    scanned += page.runs.length;
    if (done || !page.nextBefore) break;
    if (scanned >= MAX_SCANNED) {
      capped = true;
      break;
    }
    before = page.nextBefore;
  }
  return { rates, capped };
}

/** The overview shows the strips of at most this many jobs: those that ran last (all of them on a small appliance). */
export const OVERVIEW_STRIP_JOBS = 50;

/**
 * The jobs whose strips the overview shows: the OVERVIEW_STRIP_JOBS that ran last, in the order given. With 1,000
 * jobs a strip each was ~3 MB of page and 1,000 history queries per load of the home page.
 */
export function jobsForStrips<T extends { name: string; lastRun?: { id: string } }>(jobs: readonly T[]): T[] {
  if (jobs.length <= OVERVIEW_STRIP_JOBS) return [...jobs];
  const ranLast = new Set(
    jobs
      .filter((job) => job.lastRun)
      .sort((a, b) => (a.lastRun!.id < b.lastRun!.id ? 1 : a.lastRun!.id > b.lastRun!.id ? -1 : 0))
      .slice(0, OVERVIEW_STRIP_JOBS)
      .map((job) => job.name),
  );
  return jobs.filter((job) => ranLast.has(job.name));
}

/** The last STRIP_RUNS runs of every job, newest first, for the overview. */
export async function recentRunsByJob(appliance: AppliancePort, jobs: string[]): Promise<Map<string, Run[]>> {
  const pages = await Promise.all(jobs.map((job) => appliance.listRuns({ job, limit: STRIP_RUNS })));
  return new Map(jobs.map((job, i) => [job, pages[i]!.runs]));
}
