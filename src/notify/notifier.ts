import { ChannelError } from '../core/errors.js';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import type { Clock, Timer } from '../core/clock.js';
import { errorMessage } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { HearthConfig, JobNotify, NotifyChannelDef, NotifyConfig } from '../config/types.js';
import type { SecretValues } from '../secrets/store.js';
import { createChannel, type ChannelSender } from './channels/index.js';
import { redactSecrets, type ChannelAnswer, type OutgoingMessage } from './message.js';
import { Outbox, OUTBOX_LIMITS, type Delivery, type HeldBack, type OutboxLimits } from './outbox.js';
import type { Notification, NotificationKind, NotificationSink } from './types.js';

/** What the Settings page, `GET /api/notify/channels` and /api/health show of a channel: never a setting or a secret. */
export interface ChannelStatus {
  name: string;
  type: NotifyChannelDef['type'];
  /** ISO 8601 of the last message the receiver took. */
  lastDeliveryAt?: string;
  lastErrorAt?: string;
  /** Secrets removed. */
  lastError?: string;
  /** Failed attempts since the last delivery: a channel that keeps failing shows here. */
  consecutiveFailures: number;
  /** Messages waiting in the outbox for this channel. */
  pending: number;
}

export interface NotifierDeps {
  config: HearthConfig;
  clock: Clock;
  logger: Logger;
  /** The saved secrets of a channel (SecretsStore.get under the channel's name). */
  secrets?(channel: string): Promise<SecretValues>;
  /** Builds a channel's sender (tests may swap it). */
  createChannel?(def: NotifyChannelDef, saved: SecretValues): ChannelSender;
  limits?: Partial<NotifierLimits>;
}

export interface NotifierLimits extends OutboxLimits {
  /** First retry delay; doubles per failure up to maxRetryMs. */
  firstRetryMs: number;
  maxRetryMs: number;
  /** A message not delivered after this long is dropped (and logged). */
  giveUpAfterMs: number;
  /** Longer bodies are cut (the last output lines are what matter). */
  maxBodyChars: number;
}

export const NOTIFIER_LIMITS: NotifierLimits = {
  ...OUTBOX_LIMITS,
  firstRetryMs: 10_000,
  maxRetryMs: 30 * 60_000,
  giveUpAfterMs: 3 * 86_400_000,
  maxBodyChars: 4000,
};

interface QuietWindow {
  /** When the last message of this key went out (entered the outbox). */
  sentAt: number;
  held: number;
  heldSince?: number;
  latest?: Notification;
  timer?: Timer;
}

interface ChannelState {
  lastDeliveryAt?: number;
  lastErrorAt?: number;
  lastError?: string;
  consecutiveFailures: number;
  retry?: Timer;
  draining: boolean;
  /** The running drain, for idle(). */
  work?: Promise<void>;
}

const KIND_PLURAL: Record<NotificationKind, string> = {
  failure: 'failures',
  recovery: 'recoveries',
  stuck: 'stuck-run alerts',
  missed: 'missed-run alerts',
  input: 'questions',
  appliance: 'alerts',
};

/**
 * The NotificationSink behind the engine: routes each notification to its
 * channels (the job's `notify:` or notify.default), holds back floods (one
 * per job and kind per notify.quiet; the rest summed up in the next), writes
 * each delivery to the outbox before sending, and retries with backoff.
 */
export class Notifier implements NotificationSink {
  private config: HearthConfig;
  private readonly outbox: Outbox;
  private readonly limits: NotifierLimits;
  private readonly quiet = new Map<string, QuietWindow>();
  private readonly channels = new Map<string, ChannelState>();
  /** Deliveries being attempted right now (a test send and the channel's queue never send one twice at once). */
  private readonly inFlight = new Set<string>();
  /** Quiet windows ending right now, queueing what they held back. */
  private readonly flushing = new Set<Promise<void>>();
  private stopped = false;

  constructor(private readonly deps: NotifierDeps) {
    this.config = deps.config;
    this.limits = { ...NOTIFIER_LIMITS, ...deps.limits };
    this.outbox = new Outbox(join(deps.config.dataDir, 'notify', 'outbox.jsonl'), this.limits);
  }

  private get notify(): NotifyConfig | undefined {
    return this.config.notify;
  }

  /** Loads the outbox: quiet windows resume from what was sent, pending deliveries are sent. */
  async start(): Promise<void> {
    await this.outbox.load();
    for (const entry of this.outbox.recentOutcomes()) this.rememberSent(entry.key, entry.queuedAt);
    for (const delivery of this.outbox.pendingDeliveries()) this.rememberSent(delivery.key, delivery.queuedAt);
    for (const held of this.outbox.heldBack()) this.resumeHeld(held as HeldBack<Notification>);
    const pending = this.outbox.pendingDeliveries();
    if (pending.length > 0) this.deps.logger.info('notifications left from before a restart are being sent', { pending: pending.length });
    await this.dropUnroutable();
    for (const name of this.channelNames()) this.drain(name);
  }

