import type { Clock } from '../../core/clock.js';
import { abortError, LongPauseError } from '../../core/errors.js';
import { GmailRateLimitError, HistoryGoneError, MessageGoneError, type GmailApi, type GmailCosts, type HistoryPage, type RawMessage } from './api.js';
import { MailStore, applyRecord, type BackupState, type IndexEntry, type IndexRecord } from './mail-store.js';
import type { QuotaPacer } from './pacer.js';
import { gybDbExists, writeGybDb, type WriteFile } from './gyb-db.js';

/**
 * One backup run of a mailbox into a MailStore:
 *
 * - no history id yet: a full sync (list every id, fetch each one not on
 *   disk with `format=raw`); cut short, the next run finishes it, fetching
 *   only what is not stored;
 * - otherwise `history.list` from the stored history id: only added messages
 *   are fetched, label changes and deletions go to the index; a 404 (the id
 *   is too old) falls back to a full re-list, diffed against the index.
 *
 * Every call is paced by the QuotaPacer; a rate-limit answer pauses all
 * workers until its Retry-After (persisted, so a restart waits too).
 */

export interface BackupOptions {
  api: GmailApi;
  store: MailStore;
  clock: Clock;
  pacer: QuotaPacer;
  costs: GmailCosts;
  log: (line: string) => void;
  signal: AbortSignal;
  /** Gmail search query limiting what is backed up (e.g. `-in:spam`). */
  query?: string;
  /** Parallel messages.get calls (default 4). */
  concurrency?: number;
  /** Index lines appended per commit (default 100). */
  commitEvery?: number;
  progressEveryMs?: number;
  /** Also list the server's ids and report the ones missing locally (costs a full listing). */
  verify?: boolean;
  /**
   * A rate-limit pause longer than this ends the run with LongPauseError
   * (after the pause is on disk) instead of waiting in memory, so the caller
   * can park the run durably; absent: every pause is waited out here.
   */
  maxInlinePauseMs?: number;
  /** Called after each commit with the messages it stored (for indexing or tests). */
  onCommit?: (stored: number) => void;
  /** How msg-db.sqlite is written (default: writeFileAtomic; tests simulate a kill mid-write). */
  gybDbWrite?: WriteFile;
}

export interface BackupReport {
  mode: 'full' | 'incremental' | 'relist';
  /** Messages the server lists (full/relist), or the history's added count (incremental). */
  listed: number;
  fetched: number;
  /** Listed or added, but already on disk. */
  alreadyStored: number;
  /** Files found on disk without an index line after an interrupted run (adopted, not refetched). */
  adopted: number;
  deletedOnServer: number;
  labelChanges: number;
  /** Messages in the local copy (not deleted on the server). */
  total: number;
  historyId: string;
  units: number;
  bytesWritten: number;
  tookMs: number;
  /** With `verify`: ids on the server whose file was not on disk (fetched again: `repaired`). */
  missing?: string[];
  repaired?: number;
}

// The action parks the run on it (src/actions/gmail.ts): typed in core/errors.ts.
export { LongPauseError };

/** Labels whose messages messages.list leaves out (no includeSpamTrash): their membership cannot be listed. */
const UNLISTED_LABELS = new Set(['SPAM', 'TRASH']);
const RATE_LIMIT_BACKOFF_MS = [1_000, 2_000, 4_000, 8_000, 16_000, 32_000, 64_000];

export async function runBackup(o: BackupOptions): Promise<BackupReport> {
  const backup = new Backup(o);
  try {
    return await backup.run();
  } finally {
    await o.store.close();
  }
}

class Backup {
  private state!: BackupState;
  private index: Map<string, IndexEntry> | undefined;
  private readonly started: number;
  private report: BackupReport;
  private pending: IndexRecord[] = [];
  private committing: Promise<void> = Promise.resolve();
  private consecutiveLimits = 0;
  /** Aborted when one worker stops the run for a long pause: the others stop waiting on the pacer too. */
  private readonly stop = new AbortController();
  private readonly signal: AbortSignal;

  constructor(private readonly o: BackupOptions) {
    this.started = o.clock.now();
    this.signal = AbortSignal.any([o.signal, this.stop.signal]);
    this.report = { mode: 'incremental', listed: 0, fetched: 0, alreadyStored: 0, adopted: 0, deletedOnServer: 0, labelChanges: 0, total: 0, historyId: '', units: 0, bytesWritten: 0, tookMs: 0 };
  }

