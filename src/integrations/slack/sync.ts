import type { Clock } from '../../core/clock.js';
import { CancelledError, NonRetriableError } from '../../core/errors.js';
import type { SourceItem, SyncReport } from '../../knowledge/knowledge-base.js';
import type { DocumentSink } from '../elasticsearch/sink.js';
import { SlackApiError, SlackRateLimitedError } from './api.js';
import type { SlackApi, SlackMessage, SlackPage } from './api.js';
import { documentsOfDay } from './documents.js';
import type { SlackDocument } from './documents.js';
import { rawRecord } from './store.js';
import type { ChannelState, RawRecord, SlackFiles, SlackState } from './store.js';
import { compareTs, dayOf, maxTs, msToTs, tsToMs } from './ts.js';

/**
 * One pass of `ingest.slack` over the chosen channels: incremental, page by
 * page, each page stored through every stage (raw day files, documents,
 * chunks, index) before its cursor is written, so a kill -9 resumes from the
 * last stored page and a second run stores nothing it already has.
 *
 * Per channel: `conversations.history` from the cursor minus `lookback` (the
 * first time: `since` ago) up to the pass's start, newest page first; thread
 * replies with `conversations.replies` when a parent shows a newer
 * `latest_reply` than stored, and for threads with activity within
 * `threadWindow` (a late reply to an old thread). Messages stored before the
 * pass that fall in its window but are no longer listed were deleted: they
 * leave the index.
 *
 * Rate limits: calls are paced by the method's tier; a 429 sets `notBefore`
 * in the state file (so no restart asks before it) and waits through the
 * `wait` port, which the action makes durable (a parked run).
 */

export interface SyncTarget {
  sync(source: string, items: SourceItem[], options: { removeMissing: boolean; signal?: AbortSignal }): Promise<SyncReport>;
  remove(source: string, keys: string[]): Promise<number>;
}

export interface Waiter {
  /**
   * Waits until `until` (epoch ms). `durable` waits (a 429's Retry-After)
   * may park the run and resume it in a new process; short pacing waits are
   * timers.
   */
  wait(until: number, options: { durable: boolean; reason: string }): Promise<void>;
}

export interface SlackSyncOptions {
  connection: string;
  api: SlackApi;
  files: SlackFiles;
  target: SyncTarget;
  source: string;
  clock: Clock;
  log: (line: string) => void;
  waiter: Waiter;
  signal?: AbortSignal;
  /** Channel names (with or without #) or ids; 'all' = every channel the token's user is a member of. */
  channels: string[] | 'all';
  threads: boolean;
  lookbackMs: number;
  sinceMs: number;
  threadWindowMs: number;
  /** Messages asked for per page (Slack: at most 1000, 200 recommended). */
  pageSize: number;
  /** Minimum ms between Tier 3 calls (conversations.history, .replies); Slack's Tier 3 is ~50 a minute. */
  tier3IntervalMs: number;
  /** Minimum ms between Tier 2 calls (conversations.list, users.list): ~20 a minute. */
  tier2IntervalMs: number;
  /** How often user and channel names are refreshed. */
  namesMaxAgeMs?: number;
  /** An Elasticsearch/OpenSearch index that gets the same documents (optional). */
  sink?: DocumentSink;
  /** History pages fetched between two stores (default 10): fewer, larger writes; a crash refetches at most this many. */
  flushPages?: number;
  /** Channels (names or ids) whose documents, raw files and cursor are deleted before the pass. */
  forget?: string[];
  /** Lists a source's document keys (the knowledge store's manifest), for `forget`. */
  documentKeys?: (source: string) => Promise<string[]>;
}

export interface SlackSyncReport {
  connection: string;
  team: string;
  channels: number;
  messages: number;
  pages: number;
  threadsFetched: number;
  documents: number;
  removedDocuments: number;
  chunksEmbedded: number;
  rateLimitWaits: number;
  reducedLimits: boolean;
}

const DAY_MS = 24 * 60 * 60 * 1000;
/** Slack's `limit` for non-Marketplace apps distributed commercially (since 2025): 15 per page, 1 request a minute. */
const REDUCED_LIMIT = 15;
const REDUCED_INTERVAL_MS = 60_000;
const DEFAULT_FLUSH_PAGES = 10;

export async function syncSlack(options: SlackSyncOptions): Promise<SlackSyncReport> {
  return new SlackSync(options).run();
}

