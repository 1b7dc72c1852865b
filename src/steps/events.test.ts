import { appendFile, mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { FileEventLog, MAX_EVENTS } from './events.js';

const dirs: string[] = [];
afterEach(async () => {
  await Promise.all(dirs.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
});

async function file(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'hearth-events-'));
  dirs.push(dir);
  return join(dir, 'events.jsonl');
}

const at = (s: number) => new Date(Date.UTC(2026, 2, 1, 12, 0, s)).toISOString();

describe('FileEventLog', () => {
  it('keeps events across a restart (0600), deduplicates ids and drops a torn last line', async () => {
    const path = await file();
    const log = new FileEventLog(path);
    await log.init();
    expect(await log.append({ id: 'a', name: 'door', data: { side: 'front' }, at: at(1) })).toBe(true);
    expect(await log.append({ id: 'a', name: 'door', data: { side: 'back' }, at: at(2) })).toBe(false);
    await log.append({ id: 'b', name: 'bell', at: at(3) });
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    await appendFile(path, '{"id":"c","name":"do');

    const reopened = new FileEventLog(path);
    await reopened.init();
    expect(await reopened.since('door', 0)).toEqual([{ id: 'a', name: 'door', data: { side: 'front' }, at: at(1) }]);
    expect(await reopened.since('door', Date.parse(at(2)))).toEqual([]);
    expect(await reopened.append({ id: 'a', name: 'door', at: at(4) })).toBe(false);
    expect(await reopened.append({ id: 'c', name: 'door', at: at(5) })).toBe(true);
  });

  it('stays bounded: the newest events are kept, the file is compacted', async () => {
    const path = await file();
    const log = new FileEventLog(path);
    await log.init();
    for (let i = 0; i < 2 * MAX_EVENTS + 5; i++) await log.append({ id: `e${i}`, name: 'tick', at: at(0) });
    const kept = await log.since('tick', 0);
    expect(kept).toHaveLength(MAX_EVENTS);
    expect(kept.at(-1)!.id).toBe(`e${2 * MAX_EVENTS + 4}`);
    const lines = (await readFile(path, 'utf8')).trim().split('\n');
    expect(lines.length).toBeLessThanOrEqual(2 * MAX_EVENTS);
  }, 30_000);
});
