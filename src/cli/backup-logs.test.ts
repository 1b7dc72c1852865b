import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { FakeClock } from '../core/clock.js';
import { RunIdGenerator } from '../core/ids.js';
import { RunLogs } from '../engine/run-logs.js';
import { logsArchiveList } from './backup.js';
import { cliHarness } from './testing.js';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'hearth-backup-logs-'));
  dirs.push(dir);
  return dir;
}

describe('hearth backup --logs with packed logs', () => {
  it('lists every own log file before the packs, so a run packed during the backup is in one or the other', async () => {
    const dir = tempDir();
    mkdirSync(join(dir, 'logs', 'packs'), { recursive: true });
    for (const name of ['r_b.log', 'r_a.log.tail.0']) writeFileSync(join(dir, 'logs', name), 'x');
    for (const name of ['2026-03-02.log', '2026-03-01.idx', '2026-03-01.log']) writeFileSync(join(dir, 'logs', 'packs', name), 'x');
    const list = await logsArchiveList(dir);
    expect(list[0]).toBe('logs');
    expect(list.slice(1, 3).sort()).toEqual(['logs/r_a.log.tail.0', 'logs/r_b.log']);
    expect(list.slice(3)).toEqual(['logs/packs', 'logs/packs/2026-03-01.idx', 'logs/packs/2026-03-01.log', 'logs/packs/2026-03-02.log']);
  });

  it('backs up packed and unpacked logs, and the restored logs read back identically', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'hearth.yaml'), 'dataDir: ./data\njobs: {}\n');
    mkdirSync(join(dir, 'data'), { recursive: true });
    writeFileSync(join(dir, 'data', 'state.json'), '{}\n');
    const clock = new FakeClock('2026-03-01T12:00:00Z');
    const logs = new RunLogs(join(dir, 'data', 'logs'), clock);
    await logs.init();
    const ids = new RunIdGenerator();
    const texts = new Map<string, string>();
    for (let i = 0; i < 5; i++) {
      const id = ids.next(clock.now());
      logs.write(id, 'main', `output of run ${i}`);
      texts.set(id, await logs.read(id));
      if (i < 4) await logs.finish(id); // the last one is still running: its own file
    }
    await logs.closeAll();
    expect(readdirSync(join(dir, 'data', 'logs')).sort()).toHaveLength(2); // packs/ and the running run's file

    const cli = cliHarness();
    const backup = await cli.run(['backup', 'b.tar.gz', '--logs'], { cwd: dir, env: {} });
    expect(backup.code, backup.stderr).toBe(0);
    expect(backup.stderr).toBe('');
    const fresh = tempDir();
    const restore = await cli.run(['restore', join(dir, 'b.tar.gz'), '--config', join(fresh, 'hearth.yaml')], {
      cwd: fresh,
      env: {},
      fetch: async () => {
        throw new TypeError('fetch failed'); // nothing is running here
      },
    });
    expect(restore.code, restore.stderr).toBe(0);
    const restored = new RunLogs(join(fresh, 'data', 'logs'), clock);
    for (const [id, text] of texts) expect(await restored.read(id)).toBe(text);
  });
});
