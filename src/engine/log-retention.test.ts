import { describe, expect, it } from 'vitest';
import { mkdtempSync, readdirSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pruneRunLogs } from './log-retention.js';

describe('pruneRunLogs', () => {
  it('deletes finished runs\' logs older than the retention and nothing else', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hearth-logs-'));
    const now = Date.parse('2026-06-01T00:00:00Z');
    const day = 86_400_000;
    const files = { 'r_old.log': 40, 'r_old.log.tail.7': 40, 'r_active.log': 40, 'r_active.log.tail.3': 40, 'r_new.log': 5, 'notes.txt': 40 };
    for (const [name, ageDays] of Object.entries(files)) {
      writeFileSync(join(dir, name), 'x');
      const t = (now - ageDays * day) / 1000;
      utimesSync(join(dir, name), t, t);
    }
    const removed = await pruneRunLogs(dir, { now, retentionMs: 30 * day, isActive: (id) => id === 'r_active' });
    expect(removed).toBe(2);
    expect(readdirSync(dir).sort()).toEqual(['notes.txt', 'r_active.log', 'r_active.log.tail.3', 'r_new.log']);
  });
});
