import { open, mkdir, readFile, readdir, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { writeFileAtomic, fsyncDirectory } from '../../core/atomic-file.js';
import { isNotFound } from '../../core/errors.js';
import type { SlackMessage } from './api.js';
import { compareTs, dayOf } from './ts.js';

/**
 * Slack's raw stage and sync state on disk, under `<dataDir>/knowledge/`:
 *
 *   raw/slack/<team>/<channel>/<yyyy-mm-dd>.jsonl   append-only: one line per message version seen
 *   slack/<connection>.json                         cursors, threads, names, pending waits (atomic)
 *
 * A message is filed under the UTC day of its thread's parent (its own day
 * when it is not a reply), so one file holds whole threads. A line is
 * appended only when the message is new or differs from the last line for
 * its ts (an edit, a new reply count); a deletion appends `{ ts, deleted: true }`.
 * Folding a file (last line per ts wins) gives the channel-day as it is now.
 */

export interface RawRecord {
  ts: string;
  thread_ts?: string;
  user?: string;
  username?: string;
  bot_id?: string;
  subtype?: string;
  text?: string;
  edited?: { ts: string };
  reply_count?: number;
  latest_reply?: string;
  files?: Array<{ name?: string; title?: string; permalink?: string }>;
  deleted?: true;
}

export interface ChannelState {
  name: string;
  /** Everything before this ts is stored (the window's `latest` of the last finished pass). */
  cursor?: string;
  /** A pass in flight: resumed from `next` after a crash or a wait, pages before it are stored. */
  progress?: { oldest: string; latest: string; next?: string; pages: number; messages: number; resumed?: boolean };
  /** Thread parent ts → latest reply ts stored. */
  threads: Record<string, string>;
}

export interface SlackState {
  version: 1;
  team?: { id: string; name: string; url: string };
  channels: Record<string, ChannelState>;
  /** Display names, refreshed daily. */
  names: { users: Record<string, string>; channels: Record<string, string>; refreshedAt?: number };
  /** No request to Slack before this (epoch ms): a 429's Retry-After, kept across restarts. */
  notBefore?: number;
  /** The durable waits taken by one run, in order (replayed as step.sleepUntil on resume). */
  waits?: { runId: string; until: number[] };
  /** Slack capped `limit` at 15: the reduced limits of non-Marketplace apps. */
  reducedLimits?: boolean;
}

export function emptyState(): SlackState {
  return { version: 1, channels: {}, names: { users: {}, channels: {} } };
}

export class SlackFiles {
  constructor(readonly knowledgeRoot: string) {}

  statePath(connection: string): string {
    return join(this.knowledgeRoot, 'slack', `${connection}.json`);
  }

  async readState(connection: string): Promise<SlackState> {
    try {
      const state = JSON.parse(await readFile(this.statePath(connection), 'utf8')) as SlackState;
      if (state.version !== 1) throw new Error(`${this.statePath(connection)}: unknown version ${String(state.version)}`);
      return state;
    } catch (error) {
      if (isNotFound(error)) return emptyState();
      throw error;
    }
  }

  async writeState(connection: string, state: SlackState): Promise<void> {
    await mkdir(dirname(this.statePath(connection)), { recursive: true });
    await writeFileAtomic(this.statePath(connection), JSON.stringify(state));
  }

  channelDir(team: string, channel: string): string {
    return join(this.knowledgeRoot, 'raw', 'slack', team, channel);
  }

  dayPath(team: string, channel: string, day: string): string {
    return join(this.channelDir(team, channel), `${day}.jsonl`);
  }

  /** The day's messages as they are now (last version per ts, deletions applied), oldest first. */
  async readDay(team: string, channel: string, day: string): Promise<Map<string, RawRecord>> {
    const folded = new Map<string, RawRecord>();
    let text: string;
    try {
      text = await readFile(this.dayPath(team, channel, day), 'utf8');
    } catch (error) {
      if (isNotFound(error)) return folded;
      throw error;
    }
    for (const line of text.split('\n')) {
      if (!line.trim()) continue;
      let record: RawRecord;
      try {
        record = JSON.parse(line) as RawRecord;
      } catch {
        // A torn last line after a power cut: the lines before it are whole.
        continue;
      }
      folded.set(record.ts, record);
    }
    return new Map([...folded.entries()].sort(([a], [b]) => compareTs(a, b)));
  }

  async days(team: string, channel: string): Promise<string[]> {
    const names = await readdir(this.channelDir(team, channel)).catch(() => [] as string[]);
    return names.filter((name) => name.endsWith('.jsonl')).map((name) => name.slice(0, -6)).sort();
  }

  /**
   * Appends the records that are new or changed to their day files and
   * fsyncs them; returns the days touched. Safe to repeat: a record equal to
   * the stored one is not written again.
   */
  async append(team: string, channel: string, records: RawRecord[]): Promise<Set<string>> {
    const byDay = new Map<string, RawRecord[]>();
    for (const record of records) {
      const day = dayOf(record.thread_ts ?? record.ts);
      byDay.set(day, [...(byDay.get(day) ?? []), record]);
    }
    const touched = new Set<string>();
    for (const [day, list] of byDay) {
      const current = await this.readDay(team, channel, day);
      const lines: string[] = [];
      for (const record of list) {
        const before = current.get(record.ts);
        if (record.deleted && (!before || before.deleted)) continue;
        if (before && sameRecord(before, record)) continue;
        current.set(record.ts, record);
        lines.push(JSON.stringify(record));
      }
      if (lines.length === 0) continue;
      const path = this.dayPath(team, channel, day);
      const isNew = !(await readdir(dirname(path)).catch(() => [] as string[])).includes(`${day}.jsonl`);
      await mkdir(dirname(path), { recursive: true });
      const handle = await open(path, 'a', 0o644);
      try {
        await handle.write(`${lines.join('\n')}\n`);
        await handle.sync();
      } finally {
        await handle.close();
      }
      if (isNew) await fsyncDirectory(dirname(path));
      touched.add(day);
    }
    return touched;
  }

  /** Forgets a channel's raw stage (its documents are removed from the index by the caller). */
  async forgetChannel(team: string, channel: string): Promise<void> {
    await rm(this.channelDir(team, channel), { recursive: true, force: true });
  }
}

/** What Hearth keeps of a message: no blocks or attachments' markup, files as links. */
export function rawRecord(message: SlackMessage): RawRecord {
  return {
    ts: message.ts,
    ...(message.thread_ts && message.thread_ts !== message.ts ? { thread_ts: message.thread_ts } : {}),
    ...(message.user ? { user: message.user } : {}),
    ...(message.username ? { username: message.username } : {}),
    ...(message.bot_id ? { bot_id: message.bot_id } : {}),
    ...(message.subtype ? { subtype: message.subtype } : {}),
    ...(message.text !== undefined ? { text: message.text } : {}),
    ...(message.edited ? { edited: { ts: message.edited.ts } } : {}),
    ...(message.reply_count ? { reply_count: message.reply_count } : {}),
    ...(message.latest_reply ? { latest_reply: message.latest_reply } : {}),
    ...(message.files?.length
      ? { files: message.files.map((file) => ({ ...(file.name ? { name: file.name } : {}), ...(file.title ? { title: file.title } : {}), ...(file.permalink ? { permalink: file.permalink } : {}) })) }
      : {}),
  };
}

function sameRecord(a: RawRecord, b: RawRecord): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}