  async run(): Promise<BackupReport> {
    const { store, pacer, clock } = this.o;
    this.state = await store.readState();
    if (this.state.notBefore && this.state.notBefore > clock.now()) {
      this.o.log(`gmail: rate limited until ${new Date(this.state.notBefore).toISOString()} (from an earlier run); waiting`);
      if (this.o.maxInlinePauseMs !== undefined && this.state.notBefore - clock.now() > this.o.maxInlinePauseMs) throw new LongPauseError(this.state.notBefore);
      await pacer.pauseUntil(this.state.notBefore);
    }
    if (!this.state.historyId) {
      this.report.mode = 'full';
      await this.fullSync(false);
    } else {
      try {
        await this.incremental(this.state.historyId);
      } catch (error) {
        if (!(error instanceof HistoryGoneError)) throw error;
        this.o.log(`gmail: history id ${this.state.historyId} is too old (404); listing the whole mailbox again and comparing`);
        this.report.mode = 'relist';
        await this.fullSync(true);
      }
    }
    if (this.o.verify) {
      this.report.missing = await this.verify();
      if (this.report.missing.length > 0) {
        // Fetched again: the new index lines point at the new files.
        await this.loadIndex();
        const before = this.report.fetched;
        await this.fetchAll(this.report.missing);
        this.report.repaired = this.report.fetched - before;
        this.o.log(`gmail verify: fetched ${this.report.repaired} missing message(s) again`);
      }
    }
    await this.maybeCompact();
    await this.updateGybDb();
    const index = this.index;
    this.report.total = index ? [...index.values()].filter((e) => !e.deleted).length : this.report.total;
    this.report.units = pacer.units;
    this.report.bytesWritten = store.bytesWritten;
    this.report.tookMs = clock.now() - this.started;
    return this.report;
  }

  /**
   * Label changes and deletions append lines; once they outnumber the
   * messages (and the knowledge cursor has read everything), the index is
   * rewritten with one line per message, so it stays proportional to the
   * mailbox, not to its history.
   */
  private async maybeCompact(): Promise<void> {
    const index = this.index;
    if (!index || this.o.store.lines <= 2 * index.size + 1000) return;
    const size = await this.o.store.indexSize();
    const cursor = this.state.knowledgeOffset;
    if (cursor !== undefined && cursor < size) return;
    const before = this.o.store.lines;
    const newSize = await this.o.store.compact(index);
    await this.saveState(cursor !== undefined ? { knowledgeOffset: newSize } : {});
    this.o.log(`gmail: index compacted from ${before.toLocaleString('en-US')} to ${this.o.store.lines.toLocaleString('en-US')} lines`);
  }

  /**
   * GYB's msg-db.sqlite, rebuilt from the index when the index changed since
   * it was last written (its size differs from the one recorded then; the
   * index only grows, or is compacted) or when the file is missing. A run
   * that changed nothing stats one file and writes nothing; a run killed
   * after its index lines but before the database finds the size stale and
   * writes it next time.
   */
  private async updateGybDb(): Promise<void> {
    const { store } = this.o;
    if ((await store.indexSize()) === 0) return;
    if (this.state.gybIndexSize === (await store.indexSize()) && (await gybDbExists(store.dir))) return;
    const index = await this.loadIndex();
    const size = await store.indexSize();
    const bytes = await writeGybDb(store.dir, index.values(), await store.readLabels(), this.state.email ?? '', this.o.gybDbWrite);
    store.bytesWritten += bytes;
    await this.saveState({ gybIndexSize: size });
  }

  /** The state on disk now; `notBefore` is whatever the pacer holds. */
  async saveState(changes: Partial<BackupState>): Promise<void> {
    Object.assign(this.state, changes);
    await this.o.store.writeState(this.state);
  }

  private async loadIndex(): Promise<Map<string, IndexEntry>> {
    if (this.index) return this.index;
    this.index = await this.o.store.loadIndex();
    if (this.state.dirty) await this.adoptOrphans(this.index);
    return this.index;
  }

