import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { SlackMessage } from './api.js';
import { compareTs } from './ts.js';

/**
 * A fake Slack Web API on 127.0.0.1 for tests and benchmarks (shipped in dist/ for scripts/bench-slack.mjs): the real
 * `@slack/web-api` client talks to it (`slackApiUrl`). It keeps channels,
 * users and messages (threads, edits, deletions), pages with cursors, honours
 * `oldest`/`latest`, can answer 429 with Retry-After, cap `limit` the way
 * Slack does for non-Marketplace apps, and refuse a revoked token.
 */

export interface FakeSlackRequest {
  method: string;
  params: Record<string, string>;
  /** `now()` when it arrived. */
  at: number;
  /** 200, or 429 for a rate-limited answer. */
  status: number;
}

interface StoredMessage extends SlackMessage {
  channel: string;
}

export interface FakeSlackOptions {
  token?: string;
  team?: { id: string; name: string };
  scopes?: string[];
  /** The clock the request log and rate limits use (default Date.now). */
  now?: () => number;
  /** Slack's cap on `limit` (non-Marketplace apps: 15). */
  maxLimit?: number;
}

export class FakeSlack {
  readonly requests: FakeSlackRequest[] = [];
  readonly channels: Array<{ id: string; name: string; is_private?: boolean }> = [];
  readonly users: Array<{ id: string; name: string; real_name?: string }> = [];
  token: string;
  scopes: string[];
  maxLimit: number | undefined;
  readonly team: { id: string; name: string };
  private readonly messages: StoredMessage[] = [];
  private readonly now: () => number;
  private server: Server | undefined;
  private limited: Array<{ method: string; retryAfterS: number; times: number }> = [];
  private blockedUntil = new Map<string, number>();
  /** Called after each answer (tests use it to kill a process mid-channel). */
  onRequest: ((request: FakeSlackRequest) => void) | undefined;

  constructor(options: FakeSlackOptions = {}) {
    this.token = options.token ?? 'xoxp-test-token';
    this.team = options.team ?? { id: 'T001', name: 'Home' };
    this.scopes = options.scopes ?? ['channels:read', 'channels:history', 'groups:read', 'groups:history', 'users:read'];
    this.now = options.now ?? Date.now;
    this.maxLimit = options.maxLimit;
  }

