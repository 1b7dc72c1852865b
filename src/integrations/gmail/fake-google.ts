import { createHash, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A fake of Google's OAuth token endpoint and the Gmail API on 127.0.0.1,
 * for tests and benchmarks: the real `@googleapis/gmail` client and
 * `google-auth-library` talk to it through the connection's apiUrl and
 * tokenUrl. It keeps a mailbox (raw messages, labels, a history log), checks
 * PKCE on the code exchange and bearer tokens on every API call, counts
 * requests, and can be told to answer the next calls with 429 / 403
 * rateLimitExceeded or to forget old history (404).
 */

export interface FakeMessage {
  id: string;
  threadId: string;
  raw: Buffer;
  labelIds: string[];
  internalDate: number;
  historyId: number;
}

interface HistoryRecord {
  id: number;
  messagesAdded?: Array<{ message: { id: string; threadId: string; labelIds: string[] } }>;
  messagesDeleted?: Array<{ message: { id: string; threadId: string } }>;
  labelsAdded?: Array<{ message: { id: string; threadId: string }; labelIds: string[] }>;
  labelsRemoved?: Array<{ message: { id: string; threadId: string }; labelIds: string[] }>;
}

export interface FakeRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  at: number;
}

export interface FakeGoogleOptions {
  clientId?: string;
  clientSecret?: string;
  email?: string;
  /** Milliseconds each messages.get waits before answering (bench: a network's latency). */
  getDelayMs?: number;
}

const SYSTEM_LABELS = ['INBOX', 'SENT', 'SPAM', 'TRASH', 'UNREAD', 'STARRED', 'IMPORTANT', 'DRAFT'];

export class FakeGoogle {
  readonly clientId: string;
  readonly clientSecret: string;
  readonly email: string;
  readonly messages = new Map<string, FakeMessage>();
  readonly labels = new Map<string, { id: string; name: string; type: string }>(SYSTEM_LABELS.map((l) => [l, { id: l, name: l, type: 'system' }]));
  readonly requests: FakeRequest[] = [];
  private history: HistoryRecord[] = [];
  private historyId = 1000;
  /** History ids below this answer 404. */
  private oldestHistory = 1000;
  private codes = new Map<string, { challenge: string; method: string; redirectUri: string }>();
  readonly refreshTokens = new Set<string>();
  private accessTokens = new Set<string>();
  private failures: Array<{ status: number; retryAfter?: number; reason?: string; match?: RegExp }> = [];
  private server: Server | undefined;
  private nextId = 0x18c0000000000000n;
  private nextLabel = 1;
  url = '';

  constructor(private readonly options: FakeGoogleOptions = {}) {
    this.clientId = options.clientId ?? 'fake-client.apps.googleusercontent.com';
    this.clientSecret = options.clientSecret ?? 'fake-client-secret';
    this.email = options.email ?? 'me@example.com';
  }

