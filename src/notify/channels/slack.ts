import { ChannelError } from '../../core/errors.js';
import type { NotifyChannelDef } from '../../config/types.js';
import { errorMessage } from '../../core/errors.js';
import { escapeSlack, redactSecrets, urlSecrets, type ChannelAnswer, type OutgoingMessage } from '../message.js';
import { postHttp } from './http.js';
import type { ChannelSender } from '../message.js';

/**
 * Slack: an incoming webhook (`webhook:`, POST JSON) or a bot token and
 * channel through @slack/web-api's chat.postMessage (`apiUrl` points it
 * elsewhere). Text is mrkdwn with `&`, `<` and `>` escaped, so a job name or
 * an output line cannot become a link or a mention.
 */
export function slackChannel(def: NotifyChannelDef): ChannelSender {
  const { webhook, token, channel, apiUrl } = def.settings;
  const secrets = [token, ...urlSecrets(webhook, { path: true })];
  return {
    secrets,
    async send(message: OutgoingMessage): Promise<ChannelAnswer> {
      const text = slackText(message);
      const payload = { text, blocks: [{ type: 'section', text: { type: 'mrkdwn', text } }], unfurl_links: false };
      if (webhook) {
        const answer = await postHttp(webhook, { headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(payload) }, secrets);
        return { status: answer.status, ...(answer.detail ? { detail: answer.detail } : {}) };
      }
      if (!token || !channel) throw new ChannelError('a slack channel needs webhook, or token and channel');
      const { WebClient } = await import('@slack/web-api');
      const client = new WebClient(token, {
        ...(apiUrl ? { slackApiUrl: apiUrl.endsWith('/') ? apiUrl : `${apiUrl}/` } : {}),
        retryConfig: { retries: 0 },
        timeout: 15_000,
        logLevel: undefined,
        logger: quietLogger,
      });
      try {
        const result = await client.chat.postMessage({ channel, ...payload, metadata: { event_type: 'hearth_notification', event_payload: { id: message.id } } });
        return { status: result.ok ? 'ok' : 'not ok', detail: `ts ${result.ts ?? '?'} in ${result.channel ?? channel}` };
      } catch (error) {
        const data = (error as { data?: { error?: string } }).data;
        throw new ChannelError(redactSecrets(`Slack refused the message: ${data?.error ?? errorMessage(error)}`, secrets), undefined, { cause: error });
      }
    },
  };
}

export function slackText(message: OutgoingMessage): string {
  const lines = [`*${escapeSlack(message.title)}*`];
  if (message.body.trim()) lines.push('```' + escapeSlack(message.body.trim()).replace(/```/g, "'''") + '```');
  if (message.held) lines.push(`_${escapeSlack(message.held.text)}_`);
  if (message.url) lines.push(`<${escapeSlack(message.url)}|Open in Hearth>`);
  return lines.join('\n');
}

/** @slack/web-api logs to the console by default; Hearth's own logger reports the outcome instead. */
const quietLogger = {
  debug() {},
  info() {},
  warn() {},
  error() {},
  setLevel() {},
  getLevel() {
    return 'error';
  },
  setName() {},
} as never;