class SlackSync {
  private state!: SlackState;
  private team!: { id: string; name: string; url: string };
  private readonly lastCall = new Map<number, number>();
  private readonly report: SlackSyncReport;
  private status = '';
  /** Staged but not yet stored: the channel, its days, thread positions and page position. */
  private pendingChannel: string | undefined;
  private readonly pendingDays = new Set<string>();
  private readonly pendingThreads = new Map<string, string>();
  private pendingPosition: { next: string | undefined; pages: number; messages: number } | undefined;

  constructor(private readonly o: SlackSyncOptions) {
    this.report = { connection: o.connection, team: '', channels: 0, messages: 0, pages: 0, threadsFetched: 0, documents: 0, removedDocuments: 0, chunksEmbedded: 0, rateLimitWaits: 0, reducedLimits: false };
  }

  async run(): Promise<SlackSyncReport> {
    this.state = await this.o.files.readState(this.o.connection);
    const auth = await this.call(2, 'auth.test', () => this.o.api.authTest());
    this.team = { id: auth.teamId, name: auth.team, url: auth.url };
    this.state.team = this.team;
    this.report.team = auth.team;
    await this.refreshNames();
    if (this.o.forget?.length) await this.forgetChannels(this.o.forget);
    const channels = await this.chosenChannels();
    this.report.channels = channels.length;
    this.o.log(`slack ${this.o.connection}: workspace ${auth.team}, ${channels.length} ${channels.length === 1 ? 'channel' : 'channels'}`);
    for (const [index, id] of channels.entries()) {
      this.status = `channel ${index + 1} of ${channels.length} (#${this.state.names.channels[id] ?? id})`;
      await this.syncChannel(id);
    }
    this.report.reducedLimits = this.state.reducedLimits ?? false;
    await this.save();
    this.o.log(
      `slack ${this.o.connection}: done — ${this.report.messages} messages in ${this.report.pages} pages, ${this.report.threadsFetched} threads fetched, ` +
        `${this.report.documents} documents stored, ${this.report.removedDocuments} removed, ${this.report.chunksEmbedded} chunks embedded`,
    );
    return this.report;
  }

  // ── channels ────────────────────────────────────────────────────────────

  private async syncChannel(id: string): Promise<void> {
    const name = this.state.names.channels[id] ?? id;
    const channel: ChannelState = (this.state.channels[id] ??= { name, threads: {} });
    channel.name = name;
    const now = this.o.clock.now();
    const previousCursor = channel.cursor;
    if (!channel.progress) {
      const oldest = previousCursor ? tsToMs(previousCursor) - this.o.lookbackMs : now - this.o.sinceMs;
      channel.progress = { oldest: msToTs(Math.max(0, oldest)), latest: msToTs(now), pages: 0, messages: 0 };
      await this.save();
    } else {
      channel.progress.resumed = true;
      this.o.log(`${this.status}: resuming after page ${channel.progress.pages} (${channel.progress.messages} messages stored)`);
    }
    const progress = channel.progress;
    const refreshed = new Set<string>();
    const seenInWindow = new Set<string>();
    // Where the fetching is; `progress` (on disk) moves to it only when the pages before it are stored.
    const position = { next: progress.next, pages: progress.pages, messages: progress.messages };
    let unflushed = 0;
    for (;;) {
      const page: SlackPage = await this.call(3, 'conversations.history', () =>
        this.o.api.history({ channel: id, oldest: progress.oldest, latest: progress.latest, limit: this.pageSize(), ...(position.next ? { cursor: position.next } : {}) }),
      );
      this.noticeReducedLimits(page);
      const records: RawRecord[] = [];
      for (const message of page.messages) {
        if (message.subtype === 'message_deleted' && typeof message.deleted_ts === 'string') {
          records.push({ ts: message.deleted_ts, deleted: true });
          continue;
        }
        if (!message.ts) continue;
        seenInWindow.add(message.ts);
        records.push(rawRecord(message));
        if (this.o.threads && this.needsReplies(channel, message)) {
          records.push(...(await this.fetchThread(id, channel, message.ts)));
          refreshed.add(message.ts);
        }
      }
      await this.stage(id, records);
      position.pages++;
      position.messages += page.messages.length;
      position.next = page.nextCursor && page.hasMore ? page.nextCursor : undefined;
      this.pendingPosition = { ...position };
      this.report.pages++;
      this.report.messages += page.messages.length;
      this.o.log(`${this.status}: ${position.messages.toLocaleString('en')} messages`);
      if (++unflushed >= this.flushPages() || !position.next) {
        await this.flush();
        unflushed = 0;
      }
      if (!position.next) break;
    }
    // A resumed pass saw only its later pages; deletions are judged on whole passes.
    if (previousCursor && !progress.resumed) await this.removeVanished(id, progress.oldest, previousCursor, seenInWindow);
    if (this.o.threads) await this.sweepThreads(id, channel, refreshed);
    await this.flush();
    channel.cursor = progress.latest;
    delete channel.progress;
    this.pruneThreads(channel);
    await this.save();
  }