  async start(): Promise<this> {
    this.server = createServer((req, res) => {
      this.handle(req, res).catch((error: unknown) => {
        res.writeHead(500, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: { code: 500, message: String(error) } }));
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  get apiUrl(): string {
    return `${this.url}/`;
  }

  get tokenUrl(): string {
    return `${this.url}/token`;
  }

  get authUrl(): string {
    return `${this.url}/o/oauth2/v2/auth`;
  }

  /** A refresh token the fake accepts (as if a connect flow had happened). */
  issueRefreshToken(): string {
    const token = `1//fake-refresh-${randomBytes(8).toString('hex')}`;
    this.refreshTokens.add(token);
    return token;
  }

  /** Revokes every refresh token: the next refresh answers invalid_grant. */
  revokeAll(): void {
    this.refreshTokens.clear();
    this.accessTokens.clear();
  }

  /**
   * What Google's consent page does when the person approves: checks the
   * client, remembers the PKCE challenge with a new code, and returns the
   * redirect address the browser then fails to load.
   */
  approve(consentUrl: string): string {
    const url = new URL(consentUrl);
    const p = url.searchParams;
    if (p.get('client_id') !== this.clientId) throw new Error(`consent: unknown client_id ${p.get('client_id')}`);
    const challenge = p.get('code_challenge');
    if (!challenge) throw new Error('consent: no code_challenge (PKCE)');
    const redirectUri = p.get('redirect_uri') ?? '';
    const code = `4/0fake-${randomBytes(8).toString('hex')}`;
    this.codes.set(code, { challenge, method: p.get('code_challenge_method') ?? 'plain', redirectUri });
    const back = new URL(redirectUri);
    back.searchParams.set('state', p.get('state') ?? '');
    back.searchParams.set('code', code);
    back.searchParams.set('scope', p.get('scope') ?? '');
    return back.toString();
  }

  /** The next `count` API calls (matching `match`, a path pattern) answer this error. */
  failNext(count: number, failure: { status: 429 | 403 | 500; retryAfter?: number; match?: RegExp }): void {
    for (let i = 0; i < count; i++) {
      this.failures.push({ status: failure.status, ...(failure.retryAfter !== undefined ? { retryAfter: failure.retryAfter } : {}), ...(failure.match ? { match: failure.match } : {}), ...(failure.status === 403 ? { reason: 'rateLimitExceeded' } : {}) });
    }
  }

  /** Forgets history: every history id before the current one answers 404. */
  expireHistory(): void {
    this.history = [];
    this.oldestHistory = this.historyId;
  }

  /** Adds a message (as delivered mail); returns its id. */
  addMessage(raw: string | Buffer, options: { labels?: string[]; date?: number; threadId?: string } = {}): string {
    const id = (this.nextId++).toString(16);
    const message: FakeMessage = {
      id,
      threadId: options.threadId ?? id,
      raw: Buffer.isBuffer(raw) ? raw : Buffer.from(raw),
      labelIds: options.labels ?? ['INBOX', 'UNREAD'],
      internalDate: options.date ?? Date.UTC(2026, 0, 1) + Number(this.nextId % 1_000_000n) * 60_000,
      historyId: ++this.historyId,
    };
    this.messages.set(id, message);
    this.history.push({ id: message.historyId, messagesAdded: [{ message: { id, threadId: message.threadId, labelIds: message.labelIds } }] });
    return id;
  }

  deleteMessage(id: string): void {
    const message = this.messages.get(id);
    if (!message) return;
    this.messages.delete(id);
    this.history.push({ id: ++this.historyId, messagesDeleted: [{ message: { id, threadId: message.threadId } }] });
  }

  modifyLabels(id: string, add: string[], remove: string[]): void {
    const message = this.messages.get(id);
    if (!message) return;
    const added = add.filter((l) => !message.labelIds.includes(l));
    const removed = remove.filter((l) => message.labelIds.includes(l));
    message.labelIds = [...message.labelIds.filter((l) => !removed.includes(l)), ...added];
    if (added.length) this.history.push({ id: ++this.historyId, labelsAdded: [{ message: { id, threadId: message.threadId }, labelIds: added }] });
    if (removed.length) this.history.push({ id: ++this.historyId, labelsRemoved: [{ message: { id, threadId: message.threadId }, labelIds: removed }] });
  }

  /** Requests whose path matches, e.g. count(/\/messages\/[^/]+$/) for messages.get. */
  count(pattern: RegExp, method?: string): number {
    return this.requests.filter((r) => pattern.test(r.path) && (!method || r.method === method)).length;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const query = Object.fromEntries(url.searchParams);
    this.requests.push({ method: req.method ?? 'GET', path: url.pathname, query, at: Date.now() });
    const body = await readBody(req);
    if (url.pathname === '/token' && req.method === 'POST') return this.token(new URLSearchParams(body), res);
    const prefix = '/gmail/v1/users/me';
    if (!url.pathname.startsWith(prefix)) return json(res, 404, { error: { code: 404, message: 'Not Found' } });
    const auth = req.headers.authorization ?? '';
    if (!auth.startsWith('Bearer ') || !this.accessTokens.has(auth.slice(7))) {
      return json(res, 401, { error: { code: 401, message: 'Request had invalid authentication credentials.', status: 'UNAUTHENTICATED' } });
    }
    const path = url.pathname.slice(prefix.length);
    const failureAt = this.failures.findIndex((f) => !f.match || f.match.test(path));
    if (failureAt >= 0) {
      const failure = this.failures.splice(failureAt, 1)[0]!;
      const headers: Record<string, string> = failure.retryAfter !== undefined ? { 'retry-after': String(failure.retryAfter) } : {};
      const reason = failure.reason ?? (failure.status === 429 ? 'rateLimitExceeded' : 'backendError');
      return json(res, failure.status, { error: { code: failure.status, message: 'User-rate limit exceeded.', errors: [{ reason, domain: 'usageLimits', message: 'User-rate limit exceeded.' }] } }, headers);
    }
    const method = req.method ?? 'GET';
    if (path === '/profile') return json(res, 200, { emailAddress: this.email, messagesTotal: this.messages.size, threadsTotal: this.messages.size, historyId: String(this.historyId) });
    if (path === '/messages' && method === 'GET') return this.list(query, res);
    if (path === '/messages/batchModify' && method === 'POST') return this.batchModify(JSON.parse(body || '{}') as Record<string, string[]>, res);
    const get = /^\/messages\/([^/]+)$/.exec(path);
    if (get && method === 'GET') return this.get(get[1]!, query.format ?? 'full', res);
    if (path === '/history' && method === 'GET') return this.historyList(query, res);
    if (path === '/labels' && method === 'GET') return json(res, 200, { labels: [...this.labels.values()] });
    if (path === '/labels' && method === 'POST') {
      const { name } = JSON.parse(body) as { name: string };
      if ([...this.labels.values()].some((l) => l.name === name)) return json(res, 409, { error: { code: 409, message: 'Label name exists or conflicts' } });
      const label = { id: `Label_${this.nextLabel++}`, name, type: 'user' };
      this.labels.set(label.id, label);
      return json(res, 200, label);
    }
    return json(res, 404, { error: { code: 404, message: 'Not Found' } });
  }

  private token(params: URLSearchParams, res: ServerResponse): void {
    if (params.get('client_id') !== this.clientId || params.get('client_secret') !== this.clientSecret) {
      return json(res, 401, { error: 'invalid_client', error_description: 'The OAuth client was not found.' });
    }
    const grant = params.get('grant_type');
    if (grant === 'authorization_code') {
      const code = params.get('code') ?? '';
      const pending = this.codes.get(code);
      this.codes.delete(code);
      if (!pending) return json(res, 400, { error: 'invalid_grant', error_description: 'Malformed auth code.' });
      const verifier = params.get('code_verifier') ?? '';
      const computed = pending.method === 'S256' ? createHash('sha256').update(verifier).digest('base64url') : verifier;
      if (!verifier || computed !== pending.challenge) return json(res, 400, { error: 'invalid_grant', error_description: 'Invalid code verifier.' });
      if (params.get('redirect_uri') !== pending.redirectUri) return json(res, 400, { error: 'redirect_uri_mismatch', error_description: 'Bad Request' });
      const refresh = this.issueRefreshToken();
      return json(res, 200, { access_token: this.access(), expires_in: 3599, refresh_token: refresh, scope: 'https://www.googleapis.com/auth/gmail.modify', token_type: 'Bearer' });
    }
    if (grant === 'refresh_token') {
      if (!this.refreshTokens.has(params.get('refresh_token') ?? '')) return json(res, 400, { error: 'invalid_grant', error_description: 'Token has been expired or revoked.' });
      return json(res, 200, { access_token: this.access(), expires_in: 3599, scope: 'https://www.googleapis.com/auth/gmail.modify', token_type: 'Bearer' });
    }
    return json(res, 400, { error: 'unsupported_grant_type' });
  }

  private access(): string {
    const token = `ya29.fake-${randomBytes(12).toString('hex')}`;
    this.accessTokens.add(token);
    return token;
  }

  private list(query: Record<string, string>, res: ServerResponse): void {
    const matching = [...this.messages.values()]
      .filter((m) => matches(m, query.q ?? '', this.labels) && (!query.labelIds || m.labelIds.includes(query.labelIds)))
      .sort((a, b) => b.internalDate - a.internalDate || (a.id < b.id ? 1 : -1));
    const max = Math.min(Number(query.maxResults ?? 100), 500);
    const start = Number(query.pageToken ?? 0);
    const page = matching.slice(start, start + max);
    const next = start + max < matching.length ? String(start + max) : undefined;
    json(res, 200, { ...(page.length ? { messages: page.map((m) => ({ id: m.id, threadId: m.threadId })) } : {}), ...(next ? { nextPageToken: next } : {}), resultSizeEstimate: matching.length });
  }

  private async get(id: string, format: string, res: ServerResponse): Promise<void> {
    const m = this.messages.get(id);
    if (!m) return json(res, 404, { error: { code: 404, message: 'Requested entity was not found.' } });
    if (this.options.getDelayMs) await new Promise((r) => setTimeout(r, this.options.getDelayMs));
    const base = { id: m.id, threadId: m.threadId, labelIds: m.labelIds, historyId: String(m.historyId), internalDate: String(m.internalDate), sizeEstimate: m.raw.length };
    if (format === 'raw') return json(res, 200, { ...base, raw: m.raw.toString('base64url') });
    return json(res, 200, base);
  }

  private historyList(query: Record<string, string>, res: ServerResponse): void {
    const start = Number(query.startHistoryId);
    if (!Number.isFinite(start) || start < this.oldestHistory) return json(res, 404, { error: { code: 404, message: 'Requested entity was not found.', errors: [{ reason: 'notFound' }] } });
    const records = this.history.filter((h) => h.id > start);
    const max = Math.min(Number(query.maxResults ?? 100), 500);
    const offset = Number(query.pageToken ?? 0);
    const page = records.slice(offset, offset + max);
    const next = offset + max < records.length ? String(offset + max) : undefined;
    json(res, 200, { ...(page.length ? { history: page } : {}), historyId: String(this.historyId), ...(next ? { nextPageToken: next } : {}) });
  }

  private batchModify(body: Record<string, string[]>, res: ServerResponse): void {
    const ids = body.ids ?? [];
    if (ids.length > 1000) return json(res, 400, { error: { code: 400, message: 'Too many ids (max 1000)' } });
    for (const label of [...(body.addLabelIds ?? []), ...(body.removeLabelIds ?? [])]) {
      if (!this.labels.has(label)) return json(res, 400, { error: { code: 400, message: `Invalid label: ${label}` } });
    }
    for (const id of ids) this.modifyLabels(id, body.addLabelIds ?? [], body.removeLabelIds ?? []);
    res.writeHead(204);
    res.end();
  }
}

/** Enough of Gmail's search syntax for tests: in:/label:/-in:, from:, subject:, after:, and plain words (in the raw text). */
function matches(m: FakeMessage, q: string, labels: Map<string, { id: string; name: string }>): boolean {
  const text = m.raw.toString('utf8').toLowerCase();
  const header = (name: string) => new RegExp(`^${name}:(.*)$`, 'im').exec(m.raw.toString('utf8'))?.[1]?.toLowerCase() ?? '';
  for (const term of q.match(/-?[a-z]+:"[^"]*"|-?[a-z]+:\S+|"[^"]*"|\S+/gi) ?? []) {
    const negate = term.startsWith('-');
    const body = negate ? term.slice(1) : term;
    const colon = body.indexOf(':');
    const key = colon > 0 ? body.slice(0, colon).toLowerCase() : '';
    const value = (colon > 0 ? body.slice(colon + 1) : body).replace(/^"|"$/g, '').toLowerCase();
    let ok: boolean;
    if (key === 'in' || key === 'label') {
      const ids = m.labelIds.map((l) => l.toLowerCase()).concat(m.labelIds.map((l) => labels.get(l)?.name.toLowerCase() ?? ''));
      ok = ids.includes(value);
    } else if (key === 'from' || key === 'to' || key === 'subject') ok = header(key).includes(value);
    else if (key === 'after') ok = m.internalDate >= Number(value) * 1000;
    else if (key === 'before') ok = m.internalDate < Number(value) * 1000;
    else ok = text.includes(value);
    if (ok === negate) return false;
  }
  return true;
}

function json(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...headers });
  res.end(JSON.stringify(body));
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** A plausible message: headers, a text part, sometimes HTML and an attachment; CRLF line ends like Gmail's raw. */
export function sampleMessage(n: number, options: { subject?: string; body?: string; html?: string; from?: string; attachment?: string; date?: Date } = {}): string {
  const date = (options.date ?? new Date(Date.UTC(2026, 0, 1) + n * 3_600_000)).toUTCString().replace('GMT', '+0000');
  const headers = [
    `From: ${options.from ?? `Sender ${n % 7} <sender${n % 7}@example.org>`}`,
    'To: Me <me@example.com>',
    `Subject: ${options.subject ?? `Message number ${n}`}`,
    `Date: ${date}`,
    `Message-ID: <msg-${n}@example.org>`,
    'MIME-Version: 1.0',
  ];
  const text = options.body ?? `Hello,\n\nThis is message ${n}. ${'Lorem ipsum dolor sit amet, consectetur adipiscing elit. '.repeat(1 + (n % 5))}\n\nRegards`;
  if (!options.html && !options.attachment) {
    return [...headers, 'Content-Type: text/plain; charset=utf-8', '', text, ''].join('\r\n');
  }
  const boundary = `b${n}x`;
  const parts = [`--${boundary}`, 'Content-Type: text/plain; charset=utf-8', '', text];
  if (options.html) parts.push(`--${boundary}`, 'Content-Type: text/html; charset=utf-8', '', options.html);
  if (options.attachment) {
    parts.push(`--${boundary}`, `Content-Type: application/pdf; name="${options.attachment}"`, `Content-Disposition: attachment; filename="${options.attachment}"`, 'Content-Transfer-Encoding: base64', '', Buffer.from(`%PDF-1.4 fake ${n}`).toString('base64'));
  }
  parts.push(`--${boundary}--`, '');
  return [...headers, `Content-Type: multipart/mixed; boundary="${boundary}"`, '', ...parts].join('\r\n');
}
