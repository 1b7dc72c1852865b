import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConflictError, NotFoundError } from '../core/errors.js';
import type { Run } from './model.js';
import type { RunRepository } from './run-repository.js';
import { finished, RunFactory } from './store-conformance.js';
import { completeRun, parkRun, parkTask, requestCancel, startRun, startTask, succeedTask } from './transitions.js';

/**
 * The one test suite every RunRepository implementation must pass. Call it
 * from the implementation's test file. `make` returns a repository on empty
 * storage; `reopen`, when given, returns a repository on the same storage
 * opened afresh as after a power cut (the old one neither flushed nor
 * closed; durable implementations must give it); `close` releases the storage at the end of each test.
 */
export interface RepositoryUnderTest {
  runs: RunRepository;
  reopen?: () => Promise<RunRepository>;
  close(): Promise<void>;
}

const T0 = Date.UTC(2025, 0, 1);
const ids = (runs: Run[]) => runs.map((run) => run.id);

/** `durable: true` adds the close-and-reopen tests; such repositories must supply `reopen`. */
export function runRepositoryConformance(name: string, make: () => Promise<RepositoryUnderTest>, options: { durable?: boolean } = {}): void {
  describe(`RunRepository conformance: ${name}`, () => {
    let subject: RepositoryUnderTest;
    let runs: RunRepository;
    let factory: RunFactory;

    beforeEach(async () => {
      subject = await make();
      runs = subject.runs;
      factory = new RunFactory();
    });
    afterEach(async () => {
      await subject.close();
    });

    it('reads back an inserted run as a copy, and refuses a second insert of its id', async () => {
      const run = factory.run('backup');
      await runs.insert(run);
      const read = (await runs.get(run.id))!;
      expect(read).toEqual(run);
      read.status = 'cancelled';
      run.job = 'changed';
      expect(await runs.get(run.id)).toMatchObject({ status: 'queued', job: 'backup' });
      await expect(runs.insert(factory.run('backup', { id: run.id }))).rejects.toBeInstanceOf(ConflictError);
      expect(await runs.get('r_nope')).toBeUndefined();
    });

    it('lists newest first with job and status filters, a page at a time', async () => {
      const made = [factory.run('a'), factory.run('b'), factory.run('a'), factory.run('a'), factory.run('b')];
      for (const run of made) await runs.insert(run);
      const third = finished(made[2]!, 'failed');
      await runs.save(third, 'finished');
      expect(ids((await runs.list({})).runs)).toEqual(ids(made).reverse());
      expect(ids((await runs.list({ job: 'a' })).runs)).toEqual([made[3]!.id, made[2]!.id, made[0]!.id]);
      expect(ids((await runs.list({ status: 'failed' })).runs)).toEqual([third.id]);
      const first = await runs.list({ limit: 2 });
      expect(ids(first.runs)).toEqual([made[4]!.id, made[3]!.id]);
      const second = await runs.list({ limit: 2, before: first.nextBefore! });
      expect(ids(second.runs)).toEqual([made[2]!.id, made[1]!.id]);
      const last = await runs.list({ limit: 2, before: second.nextBefore! });
      expect(ids(last.runs)).toEqual([made[0]!.id]);
      expect(last.nextBefore).toBeUndefined();
    });

    it('lists active runs oldest first, optionally of one job; a finished run leaves the list', async () => {
      const made = [factory.run('a'), factory.run('b'), factory.run('a')];
      for (const run of made) await runs.insert(run);
      expect(ids(await runs.active())).toEqual(ids(made));
      expect(ids(await runs.active({ job: 'a' }))).toEqual([made[0]!.id, made[2]!.id]);
      await runs.save(finished(made[0]!), 'finished');
      expect(ids(await runs.active())).toEqual([made[1]!.id, made[2]!.id]);
      expect(await runs.active({ job: 'c' })).toEqual([]);
    });

    it('saves the command writes of a run going through the state machine', async () => {
      const run = factory.run('flow', {
        tasks: { one: { name: 'one', status: 'pending', attempts: 0 }, two: { name: 'two', status: 'pending', attempts: 0 } },
        taskOrder: ['one', 'two'],
      });
      await runs.insert(run);
      startRun(run, T0);
      await runs.save(run, 'started');
      startTask(run, 'one', T0);
      await runs.save(run, 'task-started');
      expect((await runs.get(run.id))!.tasks.one).toMatchObject({ status: 'running', attempts: 1 });
      succeedTask(run, 'one', 'ok', T0 + 1);
      await runs.save(run, 'task-ended');
      startTask(run, 'two', T0 + 2);
      parkTask(run, 'two', { kind: 'input', id: 'q1' });
      await runs.save(run, 'task-ended');
      parkRun(run);
      await runs.save(run, 'parked');
      expect(await runs.get(run.id)).toMatchObject({ status: 'waiting', wait: { kind: 'input', id: 'q1' } });
      requestCancel(run);
      await runs.save(run, 'cancel-requested');
      expect((await runs.get(run.id))!.cancelRequested).toBe(true);
      expect(await runs.get(run.id)).toEqual(run);
    });

    it('refuses to save a run it does not hold, and stores nothing for it', async () => {
      const stray = factory.run('ghost');
      await expect(runs.save(stray, 'started')).rejects.toBeInstanceOf(NotFoundError);
      expect(await runs.get(stray.id)).toBeUndefined();
    });

    it('knows the last run and the last success of each job', async () => {
      expect(await runs.lastRun('a')).toBeUndefined();
      expect(await runs.lastSuccess('a')).toBeUndefined();
      const ok = factory.run('a');
      const bad = factory.run('a');
      const other = factory.run('b');
      for (const run of [ok, bad, other]) await runs.insert(run);
      await runs.save(finished(ok, 'succeeded'), 'finished');
      await runs.save(finished(bad, 'failed'), 'finished');
      expect((await runs.lastRun('a'))!.id).toBe(bad.id);
      expect((await runs.lastSuccess('a'))!.id).toBe(ok.id);
      expect((await runs.lastRun('b'))!.id).toBe(other.id);
      expect(await runs.lastSuccess('b')).toBeUndefined();
    });

    if (options.durable) {
      it('keeps inserts and durable saves across a reopen, without a flush', async () => {
        const queued = factory.run('a');
        const running = factory.run('a', { tasks: { main: { name: 'main', status: 'pending', attempts: 0 } } });
        const done = factory.run('b');
        for (const run of [queued, running, done]) await runs.insert(run);
        startRun(running, T0);
        startTask(running, 'main', T0);
        await runs.save(running, 'task-started');
        startRun(done, T0);
        startTask(done, 'main', T0);
        succeedTask(done, 'main', null, T0 + 1);
        completeRun(done, T0 + 2);
        await runs.save(done, 'finished');
        const again = await subject.reopen!();
        expect(await again.get(queued.id)).toEqual(queued);
        expect(await again.get(running.id)).toEqual(running);
        expect(await again.get(done.id)).toEqual(done);
        expect(ids(await again.active())).toEqual([queued.id, running.id]);
        expect((await again.lastSuccess('b'))!.id).toBe(done.id);
      });

      it('keeps a lazy save once flushed', async () => {
        const run = factory.run('a');
        await runs.insert(run);
        startRun(run, T0);
        await runs.save(run, 'started');
        await runs.flush();
        const again = await subject.reopen!();
        expect((await again.get(run.id))!.status).toBe('running');
      });
    }
  });
}