  /** After a run cut short: files written whose index line was not. Their labels come from a cheap `format=minimal`. */
  private async adoptOrphans(index: Map<string, IndexEntry>): Promise<void> {
    const files = await this.o.store.scanFiles();
    const orphans = [...files].filter(([id]) => !index.has(id));
    if (orphans.length === 0) return;
    this.o.log(`gmail: ${orphans.length} message file(s) from the interrupted run are on disk but not in the index; adopting them`);
    const records: IndexRecord[] = [];
    for (const [id, file] of orphans) {
      const labels = await this.request('messages.get', () => this.o.api.getLabels(id)).catch((error: unknown) => {
        if (error instanceof MessageGoneError) return { id, labelIds: [] };
        throw error;
      });
      const date = dateOfPath(file);
      const record: IndexRecord = { id, f: file, d: date, l: labels.labelIds };
      records.push(record);
      applyRecord(index, record);
    }
    await this.o.store.commit(records);
    this.report.adopted = orphans.length;
  }

  private async fullSync(relist: boolean): Promise<void> {
    const { api, log } = this.o;
    if (!this.state.pendingHistoryId) {
      const profile = await this.request('users.getProfile', () => api.profile());
      await this.saveState({ pendingHistoryId: profile.historyId, email: profile.emailAddress, dirty: true });
      log(`gmail: ${relist ? 're-listing' : 'full sync of'} ${profile.emailAddress} (${profile.messagesTotal.toLocaleString('en-US')} messages in the mailbox)`);
    } else {
      log('gmail: continuing the full sync an earlier run began');
      if (!this.state.dirty) await this.saveState({ dirty: true });
    }
    await this.refreshLabels();
    const index = await this.loadIndex();
    const ids = await this.listAll();
    this.report.listed = ids.length;
    const todo = ids.filter((id) => !index.has(id));
    this.report.alreadyStored = ids.length - todo.length;
    log(`gmail: ${ids.length.toLocaleString('en-US')} messages listed, ${this.report.alreadyStored.toLocaleString('en-US')} already stored, ${todo.length.toLocaleString('en-US')} to fetch`);
    await this.fetchAll(todo);
    if (relist) {
      const onServer = new Set(ids);
      const now = new Date(this.o.clock.now()).toISOString();
      for (const entry of index.values()) {
        if (entry.deleted || onServer.has(entry.id)) continue;
        this.queue({ id: entry.id, x: now });
        this.report.deletedOnServer++;
      }
      await this.rereadLabels(index, onServer);
      await this.flush();
    }
    const historyId = this.state.pendingHistoryId!;
    this.report.historyId = historyId;
    const { pendingHistoryId: _done, ...rest } = this.state;
    this.state = rest as BackupState;
    await this.saveState({ historyId, dirty: false, lastRun: new Date(this.o.clock.now()).toISOString() });
  }

  private async incremental(from: string): Promise<void> {
    const { api, log } = this.o;
    const added = new Map<string, string[]>();
    const deleted = new Set<string>();
    const labelEvents: Array<{ id: string; add?: string[]; remove?: string[] }> = [];
    let page: HistoryPage | undefined;
    let token: string | undefined;
    do {
      page = await this.request('history.list', () => api.history(from, token));
      for (const m of page.added) added.set(m.id, m.labelIds);
      for (const id of page.deleted) deleted.add(id);
      labelEvents.push(...page.labelChanges);
      token = page.nextPageToken;
    } while (token);
    const historyId = page.historyId;
    this.report.historyId = historyId;
    this.report.listed = added.size;
    if (added.size === 0 && deleted.size === 0 && labelEvents.length === 0) {
      // Nothing changed: no index read, one small state write (and none when the history id did not move).
      if (historyId !== from || this.state.dirty) await this.saveState({ historyId, dirty: false });
      log(`gmail: no changes since history ${from}`);
      return;
    }
    const index = await this.loadIndex();
    let todo = [...added.keys()].filter((id) => !index.has(id) && !deleted.has(id));
    this.report.alreadyStored = added.size - todo.length;
    if (todo.length > 0 && this.o.query) todo = await this.matchingQuery(todo);
    log(`gmail: history since ${from}: ${added.size} added, ${deleted.size} deleted, ${labelEvents.length} label changes; fetching ${todo.length}`);
    if (todo.length > 0) await this.saveState({ dirty: true });
    await this.fetchAll(todo);
    const now = new Date(this.o.clock.now()).toISOString();
    for (const event of labelEvents) {
      const entry = index.get(event.id);
      if (!entry || entry.deleted) continue;
      const labels = new Set(entry.labels);
      for (const l of event.add ?? []) labels.add(l);
      for (const l of event.remove ?? []) labels.delete(l);
      const next = [...labels];
      if (next.length === entry.labels.length && next.every((l) => entry.labels.includes(l))) continue;
      this.queue({ id: entry.id, l: next });
      this.report.labelChanges++;
    }
    for (const id of deleted) {
      const entry = index.get(id);
      if (!entry || entry.deleted) continue;
      this.queue({ id, x: now });
      this.report.deletedOnServer++;
    }
    await this.flush();
    const known = await this.o.store.readLabels();
    if (labelEvents.some((e) => (e.add ?? []).some((l) => known[l] === undefined))) await this.refreshLabels();
    await this.saveState({ historyId, dirty: false, lastRun: now });
  }