  async start(): Promise<string> {
    this.server = createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    return this.url;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server!.address() as AddressInfo).port}/api/`;
  }

  async stop(): Promise<void> {
    if (!this.server) return;
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server!.close(() => resolve()));
  }

  addChannel(id: string, name: string): void {
    this.channels.push({ id, name });
  }

  addUser(id: string, name: string, realName?: string): void {
    this.users.push({ id, name, ...(realName ? { real_name: realName } : {}) });
  }

  /** Posts a message (a reply when `thread_ts` is given). `ts` is epoch seconds as Slack writes it. */
  post(channel: string, message: { ts: string; user?: string; text: string; thread_ts?: string; files?: SlackMessage['files'] }): void {
    this.messages.push({ type: 'message', channel, ...message });
    this.threadIndex = undefined;
  }

  edit(channel: string, ts: string, text: string, editedTs: string): void {
    const message = this.find(channel, ts);
    message.text = text;
    message.edited = { user: message.user ?? '', ts: editedTs };
  }

  delete(channel: string, ts: string): void {
    const index = this.messages.findIndex((m) => m.channel === channel && m.ts === ts);
    if (index < 0) throw new Error(`no message ${ts} in ${channel}`);
    this.messages.splice(index, 1);
    this.threadIndex = undefined;
  }

  /** The next `times` calls of `method` answer 429 with `Retry-After: retryAfterS`. */
  rateLimit(method: string, retryAfterS: number, times = 1): void {
    this.limited.push({ method, retryAfterS, times });
  }

  /** Calls of `method` (history, replies, …) in the request log. */
  calls(method: string): FakeSlackRequest[] {
    return this.requests.filter((r) => r.method === method && r.status === 200);
  }

  messageCount(): number {
    return this.messages.length;
  }

  private find(channel: string, ts: string): StoredMessage {
    const message = this.messages.find((m) => m.channel === channel && m.ts === ts);
    if (!message) throw new Error(`no message ${ts} in ${channel}`);
    return message;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    let body = '';
    for await (const chunk of req) body += String(chunk);
    const method = (req.url ?? '').replace(/^\/api\//, '').split('?')[0]!;
    const params = Object.fromEntries(new URLSearchParams(body));
    const request: FakeSlackRequest = { method, params, at: this.now(), status: 200 };
    this.requests.push(request);
    const send = (status: number, value: unknown, headers: Record<string, string> = {}) => {
      request.status = status;
      res.writeHead(status, { 'content-type': 'application/json', ...headers });
      res.end(JSON.stringify(value));
      this.onRequest?.(request);
    };
    const rule = this.limited.find((entry) => entry.method === method && entry.times > 0);
    if (rule) {
      rule.times--;
      this.blockedUntil.set(method, this.now() + rule.retryAfterS * 1000);
      return send(429, { ok: false, error: 'ratelimited' }, { 'retry-after': String(rule.retryAfterS) });
    }
    const blocked = this.blockedUntil.get(method);
    if (blocked !== undefined && this.now() < blocked) {
      // A request before the time Slack named: answered 429 again, and the test sees it in the log.
      return send(429, { ok: false, error: 'ratelimited' }, { 'retry-after': String(Math.ceil((blocked - this.now()) / 1000)) });
    }
    const auth = req.headers.authorization ?? '';
    if (auth !== `Bearer ${this.token}`) return send(200, { ok: false, error: 'invalid_auth' });
    const limit = Math.min(Number(params.limit ?? 100) || 100, 1000, this.maxLimit ?? Infinity);
    switch (method) {
      case 'auth.test':
        return send(200, { ok: true, url: `https://fake.slack.com/`, team: this.team.name, team_id: this.team.id, user: 'me', user_id: 'U000' }, { 'x-oauth-scopes': this.scopes.join(',') });
      case 'conversations.list':
        return send(200, { ok: true, channels: this.channels, response_metadata: { next_cursor: '' } });
      case 'users.list':
        return send(200, { ok: true, members: this.users, response_metadata: { next_cursor: '' } });
      case 'conversations.history':
        return send(200, this.history(params, limit));
      case 'conversations.replies':
        return send(200, this.replies(params, limit));
      default:
        return send(200, { ok: false, error: 'unknown_method' });
    }
  }

  /** Replies by `channel/thread_ts`, rebuilt after a change (a benchmark workspace has 100k messages). */
  private threadIndex: Map<string, StoredMessage[]> | undefined;

  private repliesOf(channel: string, ts: string): StoredMessage[] {
    if (!this.threadIndex) {
      this.threadIndex = new Map();
      for (const m of this.messages) {
        if (m.thread_ts === undefined || m.thread_ts === m.ts) continue;
        const key = `${m.channel}/${m.thread_ts}`;
        const list = this.threadIndex.get(key) ?? [];
        list.push(m);
        this.threadIndex.set(key, list);
      }
    }
    return this.threadIndex.get(`${channel}/${ts}`) ?? [];
  }

  private withThreadFields(message: StoredMessage): SlackMessage {
    const { channel, ...rest } = message;
    const replies = this.repliesOf(channel, message.ts);
    if (replies.length === 0) return rest;
    const latest = replies.map((m) => m.ts).sort(compareTs).at(-1)!;
    return { ...rest, thread_ts: message.ts, reply_count: replies.length, latest_reply: latest };
  }

  /** Newest first; `oldest`/`latest` exclusive; the cursor is the ts to continue below. */
  private history(params: Record<string, string>, limit: number): unknown {
    const channel = params.channel!;
    if (!this.channels.some((c) => c.id === channel)) return { ok: false, error: 'channel_not_found' };
    const top = this.messages
      .filter((m) => m.channel === channel && (m.thread_ts === undefined || m.thread_ts === m.ts))
      .filter((m) => (params.oldest ? compareTs(m.ts, params.oldest) > 0 : true) && (params.latest ? compareTs(m.ts, params.latest) < 0 : true))
      .filter((m) => (params.cursor ? compareTs(m.ts, decode(params.cursor)) <= 0 : true))
      .sort((a, b) => compareTs(b.ts, a.ts));
    const page = top.slice(0, limit);
    const more = top.length > limit;
    return { ok: true, messages: page.map((m) => this.withThreadFields(m)), has_more: more, response_metadata: { next_cursor: more ? encode(top[limit]!.ts) : '' } };
  }

  /** The parent first, then replies oldest first (those after `oldest`). */
  private replies(params: Record<string, string>, limit: number): unknown {
    const channel = params.channel!;
    const parent = this.messages.find((m) => m.channel === channel && m.ts === params.ts);
    if (!parent) return { ok: false, error: 'thread_not_found' };
    const replies = this.repliesOf(channel, params.ts!)
      .filter((m) => (params.oldest ? compareTs(m.ts, params.oldest) > 0 : true))
      .filter((m) => (params.cursor ? compareTs(m.ts, decode(params.cursor)) >= 0 : true))
      .sort((a, b) => compareTs(a.ts, b.ts));
    const page = replies.slice(0, limit);
    const more = replies.length > limit;
    const first = params.cursor ? [] : [this.withThreadFields(parent)];
    return { ok: true, messages: [...first, ...page.map((m) => ({ ...this.withThreadFields(m), thread_ts: params.ts }))], has_more: more, response_metadata: { next_cursor: more ? encode(replies[limit]!.ts) : '' } };
  }
}

function encode(ts: string): string {
  return Buffer.from(`ts:${ts}`).toString('base64');
}

function decode(cursor: string): string {
  return Buffer.from(cursor, 'base64').toString('utf8').slice(3);
}
