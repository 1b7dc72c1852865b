import { describe, expect, it } from 'vitest';
import { MemoryRunStore } from '../runs/memory-store.js';
import type { Run } from '../runs/model.js';
import { job, task, testEngine } from './testing.js';

/**
 * What a run costs the disk, counted in forced flushes (each is a WAL append
 * plus an fdatasync on the file store): issue 13, item 8. Not timing-based.
 */
function countingStore() {
  const store = new MemoryRunStore();
  const flushes: string[] = [];
  const flush = store.flush.bind(store);
  store.flush = async () => {
    const runs = (await store.listRuns({ limit: 1 })).runs as Run[];
    const run = runs[0];
    flushes.push(run ? `${run.status}:${run.taskOrder.map((name) => run.tasks[name]?.status).join(',')}` : 'none');
    return flush();
  };
  return { store, flushes };
}

describe('durable run cost', () => {
  it('a one-task run forces two flushes: the attempt before it starts, and the run once it ends', async () => {
    const { store, flushes } = countingStore();
    const t = await testEngine({ jobs: [job('true', [task('main', 'true')])], store, scripts: { true: { ms: 5 } } });
    flushes.length = 0;
    const run = await t.engine.triggerJob('true', 'api');
    await t.clock.advance(100);
    expect((await store.getRun(run.id))?.status).toBe('succeeded');
    expect(flushes).toEqual(['running:running', 'succeeded:succeeded']);
  });

  it('a task with dependants is on disk as finished before they start', async () => {
    const { store, flushes } = countingStore();
    const flow = job('flow', [task('a', 'a'), task('b', 'b', { dependsOn: ['a'] })]);
    const t = await testEngine({ jobs: [flow], store, scripts: { a: { ms: 5 }, b: { ms: 5 } } });
    flushes.length = 0;
    await t.engine.triggerJob('flow', 'api');
    await t.clock.advance(100);
    expect(flushes).toEqual(['running:running,pending', 'running:succeeded,pending', 'running:succeeded,running', 'succeeded:succeeded,succeeded']);
  });
});