  /** Deletes what Hearth holds of these channels: documents (index and Elasticsearch), raw day files, cursor. */
  private async forgetChannels(names: string[]): Promise<void> {
    const ids = this.resolveChannels(names);
    const keys = this.o.documentKeys ? await this.o.documentKeys(this.o.source) : [];
    for (const id of ids) {
      const prefix = `${this.team.id}/${id}/`;
      const mine = keys.filter((key) => key.startsWith(prefix));
      const removed = mine.length ? await this.o.target.remove(this.o.source, mine) : 0;
      if (mine.length) await this.o.sink?.remove(this.o.source, mine);
      await this.o.files.forgetChannel(this.team.id, id);
      delete this.state.channels[id];
      await this.save();
      this.o.log(`slack ${this.o.connection}: forgot #${this.state.names.channels[id] ?? id}: ${removed} documents and its raw files removed`);
    }
  }

  private needsReplies(channel: ChannelState, message: SlackMessage): boolean {
    if (!message.reply_count || !message.latest_reply) return false;
    const stored = channel.threads[message.ts];
    return stored === undefined || compareTs(message.latest_reply, stored) > 0;
  }

  /** Replies of one thread (all pages), from just before the last stored reply. Stored replies no longer listed were deleted. */
  private async fetchThread(channelId: string, channel: ChannelState, ts: string): Promise<RawRecord[]> {
    const stored = channel.threads[ts];
    const oldest = stored ? msToTs(Math.max(0, tsToMs(stored) - this.o.lookbackMs)) : undefined;
    const records: RawRecord[] = [];
    const seen = new Set<string>();
    let cursor: string | undefined;
    let latest: string | undefined = stored;
    do {
      const page = await this.call(3, 'conversations.replies', () =>
        this.o.api.replies({ channel: channelId, ts, limit: this.pageSize(), ...(oldest ? { oldest } : {}), ...(cursor ? { cursor } : {}) }),
      );
      this.noticeReducedLimits(page);
      for (const message of page.messages) {
        if (message.ts === ts) {
          records.push(rawRecord(message));
          continue;
        }
        seen.add(message.ts);
        records.push(rawRecord({ ...message, thread_ts: ts }));
        latest = maxTs(latest, message.ts);
      }
      cursor = page.hasMore ? page.nextCursor : undefined;
    } while (cursor);
    this.report.threadsFetched++;
    if (oldest) {
      const day = await this.o.files.readDay(this.team.id, channelId, dayOf(ts));
      for (const record of day.values()) {
        if (record.thread_ts === ts && !record.deleted && compareTs(record.ts, oldest) > 0 && !seen.has(record.ts)) records.push({ ts: record.ts, thread_ts: ts, deleted: true });
      }
    }
    if (latest) this.pendingThreads.set(ts, latest);
    return records;
  }

  /** Threads with activity within threadWindow that this pass did not refresh: a late reply to an old parent. */
  private async sweepThreads(channelId: string, channel: ChannelState, refreshed: Set<string>): Promise<void> {
    const horizon = this.o.clock.now() - this.o.threadWindowMs;
    for (const [ts, latest] of Object.entries(channel.threads)) {
      if (refreshed.has(ts) || tsToMs(latest) < horizon) continue;
      await this.stage(channelId, await this.fetchThread(channelId, channel, ts));
      if (this.pendingDays.size >= 50) await this.flush();
    }
  }

  private pruneThreads(channel: ChannelState): void {
    const horizon = this.o.clock.now() - Math.max(this.o.threadWindowMs, this.o.lookbackMs);
    for (const [ts, latest] of Object.entries(channel.threads)) if (tsToMs(latest) < horizon) delete channel.threads[ts];
  }

  /** Messages stored in (oldest, before] that a whole pass over that window no longer lists. */
  private async removeVanished(channelId: string, oldest: string, before: string, seen: Set<string>): Promise<void> {
    const days = new Set<string>();
    for (let ms = tsToMs(oldest); ms <= tsToMs(before) + DAY_MS; ms += DAY_MS) days.add(new Date(ms).toISOString().slice(0, 10));
    const gone: RawRecord[] = [];
    for (const day of days) {
      for (const record of (await this.o.files.readDay(this.team.id, channelId, day)).values()) {
        if (record.deleted || record.thread_ts) continue;
        if (compareTs(record.ts, oldest) > 0 && compareTs(record.ts, before) < 0 && !seen.has(record.ts)) gone.push({ ts: record.ts, deleted: true });
      }
    }
    if (gone.length > 0) {
      this.o.log(`${this.status}: ${gone.length} deleted ${gone.length === 1 ? 'message' : 'messages'} removed`);
      await this.stage(channelId, gone);
      await this.flush();
    }
  }

