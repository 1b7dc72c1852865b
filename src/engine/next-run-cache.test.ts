import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { nextRunCacheFile, nextRunCacheKey, readNextRuns, writeNextRuns, type NextRunRecord } from './next-run-cache.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'hearth-next-runs-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('next-run cache file', () => {
  it('gives back what was written under the same key (0600), and nothing under another Hearth or when unreadable', async () => {
    const file = nextRunCacheFile(dir);
    const records = new Map<string, NextRunRecord>([
      ['nightly', { spec: '[{"kind":"cron","expr":"0 3 * * *"},"UTC"]', from: 1_772_366_430_000, next: 1_772_420_400_000 }],
      ['once', { spec: '[{"kind":"rrule","rule":"COUNT=1"},"UTC"]', from: 1_772_366_430_000, next: null }],
    ]);
    await writeNextRuns(file, nextRunCacheKey('1.0.0'), records);
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect(await readNextRuns(file, nextRunCacheKey('1.0.0'))).toEqual(records);
    expect(nextRunCacheKey('1.0.0')).toContain(process.version);
    expect((await readNextRuns(file, nextRunCacheKey('1.0.1'))).size).toBe(0);
    const text = await readFile(file, 'utf8');
    await writeFile(file, text.replace('1772420400000', '"soon"'));
    expect([...(await readNextRuns(file, nextRunCacheKey('1.0.0'))).keys()]).toEqual(['once']);
    await writeFile(file, text.slice(0, 20));
    expect((await readNextRuns(file, nextRunCacheKey('1.0.0'))).size).toBe(0);
    expect((await readNextRuns(join(dir, 'missing.json'), nextRunCacheKey('1.0.0'))).size).toBe(0);
  });
});
