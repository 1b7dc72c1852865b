import type { NotifyChannelDef } from '../../config/types.js';
import { pickSecret, type SecretValues } from '../../secrets/store.js';
import type { ChannelSender } from '../message.js';
import { emailChannel } from './email.js';
import { ntfyChannel } from './ntfy.js';
import { slackChannel } from './slack.js';
import { telegramChannel } from './telegram.js';
import { webhookChannel } from './webhook.js';

export type { ChannelSender } from '../message.js';

/** The settings of each type that may be saved in the secrets store instead of hearth.yaml. */
export const SECRET_SETTINGS: Record<NotifyChannelDef['type'], string[]> = {
  ntfy: ['token'],
  email: ['smtp'],
  slack: ['webhook', 'token'],
  webhook: ['token'],
  telegram: ['token'],
};

/**
 * Builds the sender for a channel, with secrets from the file (`${VAR}`)
 * winning over those saved under the channel's name in the secrets store.
 */
export function createChannel(def: NotifyChannelDef, saved: SecretValues = {}): ChannelSender {
  const settings = { ...def.settings };
  for (const key of SECRET_SETTINGS[def.type]) {
    const value = pickSecret(settings[key], saved[key]);
    if (value !== undefined) settings[key] = value;
  }
  const resolved: NotifyChannelDef = { ...def, settings };
  switch (def.type) {
    case 'ntfy':
      return ntfyChannel(resolved);
    case 'email':
      return emailChannel(resolved);
    case 'slack':
      return slackChannel(resolved);
    case 'webhook':
      return webhookChannel(resolved);
    case 'telegram':
      return telegramChannel(resolved);
  }
}
