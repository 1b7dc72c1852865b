import { GmailAuthError, GmailRateLimitError, HistoryGoneError, MessageGoneError, type GmailApi, type HistoryPage, type MessageLabels } from './api.js';

/**
 * The GmailApi over Google's own clients (`@googleapis/gmail` and
 * `google-auth-library`), imported here on first use so an appliance with no
 * Gmail job never loads them. Every URL comes from the connection, so tests
 * point them at a fake on 127.0.0.1. The client's own retries are off: the
 * backup paces and waits itself (durably), on the injected clock.
 */

export interface GmailConnectionSettings {
  clientId: string;
  clientSecret?: string;
  refreshToken: string;
  /** Root of the Gmail API, default https://gmail.googleapis.com/. */
  apiUrl?: string;
  /** OAuth token endpoint, default https://oauth2.googleapis.com/token. */
  tokenUrl?: string;
}

export const DEFAULT_API_URL = 'https://gmail.googleapis.com/';
export const DEFAULT_TOKEN_URL = 'https://oauth2.googleapis.com/token';
export const DEFAULT_AUTH_URL = 'https://accounts.google.com/o/oauth2/v2/auth';

export async function openGoogleGmail(settings: GmailConnectionSettings, now: () => number): Promise<GmailApi> {
  const [{ gmail }, { OAuth2Client }] = await Promise.all([import('@googleapis/gmail'), import('google-auth-library')]);
  const auth = new OAuth2Client({
    clientId: settings.clientId,
    ...(settings.clientSecret ? { clientSecret: settings.clientSecret } : {}),
    endpoints: { oauth2TokenUrl: settings.tokenUrl ?? DEFAULT_TOKEN_URL },
  });
  auth.setCredentials({ refresh_token: settings.refreshToken });
  // @googleapis/gmail pins its own copy of google-auth-library; the client only calls auth.request().
  const api = gmail({ version: 'v1', auth: auth as never, rootUrl: settings.apiUrl ?? DEFAULT_API_URL, retry: false });
  const me = 'me';
  const call = async <T>(what: string, fn: () => Promise<T>): Promise<T> => {
    try {
      return await fn();
    } catch (error) {
      throw translate(error, what, now);
    }
  };
  return {
    profile: () =>
      call('users.getProfile', async () => {
        const { data } = await api.users.getProfile({ userId: me });
        return { emailAddress: data.emailAddress ?? '', messagesTotal: data.messagesTotal ?? 0, historyId: String(data.historyId ?? '') };
      }),
    listMessages: (query, pageToken, labelId) =>
      call('messages.list', async () => {
        const { data } = await api.users.messages.list({
          userId: me, maxResults: 500, ...(query ? { q: query } : {}), ...(pageToken ? { pageToken } : {}), ...(labelId ? { labelIds: [labelId] } : {}),
        });
        return {
          messages: (data.messages ?? []).map((m) => ({ id: m.id!, ...(m.threadId ? { threadId: m.threadId } : {}) })),
          ...(data.nextPageToken ? { nextPageToken: data.nextPageToken } : {}),
        };
      }),
    getRaw: (id) =>
      call('messages.get', async () => {
        const { data } = await api.users.messages.get({ userId: me, id, format: 'raw' });
        if (typeof data.raw !== 'string') throw new Error(`messages.get ${id}: no raw body in the answer`);
        return {
          id: data.id ?? id,
          ...(data.threadId ? { threadId: data.threadId } : {}),
          labelIds: data.labelIds ?? [],
          internalDate: Number(data.internalDate ?? 0),
          ...(data.historyId ? { historyId: String(data.historyId) } : {}),
          raw: Buffer.from(data.raw, 'base64url'),
        };
      }),
    getLabels: (id) =>
      call('messages.get', async () => {
        const { data } = await api.users.messages.get({ userId: me, id, format: 'minimal' });
        return { id: data.id ?? id, labelIds: data.labelIds ?? [] };
      }),
    history: (startHistoryId, pageToken) =>
      call('history.list', async () => {
        const { data } = await api.users.history.list({ userId: me, startHistoryId, maxResults: 500, ...(pageToken ? { pageToken } : {}) });
        const page: HistoryPage = { added: [], deleted: [], labelChanges: [], historyId: String(data.historyId ?? startHistoryId) };
        const labels = (m: { id?: string | null; labelIds?: string[] | null } | undefined): MessageLabels | undefined =>
          m?.id ? { id: m.id, labelIds: m.labelIds ?? [] } : undefined;
        for (const record of data.history ?? []) {
          for (const a of record.messagesAdded ?? []) push(page.added, labels(a.message ?? undefined));
          for (const d of record.messagesDeleted ?? []) if (d.message?.id) page.deleted.push(d.message.id);
          // One history record holds one kind of change, and records come oldest first.
          for (const l of record.labelsAdded ?? []) if (l.message?.id) page.labelChanges.push({ id: l.message.id, add: l.labelIds ?? [] });
          for (const l of record.labelsRemoved ?? []) if (l.message?.id) page.labelChanges.push({ id: l.message.id, remove: l.labelIds ?? [] });
        }
        if (data.nextPageToken) page.nextPageToken = data.nextPageToken;
        return page;
      }),
    listLabels: () =>
      call('labels.list', async () => {
        const { data } = await api.users.labels.list({ userId: me });
        return (data.labels ?? []).map((l) => ({ id: l.id!, name: l.name ?? l.id!, ...(l.type ? { type: l.type } : {}) }));
      }),
    createLabel: (name) =>
      call('labels.create', async () => {
        const { data } = await api.users.labels.create({ userId: me, requestBody: { name, labelListVisibility: 'labelShow', messageListVisibility: 'show' } });
        return { id: data.id!, name: data.name ?? name };
      }),
    batchModify: (ids, add, remove) =>
      call('messages.batchModify', async () => {
        await api.users.messages.batchModify({ userId: me, requestBody: { ids, addLabelIds: add, removeLabelIds: remove } });
      }),
  };
}

