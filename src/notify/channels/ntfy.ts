import type { NotifyChannelDef } from '../../config/types.js';
import { plainText, urlSecrets, type ChannelAnswer, type OutgoingMessage } from '../message.js';
import { postHttp } from './http.js';
import type { ChannelSender } from '../message.js';

const TAGS: Record<OutgoingMessage['kind'], string> = {
  failure: 'rotating_light',
  recovery: 'white_check_mark',
  stuck: 'hourglass',
  missed: 'alarm_clock',
  input: 'question',
  appliance: 'warning',
  test: 'bell',
};

/**
 * ntfy (https://docs.ntfy.sh/publish/): POST the text to the topic URL, the
 * title and link in headers. Header values must be ASCII, so a title with
 * other characters goes RFC 2047-encoded (ntfy decodes it). `X-Message-Id`
 * carries the stable id; ntfy itself ignores it, a proxy can deduplicate on it.
 */
export function ntfyChannel(def: NotifyChannelDef): ChannelSender {
  const { url, token, priority } = def.settings;
  const secrets = [token, ...urlSecrets(url)];
  return {
    secrets,
    async send(message: OutgoingMessage): Promise<ChannelAnswer> {
      if (!url) throw new Error('no url');
      const headers: Record<string, string> = {
        'Content-Type': 'text/plain; charset=utf-8',
        Title: headerText(message.title),
        Tags: TAGS[message.kind],
        'X-Message-Id': message.id,
      };
      if (message.url) headers.Click = message.url;
      const level = priority ?? (message.kind === 'failure' || message.kind === 'stuck' || message.kind === 'missed' ? '4' : undefined);
      if (level) headers.Priority = level;
      if (token) headers.Authorization = `Bearer ${token}`;
      const answer = await postHttp(url, { headers, body: plainText(message) }, secrets);
      return { status: answer.status, ...(answer.detail ? { detail: answer.detail } : {}) };
    },
  };
}

function headerText(text: string): string {
  const line = text.replace(/[\r\n]+/g, ' ');
  return /^[\x20-\x7e]*$/.test(line) ? line : `=?UTF-8?B?${Buffer.from(line, 'utf8').toString('base64')}?=`;
}
