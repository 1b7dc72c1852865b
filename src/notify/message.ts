import type { NotificationKind } from './types.js';

/**
 * What a channel is given: one notification, already routed and rate-limited,
 * with a stable `id` the receiver can deduplicate on (the same id after a
 * restart or a retry) and the full link to the dashboard when notify.baseUrl
 * is set.
 */
export interface OutgoingMessage {
  id: string;
  /** `test` for `hearth notify test` / the Settings page's button. */
  kind: NotificationKind | 'test';
  job?: string;
  runId?: string;
  title: string;
  body: string;
  /** A full link (baseUrl + path) when notify.baseUrl is set; absent otherwise. */
  url?: string;
  /** The dashboard path the link points to. */
  path?: string;
  /** When it happened (epoch ms). */
  at: number;
  /** Notifications of the same job and kind held back by the quiet window, summed up in this one. */
  held?: { count: number; since: number; text: string };
}

/** What the receiving service answered, short enough to print: `200 OK`, a body excerpt. */
export interface ChannelAnswer {
  status: string;
  detail?: string;
}

/** One configured channel, ready to send. */
export interface ChannelSender {
  /** Throws a ChannelError (core/errors.ts; message free of secrets) when the receiver did not take it. */
  send(message: OutgoingMessage): Promise<ChannelAnswer>;
  /** Values to scrub from anything logged or shown about this channel. */
  readonly secrets: ReadonlyArray<string | undefined>;
}

/** The plain text of a message: body, the held-back summary, the link. */
export function plainText(message: OutgoingMessage): string {
  return [message.body.trim(), message.held?.text, message.url ? `Open: ${message.url}` : undefined].filter((part) => part).join('\n\n');
}

/** For HTML bodies (email, Telegram's HTML mode): `<`, `>`, `&`, quotes. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (char) => `&#${char.charCodeAt(0)};`);
}

/** Slack mrkdwn: only `&`, `<` and `>` are control characters (https://api.slack.com/reference/surfaces/formatting#escaping). */
export function escapeSlack(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** At most `max` characters of a receiver's answer, on one line. */
export function excerpt(text: string, max = 200): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}

/**
 * Removes every secret from a text that may be logged or shown (an error
 * message from a client library can quote the URL it called, and a
 * Telegram or Slack webhook URL carries its token).
 */
export function redactSecrets(text: string, secrets: ReadonlyArray<string | undefined>): string {
  let out = text;
  const values = secrets.filter((value): value is string => typeof value === 'string' && value.length >= 4).sort((a, b) => b.length - a.length);
  for (const value of values) {
    out = out.split(value).join('•••');
    const encoded = encodeURIComponent(value);
    if (encoded !== value) out = out.split(encoded).join('•••');
  }
  return out;
}

/** The parts of a URL that are secrets: its password, its query and, for token-in-path URLs, the path. */
export function urlSecrets(url: string | undefined, options: { path?: boolean } = {}): string[] {
  if (!url) return [];
  const out = [url];
  try {
    const parsed = new URL(url);
    if (parsed.password) out.push(parsed.password, decodeURIComponent(parsed.password));
    if (parsed.username && parsed.password) out.push(`${parsed.username}:${parsed.password}`);
    if (parsed.search.length > 1) out.push(parsed.search.slice(1));
    if (options.path && parsed.pathname.length > 1) out.push(parsed.pathname);
  } catch {
    // Not a URL: the whole value is already in the list.
  }
  return out;
}
