import type { Clock } from '../core/clock.js';
import { ConflictError } from '../core/errors.js';

/** A queued run as the queue knows it. */
export interface QueueEntry {
  runId: string;
  job: string;
}

/** A run handed to one claimer until `leaseUntil` (epoch ms), unless extended. */
export interface QueueClaim extends QueueEntry {
  owner: string;
  leaseUntil: number;
}

export interface ClaimRequest {
  /** Who claims (one worker pool: a process, later one Pi). */
  owner: string;
  leaseMs: number;
  /** Only runs of these jobs (a pool's jobs, minus those it may not start now). */
  jobs?: readonly string[];
  /** No runs of these jobs (with `jobs` absent: runs of jobs the claimer does not know). */
  excludeJobs?: readonly string[];
  /** Not these runs (runs the claimer holds back, e.g. recovered runs whose recovery is not on disk yet). */
  excludeRuns?: readonly string[];
  /** At most this many runs (default 1). */
  limit?: number;
}

/**
 * The run queue port: runs waiting for a pool slot. A worker pool is a
 * consumer: it claims the oldest runs its free slots can take, holds them
 * under a lease while they run, and completes them (or delays them back
 * into the queue). Command-shaped, so a database backend does each call in
 * one statement (claim: `SELECT … ORDER BY id LIMIT $n FOR UPDATE SKIP
 * LOCKED`, then set owner and lease_until); nothing assumes that the queue is
 * in local memory. Conformance suite: src/runs/run-queue-conformance.ts.
 *
 * Rules every implementation keeps:
 *  - a run is enqueued only once it is stored with status `queued`;
 *    enqueueing it again is harmless (no second entry; a lease is released);
 *  - claims come oldest first (run ids sort by creation time), skip runs
 *    whose not-before time is in the future, and never hand one run to two
 *    claimers while its lease holds;
 *  - a lease that expired is free again: the next claim (any owner) takes
 *    the run; the old holder's extend / complete / delay then return false;
 *  - an entry whose run is no longer `queued` in the repository (cancelled,
 *    finished elsewhere) is never claimed.
 *
 * The in-process implementation (inProcessQueue, used by the file and
 * memory stores) lives over the store's state: the queued runs are the
 * durable part (after a reopen the queue holds every run stored as
 * `queued`, oldest first); leases and not-before times are in memory,
 * since one process is the only claimer.
 */
export interface RunQueue {
  enqueue(entry: QueueEntry): Promise<void>;
  claim(request: ClaimRequest): Promise<QueueClaim[]>;
  /** Claims one given run if it is queued and free now (a cancel takes a queued run this way); undefined otherwise. */
  claimRun(runId: string, owner: string, leaseMs: number): Promise<QueueClaim | undefined>;
  /** Extends a held lease to now + leaseMs; false when the lease was lost (expired and claimed by another, or completed). */
  extend(runId: string, owner: string, leaseMs: number): Promise<boolean>;
  /** The run left the queue (started and done, parked, or cancelled); false when `owner` no longer holds it. */
  complete(runId: string, owner: string): Promise<boolean>;
  /** Back to the queue, claimable from `notBefore` (epoch ms) on; false when `owner` no longer holds it. */
  delay(runId: string, owner: string, notBefore: number): Promise<boolean>;
  /** Releases every expired lease (their runs are claimable again) and returns those runs' ids: recovery of a dead claimer's runs. */
  recoverExpired(): Promise<string[]>;
  /** Runs in the queue, leased or not (for views). */
  size(): Promise<number>;
}

interface Slot {
  entry: QueueEntry;
  lease?: { owner: string; until: number };
  notBefore?: number;
}

/** What inProcessQueue needs of a store: its runs' statuses. */
export interface QueueState {
  /** Whether the run is stored with status `queued` now. */
  isQueued(runId: string): boolean;
  /** Every run stored as `queued` (the queue's contents at open). */
  queuedRuns(): QueueEntry[];
}

/**
 * The queue of an in-process store (file or memory). Entries are kept sorted
 * by run id; a claim scans from the oldest. The store's queued runs seed it
 * (lazily, on first use after open), so it survives a restart exactly as
 * durably as the runs' `queued` status does.
 */
