import { mkdir } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { Low } from 'lowdb';
import { fsyncDirectory } from '../core/atomic-file.js';
import type { Clock, Timer } from '../core/clock.js';
import { ConflictError, NotFoundError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import { HistoryArchive, monthsForId } from './history-archive.js';
import { isFinished } from './model.js';
import type { Run, RunPage, RunQuery, ScheduleState } from './model.js';
import { cloneDefined, cloneJson, normalizeQuery, toPage } from './run-query.js';
import { applyRunDelta, copyRun, runDelta } from './run-delta.js';
import { describeRunProblem, describeStateProblem, emptyStateDocument, migrateRun, RunState, withDerivedDefaults } from './run-state.js';
import type { StateDocument } from './run-state.js';
import type { RunStore } from './store.js';
import { inProcessLedger } from './schedule-ledger.js';
import type { ScheduleLedger } from './schedule-ledger.js';
import { inProcessRepository } from './run-repository.js';
import type { RunRepository } from './run-repository.js';
import { inProcessQueue } from './run-queue.js';
import type { RunQueue } from './run-queue.js';
import { AtomicJsonFile, keepCopyAs, loadStateWithRecovery } from './state-file.js';
import type { LoadedState } from './state-file.js';
import { readWal, WalWriter } from './wal.js';
import type { WalContents, WalRecord } from './wal.js';

export interface FileRunStoreOptions {
  dataDir: string;
  clock: Clock;
  logger: Logger;
  /**
   * Finished runs kept per job in state.json; older ones move to history/, in groups of a tenth of keepPerJob
   * (state may hold that many more between moves).
   */
  keepPerJob?: number;
  /**
   * Finished runs kept in state.json (and so in memory) in all, whatever the number of jobs: beyond it the
   * oldest move to history/ too, except each job's newest finished run. Queries answer the same either way
   * (history/ is indexed); this bounds memory and checkpoint size at 1,000 jobs × keepPerJob. Trimmed in steps
   * of a twentieth: between trims state may hold up to 5 % more.
   */
  maxFinishedRuns?: number;
  /** Longest a change from updateRun / setSchedule / setMeta waits before it is written. */
  flushIntervalMs?: number;
  /** state.wal size that triggers a checkpoint (state.json rewrite + WAL reset). */
  checkpointBytes?: number;
}

export interface FileRunStoreStats {
  /** Batches appended to state.wal; each is one write and one fsync. */
  walSyncs: number;
  /** Size of the current state.wal. */
  walBytes: number;
  /** Bytes appended to state.wal since the store opened (all generations). */
  walBytesWritten: number;
  checkpoints: number;
  archivedRuns: number;
  historySyncs: number;
  historyFilesRead: number;
}

/** A change waiting to be appended; its content is read from state when the batch is written. */
type PendingRecord =
  | { t: 'run'; id: string; archived?: Run }
  | { t: 'sched'; job: string }
  | { t: 'meta'; key: string }
  | { t: 'archive'; ids: string[] };

interface Waiter {
  resolve(): void;
  reject(error: unknown): void;
  /** The run this caller inserted: if its batch is not written, the insert is undone. */
  insert?: string;
}

type Phase = 'new' | 'opening' | 'open' | 'closing' | 'closed';

const WRITE_RETRY_MS = 5_000;
/** ~600 B of heap per run: ~1.2 MB; 10 jobs × 50 kept runs stay well under it. */
export const DEFAULT_MAX_FINISHED_RUNS = 2_000;

/**
 * The durable run store on the SD card, built to write little and to come
 * back from a pulled plug:
 *
 *  - state.json (lowdb, atomic writes, previous version kept as .bak) holds
 *    schedules, meta, active runs and the newest `keepPerJob` finished runs
 *    per job. It is rewritten only at checkpoints.
 *  - state.wal gets every change in between as one JSON line. insertRun
 *    waits for its fsync, with group commit: inserts that arrive while an
 *    fsync is in flight share the next one. Other changes are coalesced and
 *    written at most `flushIntervalMs` later (or on flush()).
 *  - history/ receives finished runs beyond `keepPerJob`, appended and
 *    fsynced before they leave state, so state.json stays small for years.
 *  - state.wal.prev is the WAL generation before the current one: it leads
 *    from state.json.bak to state.json, so a damaged state.json is recovered
 *    from the .bak without losing anything acknowledged (see checkpoint).
 *
 * insertRun is all or nothing: if its batch cannot be written (a full SD
 * card), the run is removed again and nothing of it stays on disk, so a run
 * refused to the caller never runs later.
 */
export class FileRunStore implements RunStore {
  private readonly keepPerJob: number;
  private readonly maxFinishedRuns: number;
  private readonly flushIntervalMs: number;
  private readonly checkpointBytes: number;
  private readonly logger: Logger;
  private readonly paths: { state: string; backup: string; wal: string; walPrev: string; history: string };
  private readonly db: Low<StateDocument>;
  private readonly wal: WalWriter;
  private readonly archive: HistoryArchive;

  private state = new RunState();
  private phase: Phase = 'new';
  private opening: Promise<void> | undefined;
  private closing: Promise<void> | undefined;

  private readonly pending = new Map<string, PendingRecord>();
  private waiters: Waiter[] = [];
  /**
   * Runs inserted whose insert is not on disk yet. They are in memory (so the
   * batch can serialise them) but not acknowledged: a checkpoint leaves them
   * out, and a failed batch removes them (see refuseInserts).
   */
  private readonly uncommitted = new Set<string>();
  /** Jobs that finished a run since the last archival pass. */
  private readonly jobsToArchive = new Set<string>();
  private writer: Promise<void> | undefined;
  /** The pass moving finished runs beyond keepPerJob to history/, beside the writer (see startArchiver). */
  private archiver: Promise<void> | undefined;
  private flushTimer: Timer | undefined;
  /** A checkpoint half-failed (state.json written, WAL not reset): appending to the old WAL would be lost. */
  private checkpointOwed = false;
  private archiveSeq = 0;
  /** Jobs known to have no succeeded run anywhere, so lastSuccess does not search history on every call. */
  private readonly jobsWithoutSuccess = new Set<string>();
  /** Per job, its last success once it had to be read back from history/ (one run per job at most). */
  private readonly archivedSuccesses = new Map<string, Run>();
  /**
   * Per run, the version its last line in the current state.wal carried and that line's number there: the next
   * change is written as a delta against it (see wal.ts). Cleared at each checkpoint (a new file starts with full
   * lines) and when a run leaves state for history/.
   */
  private readonly walBases = new Map<string, { run: Run; n: number }>();
  /** Goes up at each checkpoint: a batch serialised before one does not set bases for the new file. */
  private walEpoch = 0;
  private readonly counters = { walSyncs: 0, walBytesWritten: 0, checkpoints: 0, archivedRuns: 0, historySyncs: 0 };

  constructor(private readonly options: FileRunStoreOptions) {
    this.keepPerJob = options.keepPerJob ?? 50;
    this.maxFinishedRuns = options.maxFinishedRuns ?? DEFAULT_MAX_FINISHED_RUNS;
    this.flushIntervalMs = options.flushIntervalMs ?? 200;
    this.checkpointBytes = options.checkpointBytes ?? 2 * 1024 * 1024;
    if (!Number.isInteger(this.keepPerJob) || this.keepPerJob < 1) {
      throw new RangeError(`keepPerJob must be a whole number of at least 1, got ${this.keepPerJob}`);
    }
    if (!Number.isInteger(this.maxFinishedRuns) || this.maxFinishedRuns < 0) {
      throw new RangeError(`maxFinishedRuns must be a whole number, got ${this.maxFinishedRuns}`);
    }
    this.logger = options.logger.child({ component: 'run-store' });
    const dir = options.dataDir;
    this.paths = {
      state: join(dir, 'state.json'),
      backup: join(dir, 'state.json.bak'),
      wal: join(dir, 'state.wal'),
      walPrev: join(dir, 'state.wal.prev'),
      history: join(dir, 'history'),
    };
    const stateFile = new AtomicJsonFile<StateDocument>({
      path: this.paths.state,
      backupPath: this.paths.backup,
      validate: describeStateProblem,
    });
    this.db = new Low(stateFile, emptyStateDocument());
    this.wal = new WalWriter(this.paths.wal, (bytes) => {
      this.counters.walSyncs++;
      this.counters.walBytesWritten += bytes;
    });
    this.archive = new HistoryArchive({
      dir: this.paths.history,
      logger: this.logger,
      onSync: () => this.counters.historySyncs++,
    });
  }

  open(): Promise<void> {
    if (this.phase !== 'new') return Promise.reject(new ConflictError(`run store cannot be opened: it is ${this.phase}`));
    this.phase = 'opening';
    this.opening = this.load().then(
      () => {
        this.phase = 'open';
      },
      async (error: unknown) => {
        this.phase = 'closed';
        await this.wal.close().catch(() => {});
        throw error;
      },
    );
    return this.opening;
  }

  private async load(): Promise<void> {
    await mkdir(this.options.dataDir, { recursive: true });
    const loaded = await loadStateWithRecovery({
      db: this.db,
      backup: new AtomicJsonFile<StateDocument>({ path: this.paths.backup, validate: describeStateProblem }),
      paths: this.paths,
      clock: this.options.clock,
      logger: this.logger,
    });
    this.state = new RunState(withDerivedDefaults(loaded.doc));
    const baseGeneration = this.state.doc.walGeneration;
    const wal = await readWal(this.paths.wal);
    const previous = await readWal(this.paths.walPrev);
    const replayed = this.replay({ current: wal, previous }, loaded);
    await this.archive.open();
    const walIsClean = wal.tornTail === 0 && wal.damagedLines.length === 0;
    if (replayed || !walIsClean || loaded.source !== 'state' || wal.generation !== baseGeneration) {
      // Fold what was replayed into state.json and start a clean WAL (this also drops a torn tail).
      await this.checkpointAtOpen(loaded.source !== 'state');
    } else {
      await this.wal.openExisting();
    }
    for (const job of this.state.jobs()) this.jobsToArchive.add(job);
    this.scheduleFlush();
    this.logger.info('run store open', {
      dataDir: this.options.dataDir,
      runs: this.state.size,
      active: this.state.activeRuns().length,
      source: loaded.source,
    });
  }

  /** Flushes, checkpoints and releases files; safe to call twice, and tries every step even if one fails. */
  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  /** Makes every change so far durable, and moves the runs beyond keepPerJob to history/. */
  async flush(): Promise<void> {
    if (this.phase !== 'open' && this.phase !== 'closing') return;
    await this.commit();
    await this.archiverIdle();
    // The archive records the pass left (runs that moved to history/ leave state.wal's replay too).
    await this.commit();
  }

  /** Makes every change so far durable: a saved run's WAL batch, without waiting for the move to history/. */
  private durable(): Promise<void> {
    if (this.phase !== 'open' && this.phase !== 'closing') return Promise.resolve();
    return this.commit();
  }

  async insertRun(run: Run): Promise<void> {
    this.assertOpen();
    if (this.state.has(run.id)) throw new ConflictError(`run ${run.id} already exists`);
    this.applyRun(run);
    this.uncommitted.add(run.id);
    await this.commit(run.id);
  }

  updateRun(run: Run): void {
    this.assertOpen();
    if (!this.state.has(run.id)) throw new NotFoundError('run', run.id);
    this.applyRun(run);
    this.scheduleFlush();
  }

  async getRun(id: string): Promise<Run | undefined> {
    const run = this.state.get(id);
    if (run) return copyRun(run);
    return this.archive.find(id);
  }

  async listRuns(query: RunQuery): Promise<RunPage> {
    const normalized = normalizeQuery(query);
    const want = normalized.limit + 1;
    const candidates = new Map<string, Run>();
    for (const run of this.state.matching(normalized, want)) candidates.set(run.id, copyRun(run));
    await this.archive.collectNewest(normalized, want, candidates, (id) => this.state.has(id));
    return toPage([...candidates.values()], normalized.limit);
  }

  activeRuns(): Run[] {
    return this.state.activeRuns().map(copyRun);
  }

  async lastSuccess(job: string): Promise<Run | undefined> {
    const ref = this.state.lastSuccessRef(job);
    if (ref) {
      const run = await this.findSuccess(job, ref.id);
      if (run) return run;
    }
    if (this.jobsWithoutSuccess.has(job)) return undefined;
    // No remembered success (state recovered from a backup, or it was reset): search state, then history.
    const [newest] = (await this.listRuns({ job, status: 'succeeded', limit: 1 })).runs;
    const current = this.state.lastSuccessRef(job);
    if (newest && (!current || newest.id > current.id)) this.state.rememberSuccess(newest);
    if (!newest && !current) this.jobsWithoutSuccess.add(job);
    return newest;
  }

  /** The remembered success: from state, else from history (read once, then kept in memory). */
  private async findSuccess(job: string, id: string): Promise<Run | undefined> {
    const inState = this.state.get(id);
    if (inState) return inState.status === 'succeeded' ? copyRun(inState) : undefined;
    const known = this.archivedSuccesses.get(job);
    if (known?.id === id) return copyRun(known);
    const archived = await this.archive.find(id);
    if (archived?.status !== 'succeeded') return undefined;
    this.archivedSuccesses.set(job, archived);
    return copyRun(archived);
  }

  async pruneHistory(before: number): Promise<string[]> {
    this.assertOpen();
    const keep = new Set(this.state.lastSuccessRefs().flatMap((ref) => monthsForId(ref.id)));
    return this.archive.pruneBefore(before, keep);
  }

  lastRun(job: string): Run | undefined {
    const run = this.state.latestRun(job);
    return run && copyRun(run);
  }

  /**
   * The run repository over this store's runs (saves are group-committed
   * like updateRun + flush). A durable save waits for its WAL batch only:
   * moving older runs to history/ (another append and fsync) goes on beside
   * it instead of before it.
   */
  readonly runs: RunRepository = inProcessRepository({
    insertRun: (run) => this.insertRun(run),
    updateRun: (run) => this.updateRun(run),
    getRun: (id) => this.getRun(id),
    listRuns: (query) => this.listRuns(query),
    activeRuns: () => this.activeRuns(),
    lastRun: (job) => this.lastRun(job),
    lastSuccess: (job) => this.lastSuccess(job),
    flush: () => this.durable(),
  });

  /**
   * The run queue over this store's queued runs: their `queued` status in
   * state is the durable part (a reopen finds them again, oldest first); a
   * run whose insert is not on disk yet is not claimable. Leases and
   * not-before times are in memory (one process claims).
   */
  readonly queue: RunQueue = inProcessQueue(
    {
      isQueued: (id) => this.state.get(id)?.status === 'queued' && !this.uncommitted.has(id),
      queuedRuns: () =>
        this.state.activeRuns().filter((run) => run.status === 'queued' && !this.uncommitted.has(run.id)).map((run) => ({ runId: run.id, job: run.job })),
    },
    { now: () => this.options.clock.now(), setTimer: (ms, fn) => this.options.clock.setTimer(ms, fn) },
  );

  /** The schedule ledger over this store's schedule state (changes go out as the usual `sched` records). */
  readonly schedules: ScheduleLedger = inProcessLedger(this);

  getSchedule(job: string): ScheduleState | undefined {
    return cloneDefined(this.state.getSchedule(job));
  }

  setSchedule(job: string, state: ScheduleState): void {
    this.assertOpen();
    this.state.setSchedule(job, cloneJson(state));
    this.enqueue(`sched:${job}`, { t: 'sched', job });
    this.scheduleFlush();
  }

  getMeta<T>(key: string): T | undefined {
    return cloneDefined(this.state.getMeta(key) as T | undefined);
  }

  metaKeys(prefix: string): string[] {
    return this.state.metaKeys(prefix);
  }

  setMeta(key: string, value: unknown): void {
    this.assertOpen();
    this.state.setMeta(key, cloneDefined(value));
    this.enqueue(`meta:${key}`, { t: 'meta', key });
    this.scheduleFlush();
  }

  stats(): FileRunStoreStats {
    return { ...this.counters, walBytes: this.wal.bytes, historyFilesRead: this.archive.filesRead };
  }

  private assertOpen(): void {
    if (this.phase !== 'open') throw new ConflictError(`run store is ${this.phase === 'new' ? 'not open' : this.phase}`);
  }

  /** Stores a private copy of `given` (runs in state are never changed in place: a WAL base may be the same object). */
  private applyRun(given: Run): void {
    const run = copyRun(given);
    this.state.put(run);
    this.enqueue(`run:${run.id}`, { t: 'run', id: run.id });
    if (isFinished(run)) this.jobsToArchive.add(run.job);
    if (run.status === 'succeeded') this.jobsWithoutSuccess.delete(run.job);
  }

  /** Re-adding moves the key to the end, so the batch keeps the order changes last happened in. */
  private enqueue(key: string, record: PendingRecord): void {
    this.pending.delete(key);
    this.pending.set(key, record);
  }

  private scheduleFlush(delayMs = this.flushIntervalMs): void {
    if (this.flushTimer) return;
    this.flushTimer = this.options.clock.setTimer(delayMs, () => {
      this.flushTimer = undefined;
      this.startWriter();
    });
  }

  /** Resolves once everything changed so far is on disk; `insert` names the run the caller inserted. */
  private commit(insert?: string): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.waiters.push(insert === undefined ? { resolve, reject } : { resolve, reject, insert });
      this.startWriter();
    });
  }

  private startWriter(): void {
    if (this.writer) return;
    this.writer = this.writeLoop()
      .catch((error: unknown) => this.logger.error('run store writer failed', { error }))
      .finally(() => {
        this.writer = undefined;
        // Work that arrived between the loop's last check and now.
        if (this.waiters.length > 0) this.startWriter();
      });
  }

  /**
   * The only code that appends to state.wal. Each turn takes everything
   * pending (changes and the callers waiting for them) and writes it with one
   * write + fsync; callers arriving during that fsync form the next batch.
   */
  private async writeLoop(): Promise<void> {
    // Let callers in the same tick (e.g. Promise.all of inserts) join the first batch.
    await Promise.resolve();
    this.startArchiver();
    // Callers waiting for durability keep the loop going. Changes nobody waits for that arrive during the last
    // fsync (an archive record, a pid) wait for the flush timer or the next durable change instead of costing an
    // fsync of their own: that is what flushIntervalMs allows them.
    let first = true;
    while (this.waiters.length > 0 || (first && this.pending.size > 0)) {
      first = false;
      this.startArchiver();
      const records = [...this.pending.values()];
      this.pending.clear();
      const waiters = this.waiters.splice(0);
      try {
        if (this.checkpointOwed || this.wal.needsReset || !this.wal.isOpen) await this.checkpoint();
        const epoch = this.walEpoch;
        const bases: BaseChange[] = [];
        await this.wal.append(records.flatMap((record) => this.serialize(record, bases)));
        // Only lines on disk are bases for the next delta (a refused batch is serialised again, from the old ones).
        if (epoch === this.walEpoch) this.applyBaseChanges(bases);
      } catch (error) {
        // The inserts of this batch are refused: they leave memory and are not retried.
        const refused = this.refuseInserts(waiters);
        this.requeue(records.filter((record) => !(record.t === 'run' && refused.has(record.id))));
        this.logger.error(
          refused.size > 0
            ? `could not write state.wal; refused ${refused.size} new run(s), other changes will be retried`
            : 'could not write state.wal; will retry',
          { error, refusedRuns: refused.size },
        );
        for (const waiter of waiters) waiter.reject(error);
        // A full or failing SD card: retry, but not so often that the log fills up.
        this.scheduleFlush(Math.max(this.flushIntervalMs, WRITE_RETRY_MS));
        return;
      }
      for (const waiter of waiters) {
        if (waiter.insert !== undefined) this.uncommitted.delete(waiter.insert);
        waiter.resolve();
      }
      if (this.wal.bytes > this.checkpointBytes) await this.checkpointQuietly();
    }
    if (this.pending.size > 0) this.scheduleFlush();
  }

  /** The record's WAL line(s); `bases` gets what the walBases become once they are written. */
  private serialize(record: PendingRecord, bases: BaseChange[]): string[] {
    let line: WalRecord | undefined;
    switch (record.t) {
      case 'run': {
        const run = record.archived ?? this.state.get(record.id);
        if (!run) break;
        const base = this.walBases.get(run.id);
        if (!base) {
          bases.push({ id: run.id, run, n: 1 });
          line = { t: 'run', run };
          break;
        }
        const delta = runDelta(base.run, run);
        // Saved without a change since its last line: nothing to write.
        if (!delta) return [];
        bases.push({ id: run.id, run, n: base.n + 1 });
        line = { t: 'upd', id: run.id, n: base.n + 1, ...delta };
        break;
      }
      case 'sched': {
        const state = this.state.getSchedule(record.job);
        line = state && { t: 'sched', job: record.job, state };
        break;
      }
      case 'meta':
        line = { t: 'meta', key: record.key, value: this.state.getMeta(record.key) };
        break;
      case 'archive':
        for (const id of record.ids) bases.push({ id });
        line = { t: 'archive', ids: record.ids };
        break;
    }
    return line ? [JSON.stringify(line)] : [];
  }

  private applyBaseChanges(changes: BaseChange[]): void {
    for (const change of changes) {
      if (change.run) this.walBases.set(change.id, { run: change.run, n: change.n });
      else this.walBases.delete(change.id);
    }
  }

  /**
   * Undoes the inserts whose batch failed: the run leaves state, and any
   * change made to it since is dropped too, so no later write can bring it
   * back. Returns their ids.
   */
  private refuseInserts(waiters: Waiter[]): Set<string> {
    const refused = new Set<string>();
    for (const waiter of waiters) {
      const id = waiter.insert;
      if (id === undefined || !this.uncommitted.delete(id)) continue;
      refused.add(id);
      this.state.remove(id);
      this.pending.delete(`run:${id}`);
    }
    return refused;
  }

  /** Puts records from a failed write back in front of anything newer. */
  private requeue(records: PendingRecord[]): void {
    const newer = [...this.pending];
    this.pending.clear();
    for (const record of records) this.pending.set(recordKey(record), record);
    for (const [key, record] of newer) this.enqueue(key, record);
  }

  /**
   * Runs archiveExcessRuns until no job waits for it, beside the writer: the
   * history append and its fsync do not delay the WAL batches (the callers
   * waiting for a durable save). The `archive` records it leaves ride on the
   * next batch; until they are written a replay keeps the runs in state, and
   * history/ may then get them twice, which its readers allow for.
   */
  private startArchiver(): void {
    if (this.archiver || this.jobsToArchive.size === 0) return;
    this.archiver = (async () => {
      while (this.jobsToArchive.size > 0 && this.phase !== 'closed') await this.archiveExcessRuns();
    })()
      .catch((error: unknown) => this.logger.error('moving runs to history/ failed', { error }))
      .finally(() => {
        this.archiver = undefined;
        if (this.pending.size > 0 && this.phase === 'open') this.scheduleFlush();
      });
  }

  private async archiverIdle(): Promise<void> {
    this.startArchiver();
    while (this.archiver) await this.archiver;
  }

  /**
   * Moves finished runs beyond `keepPerJob` (oldest first) to history/. They
   * leave state only after the history append is fsynced, and only if they
   * did not change meanwhile; the `archive` record that tells a replay to
   * drop them goes into the WAL after their last `run` record.
   */
  private async archiveExcessRuns(): Promise<void> {
    const jobs = [...this.jobsToArchive];
    this.jobsToArchive.clear();
    const excess = jobs.flatMap((job) => {
      const finished = this.state.finishedRuns(job);
      const over = finished.length - this.keepPerJob;
      // Moved in groups of a tenth of keepPerJob (6 runs at a time at 50): a job running one run at a time pays a
      // history append, its fsync and its dirtied page for every sixth run, not for each (state holds up to 10 % more).
      return over > Math.floor(this.keepPerJob / 10) ? finished.slice(0, over) : [];
    });
    excess.push(...this.excessOverall(excess));
    if (excess.length === 0) return;
    try {
      await this.archive.append(excess);
    } catch (error) {
      this.logger.error('could not append to history/; the runs stay in state.json for now', { error });
      return;
    }
    const moved = excess.filter((run) => this.state.get(run.id) === run);
    for (const run of moved) {
      this.state.remove(run.id);
      const pendingRun = this.pending.get(`run:${run.id}`);
      // Its last change is not in the WAL yet: write that version, not nothing.
      if (pendingRun?.t === 'run') pendingRun.archived = run;
    }
    if (moved.length === 0) return;
    this.enqueue(`archive:${++this.archiveSeq}`, { t: 'archive', ids: moved.map((run) => run.id) });
    this.counters.archivedRuns += moved.length;
  }

  /**
   * Finished runs beyond maxFinishedRuns in all, once `leaving` of them are archived by job: the oldest first,
   * never a job's newest finished run (lastRun and the job's page read it from state). Not the same runs as
   * the per-job excess: that takes each job's oldest, and these are older than every run that stays.
   */
  private excessOverall(leaving: readonly Run[]): Run[] {
    const kept = this.state.finishedCount - leaving.length;
    // Trimmed in steps of a twentieth of the cap: finding the oldest sorts every finished run in state (~60 µs at
    // 2,000, a fifth of a no-op run's CPU when it happened for every run), so state holds up to 5 % more between trims.
    if (kept <= this.maxFinishedRuns + Math.floor(this.maxFinishedRuns / 20)) return [];
    const over = kept - this.maxFinishedRuns;
    const going = new Set(leaving.map((run) => run.id));
    const finished = this.state.finishedRunsOverall();
    const newestOfJob = new Set<string>();
    const seen = new Set<string>();
    for (let i = finished.length - 1; i >= 0; i--) {
      const run = finished[i]!;
      if (seen.has(run.job)) continue;
      seen.add(run.job);
      newestOfJob.add(run.id);
    }
    const chosen: Run[] = [];
    for (const run of finished) {
      if (chosen.length >= over) break;
      if (!newestOfJob.has(run.id) && !going.has(run.id)) chosen.push(run);
    }
    return chosen;
  }

  /**
   * Moves from generation N to N+1. Before: state.json (N), .bak (N-1),
   * state.wal (N), state.wal.prev (N-1). Steps, and what a power cut after
   * each one leaves (open() picks WAL files by the generation in their
   * header, never by name, and replays every one from the state's generation
   * up, in order):
   *
   *  A. state.json is linked as .bak (N). Loading state.json (N) replays
   *     state.wal (N); from .bak (N), the same. Nothing lost.
   *  B. state.json (N+1) is written atomically (temp, fsync, rename, fsync
   *     dir; this also makes A durable). It already holds all of WAL N, so
   *     state.wal (N) is ignored; from .bak (N), state.wal (N) is replayed.
   *  C. state.wal is linked as state.wal.prev (N), then the directory is
   *     fsynced, so C is on disk before D can be. Both WAL names now hold
   *     generation N: same file, replayed once.
   *  D. state.wal is replaced atomically by an empty N+1 WAL. From .bak (N):
   *     state.wal.prev (N), then state.wal (N+1). Nothing lost.
   *
   * If A did not reach the disk but B did, .bak is N-1 and state.wal.prev is
   * still N-1 (C comes after B), and state.wal is N: the chain is complete
   * again. Runs inserted but not yet acknowledged are left out of the
   * snapshot: their insert may still be refused.
   */
  private async checkpoint(): Promise<void> {
    // The next file starts with a full line per run (a full line is right whichever file it lands in).
    this.walBases.clear();
    this.walEpoch++;
    const generation = this.state.doc.walGeneration + 1;
    this.state.doc.walGeneration = generation;
    this.db.data = this.snapshot();
    this.checkpointOwed = true;
    await this.db.write();
    if (await keepCopyAs(this.paths.wal, this.paths.walPrev)) await fsyncDirectory(this.options.dataDir);
    await this.wal.reset(generation);
    this.checkpointOwed = false;
    this.counters.checkpoints++;
  }

  /** The state to write at a checkpoint: everything but runs whose insert is not acknowledged yet. */
  private snapshot(): StateDocument {
    if (this.uncommitted.size === 0) return this.state.doc;
    const runs: Record<string, Run> = {};
    for (const [id, run] of Object.entries(this.state.doc.runs)) if (!this.uncommitted.has(id)) runs[id] = run;
    return { ...this.state.doc, runs };
  }

  /**
   * The checkpoint that folds a replay into state.json. After a recovery from
   * .bak it runs twice, so that .bak and state.wal.prev again lead to
   * state.json. On a full disk the store still opens, from memory: nothing
   * on disk was removed, and every write first retries the checkpoint, so
   * new runs are refused (and say why) until there is space again.
   */
  private async checkpointAtOpen(twice: boolean): Promise<void> {
    try {
      await this.checkpoint();
      if (twice) await this.checkpoint();
    } catch (error) {
      this.checkpointOwed = true;
      this.logger.error(
        'could not write the run state while opening (disk full?); running from memory, new runs are refused until it can be written',
        { error, dataDir: this.options.dataDir },
      );
    }
  }

  private async checkpointQuietly(): Promise<void> {
    try {
      await this.checkpoint();
    } catch (error) {
      this.logger.error('checkpoint failed; changes stay in state.wal', { error });
    }
  }

  /**
   * Applies the WAL generations that follow the loaded state, oldest first:
   * normally just state.wal; after a recovery from state.json.bak,
   * state.wal.prev and then state.wal. Files are chosen by the generation in
   * their header. Returns whether anything was applied.
   */
  private replay(wals: { current: WalContents; previous: WalContents }, loaded: LoadedState): boolean {
    const stateGeneration = loaded.doc.walGeneration;
    const files = [
      { file: this.paths.walPrev, contents: wals.previous },
      { file: this.paths.wal, contents: wals.current },
    ];
    const known = files.flatMap(({ contents }) => (contents.generation === undefined ? [] : [contents.generation]));
    // Later checkpoints must use generations above every WAL file on disk.
    this.state.doc.walGeneration = Math.max(stateGeneration, ...known);
    const toReplay = files.filter(({ file, contents }) => {
      if (contents.generation === undefined) return file === this.paths.wal && contents.records.length > 0;
      if (contents.generation >= stateGeneration) return true;
      if (file === this.paths.wal && contents.records.length > 0) {
        this.logger.info('state.wal predates the last checkpoint; ignoring it', {
          walGeneration: contents.generation,
          stateGeneration,
        });
      }
      return false;
    });
    // Both names can be the same file (a power cut between checkpoint steps C and D): replay it once.
    if (toReplay.length === 2 && toReplay[0]!.contents.generation === toReplay[1]!.contents.generation) toReplay.shift();
    toReplay.sort((a, b) => (a.contents.generation ?? Infinity) - (b.contents.generation ?? Infinity));
    const first = toReplay[0]?.contents.generation;
    if (toReplay.length > 0 && (first === undefined || first > stateGeneration)) {
      this.logger.warn('replaying a WAL onto an older state than it was written against; changes in between may be missing', {
        walGeneration: first,
        stateGeneration,
        source: loaded.source,
      });
    }
    let applied = 0;
    for (const { file, contents } of toReplay) {
      if (contents.tornTail > 0) {
        this.logger.warn(`ignored an incomplete last write in ${basename(file)} (power cut during an append?)`, {
          file,
          lines: contents.tornTail,
        });
      }
      if (contents.damagedLines.length > 0) {
        this.logger.error(`skipped damaged lines in ${basename(file)}`, { file, lines: contents.damagedLines });
      }
      const lineNumbers = new Map<string, number>();
      let skippedChanges = 0;
      for (const record of contents.records) if (!this.applyRecord(record, lineNumbers)) skippedChanges++;
      if (skippedChanges > 0) {
        this.logger.error(`skipped changes in ${basename(file)} to runs whose earlier line was damaged or missing; those runs are as their last readable line left them`, {
          file,
          records: skippedChanges,
        });
      }
      applied += contents.records.length;
      if (contents.records.length > 0) {
        this.logger.info(`replayed ${basename(file)}`, { file, generation: contents.generation, records: contents.records.length });
      }
    }
    // A torn or damaged current WAL that is not replayed is still reported.
    const current = wals.current;
    if (!toReplay.some(({ file }) => file === this.paths.wal) && (current.tornTail > 0 || current.damagedLines.length > 0)) {
      this.logger.warn('ignored an incomplete last write in state.wal (power cut during an append?)', {
        file: this.paths.wal,
        lines: current.tornTail,
        damagedLines: current.damagedLines,
      });
    }
    return applied > 0;
  }

  /** Applies one replayed record; false for a run's change that cannot be (its previous line in the file is missing). */
  private applyRecord(record: WalRecord, lineNumbers: Map<string, number>): boolean {
    switch (record.t) {
      case 'run':
        this.state.put(migrateRun(record.run));
        lineNumbers.set(record.run.id, 1);
        break;
      case 'upd': {
        const base = this.state.get(record.id);
        if (!base || lineNumbers.get(record.id) !== record.n - 1) return false;
        const run = migrateRun(applyRunDelta(base, record));
        if (describeRunProblem(run) !== undefined || run.id !== record.id) return false;
        this.state.put(run);
        lineNumbers.set(record.id, record.n);
        break;
      }
      case 'sched':
        this.state.setSchedule(record.job, record.state);
        break;
      case 'meta':
        this.state.setMeta(record.key, record.value);
        break;
      case 'archive':
        for (const id of record.ids) this.state.remove(id);
        break;
    }
    return true;
  }

  private async shutdown(): Promise<void> {
    await this.opening?.catch(() => {});
    if (this.phase !== 'open') {
      this.phase = 'closed';
      return;
    }
    this.phase = 'closing';
    this.flushTimer?.cancel();
    this.flushTimer = undefined;
    const failures: unknown[] = [];
    const attempt = async (step: () => Promise<void>) => {
      try {
        await step();
      } catch (error) {
        failures.push(error);
      }
    };
    // If the last WAL append fails, the checkpoint below still saves everything.
    await this.commit().catch((error: unknown) => this.logger.warn('final WAL append failed', { error }));
    await this.archiverIdle();
    await attempt(async () => {
      await this.writer;
      await this.checkpoint();
    });
    await attempt(() => this.archive.settled());
    await attempt(() => this.wal.close());
    this.phase = 'closed';
    if (failures.length > 0) {
      this.logger.error('run store did not close cleanly', { errors: failures });
      throw failures[0];
    }
  }
}

/** A run's WAL base after a batch: set to the version a line carried, or dropped (the run left state). */
type BaseChange = { id: string; run: Run; n: number } | { id: string; run?: undefined; n?: undefined };

function recordKey(record: PendingRecord): string {
  switch (record.t) {
    case 'run':
      return `run:${record.id}`;
    case 'sched':
      return `sched:${record.job}`;
    case 'meta':
      return `meta:${record.key}`;
    case 'archive':
      return `archive:${record.ids.join(',')}`;
  }
}