  // ── stages ──────────────────────────────────────────────────────────────

  /**
   * Appends records to the raw day files at once (fsynced, and idempotent:
   * a record already there is not written again) and marks their days for
   * the next flush.
   */
  private async stage(channelId: string, records: RawRecord[]): Promise<void> {
    if (this.pendingChannel !== undefined && this.pendingChannel !== channelId) await this.flush();
    this.pendingChannel = channelId;
    if (records.length === 0) return;
    await this.o.files.append(this.team.id, channelId, records);
    // Every day the records touch, not only days with new lines: a crash between the raw append and
    // the index leaves lines the refetched page no longer appends, and their documents must still land.
    for (const record of records) this.pendingDays.add(dayOf(record.thread_ts ?? record.ts));
  }

  /**
   * The staged days' documents through the knowledge store (it skips those it
   * already holds), then the channel's position and threads in the state
   * file: the cursor moves only after the batch is stored. Batching several
   * pages spares the SD card a manifest write per page.
   */
  private async flush(): Promise<void> {
    const channelId = this.pendingChannel;
    if (channelId === undefined) return;
    const days = [...this.pendingDays];
    this.pendingDays.clear();
    if (days.length > 0) await this.storeDays(channelId, days);
    const channel = this.state.channels[channelId];
    if (channel) {
      for (const [ts, latest] of this.pendingThreads) channel.threads[ts] = latest;
      const position = this.pendingPosition;
      if (position && channel.progress) {
        channel.progress.pages = position.pages;
        channel.progress.messages = position.messages;
        if (position.next) channel.progress.next = position.next;
        else delete channel.progress.next;
      }
    }
    this.pendingThreads.clear();
    this.pendingPosition = undefined;
    this.pendingChannel = undefined;
    await this.save();
  }

  private flushPages(): number {
    return this.o.flushPages ?? DEFAULT_FLUSH_PAGES;
  }

  private async storeDays(channelId: string, days: string[]): Promise<void> {
    const ctx = {
      team: this.team.id,
      channelId,
      channelName: this.state.names.channels[channelId] ?? channelId,
      workspaceUrl: this.team.url,
      userName: (id: string) => this.state.names.users[id] ?? id,
    };
    const documents: SlackDocument[] = [];
    const removed: string[] = [];
    for (const day of days) {
      const { documents: docs, keys } = documentsOfDay(day, await this.o.files.readDay(this.team.id, channelId, day), ctx);
      documents.push(...docs);
      const present = new Set(docs.map((doc) => doc.key));
      removed.push(...keys.filter((key) => !present.has(key)));
    }
    if (documents.length > 0) {
      const result = await this.o.target.sync(this.o.source, documents.map(sourceItem), { removeMissing: false, ...(this.o.signal ? { signal: this.o.signal } : {}) });
      this.report.documents += result.added + result.changed;
      this.report.chunksEmbedded += result.chunksEmbedded;
      // Same ids every time (source + key): a page sent again overwrites, never duplicates.
      await this.o.sink?.index(documents.map((doc) => ({ source: this.o.source, key: doc.key, title: doc.title, author: doc.author, url: doc.url, timestamp: doc.timestamp, text: doc.text, metadata: { channel: doc.channel, messages: doc.messages } })));
    }
    if (removed.length > 0) {
      this.report.removedDocuments += await this.o.target.remove(this.o.source, removed);
      await this.o.sink?.remove(this.o.source, removed);
    }
  }

  // ── names ───────────────────────────────────────────────────────────────

  private async refreshNames(): Promise<void> {
    const names = this.state.names;
    if (names.refreshedAt !== undefined && this.o.clock.now() - names.refreshedAt < (this.o.namesMaxAgeMs ?? DAY_MS)) return;
    const users: Record<string, string> = {};
    let cursor: string | undefined;
    do {
      const page = await this.call(2, 'users.list', () => this.o.api.users(cursor));
      for (const user of page.users) users[user.id] = user.profile?.display_name || user.real_name || user.profile?.real_name || user.name;
      cursor = page.nextCursor;
    } while (cursor);
    const channels: Record<string, string> = {};
    cursor = undefined;
    do {
      const page = await this.call(2, 'conversations.list', () => this.o.api.channels(cursor));
      for (const channel of page.channels) channels[channel.id] = channel.name;
      cursor = page.nextCursor;
    } while (cursor);
    this.state.names = { users, channels, refreshedAt: this.o.clock.now() };
    await this.save();
  }