  /** A reload: new channels and routing apply to the next notification. */
  async reconfigure(config: HearthConfig): Promise<void> {
    this.config = config;
    await this.dropUnroutable();
    for (const name of this.channelNames()) this.drain(name);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const window of this.quiet.values()) window.timer?.cancel();
    for (const state of this.channels.values()) state.retry?.cancel();
    await this.outbox.flush();
  }

  async publish(notification: Notification): Promise<void> {
    try {
      await this.accept(notification);
    } catch (error) {
      // Publishing never throws: a full disk must not fail the run that failed.
      this.deps.logger.error('could not queue a notification', { kind: notification.kind, job: notification.job, error: errorMessage(error) });
    }
  }

  /** Where a notification goes: the job's notify (or none if off), else the default. */
  routeOf(notification: Pick<Notification, 'kind' | 'job'>): string[] {
    const notify = this.notify;
    if (!notify) return [];
    const job = notification.job === undefined ? undefined : this.config.jobs[notification.job];
    const route: JobNotify | false = job?.notify ?? notify.default;
    if (route === false || !route.on.includes(notification.kind)) return [];
    return route.to.filter((name) => notify.channels[name]);
  }

  /**
   * Sends a test message to one channel through the outbox and waits for the
   * first attempt: the receiver's answer, or a ChannelError. A failed test
   * stays in the outbox and is retried like any message.
   */
  async test(channel: string): Promise<ChannelAnswer> {
    const def = this.notify?.channels[channel];
    if (!def) throw new ChannelError(`no channel "${channel}" in notify.channels`);
    const now = this.deps.clock.now();
    const message: OutgoingMessage = {
      id: this.newId(now),
      kind: 'test',
      title: 'Test from Hearth',
      body: `This is a test of the notification channel "${channel}" (${def.type}). If you can read this, it works.`,
      at: now,
      ...this.link('/settings'),
    };
    const delivery: Delivery = { id: message.id, channel, key: `test:${channel}`, message, queuedAt: now };
    await this.outbox.add([delivery], now);
    try {
      return (await this.attempt(delivery, { rethrow: true })) as ChannelAnswer;
    } catch (error) {
      this.retryLater(channel);
      throw error;
    } finally {
      this.drain(channel);
    }
  }

  /** Every channel in the config, with its delivery state. */
  status(): ChannelStatus[] {
    const pending = new Map<string, number>();
    for (const delivery of this.outbox.pendingDeliveries()) pending.set(delivery.channel, (pending.get(delivery.channel) ?? 0) + 1);
    return Object.values(this.notify?.channels ?? {}).map((def) => {
      const state = this.channels.get(def.name);
      return {
        name: def.name,
        type: def.type,
        ...(state?.lastDeliveryAt !== undefined && { lastDeliveryAt: new Date(state.lastDeliveryAt).toISOString() }),
        ...(state?.lastErrorAt !== undefined && { lastErrorAt: new Date(state.lastErrorAt).toISOString() }),
        ...(state?.lastError !== undefined && { lastError: state.lastError }),
        consecutiveFailures: state?.consecutiveFailures ?? 0,
        pending: pending.get(def.name) ?? 0,
      };
    });
  }

  /** Resolves when every delivery attempt now under way has finished (tests). */
  async idle(): Promise<void> {
    for (;;) {
      const work = [...this.flushing, ...[...this.channels.values()].flatMap((state) => (state.work ? [state.work] : []))];
      if (work.length === 0) break;
      await Promise.all(work);
    }
    await this.outbox.flush();
  }

  private async accept(notification: Notification): Promise<void> {
    const channels = this.routeOf(notification);
    if (channels.length === 0) return;
    const now = this.deps.clock.now();
    const key = notification.key ?? `${notification.kind}:${notification.job ?? ''}`;
    const window = this.quiet.get(key);
    const quietMs = this.notify?.quietMs ?? 0;
    if (window && now - window.sentAt < quietMs) {
      window.held += 1;
      window.heldSince ??= notification.at;
      window.latest = notification;
      window.timer ??= this.deps.clock.setTimer(window.sentAt + quietMs - now, () => this.windowEnded(key));
      // On disk, so a restart inside the window still sends the latest and the count when it ends.
      await this.outbox.hold({ key, count: window.held, since: window.heldSince, latest: notification });
      return;
    }
    const held = window && window.held > 0 ? { count: window.held, since: window.heldSince ?? window.sentAt } : undefined;
    await this.send(key, notification, held);
  }

  /** A window's timer: its flush is tracked so that idle() waits for the message it queues. */
  private windowEnded(key: string): void {
    const flush = this.flushHeld(key).finally(() => this.flushing.delete(flush));
    this.flushing.add(flush);
  }

  /** The quiet window of `key` ended with notifications held back: the latest goes out, summing up the others. */
  private async flushHeld(key: string): Promise<void> {
    const window = this.quiet.get(key);
    if (!window || this.stopped) return;
    window.timer = undefined;
    const latest = window.latest;
    if (!latest || window.held === 0) return;
    const others = window.held - 1;
    const since = window.heldSince ?? window.sentAt;
    try {
      await this.send(key, latest, others > 0 ? { count: others, since } : undefined);
    } catch (error) {
      this.deps.logger.error('could not queue a notification', { kind: latest.kind, job: latest.job, error: errorMessage(error) });
    }
  }

  private async send(key: string, notification: Notification, held: { count: number; since: number } | undefined): Promise<void> {
    const channels = this.routeOf(notification);
    const old = this.quiet.get(key);
    old?.timer?.cancel();
    const now = this.deps.clock.now();
    this.quiet.set(key, { sentAt: now, held: 0 });
    if (channels.length === 0) {
      // Routed nowhere any more (a reload removed its channels): what was held back is dropped with it.
      await this.outbox.hold({ key, count: 0, since: now, latest: notification });
      return;
    }
    const message: OutgoingMessage = {
      id: this.newId(now),
      kind: notification.kind,
      ...(notification.job !== undefined && { job: notification.job }),
      ...(notification.runId !== undefined && { runId: notification.runId }),
      title: notification.title,
      body: cut(notification.body, this.limits.maxBodyChars),
      at: notification.at,
      ...(notification.path !== undefined && this.link(notification.path)),
      ...(held && { held: { ...held, text: this.heldText(notification, held) } }),
    };
    const deliveries = channels.map((channel): Delivery => ({ id: message.id, channel, key, message, queuedAt: now }));
    const dropped = await this.outbox.add(deliveries, now);
    for (const outcome of dropped) this.deps.logger.warn('notification dropped', { channel: outcome.channel, id: outcome.id, reason: outcome.reason });
    for (const channel of channels) this.drain(channel);
  }

  /** "and 7 more failures of backup since 09:00". */
  private heldText(notification: Notification, held: { count: number; since: number }): string {
    const what = KIND_PLURAL[notification.kind];
    const single = what === 'failures' ? 'failure' : what === 'recoveries' ? 'recovery' : what === 'questions' ? 'question' : what.replace(/s$/, '');
    const of = notification.job ? ` of ${notification.job}` : '';
    return `and ${held.count} more ${held.count === 1 ? single : what}${of} since ${this.timeText(held.since)}`;
  }

  private timeText(at: number): string {
    const timeZone = this.config.timezone;
    const sameDay = this.deps.clock.now() - at < 20 * 3_600_000;
    const format = new Intl.DateTimeFormat('en-GB', {
      timeZone,
      hour: '2-digit',
      minute: '2-digit',
      hourCycle: 'h23',
      ...(sameDay ? {} : { day: 'numeric', month: 'short' }),
    });
    return format.format(new Date(at));
  }

  private link(path: string): { path: string; url?: string } {
    const base = this.notify?.baseUrl;
    return { path, ...(base ? { url: `${base}${path.startsWith('/') ? '' : '/'}${path}` } : {}) };
  }

  private newId(now: number): string {
    return `hn-${now.toString(36)}-${randomBytes(5).toString('hex')}`;
  }

  /** A window that held notifications back before a restart: its end sends the latest, as if nothing happened. */
  private resumeHeld(held: HeldBack<Notification>): void {
    const quietMs = this.notify?.quietMs ?? 0;
    const window = this.quiet.get(held.key) ?? { sentAt: held.since, held: 0 };
    this.quiet.set(held.key, { ...window, held: held.count, heldSince: held.since, latest: held.latest });
    const endsIn = Math.max(0, window.sentAt + quietMs - this.deps.clock.now());
    this.quiet.get(held.key)!.timer = this.deps.clock.setTimer(endsIn, () => this.windowEnded(held.key));
  }

  private rememberSent(key: string, at: number): void {
    const window = this.quiet.get(key);
    if (!window || window.sentAt < at) this.quiet.set(key, { sentAt: at, held: 0 });
  }

  private channelNames(): string[] {
    return Object.keys(this.notify?.channels ?? {});
  }

  private state(channel: string): ChannelState {
    let state = this.channels.get(channel);
    if (!state) {
      state = { consecutiveFailures: 0, draining: false };
      this.channels.set(channel, state);
    }
    return state;
  }

  /** Deliveries for channels no longer in hearth.yaml, or too old to matter, are dropped (and logged). */
  private async dropUnroutable(): Promise<void> {
    const now = this.deps.clock.now();
    for (const delivery of this.outbox.pendingDeliveries()) {
      const reason = !this.notify?.channels[delivery.channel]
        ? 'the channel is no longer in hearth.yaml'
        : now - delivery.queuedAt > this.limits.giveUpAfterMs
          ? `not delivered in ${Math.round(this.limits.giveUpAfterMs / 86_400_000)} days`
          : undefined;
      if (!reason) continue;
      this.deps.logger.warn('notification dropped', { channel: delivery.channel, id: delivery.id, reason });
      await this.outbox.finish(delivery, { id: delivery.id, channel: delivery.channel, at: now, result: 'dropped', reason });
    }
  }

  /** Sends the channel's pending deliveries in order; after a failure, tries again after a backoff. */
  private drain(channel: string): void {
    const state = this.state(channel);
    if (state.draining || state.retry || this.stopped) return;
    state.draining = true;
    state.work = (async () => {
      try {
        await this.dropUnroutable();
        for (;;) {
          if (this.stopped) return;
          const next = this.outbox.pendingDeliveries().find((delivery) => delivery.channel === channel && !this.inFlight.has(inFlightKey(delivery)));
          if (!next) return;
          const ok = await this.attempt(next, { rethrow: false });
          if (!ok) {
            this.retryLater(channel);
            return;
          }
        }
      } catch (error) {
        this.deps.logger.error('notification delivery stopped', { channel, error: errorMessage(error) });
      } finally {
        state.draining = false;
        state.work = undefined;
      }
    })();
  }

  /** After a failure: the channel's queue is tried again after 10 s, 20 s, 40 s, … up to maxRetryMs. */
  private retryLater(channel: string): void {
    const state = this.state(channel);
    if (state.retry || this.stopped) return;
    const delay = Math.min(this.limits.maxRetryMs, this.limits.firstRetryMs * 2 ** Math.min(20, Math.max(0, state.consecutiveFailures - 1)));
    state.retry = this.deps.clock.setTimer(delay, () => {
      state.retry = undefined;
      this.drain(channel);
    });
  }

  /** One try of one delivery; records the outcome. */
  private async attempt(delivery: Delivery, options: { rethrow: boolean }): Promise<ChannelAnswer | false> {
    const def = this.notify?.channels[delivery.channel];
    const state = this.state(delivery.channel);
    const key = inFlightKey(delivery);
    if (this.inFlight.has(key)) throw new ChannelError('this message is being sent right now');
    this.inFlight.add(key);
    let sender: ChannelSender | undefined;
    try {
      if (!def) throw new ChannelError(`no channel "${delivery.channel}" in notify.channels`);
      const saved = (await this.deps.secrets?.(def.name)) ?? {};
      sender = (this.deps.createChannel ?? createChannel)(def, saved);
      const answer = await sender.send(delivery.message);
      const now = this.deps.clock.now();
      state.lastDeliveryAt = now;
      state.consecutiveFailures = 0;
      await this.outbox.finish(delivery, { id: delivery.id, channel: delivery.channel, at: now, result: 'sent' });
      this.deps.logger.info('notification sent', { channel: delivery.channel, id: delivery.id, kind: delivery.message.kind, status: answer.status });
      return answer;
    } catch (error) {
      const message = redactSecrets(errorMessage(error), sender?.secrets ?? []);
      state.lastErrorAt = this.deps.clock.now();
      state.lastError = message;
      state.consecutiveFailures += 1;
      this.deps.logger.warn('notification not delivered; will retry', {
        channel: delivery.channel,
        id: delivery.id,
        error: message,
        consecutiveFailures: state.consecutiveFailures,
      });
      if (options.rethrow) throw new ChannelError(message, error instanceof ChannelError ? error.status : undefined, { cause: error });
      return false;
    } finally {
      this.inFlight.delete(key);
    }
  }
}

function inFlightKey(delivery: Delivery): string {
  return `${delivery.channel}\u0000${delivery.id}`;
}

/** Keeps the end of a long body (the last output lines say what went wrong). */
function cut(body: string, max: number): string {
  return body.length <= max ? body : `…${body.slice(body.length - max + 1)}`;
}
