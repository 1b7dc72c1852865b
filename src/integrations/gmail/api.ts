/**
 * The slice of the Gmail API the backup and label actions use, as a small
 * port: the Google client (google.ts, loaded lazily) implements it, and the
 * errors that steer behaviour are typed here so the actions never look at a
 * vendor error or its message.
 */

export interface MessageRef {
  id: string;
  threadId?: string;
}

export interface RawMessage {
  id: string;
  threadId?: string;
  labelIds: string[];
  /** Epoch ms (Gmail's internalDate: when Google received it). */
  internalDate: number;
  historyId?: string;
  /** The message exactly as Gmail stores it (RFC 822 bytes). */
  raw: Buffer;
}

export interface MessageLabels {
  id: string;
  labelIds: string[];
}

/** What one page of `history.list` says changed, flattened. */
export interface HistoryPage {
  added: MessageLabels[];
  deleted: string[];
  /** Label changes in the order they happened (an add then a remove of one label must end removed). */
  labelChanges: Array<{ id: string; add?: string[]; remove?: string[] }>;
  /** The mailbox's current history id (store it for the next run). */
  historyId: string;
  nextPageToken?: string;
}

export interface Label {
  id: string;
  name: string;
  type?: string;
}

export interface GmailApi {
  profile(): Promise<{ emailAddress: string; messagesTotal: number; historyId: string }>;
  /** One page of message ids matching `query` (newest first), up to 500; with `labelId`, only messages that carry it. */
  listMessages(query: string | undefined, pageToken?: string, labelId?: string): Promise<{ messages: MessageRef[]; nextPageToken?: string }>;
  getRaw(id: string): Promise<RawMessage>;
  /** Labels only (`format=minimal`). */
  getLabels(id: string): Promise<MessageLabels>;
  /** Throws HistoryGoneError when `startHistoryId` is too old (HTTP 404). */
  history(startHistoryId: string, pageToken?: string): Promise<HistoryPage>;
  listLabels(): Promise<Label[]>;
  createLabel(name: string): Promise<Label>;
  /** At most 1,000 ids. */
  batchModify(ids: string[], add: string[], remove: string[]): Promise<void>;
}

/** Per-user rate limit hit (429, or 403 rateLimitExceeded / userRateLimitExceeded): wait `retryAfterMs`, then try again. */
export class GmailRateLimitError extends Error {
  override name = 'GmailRateLimitError';
  constructor(message: string, readonly retryAfterMs: number | undefined, options?: ErrorOptions) {
    super(message, options);
  }
}

/** `history.list` answered 404: the stored history id is too old; a full re-list is needed. */
export class HistoryGoneError extends Error {
  override name = 'HistoryGoneError';
}

// Google refusing the refresh token steers the gmail actions (src/actions/gmail.ts): typed in core/errors.ts.
export { GmailAuthError } from '../../core/errors.js';

/** A message that no longer exists (deleted between list and get). */
export class MessageGoneError extends Error {
  override name = 'MessageGoneError';
}

/**
 * What each call costs in quota units. The defaults are those of projects
 * created since May 2026 (messages.get 20 units); older projects pay 5 for a
 * get and can say so with `costs:` in `with:`.
 */
export const DEFAULT_COSTS = {
  'users.getProfile': 1,
  'messages.list': 5,
  'messages.get': 20,
  'history.list': 2,
  'labels.list': 1,
  'labels.create': 5,
  'messages.batchModify': 50,
} as const;
export type GmailMethod = keyof typeof DEFAULT_COSTS;
export type GmailCosts = Record<GmailMethod, number>;

/** Units per minute per user: 6,000 for new projects (was 15,000, i.e. 250 units/s). */
export const DEFAULT_QUOTA_PER_MINUTE = 6000;
