/**
 * What Hearth tells the person, and the port the engine tells it through.
 * Detectors (run finished, stuck, missed, inbox question, appliance health)
 * publish a Notification; the Notifier behind the port decides which
 * channels get it (notify.default / a job's notify), holds back floods
 * (notify.quiet), writes it to the outbox before sending, and delivers it.
 */
export const NOTIFICATION_KINDS = ['failure', 'recovery', 'stuck', 'missed', 'input', 'appliance'] as const;
export type NotificationKind = (typeof NOTIFICATION_KINDS)[number];

export interface Notification {
  kind: NotificationKind;
  /** The job it is about; absent for appliance notifications. */
  job?: string;
  runId?: string;
  /** One line, e.g. "backup failed". */
  title: string;
  /** Plain text, a few lines: the reason, the failing task's last output lines. */
  body: string;
  /** A dashboard path ("/runs/ID", "/inbox#ID"); the Notifier turns it into a full link. */
  path?: string;
  /**
   * What floods are counted by (one notification per key per quiet window).
   * Default `${kind}:${job ?? ''}`; appliance notifications set e.g. "appliance:disk".
   */
  key?: string;
  /** When it happened (epoch ms, from the injected clock). */
  at: number;
}

/** The port detectors publish to. Publishing never throws for a channel's failure. */
export interface NotificationSink {
  publish(notification: Notification): Promise<void>;
}

/** A sink that drops everything: for parts built without notifications (tests, the CLI). */
export const silentNotifications: NotificationSink = { publish: async () => {} };
