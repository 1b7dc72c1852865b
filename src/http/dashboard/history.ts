import type { AppliancePort } from '../../core/appliance.js';
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

export async function jobHistory(appliance: AppliancePort, job: string, now: number): Promise<JobHistory> {
  const oldest = now - 30 * DAY_MS;
  const rates: SuccessRate[] = [7, 30].map((days) => ({ days, succeeded: 0, finished: 0 }));
  const recent: Run[] = [];
  let before: string | undefined;
  let scanned = 0;
  let capped = false;
  for (;;) {
    const page = await appliance.listRuns({ job, limit: PAGE, ...(before ? { before } : {}) });
    let done = false;
    for (const run of page.runs) {
      if (recent.length < CHART_RUNS) recent.push(run);
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
  return { recent, rates, capped };
}

/** The last STRIP_RUNS runs of every job, newest first, for the overview. */
export async function recentRunsByJob(appliance: AppliancePort, jobs: string[]): Promise<Map<string, Run[]>> {
  const pages = await Promise.all(jobs.map((job) => appliance.listRuns({ job, limit: STRIP_RUNS })));
  return new Map(jobs.map((job, i) => [job, pages[i]!.runs]));
}
