import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConflictError } from '../core/errors.js';
import type { FakeClock } from '../core/clock.js';
import type { Run } from './model.js';
import type { RunRepository } from './run-repository.js';
import type { QueueClaim, RunQueue } from './run-queue.js';
import { finished, RunFactory } from './store-conformance.js';
import { startRun } from './transitions.js';

/**
 * The one test suite every RunQueue implementation must pass. Call it from
 * the implementation's test file. `make` returns a queue and the repository
 * it lives next to (queued runs are inserted there first), on empty storage
 * and a FakeClock; `reopen`, when given, returns both opened afresh on
 * the same storage as after a power cut (durable implementations must give
 * it); `close` releases the storage at the end of each test.
 */
export interface QueueUnderTest {
  queue: RunQueue;
  runs: RunRepository;
  clock: FakeClock;
  reopen?: () => Promise<{ queue: RunQueue; runs: RunRepository }>;
  close(): Promise<void>;
}

const LEASE = 60_000;
const runIds = (claims: QueueClaim[]) => claims.map((claim) => claim.runId);

/** `durable: true` adds the close-and-reopen test; such queues must supply `reopen`. */
export function runQueueConformance(name: string, make: () => Promise<QueueUnderTest>, options: { durable?: boolean } = {}): void {
  describe(`RunQueue conformance: ${name}`, () => {
    let subject: QueueUnderTest;
    let queue: RunQueue;
    let runs: RunRepository;
    let factory: RunFactory;

    beforeEach(async () => {
      subject = await make();
      ({ queue, runs } = subject);
      factory = new RunFactory();
    });
    afterEach(async () => {
      await subject.close();
    });

    /** Inserts queued runs of `jobs` in turn (oldest first) and enqueues them. */
    async function queued(...jobs: string[]): Promise<Run[]> {
      const made = jobs.map((job) => factory.run(job));
      for (const run of made) {
        await runs.insert(run);
        await queue.enqueue({ runId: run.id, job: run.job });
      }
      return made;
    }

    it('hands out the oldest runs first, at most `limit`, and each only once', async () => {
      const [a, b, c] = await queued('x', 'y', 'x');
      expect(runIds(await queue.claim({ owner: 'pi-1', leaseMs: LEASE }))).toEqual([a!.id]);
      const two = await queue.claim({ owner: 'pi-1', leaseMs: LEASE, limit: 5 });
      expect(runIds(two)).toEqual([b!.id, c!.id]);
      expect(two[0]).toMatchObject({ job: 'y', owner: 'pi-1', leaseUntil: subject.clock.now() + LEASE });
      expect(await queue.claim({ owner: 'pi-2', leaseMs: LEASE, limit: 5 })).toEqual([]);
      expect(await queue.size()).toBe(3);
    });

    it('claims per pool: only the jobs asked for, or every job but the excluded ones', async () => {
      const [a, b, c, d] = await queued('backup', 'lights', 'backup', 'unknown');
      expect(runIds(await queue.claim({ owner: 'w', leaseMs: LEASE, jobs: ['lights', 'other'], limit: 5 }))).toEqual([b!.id]);
      expect(runIds(await queue.claim({ owner: 'w', leaseMs: LEASE, excludeJobs: ['backup', 'lights'], limit: 5 }))).toEqual([d!.id]);
      expect(runIds(await queue.claim({ owner: 'w', leaseMs: LEASE, jobs: ['backup'], excludeJobs: [], limit: 5 }))).toEqual([a!.id, c!.id]);
    });

    it('leaves out the runs a claimer holds back', async () => {
      const [a, b] = await queued('x', 'x');
      expect(runIds(await queue.claim({ owner: 'w', leaseMs: LEASE, excludeRuns: [a!.id], limit: 5 }))).toEqual([b!.id]);
      expect(runIds(await queue.claim({ owner: 'w', leaseMs: LEASE, limit: 5 }))).toEqual([a!.id]);
    });

    it('never hands one run to two claimers at once', async () => {
      await queued('a', 'a', 'a');
      const [one, two, three] = await Promise.all([
        queue.claim({ owner: 'pi-1', leaseMs: LEASE, limit: 2 }),
        queue.claim({ owner: 'pi-2', leaseMs: LEASE, limit: 2 }),
        queue.claim({ owner: 'pi-3', leaseMs: LEASE, limit: 2 }),
      ]);
      const all = [...runIds(one!), ...runIds(two!), ...runIds(three!)];
      expect(all).toHaveLength(3);
      expect(new Set(all).size).toBe(3);
    });

    it('hands a run whose lease expired to another claimer; the old holder has lost it', async () => {
      const [run] = await queued('a');
      expect(runIds(await queue.claim({ owner: 'pi-1', leaseMs: LEASE }))).toEqual([run!.id]);
      await subject.clock.advance(LEASE - 1);
      expect(await queue.claim({ owner: 'pi-2', leaseMs: LEASE })).toEqual([]);
      await subject.clock.advance(1);
      expect(runIds(await queue.claim({ owner: 'pi-2', leaseMs: LEASE }))).toEqual([run!.id]);
      expect(await queue.extend(run!.id, 'pi-1', LEASE)).toBe(false);
      expect(await queue.complete(run!.id, 'pi-1')).toBe(false);
      expect(await queue.delay(run!.id, 'pi-1', 0)).toBe(false);
      expect(await queue.complete(run!.id, 'pi-2')).toBe(true);
    });

    it('an extended lease keeps the run from other claimers', async () => {
      const [run] = await queued('a');
      await queue.claim({ owner: 'pi-1', leaseMs: LEASE });
      await subject.clock.advance(LEASE - 10);
      expect(await queue.extend(run!.id, 'pi-1', LEASE)).toBe(true);
      await subject.clock.advance(LEASE - 10);
      expect(await queue.claim({ owner: 'pi-2', leaseMs: LEASE })).toEqual([]);
      await subject.clock.advance(10);
      expect(runIds(await queue.claim({ owner: 'pi-2', leaseMs: LEASE }))).toEqual([run!.id]);
    });

    it('recovers expired leases, naming their runs', async () => {
      const [a, b] = await queued('a', 'b');
      await queue.claim({ owner: 'dead', leaseMs: 1_000 });
      await queue.claim({ owner: 'alive', leaseMs: LEASE });
      expect(await queue.recoverExpired()).toEqual([]);
      await subject.clock.advance(1_000);
      expect(await queue.recoverExpired()).toEqual([a!.id]);
      expect(await queue.extend(a!.id, 'dead', LEASE)).toBe(false);
      expect(runIds(await queue.claim({ owner: 'alive', leaseMs: LEASE, limit: 5 }))).toEqual([a!.id]);
      expect(await queue.complete(b!.id, 'alive')).toBe(true);
    });

    it('complete takes a run out of the queue for good', async () => {
      const [a, b] = await queued('a', 'a');
      await queue.claim({ owner: 'w', leaseMs: LEASE });
      expect(await queue.complete(a!.id, 'w')).toBe(true);
      expect(await queue.complete(a!.id, 'w')).toBe(false);
      await subject.clock.advance(2 * LEASE);
      expect(runIds(await queue.claim({ owner: 'w', leaseMs: LEASE, limit: 5 }))).toEqual([b!.id]);
      expect(await queue.size()).toBe(1);
    });

    it('delay puts a run back, claimable from its not-before time on', async () => {
      const [a, b] = await queued('a', 'a');
      await queue.claim({ owner: 'w', leaseMs: LEASE });
      const at = subject.clock.now() + 5_000;
      expect(await queue.delay(a!.id, 'w', at)).toBe(true);
      expect(runIds(await queue.claim({ owner: 'w', leaseMs: LEASE }))).toEqual([b!.id]);
      await subject.clock.advance(4_999);
      expect(await queue.claim({ owner: 'other', leaseMs: LEASE })).toEqual([]);
      await subject.clock.advance(1);
      expect(runIds(await queue.claim({ owner: 'other', leaseMs: LEASE }))).toEqual([a!.id]);
    });

    it('claims one given run (a cancel) only while it is queued and free', async () => {
      const [a, b] = await queued('a', 'a');
      expect(await queue.claimRun(a!.id, 'canceller', LEASE)).toMatchObject({ runId: a!.id, owner: 'canceller' });
      expect(await queue.claimRun(a!.id, 'pool', LEASE)).toBeUndefined();
      expect(runIds(await queue.claim({ owner: 'pool', leaseMs: LEASE, limit: 5 }))).toEqual([b!.id]);
      expect(await queue.claimRun('r_unknown', 'pool', LEASE)).toBeUndefined();
    });

    it('enqueues a run once however often it is enqueued, and only a run stored as queued', async () => {
      const [a] = await queued('a');
      await queue.enqueue({ runId: a!.id, job: 'a' });
      expect(await queue.size()).toBe(1);
      const stray = factory.run('a');
      await expect(queue.enqueue({ runId: stray.id, job: 'a' })).rejects.toBeInstanceOf(ConflictError);
      const started = factory.run('a');
      await runs.insert(started);
      startRun(started, subject.clock.now());
      await runs.save(started, 'started');
      await expect(queue.enqueue({ runId: started.id, job: 'a' })).rejects.toBeInstanceOf(ConflictError);
    });

    it('never hands out a run that left `queued` without the queue (cancelled or finished elsewhere)', async () => {
      const [a, b] = await queued('a', 'a');
      await runs.save(finished(a!, 'cancelled'), 'finished');
      expect(runIds(await queue.claim({ owner: 'w', leaseMs: LEASE, limit: 5 }))).toEqual([b!.id]);
    });

    if (options.durable) {
      it('after a reopen, holds every run stored as queued, oldest first, with no lease', async () => {
        const [a, b, c] = await queued('a', 'b', 'a');
        await queue.claim({ owner: 'gone', leaseMs: LEASE });
        await runs.save(finished(b!, 'succeeded'), 'finished');
        ({ queue, runs } = await subject.reopen!());
        expect(runIds(await queue.claim({ owner: 'new', leaseMs: LEASE, limit: 5 }))).toEqual([a!.id, c!.id]);
      });
    }
  });
}