  private async chosenChannels(): Promise<string[]> {
    const forgotten = new Set(this.o.forget ? this.resolveChannels(this.o.forget) : []);
    if (this.o.channels === 'all') {
      return Object.keys(this.state.names.channels)
        .filter((id) => !forgotten.has(id))
        .sort((a, b) => this.state.names.channels[a]!.localeCompare(this.state.names.channels[b]!));
    }
    return this.resolveChannels(this.o.channels).filter((id) => !forgotten.has(id));
  }

  private resolveChannels(names: string[]): string[] {
    const byName = new Map(Object.entries(this.state.names.channels).map(([id, name]) => [name, id]));
    return names.map((wanted) => {
      const bare = wanted.replace(/^#/, '');
      if (this.state.names.channels[bare]) return bare;
      const id = byName.get(bare);
      if (id) return id;
      if (/^[CGD][A-Z0-9]{6,}$/.test(bare)) return bare;
      throw new NonRetriableError(`Slack channel "${wanted}" not found in workspace ${this.team.name} (the token's user must be a member; names are refreshed daily)`);
    });
  }

  // ── calls, pacing, rate limits ──────────────────────────────────────────

  private pageSize(): number {
    return this.state.reducedLimits ? REDUCED_LIMIT : this.o.pageSize;
  }

  private noticeReducedLimits(page: SlackPage): void {
    if (this.state.reducedLimits || this.o.pageSize <= REDUCED_LIMIT) return;
    if (page.hasMore && page.messages.length <= REDUCED_LIMIT) {
      this.state.reducedLimits = true;
      this.o.log(
        `slack ${this.o.connection}: Slack returns at most ${REDUCED_LIMIT} messages per page to this app: the reduced limits for non-Marketplace apps ` +
          '(1 request a minute, 15 messages). A first sync of a busy channel will take hours; an app created in your own workspace for your own use is not limited this way.',
      );
    }
  }

  private interval(tier: 2 | 3): number {
    if (tier === 3 && this.state.reducedLimits) return Math.max(REDUCED_INTERVAL_MS, this.o.tier3IntervalMs);
    return tier === 3 ? this.o.tier3IntervalMs : this.o.tier2IntervalMs;
  }

  private async call<T>(tier: 2 | 3, method: string, fn: () => Promise<T>): Promise<T> {
    for (;;) {
      this.throwIfAborted();
      const notBefore = this.state.notBefore ?? 0;
      if (this.o.clock.now() < notBefore) {
        const seconds = Math.ceil((notBefore - this.o.clock.now()) / 1000);
        this.o.log(`${this.status || `slack ${this.o.connection}`}: waiting ${seconds} s for Slack's rate limit`);
        // What is fetched is stored first: a wait may park the run and resume it in another process.
        await this.flush();
        await this.o.waiter.wait(notBefore, { durable: true, reason: `Slack's rate limit (${method})` });
        continue;
      }
      const next = (this.lastCall.get(tier) ?? -Infinity) + this.interval(tier);
      if (this.o.clock.now() < next) await this.o.waiter.wait(next, { durable: false, reason: `pacing ${method}` });
      this.lastCall.set(tier, this.o.clock.now());
      try {
        return await fn();
      } catch (error) {
        if (error instanceof SlackRateLimitedError) {
          this.report.rateLimitWaits++;
          this.state.notBefore = this.o.clock.now() + error.retryAfterMs;
          await this.save();
          continue;
        }
        if (error instanceof SlackApiError && error.code === 'missing_scope') {
          throw new NonRetriableError(`${error.message}: add the scope to the Slack app and reinstall it (see Settings › Connections)`, { cause: error });
        }
        throw error;
      }
    }
  }

  private async save(): Promise<void> {
    await this.o.files.writeState(this.o.connection, this.state);
  }

  private throwIfAborted(): void {
    if (this.o.signal?.aborted) throw new CancelledError('cancelled');
  }
}

/** A document as a knowledge-store item: JSON the `json` normaliser reads, changed time as mtime. */
function sourceItem(doc: SlackDocument): SourceItem {
  const bytes = Buffer.from(
    JSON.stringify({ id: doc.key, title: doc.title, author: doc.author, url: doc.url, timestamp: doc.timestamp, text: doc.text, channel: doc.channel, messages: doc.messages }),
    'utf8',
  );
  return { key: doc.key, format: 'json', mtimeMs: doc.changedMs, size: bytes.length, read: async () => bytes };
}