function push<T>(list: T[], value: T | undefined): void {
  if (value !== undefined) list.push(value);
}

interface VendorError {
  status?: number;
  code?: number | string;
  message?: string;
  response?: { status?: number; headers?: unknown; data?: unknown };
}

/** A Google client error as one of the typed errors in api.ts (by status and reason, never by message text). */
export function translate(error: unknown, what: string, now: () => number): Error {
  if (!(error instanceof Error)) return new Error(`${what}: ${String(error)}`);
  const e = error as Error & VendorError;
  const status = e.response?.status ?? (typeof e.status === 'number' ? e.status : undefined);
  const data = e.response?.data as { error?: unknown; error_description?: string } | undefined;
  if (data && data.error === 'invalid_grant') {
    return new GmailAuthError(`Google refused the saved refresh token (invalid_grant${data.error_description ? `: ${data.error_description}` : ''})`, { cause: error });
  }
  const reasons = reasonsOf(data);
  if (status === 429 || (status === 403 && reasons.some((r) => r === 'rateLimitExceeded' || r === 'userRateLimitExceeded'))) {
    return new GmailRateLimitError(`${what}: rate limit (${status}${reasons.length ? ` ${reasons.join(', ')}` : ''})`, retryAfterMs(e.response?.headers, now), { cause: error });
  }
  if (status === 404 && what === 'history.list') return new HistoryGoneError(`history.list: the stored history id is too old (404)`, { cause: error });
  if (status === 404 && what === 'messages.get') return new MessageGoneError(`messages.get: the message is gone (404)`, { cause: error });
  return new Error(`${what}: ${status ? `HTTP ${status}: ` : ''}${e.message}`, { cause: error });
}

function reasonsOf(data: { error?: unknown } | undefined): string[] {
  const inner = data?.error as { errors?: Array<{ reason?: string }>; status?: string } | undefined;
  if (!inner || typeof inner !== 'object') return [];
  return (inner.errors ?? []).map((e) => e.reason ?? '').filter(Boolean);
}

/** `Retry-After` as seconds or an HTTP date, from a Headers object or a plain record. */
function retryAfterMs(headers: unknown, now: () => number): number | undefined {
  let value: string | null | undefined;
  if (headers && typeof (headers as Headers).get === 'function') value = (headers as Headers).get('retry-after');
  else if (headers && typeof headers === 'object') value = (headers as Record<string, string | undefined>)['retry-after'];
  if (!value) return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now());
}
