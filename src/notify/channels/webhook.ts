import type { NotifyChannelDef } from '../../config/types.js';
import { urlSecrets, type ChannelAnswer, type OutgoingMessage } from '../message.js';
import { postHttp } from './http.js';
import type { ChannelSender } from '../message.js';

/** The JSON body a `webhook` channel POSTs (documented in the README, "Notifications"). */
export interface WebhookBody {
  id: string;
  kind: OutgoingMessage['kind'];
  job: string | null;
  runId: string | null;
  title: string;
  body: string;
  url: string | null;
  path: string | null;
  /** ISO 8601. */
  at: string;
  held: { count: number; since: string; text: string } | null;
}

export function webhookBody(message: OutgoingMessage): WebhookBody {
  return {
    id: message.id,
    kind: message.kind,
    job: message.job ?? null,
    runId: message.runId ?? null,
    title: message.title,
    body: message.body,
    url: message.url ?? null,
    path: message.path ?? null,
    at: new Date(message.at).toISOString(),
    held: message.held ? { count: message.held.count, since: new Date(message.held.since).toISOString(), text: message.held.text } : null,
  };
}

/** Any URL: the JSON above, `X-Hearth-Id` with the same id, and `Authorization: Bearer <token>` when a token is set. */
export function webhookChannel(def: NotifyChannelDef): ChannelSender {
  const { url, token } = def.settings;
  const secrets = [token, ...urlSecrets(url)];
  return {
    secrets,
    async send(message: OutgoingMessage): Promise<ChannelAnswer> {
      if (!url) throw new Error('no url');
      const headers: Record<string, string> = { 'Content-Type': 'application/json', 'X-Hearth-Id': message.id, 'User-Agent': 'hearth' };
      if (token) headers.Authorization = `Bearer ${token}`;
      const answer = await postHttp(url, { headers, body: JSON.stringify(webhookBody(message)) }, secrets);
      return { status: answer.status, ...(answer.detail ? { detail: answer.detail } : {}) };
    },
  };
}