  /**
   * History has no query: of the added ids, keep those the query matches.
   * One listing of the query over the days since the last run (new mail is
   * recent); a message imported with an old date is caught by the next full
   * re-list.
   */
  private async matchingQuery(ids: string[]): Promise<string[]> {
    const since = this.state.lastRun ? Date.parse(this.state.lastRun) : this.o.clock.now();
    const after = Math.floor((since - 2 * 86_400_000) / 1000);
    const matching = new Set(await this.listAll(`${this.o.query} after:${after}`));
    return ids.filter((id) => matching.has(id));
  }

  /**
   * Label changes made while the history was gone are lost with it. Reading
   * each stored message's labels would cost a messages.get (20 units) per
   * message; listing each label's members costs 5 units per 500 messages
   * carrying it. SPAM and TRASH are left as they are: messages.list leaves
   * those messages out, and a message moved there was marked deleted above.
   */
  private async rereadLabels(index: Map<string, IndexEntry>, onServer: Set<string>): Promise<void> {
    const members = new Map<string, string[]>();
    for (const labelId of Object.keys(await this.o.store.readLabels())) {
      if (UNLISTED_LABELS.has(labelId)) continue;
      for (const id of await this.listAll(undefined, labelId)) {
        const labels = members.get(id);
        if (labels) labels.push(labelId);
        else members.set(id, [labelId]);
      }
    }
    let changed = 0;
    for (const entry of index.values()) {
      if (entry.deleted || !onServer.has(entry.id)) continue;
      const next = [...(members.get(entry.id) ?? []), ...entry.labels.filter((l) => UNLISTED_LABELS.has(l))];
      if (next.length === entry.labels.length && next.every((l) => entry.labels.includes(l))) continue;
      this.queue({ id: entry.id, l: next });
      changed++;
    }
    this.report.labelChanges += changed;
    this.o.log(`gmail: labels read again: ${changed} messages changed`);
  }

  private async refreshLabels(): Promise<void> {
    const labels = await this.request('labels.list', () => this.o.api.listLabels());
    await this.o.store.writeLabels(Object.fromEntries(labels.map((l) => [l.id, l.name])));
  }

  private async listAll(query = this.o.query, labelId?: string): Promise<string[]> {
    const ids: string[] = [];
    let token: string | undefined;
    do {
      const page = await this.request('messages.list', () => this.o.api.listMessages(query, token, labelId));
      for (const m of page.messages) ids.push(m.id);
      token = page.nextPageToken;
    } while (token);
    return ids;
  }

  /** The server's ids (for the query) against the .eml files actually on disk, not just the index. */
  private async verify(): Promise<string[]> {
    const onDisk = await this.o.store.scanFiles();
    const ids = await this.listAll();
    const missing = ids.filter((id) => !onDisk.has(id));
    this.o.log(missing.length === 0
      ? `gmail verify: all ${ids.length.toLocaleString('en-US')} messages on the server are stored locally`
      : `gmail verify: ${missing.length} of ${ids.length.toLocaleString('en-US')} messages on the server are missing locally: ${missing.slice(0, 20).join(', ')}${missing.length > 20 ? ', …' : ''}`);
    return missing;
  }

