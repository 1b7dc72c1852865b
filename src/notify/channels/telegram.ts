import { ChannelError } from '../../core/errors.js';
import type { NotifyChannelDef } from '../../config/types.js';
import { escapeHtml, excerpt, redactSecrets, type ChannelAnswer, type OutgoingMessage } from '../message.js';
import { postHttp } from './http.js';
import type { ChannelSender } from '../message.js';

export const TELEGRAM_API_URL = 'https://api.telegram.org';

/**
 * Telegram Bot API sendMessage (https://core.telegram.org/bots/api#sendmessage)
 * in HTML mode, every text escaped. The token is part of the URL path, so
 * it is scrubbed from every error.
 */
export function telegramChannel(def: NotifyChannelDef): ChannelSender {
  const { token, chatId } = def.settings;
  const apiUrl = (def.settings.apiUrl ?? TELEGRAM_API_URL).replace(/\/+$/, '');
  const secrets = [token, token ? `bot${token}` : undefined];
  return {
    secrets,
    async send(message: OutgoingMessage): Promise<ChannelAnswer> {
      if (!token) throw new Error('no token');
      const text = [
        `<b>${escapeHtml(message.title)}</b>`,
        message.body.trim() ? `<pre>${escapeHtml(message.body.trim())}</pre>` : '',
        message.held ? escapeHtml(message.held.text) : '',
        message.url ? `<a href="${escapeHtml(message.url)}">Open in Hearth</a>` : '',
      ].filter((part) => part).join('\n');
      const answer = await postHttp(
        `${apiUrl}/bot${token}/sendMessage`,
        { headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ chat_id: chatId, text, parse_mode: 'HTML', disable_web_page_preview: true }) },
        secrets,
      );
      let parsed: { ok?: boolean; description?: string } = {};
      try {
        parsed = JSON.parse(answer.body) as typeof parsed;
      } catch {
        // A 2xx that is not JSON still went through.
      }
      if (parsed.ok === false) throw new ChannelError(redactSecrets(`Telegram refused the message: ${excerpt(parsed.description ?? answer.body)}`, secrets));
      return { status: answer.status, ...(answer.detail ? { detail: answer.detail } : {}) };
    },
  };
}
