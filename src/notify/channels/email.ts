import { ChannelError } from '../../core/errors.js';
import type { NotifyChannelDef } from '../../config/types.js';
import { errorMessage } from '../../core/errors.js';
import { escapeHtml, excerpt, plainText, redactSecrets, urlSecrets, type ChannelAnswer, type OutgoingMessage } from '../message.js';
import type { ChannelSender } from '../message.js';

/**
 * Email through nodemailer: `smtp://` upgrades with STARTTLS when the server
 * offers it, `smtps://` is TLS from the start. A text and an HTML part (every
 * value escaped); the Message-ID is built from the notification's id so a
 * resend after a crash is the same message to the mail system.
 */
export function emailChannel(def: NotifyChannelDef): ChannelSender {
  const { smtp, from, to } = def.settings;
  const secrets = urlSecrets(smtp);
  return {
    secrets,
    async send(message: OutgoingMessage): Promise<ChannelAnswer> {
      if (!smtp) throw new ChannelError('no smtp URL: set smtp in hearth.yaml or save it in the secrets store');
      const nodemailer = await import('nodemailer');
      const transport = nodemailer.createTransport(smtp);
      try {
        const info = await transport.sendMail({
          from,
          to,
          subject: `[hearth] ${message.title.replace(/[\r\n]+/g, ' ')}`,
          messageId: `<${message.id}@hearth>`,
          headers: { 'X-Hearth-Id': message.id },
          text: plainText(message),
          html: emailHtml(message),
        });
        return { status: excerpt(String(info.response ?? 'accepted')), detail: `accepted: ${(info.accepted ?? []).map(String).join(', ')}` };
      } catch (error) {
        throw new ChannelError(redactSecrets(`the mail server refused the message: ${errorMessage(error)}`, secrets), undefined, { cause: error });
      } finally {
        transport.close();
      }
    },
  };
}

export function emailHtml(message: OutgoingMessage): string {
  const parts = [`<h2 style="font-family:sans-serif">${escapeHtml(message.title)}</h2>`];
  if (message.body.trim()) parts.push(`<pre style="white-space:pre-wrap">${escapeHtml(message.body.trim())}</pre>`);
  if (message.held) parts.push(`<p><em>${escapeHtml(message.held.text)}</em></p>`);
  if (message.url) parts.push(`<p><a href="${escapeHtml(message.url)}">Open in Hearth</a></p>`);
  return `<!doctype html><html><body>${parts.join('\n')}</body></html>`;
}