export function inProcessQueue(state: QueueState, clock: Clock): RunQueue {
  const slots = new Map<string, Slot>();
  /** Run ids in the queue, oldest first (new runs almost always append). */
  const order: string[] = [];
  let seeded = false;

  const seed = (): void => {
    if (seeded) return;
    seeded = true;
    for (const entry of state.queuedRuns()) add(entry);
  };
  const add = (entry: QueueEntry): Slot => {
    const existing = slots.get(entry.runId);
    if (existing) return existing;
    const slot: Slot = { entry: { runId: entry.runId, job: entry.job } };
    slots.set(entry.runId, slot);
    let at = order.length;
    while (at > 0 && order[at - 1]! > entry.runId) at--;
    order.splice(at, 0, entry.runId);
    return slot;
  };
  const remove = (runId: string): void => {
    if (!slots.delete(runId)) return;
    const at = order.indexOf(runId);
    if (at >= 0) order.splice(at, 1);
  };
  const free = (slot: Slot, now: number): boolean =>
    (!slot.lease || slot.lease.until <= now) && (slot.notBefore === undefined || slot.notBefore <= now);
  const held = (runId: string, owner: string, now: number): Slot | undefined => {
    const slot = slots.get(runId);
    return slot?.lease && slot.lease.owner === owner && slot.lease.until > now ? slot : undefined;
  };
  const take = (slot: Slot, owner: string, leaseMs: number, now: number): QueueClaim => {
    slot.lease = { owner, until: now + leaseMs };
    delete slot.notBefore;
    return { ...slot.entry, owner, leaseUntil: slot.lease.until };
  };

  return {
    async enqueue(entry) {
      seed();
      if (!state.isQueued(entry.runId)) throw new ConflictError(`run ${entry.runId} is not stored as queued; it cannot be enqueued`);
      const slot = add(entry);
      delete slot.lease;
      delete slot.notBefore;
    },
    async claim(request) {
      seed();
      const now = clock.now();
      const limit = request.limit ?? 1;
      const only = request.jobs ? new Set(request.jobs) : undefined;
      const except = request.excludeJobs ? new Set(request.excludeJobs) : undefined;
      const skipRuns = request.excludeRuns?.length ? new Set(request.excludeRuns) : undefined;
      const claims: QueueClaim[] = [];
      for (let i = 0; i < order.length && claims.length < limit; ) {
        const runId = order[i]!;
        const slot = slots.get(runId)!;
        const leased = slot.lease !== undefined && slot.lease.until > now;
        if (!leased && !state.isQueued(runId)) {
          // Cancelled or finished without the queue: it leaves. (A leased run is its holder's to complete.)
          remove(runId);
          continue;
        }
        i++;
        const job = slot.entry.job;
        if ((only && !only.has(job)) || except?.has(job) || skipRuns?.has(runId) || !free(slot, now)) continue;
        claims.push(take(slot, request.owner, request.leaseMs, now));
      }
      return claims;
    },
    async claimRun(runId, owner, leaseMs) {
      seed();
      const slot = slots.get(runId);
      const now = clock.now();
      if (!slot || !state.isQueued(runId) || (slot.lease && slot.lease.until > now)) return undefined;
      return take(slot, owner, leaseMs, now);
    },
    async extend(runId, owner, leaseMs) {
      const now = clock.now();
      const slot = held(runId, owner, now);
      if (!slot) return false;
      slot.lease!.until = now + leaseMs;
      return true;
    },
    async complete(runId, owner) {
      if (!held(runId, owner, clock.now())) return false;
      remove(runId);
      return true;
    },
    async delay(runId, owner, notBefore) {
      const slot = held(runId, owner, clock.now());
      if (!slot) return false;
      delete slot.lease;
      slot.notBefore = notBefore;
      return true;
    },
    async recoverExpired() {
      seed();
      const now = clock.now();
      const released: string[] = [];
      for (const runId of order) {
        const slot = slots.get(runId)!;
        if (slot.lease && slot.lease.until <= now) {
          delete slot.lease;
          released.push(runId);
        }
      }
      return released;
    },
    async size() {
      seed();
      return slots.size;
    },
  };
}
