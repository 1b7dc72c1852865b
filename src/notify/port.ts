import type { ChannelAnswer } from './message.js';
import type { ChannelStatus } from './notifier.js';

/** What the HTTP API, the CLI and the Settings page use of the notifications: never a setting or a secret. */
export interface NotifyPort {
  /** The configured channels with their delivery state. */
  channels(): ChannelStatus[];
  /** Sends a test message to one channel and waits for the receiver's answer; throws a ChannelError (secrets removed). */
  test(channel: string): Promise<ChannelAnswer>;
}
