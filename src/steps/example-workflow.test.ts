import { existsSync, mkdirSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { moduleAction } from '../actions/module.js';
import { packageRoot } from '../core/package-root.js';
import type { Run } from '../runs/model.js';
import { job, testEngine } from '../engine/testing.js';

const dirs: string[] = [];
afterEach(async () => {
  await Promise.all(dirs.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
});

const examples = join(packageRoot(import.meta.url), 'examples', 'workflows');

function moduleJob(name: string, path: string, args?: unknown) {
  return job(name, [{ name: 'main', action: 'module', dependsOn: [], with: { path, ...(args ? { args } : {}) }, env: {}, continueOnError: false }]);
}

describe('the bundled tidy-downloads workflow (real module action)', () => {
  it('lists old files, asks, deletes them on "Delete" and has its child job write a report', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'hearth-tidy-'));
    dirs.push(dir);
    const folder = join(dir, 'Downloads');
    mkdirSync(folder);
    for (const [name, days] of [['old.zip', 60], ['older.iso', 400], ['new.txt', 1]] as const) {
      writeFileSync(join(folder, name), name);
      const then = new Date(Date.now() - days * 86_400_000);
      utimesSync(join(folder, name), then, then);
    }
    const t = await testEngine({
      jobs: [moduleJob('tidy-downloads', join(examples, 'tidy-downloads.mjs'), { folder, olderThanDays: 30 }), moduleJob('tidy-report', join(examples, 'tidy-report.mjs'))],
      actions: [moduleAction],
      dataDir: join(dir, 'data'),
      config: { pools: { default: { name: 'default', concurrency: 1 } } },
    });
    const settle = async (done: () => Promise<boolean>) => {
      for (let i = 0; i < 500 && !(await done()); i++) await new Promise((r) => setTimeout(r, 10));
    };
    const run = await t.engine.triggerJob('tidy-downloads', 'manual');
    await settle(async () => (await t.engine.listInbox()).length === 1);
    const [question] = await t.engine.listInbox();
    expect(question).toMatchObject({ prompt: `Delete these 2 files older than 30 days from ${folder}?`, choices: ['Delete', 'Keep'] });
    expect(existsSync(join(folder, 'old.zip'))).toBe(true);

    await t.engine.answerQuestion(question!.id, 'Delete');
    let finished: Run | undefined;
    await settle(async () => (finished = await t.store.getRun(run.id))?.status === 'succeeded');
    expect(finished!.status).toBe('succeeded');
    const output = finished!.tasks.main!.output as { deleted: string[]; report: { report: string } };
    expect(output.deleted.sort()).toEqual(['old.zip', 'older.iso']);
    expect(existsSync(join(folder, 'old.zip'))).toBe(false);
    expect(existsSync(join(folder, 'new.txt'))).toBe(true);
    expect(readFileSync(output.report.report, 'utf8')).toContain('decision: Delete');
    await t.engine.stop();
  }, 20_000);
});
