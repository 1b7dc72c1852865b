import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '../core/logger.js';
import { mountSmallDisk, type SmallDisk } from '../core/testing/small-disk.js';
import { job, task, testEngine } from './testing.js';

/**
 * A task that fills the disk its run log is on (a 1 MB tmpfs): the log is
 * cut, the engine goes on, the run is recorded as the task ended, and the
 * next run logs normally once there is space again.
 */
describe('a run log on a full disk', () => {
  let disk: SmallDisk | undefined;
  afterEach(() => {
    // Lazy (SmallDisk.remove): a failed assertion may leave the engine's files open.
    disk?.remove();
    disk = undefined;
  });

  it('does not crash the engine; the run finishes and later runs log again', async (context) => {
    const mounted = mountSmallDisk('1m', 'hearth-full-');
    if ('error' in mounted) {
      console.warn(`skipping the ENOSPC test: cannot mount a tmpfs here (${mounted.error}); run it as root`);
      return context.skip();
    }
    disk = mounted;
    const dir = mounted.dir;
    const logsDir = join(dir, 'logs');
    mkdirSync(logsDir);
    writeFileSync(join(dir, 'filler'), Buffer.alloc(512 * 1024));
    const hearthLog: string[] = [];
    const uncaught: unknown[] = [];
    const onUncaught = (error: unknown) => uncaught.push(error);
    process.on('uncaughtException', onUncaught);
    try {
      const flood = job('flood', [task('main', 'flood')]);
      const quiet = job('quiet', [task('main', 'quiet')]);
      const t = await testEngine({
        jobs: [flood, quiet],
        scripts: { flood: { lines: Array.from({ length: 2000 }, (_, i) => `line ${i} ${'f'.repeat(1000)}`) }, quiet: { lines: ['hello'] } },
        logsDir,
        logger: createLogger({ level: 'warn', write: (line) => hearthLog.push(line) }),
      });
      const run = await t.engine.triggerJob('flood', 'manual');
      for (let i = 0; i < 50 && (await t.store.getRun(run.id))?.status !== 'succeeded'; i++) await t.clock.advance(10);
      expect((await t.store.getRun(run.id))?.status).toBe('succeeded');
      await t.logs.closeAll();
      expect(hearthLog.join('\n')).toMatch(/a run log cannot be written; the log is cut here.*ENOSPC/);

      rmSync(join(dir, 'filler'));
      const next = await t.engine.triggerJob('quiet', 'manual');
      for (let i = 0; i < 50 && (await t.store.getRun(next.id))?.status !== 'succeeded'; i++) await t.clock.advance(10);
      await t.logs.closeAll();
      // A small log moves into the day's pack when the run finishes: read it the way every API does.
      expect(await t.logs.read(next.id)).toMatch(/\[main\] hello\n[\s\S]*run succeeded/);
      await t.engine.stop();
    } finally {
      process.off('uncaughtException', onUncaught);
    }
    expect(uncaught).toEqual([]);
  });
});