  /** Fetches and stores `ids` with a few workers, committing the index in batches and logging progress. */
  private async fetchAll(ids: string[]): Promise<void> {
    if (ids.length === 0) return;
    const { clock, log } = this.o;
    const concurrency = Math.max(1, Math.min(this.o.concurrency ?? 4, 16));
    const every = this.o.progressEveryMs ?? 10_000;
    const start = clock.now();
    let lastProgress = start;
    let next = 0;
    let done = 0;
    const progress = (final: boolean) => {
      const now = clock.now();
      if (!final && now - lastProgress < every) return;
      lastProgress = now;
      log(`gmail: ${describeProgress(done, ids.length, now - start)}`);
    };
    const worker = async (): Promise<void> => {
      while (next < ids.length) {
        if (this.o.signal.aborted) throw abortError(this.o.signal);
        if (this.stop.signal.aborted) throw this.stop.signal.reason;
        const id = ids[next++]!;
        let message: RawMessage;
        try {
          message = await this.request('messages.get', () => this.o.api.getRaw(id));
        } catch (error) {
          if (error instanceof MessageGoneError) {
            done++;
            continue;
          }
          throw error;
        }
        const file = MailStore.pathFor(message.id, message.internalDate);
        await this.o.store.writeMessage(file, message.raw);
        this.queue({ id: message.id, f: file, d: message.internalDate, l: message.labelIds, ...(message.threadId ? { t: message.threadId } : {}) });
        this.report.fetched++;
        done++;
        if (this.pending.length >= (this.o.commitEvery ?? 100)) await this.flush();
        progress(false);
      }
    };
    const workers = Array.from({ length: concurrency }, () => worker());
    const results = await Promise.allSettled(workers);
    // What was written is committed even when a worker failed, so the next run does not fetch it again.
    await this.flush();
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (this.stop.signal.aborted) throw this.stop.signal.reason;
    if (failed) throw failed.reason;
    progress(true);
  }

  private queue(record: IndexRecord): void {
    this.pending.push(record);
    if (this.index) applyRecord(this.index, record);
  }

  private flush(): Promise<void> {
    const run = this.committing.then(async () => {
      const records = this.pending;
      this.pending = [];
      await this.o.store.commit(records);
      const stored = records.filter((r) => 'f' in r).length;
      if (stored > 0) this.o.onCommit?.(stored);
    });
    this.committing = run.catch(() => {});
    return run;
  }

  /** One API call: paced by its cost; a rate-limit answer pauses every worker until its Retry-After (durably), then tries again. */
  private async request<T>(method: keyof GmailCosts, fn: () => Promise<T>): Promise<T> {
    const { pacer, clock } = this.o;
    const signal = this.signal;
    for (;;) {
      if (this.stop.signal.aborted) throw this.stop.signal.reason;
      await pacer.acquire(this.o.costs[method], signal).catch((error: unknown) => {
        throw this.stop.signal.aborted ? this.stop.signal.reason : error;
      });
      try {
        const result = await fn();
        this.consecutiveLimits = 0;
        return result;
      } catch (error) {
        if (!(error instanceof GmailRateLimitError)) throw error;
        const backoff = RATE_LIMIT_BACKOFF_MS[Math.min(this.consecutiveLimits, RATE_LIMIT_BACKOFF_MS.length - 1)]!;
        this.consecutiveLimits++;
        const wait = error.retryAfterMs ?? backoff;
        const until = clock.now() + wait;
        if (until > pacer.pausedUntil) {
          this.o.log(`gmail: ${error.message}; pausing ${formatMs(wait)}`);
          // On disk before anyone waits: a restart during the pause waits out the rest instead of asking early.
          await this.saveState({ notBefore: until });
          await pacer.pauseUntil(until);
        }
        if (this.o.maxInlinePauseMs !== undefined && pacer.pausedUntil - clock.now() > this.o.maxInlinePauseMs) {
          const pause = new LongPauseError(pacer.pausedUntil);
          this.stop.abort(pause);
          throw pause;
        }
        if (this.o.signal.aborted) throw abortError(this.o.signal);
      }
    }
  }
}

/** "12,300 of 48,000 messages, 41 msg/s, about 15 min left". */
export function describeProgress(done: number, total: number, elapsedMs: number): string {
  const rate = elapsedMs > 0 ? done / (elapsedMs / 1000) : 0;
  const left = rate > 0 ? ((total - done) / rate) * 1000 : undefined;
  const rateText = rate >= 10 ? Math.round(rate).toString() : rate.toFixed(1);
  return `${done.toLocaleString('en-US')} of ${total.toLocaleString('en-US')} messages, ${rateText} msg/s${left !== undefined && done < total ? `, about ${formatMs(left)} left` : ''}`;
}

export function formatMs(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s} s`;
  const m = Math.round(s / 60);
  if (m < 90) return `${m} min`;
  const h = Math.floor(m / 60);
  return `${h} h ${m % 60} min`;
}

/** The UTC noon of a `YYYY/M/D/id.eml` path (an adopted file's date, to the day). */
function dateOfPath(file: string): number {
  const [y, m, d] = file.split('/').map(Number);
  return Date.UTC(y ?? 1970, (m ?? 1) - 1, d ?? 1, 12);
}
