/**
 * The scheduler's next occurrences, kept across a restart so a start with
 * unchanged schedules neither compiles them nor searches for their next
 * occurrence (~45 ms at 1,000 jobs, rrule's search the dearest): each job's
 * schedule is compiled when it is first due instead.
 *
 * A record is a fact about a pure function: for the schedule `spec` (its
 * spec and zone as JSON), the first occurrence after any instant in
 * [from, next) is `next` (null: the rule has no occurrence after `from`).
 * It stays true while the schedule code and the time-zone data are the same,
 * so the file is keyed by Hearth's version and Node's (with ICU and tz data)
 * and ignored on any mismatch; a missing or stale record is computed as
 * before. Written (atomically, 0600) when Hearth stops; a crash only costs
 * the next start that work.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../core/atomic-file.js';

export interface NextRunRecord {
  spec: string;
  from: number;
  next: number | null;
}

const FORMAT = 1;

export function nextRunCacheFile(dataDir: string): string {
  return join(dataDir, 'cache', 'next-runs.json');
}

/** What the records must have been written under: this Hearth and this runtime's time-zone data. */
export function nextRunCacheKey(version: string): string {
  return `${FORMAT} ${version} ${process.version} ${process.versions.icu ?? ''} ${process.versions.tz ?? ''}`;
}

/** The records in `file` if it was written under `key`; an empty map when missing, stale or unreadable. */
export async function readNextRuns(file: string, key: string): Promise<Map<string, NextRunRecord>> {
  try {
    const parsed = JSON.parse(await readFile(file, 'utf8')) as { key?: unknown; jobs?: unknown };
    if (parsed?.key !== key || parsed.jobs === null || typeof parsed.jobs !== 'object') return new Map();
    const records = new Map<string, NextRunRecord>();
    for (const [job, value] of Object.entries(parsed.jobs as Record<string, unknown>)) {
      if (!Array.isArray(value) || value.length !== 3) continue;
      const [spec, from, next] = value as unknown[];
      if (typeof spec === 'string' && Number.isSafeInteger(from) && (next === null || Number.isSafeInteger(next))) {
        records.set(job, { spec, from: from as number, next: next as number | null });
      }
    }
    return records;
  } catch {
    return new Map();
  }
}

export async function writeNextRuns(file: string, key: string, records: Map<string, NextRunRecord>): Promise<void> {
  const jobs: Record<string, [string, number, number | null]> = Object.create(null);
  for (const [job, { spec, from, next }] of records) jobs[job] = [spec, from, next];
  await writeFileAtomic(file, JSON.stringify({ key, jobs }), 0o600);
}
