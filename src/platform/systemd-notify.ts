import { execFile } from 'node:child_process';
import { errorMessage } from '../core/errors.js';
import type { Logger } from '../core/logger.js';

/**
 * Tells systemd (Type=notify, WatchdogSec=) that Hearth is ready, still alive,
 * and stopping.
 *
 * Why a child process: sd_notify is one datagram on the AF_UNIX socket named
 * by NOTIFY_SOCKET, and Node has no unix datagram sockets (node:dgram is UDP
 * only); the npm packages that add them are native addons, which would have
 * to be built for every Pi. `systemd-notify` ships with systemd wherever
 * NOTIFY_SOCKET exists, and since systemd 246 it waits until the manager has
 * processed the message (a notify barrier), so the message is never dropped
 * because the sender already exited. The unit needs `NotifyAccess=all` because
 * the sender is our child, not the main process. One short-lived process every
 * WatchdogSec/2 (45 s) costs far less than the watchdog is worth.
 *
 * Without NOTIFY_SOCKET (a terminal, tests, another init) everything here is
 * a no-op.
 */

/** Sends one notification, e.g. ['--ready'] or ['WATCHDOG=1']. */
export type NotifySender = (args: string[]) => Promise<void>;

export interface LivenessProbe {
  /** True if the process is doing its work (the scheduler keeps completing passes). */
  alive(): boolean;
  /** Why alive() is false, for the log. */
  reason(): string;
}

export interface ServiceNotifier {
  readonly enabled: boolean;
  ready(status: string): Promise<void>;
  stopping(): Promise<void>;
  /** Stops the watchdog timer. Idempotent. */
  close(): void;
}

export interface SystemdNotifierOptions {
  env: NodeJS.ProcessEnv;
  logger: Logger;
  liveness: LivenessProbe;
  send?: NotifySender;
  pid?: number;
  /** Timers are injectable so tests do not wait for real watchdog periods. */
  setInterval?: (fn: () => void, ms: number) => { unref?(): void };
  clearInterval?: (handle: unknown) => void;
}

export function systemdNotifySender(binary = 'systemd-notify'): NotifySender {
  return (args) =>
    new Promise((resolve, reject) => {
      execFile(binary, args, { timeout: 10_000 }, (error) => (error ? reject(error) : resolve()));
    });
}

/** The watchdog period systemd asked for, in ms, or undefined when it is off or meant for another process. */
export function watchdogIntervalMs(env: NodeJS.ProcessEnv, pid: number): number | undefined {
  const usec = Number(env.WATCHDOG_USEC);
  if (!env.WATCHDOG_USEC || !Number.isFinite(usec) || usec <= 0) return undefined;
  if (env.WATCHDOG_PID && Number(env.WATCHDOG_PID) !== pid) return undefined;
  // sd_watchdog_enabled(3) recommends pinging at half the period.
  return Math.max(1, Math.floor(usec / 1000 / 2));
}

export function createSystemdNotifier(options: SystemdNotifierOptions): ServiceNotifier {
  const { env, logger, liveness } = options;
  if (!env.NOTIFY_SOCKET) return { enabled: false, ready: async () => {}, stopping: async () => {}, close: () => {} };

  const send = options.send ?? systemdNotifySender();
  const setTimer = options.setInterval ?? ((fn, ms) => setInterval(fn, ms));
  const clearTimer = options.clearInterval ?? ((handle) => clearInterval(handle as NodeJS.Timeout));
  const period = watchdogIntervalMs(env, options.pid ?? process.pid);
  let timer: { unref?(): void } | undefined;
  let withholding = false;

  const notify = async (args: string[]): Promise<void> => {
    try {
      await send(args);
    } catch (error) {
      logger.warn('systemd notification failed', { message: args.join(' '), error: errorMessage(error) });
    }
  };

  const ping = (): void => {
    if (!liveness.alive()) {
      // Withholding the ping is the point: systemd restarts a hung appliance.
      if (!withholding) logger.error('not alive: withholding the systemd watchdog ping', { reason: liveness.reason() });
      withholding = true;
      return;
    }
    if (withholding) logger.info('alive again: resuming systemd watchdog pings');
    withholding = false;
    void notify(['WATCHDOG=1']);
  };

  return {
    enabled: true,
    async ready(status) {
      await notify(['--ready', `--status=${status}`]);
      if (period !== undefined && !timer) {
        timer = setTimer(ping, period);
        timer.unref?.();
        logger.info('systemd watchdog on', { pingEveryMs: period });
      }
    },
    async stopping() {
      this.close();
      await notify(['STOPPING=1']);
    },
    close() {
      if (timer) clearTimer(timer);
      timer = undefined;
    },
  };
}

/**
 * Alive while a progress counter keeps moving: the scheduler completes a pass
 * at least every 30 s, so a counter that has not changed for `staleAfterMs`
 * (measured on a monotonic clock, immune to NTP steps) means the scheduler
 * or the store it awaits is stuck even though timers still fire.
 */
export function progressLiveness(progress: () => number, staleAfterMs: number, monotonicNow: () => number): LivenessProbe {
  let lastValue = progress();
  let lastChange = monotonicNow();
  const stalledFor = (): number => {
    const value = progress();
    const now = monotonicNow();
    if (value !== lastValue) {
      lastValue = value;
      lastChange = now;
    }
    return now - lastChange;
  };
  return {
    alive: () => stalledFor() < staleAfterMs,
    reason: () => `the scheduler has not completed a pass for ${Math.round(stalledFor() / 1000)} s`,
  };
}
