import { describe, expect, it } from 'vitest';
import { createLogger } from '../core/logger.js';
import { createSystemdNotifier, progressLiveness, watchdogIntervalMs, type LivenessProbe } from './systemd-notify.js';

const quiet = createLogger({ level: 'error', pretty: false, write: () => {} });

function harness(env: NodeJS.ProcessEnv, liveness: LivenessProbe = { alive: () => true, reason: () => '' }) {
  const sent: string[][] = [];
  const timers: Array<{ fn: () => void; ms: number; cleared: boolean }> = [];
  const notifier = createSystemdNotifier({
    env,
    logger: quiet,
    liveness,
    pid: 4242,
    send: async (args) => {
      sent.push(args);
    },
    setInterval: (fn, ms) => {
      const timer = { fn, ms, cleared: false, unref: () => {} };
      timers.push(timer);
      return timer;
    },
    clearInterval: (handle) => {
      (handle as { cleared: boolean }).cleared = true;
    },
  });
  return { notifier, sent, timers };
}

describe('systemd notifier', () => {
  it('does nothing at all without NOTIFY_SOCKET', async () => {
    const { notifier, sent, timers } = harness({ WATCHDOG_USEC: '90000000' });
    await notifier.ready('serving');
    await notifier.stopping();
    expect(notifier.enabled).toBe(false);
    expect(sent).toEqual([]);
    expect(timers).toEqual([]);
  });

  it('reports readiness with a status line and pings at half the watchdog period', async () => {
    const { notifier, sent, timers } = harness({ NOTIFY_SOCKET: '/run/systemd/notify', WATCHDOG_USEC: '90000000', WATCHDOG_PID: '4242' });
    await notifier.ready('serving http://0.0.0.0:8080');
    expect(sent).toEqual([['--ready', '--status=serving http://0.0.0.0:8080']]);
    expect(timers).toHaveLength(1);
    expect(timers[0]!.ms).toBe(45_000);
    timers[0]!.fn();
    await Promise.resolve();
    expect(sent.at(-1)).toEqual(['WATCHDOG=1']);
  });

  it('withholds the ping while the liveness probe says the process is stuck, and resumes after', async () => {
    let alive = true;
    const { notifier, sent, timers } = harness(
      { NOTIFY_SOCKET: '/run/systemd/notify', WATCHDOG_USEC: '2000000' },
      { alive: () => alive, reason: () => 'stuck' },
    );
    await notifier.ready('serving');
    const tick = timers[0]!.fn;
    alive = false;
    tick();
    tick();
    expect(sent.filter((m) => m[0] === 'WATCHDOG=1')).toHaveLength(0);
    alive = true;
    tick();
    expect(sent.filter((m) => m[0] === 'WATCHDOG=1')).toHaveLength(1);
  });

  it('sends STOPPING=1 and stops the watchdog timer on stop', async () => {
    const { notifier, sent, timers } = harness({ NOTIFY_SOCKET: '@hearth', WATCHDOG_USEC: '2000000' });
    await notifier.ready('serving');
    await notifier.stopping();
    expect(sent.at(-1)).toEqual(['STOPPING=1']);
    expect(timers[0]!.cleared).toBe(true);
  });

  it('still reports readiness when the send fails (a warning, not a crash)', async () => {
    const lines: string[] = [];
    const logger = createLogger({ level: 'warn', pretty: false, write: (line) => lines.push(line) });
    const notifier = createSystemdNotifier({
      env: { NOTIFY_SOCKET: '/nonexistent' },
      logger,
      liveness: { alive: () => true, reason: () => '' },
      send: async () => {
        throw new Error('spawn systemd-notify ENOENT');
      },
    });
    await expect(notifier.ready('serving')).resolves.toBeUndefined();
    expect(lines.join('\n')).toMatch(/systemd notification failed.*ENOENT/);
  });
});

describe('watchdogIntervalMs', () => {
  it('is half of WATCHDOG_USEC, and off when unset, invalid or meant for another pid', () => {
    expect(watchdogIntervalMs({ WATCHDOG_USEC: '90000000' }, 1)).toBe(45_000);
    expect(watchdogIntervalMs({}, 1)).toBeUndefined();
    expect(watchdogIntervalMs({ WATCHDOG_USEC: 'abc' }, 1)).toBeUndefined();
    expect(watchdogIntervalMs({ WATCHDOG_USEC: '0' }, 1)).toBeUndefined();
    expect(watchdogIntervalMs({ WATCHDOG_USEC: '90000000', WATCHDOG_PID: '7' }, 8)).toBeUndefined();
    expect(watchdogIntervalMs({ WATCHDOG_USEC: '90000000', WATCHDOG_PID: '8' }, 8)).toBe(45_000);
  });
});

describe('progressLiveness', () => {
  it('is alive while the counter moves and dead once it has stood still for the stall window', () => {
    let count = 0;
    let now = 0;
    const probe = progressLiveness(() => count, 75_000, () => now);
    now = 30_000;
    count = 1;
    expect(probe.alive()).toBe(true);
    now = 104_999;
    expect(probe.alive()).toBe(true);
    now = 105_000;
    expect(probe.alive()).toBe(false);
    expect(probe.reason()).toMatch(/has not completed a pass for 75 s/);
    count = 2;
    expect(probe.alive()).toBe(true);
  });
});
