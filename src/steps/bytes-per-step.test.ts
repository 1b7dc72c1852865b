import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { FakeClock } from '../core/clock.js';
import { silentLogger } from '../core/logger.js';
import type { ActionContext, ActionDefinition } from '../actions/types.js';
import { FileRunStore } from '../runs/file-store.js';
import { job, testEngine } from '../engine/testing.js';
import { FileStepJournal } from './file-journal.js';
import { MemoryInboxStore } from './inbox.js';
import type { StepApi } from './types.js';

const dirs: string[] = [];
afterEach(async () => {
  await Promise.all(dirs.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
});

async function writeBytes(): Promise<number> {
  return Number(/^write_bytes: (\d+)/m.exec(await readFile('/proc/self/io', 'utf8'))![1]);
}

describe('bytes written per step (file store + file journal)', () => {
  it('stay flat from 50 to 500 steps: a step appends to its journal, never rewrites the run', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'hearth-flat-'));
    dirs.push(dir);
    const clock = new FakeClock('2026-03-01T12:00:00Z');
    const store = new FileRunStore({ dataDir: dir, clock, logger: silentLogger, keepPerJob: 50 });
    const journal = new FileStepJournal(join(dir, 'steps'));
    await journal.init();
    const steps: ActionDefinition = {
      name: 'steps',
      validate: () => [],
      execute: async (params, ctx) => {
        const { step } = ctx as ActionContext & { step: StepApi };
        for (let i = 0; i < (params.count as number); i++) await step.run(`step-${i}`, () => ({ i, note: 'a small result' }));
      },
    };
    const jobs = [50, 500].map((count) => job(`steps${count}`, [{ name: 'main', action: 'steps', dependsOn: [], with: { count }, env: {}, continueOnError: false }]));
    const t = await testEngine({ jobs, actions: [steps], store, clock, workflows: { journal, inbox: new MemoryInboxStore() } });

    const perStep = async (count: number): Promise<number> => {
      await store.flush();
      const before = await writeBytes();
      const run = await t.engine.triggerJob(`steps${count}`, 'manual');
      // Real file I/O: poll (the fake clock never needs to move, nothing sleeps).
      for (let i = 0; i < 2000 && (await store.getRun(run.id))?.status !== 'succeeded'; i++) await new Promise((r) => setTimeout(r, 10));
      expect((await store.getRun(run.id))?.status).toBe('succeeded');
      await store.flush();
      return ((await writeBytes()) - before) / count;
    };
    await perStep(50); // warm-up: files created, directories fsynced
    const small = await perStep(50);
    const large = await perStep(500);
    // O(n) per step (the run rewritten with its journal) would make the 500-step run ~10x dearer per step.
    expect(large).toBeLessThan(small * 1.5);
    // One journal line (~100 B) and the page the fdatasync writes back.
    expect(large).toBeLessThan(8 * 1024);
    await t.engine.stop();
    await store.close();
  }, 30_000);
});
