import type { RawRecord } from './store.js';
import { compareTs, maxTs, tsToMs } from './ts.js';

/**
 * The processed stage's shape for Slack: one document per thread (parent and
 * replies) and one per channel-day for the messages outside threads, with
 * the authors' names, the time of each line and a permalink. Pure: the same
 * folded day always gives the same documents (so their content hashes, and
 * chunk ids, do not change when nothing changed).
 */

export interface SlackDocument {
  /** The knowledge store's key: `<team>/<channel>/<thread ts>` or `<team>/<channel>/<yyyy-mm-dd>`. */
  key: string;
  title: string;
  author: string;
  url: string;
  /** Epoch ms of the first message. */
  timestamp: number;
  /** Epoch ms of the latest change (message, edit or reply). */
  changedMs: number;
  text: string;
  channel: string;
  messages: number;
}

export interface DocumentContext {
  team: string;
  channelId: string;
  channelName: string;
  /** The workspace's URL from auth.test (`https://home.slack.com/`). */
  workspaceUrl: string;
  userName(id: string): string;
}

export function permalink(workspaceUrl: string, channel: string, ts: string, threadTs?: string): string {
  const base = workspaceUrl.endsWith('/') ? workspaceUrl : `${workspaceUrl}/`;
  const link = `${base}archives/${channel}/p${ts.replace('.', '')}`;
  return threadTs && threadTs !== ts ? `${link}?thread_ts=${threadTs}&cid=${channel}` : link;
}

/** Every document of one folded day file; `keys`: every document key the day could have had (the caller removes those with no document now). */
export function documentsOfDay(day: string, records: Map<string, RawRecord>, ctx: DocumentContext): { documents: SlackDocument[]; keys: string[] } {
  const live = [...records.values()].filter((record) => !record.deleted && record.subtype !== 'tombstone' && hasContent(record));
  const threads = new Map<string, RawRecord[]>();
  const chatter: RawRecord[] = [];
  for (const record of live) {
    const root = record.thread_ts ?? (record.reply_count ? record.ts : undefined);
    if (root) threads.set(root, [...(threads.get(root) ?? []), record]);
    else chatter.push(record);
  }
  const documents: SlackDocument[] = [];
  const prefix = `${ctx.team}/${ctx.channelId}`;
  for (const [root, list] of threads) {
    list.sort((a, b) => compareTs(a.ts, b.ts));
    const parent = list.find((record) => record.ts === root);
    const first = parent ?? list[0]!;
    documents.push(makeDocument(`${prefix}/${root}`, `#${ctx.channelName}: ${firstLine(first, ctx)}`, permalink(ctx.workspaceUrl, ctx.channelId, root), list, ctx));
  }
  if (chatter.length > 0) {
    chatter.sort((a, b) => compareTs(a.ts, b.ts));
    documents.push(makeDocument(`${prefix}/${day}`, `#${ctx.channelName} on ${day}`, permalink(ctx.workspaceUrl, ctx.channelId, chatter[0]!.ts), chatter, ctx));
  }
  // Every key this day could have had: the caller removes the ones with no document now.
  const keys = new Set<string>([`${prefix}/${day}`]);
  for (const record of records.values()) {
    keys.add(`${prefix}/${record.thread_ts ?? record.ts}`);
  }
  return { documents, keys: [...keys] };
}

function makeDocument(key: string, title: string, url: string, list: RawRecord[], ctx: DocumentContext): SlackDocument {
  const authors: string[] = [];
  let changed: string | undefined;
  const lines = list.map((record) => {
    const who = authorOf(record, ctx);
    if (!authors.includes(who)) authors.push(who);
    changed = maxTs(changed, maxTs(record.ts, record.edited?.ts));
    const time = new Date(tsToMs(record.ts)).toISOString().slice(11, 16);
    const files = (record.files ?? []).map((file) => ` [file: ${file.title ?? file.name ?? 'file'}${file.permalink ? ` ${file.permalink}` : ''}]`).join('');
    const reply = record.thread_ts ? '  ↳ ' : '';
    return `${reply}${time} ${who}: ${resolveMentions(record.text ?? '', ctx)}${record.edited ? ' (edited)' : ''}${files}`;
  });
  return {
    key,
    title: title.slice(0, 120),
    author: authors.join(', '),
    url,
    timestamp: tsToMs(list[0]!.ts),
    changedMs: tsToMs(changed!),
    text: lines.join('\n'),
    channel: ctx.channelName,
    messages: list.length,
  };
}

function hasContent(record: RawRecord): boolean {
  return Boolean(record.text?.trim()) || Boolean(record.files?.length);
}

function authorOf(record: RawRecord, ctx: DocumentContext): string {
  if (record.user) return ctx.userName(record.user);
  return record.username ?? record.bot_id ?? 'unknown';
}

function firstLine(record: RawRecord, ctx: DocumentContext): string {
  const line = resolveMentions(record.text ?? '', ctx).split('\n', 1)[0]!.trim();
  return line.length > 80 ? `${line.slice(0, 79)}…` : line || 'thread';
}

/** `<@U123>` → `@alice`, `<#C1|general>` → `#general`, `<https://x|label>` → `label (https://x)`. */
export function resolveMentions(text: string, ctx: DocumentContext): string {
  return text
    .replace(/<@([A-Z0-9]+)(?:\|[^>]*)?>/g, (_, id: string) => `@${ctx.userName(id)}`)
    .replace(/<#([A-Z0-9]+)\|([^>]*)>/g, (_, _id: string, name: string) => `#${name}`)
    .replace(/<(https?:[^|>]+)\|([^>]+)>/g, '$2 ($1)')
    .replace(/<(https?:[^>]+)>/g, '$1')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&');
}
