import { join } from 'node:path';
import type { Hono } from 'hono';
import type { AppliancePort } from '../../engine/port.js';
import type { Clock } from '../../core/clock.js';
import type { Logger } from '../../core/logger.js';
import type { EventLoopMonitor } from '../../metrics/event-loop.js';
import { RunMetrics } from '../../metrics/run-metrics.js';
import type { SystemInfo } from '../../system/system-info.js';
import { ApiTokenStore } from '../auth/api-tokens.js';
import { PasswordSource } from '../auth/password-source.js';
import { readAdminPassword, writeAdminPassword } from '../auth/password.js';
import { LoginLimiter } from '../auth/rate-limit.js';
import { SessionStore } from '../auth/sessions.js';
import type { TokenCheck } from '../token.js';
import type { HttpAppDeps } from './http-app.js';
import { LiveHub } from './live.js';
import type { PasswdCommand } from '../../platform/passwd-command.js';

/**
 * Builds the HTTP surface's own parts (sessions, tokens, login limiter, live
 * hub, run metrics) from the adapters main.ts hands in, loads what is
 * persisted, and returns the app plus the cleanup to run on stop.
 */

export interface HttpSurfaceOptions {
  appliance: AppliancePort;
  dataDir: string;
  /** Hearth's package root; the dashboard's files are in `web/` under it. */
  packageRoot: string;
  clock: Clock;
  logger: Logger;
  /** The CLI's token (secrets/api-token). */
  cliTokenCheck: TokenCheck;
  system: SystemInfo;
  eventLoop: EventLoopMonitor;
  timeZone(): string;
  /** HEARTH_PASSWORD: becomes the admin password only if none is set yet. */
  initialPassword?: string;
  api?: HttpAppDeps['api'];
  /** The `hearth passwd` command for the setup and login pages. */
  passwd?: PasswdCommand;
  /** Settings › Connections (absent: the page says there are none). */
  connections?: HttpAppDeps['connections'];
  /** Settings › Connections › Gmail. */
  gmailConnect?: HttpAppDeps['gmailConnect'];
}

export interface HttpSurface {
  /**
   * Builds the app on first use (the same one afterwards): the routes, pages, Hono and the dashboard's files load
   * with the first request rather than at start (server.ts), so an idle appliance does not carry them.
   */
  app(): Promise<Hono>;
  live: LiveHub;
  stop(): void;
}

export async function createHttpSurface(options: HttpSurfaceOptions): Promise<HttpSurface> {
  const { appliance, dataDir, clock, logger } = options;
  await applyInitialPassword(options);
  const sessions = new SessionStore({ dataDir, clock });
  const tokens = new ApiTokenStore({ dataDir, clock });
  await Promise.all([sessions.load(), tokens.load()]);
  const runs = new RunMetrics();
  const stopMetrics = appliance.onRunEvent((event) => runs.observe(event));
  const live = new LiveHub({ appliance, clock });
  live.start();
  const build = async (): Promise<Hono> => {
    const [{ createHttpApp }, { Assets }] = await Promise.all([import('./http-app.js'), import('./assets.js')]);
    // The event-loop lag exists for /metrics, which only the web app serves: sampling starts with it, so an
    // appliance nobody looks at is not woken every second to measure a lag nobody will read (issue 13, item 4).
    options.eventLoop.start();
    return createHttpApp({
      appliance,
      assets: new Assets(join(options.packageRoot, 'web')),
      sessions,
      tokens,
      password: new PasswordSource({ dataDir, clock }),
      limiter: new LoginLimiter({ clock }),
      system: options.system,
      clock,
      logger,
      timeZone: options.timeZone,
      tokenCheck: (token) => options.cliTokenCheck(token) || tokens.check(token),
      live,
      metrics: { runs, eventLoop: () => options.eventLoop.snapshot(), rssBytes: () => process.memoryUsage.rss() },
      ...(options.api ? { api: options.api } : {}),
      ...(options.passwd ? { passwd: options.passwd } : {}),
      ...(options.connections ? { connections: options.connections } : {}),
      ...(options.gmailConnect ? { gmailConnect: options.gmailConnect } : {}),
    });
  };
  let app: Promise<Hono> | undefined;
  return {
    app: () => (app ??= build().catch((error: unknown) => {
      app = undefined;
      throw error;
    })),
    live,
    stop() {
      stopMetrics();
      live.stop();
      options.eventLoop.stop();
    },
  };
}

async function applyInitialPassword(options: HttpSurfaceOptions): Promise<void> {
  const { initialPassword, dataDir, clock, logger } = options;
  if (!initialPassword) {
    if (!(await readAdminPassword(dataDir))) {
      // The same command the setup page shows: `./hearth passwd` in a checkout, `sudo -u hearth hearth passwd …` on the Pi.
      const command = options.passwd?.command ?? 'hearth passwd';
      const where = options.passwd?.directory ? ` in ${options.passwd.directory}` : '';
      logger.warn(`no dashboard password set: run \`${command}\`${where} (the dashboard stays locked until then)`);
    }
    return;
  }
  if (await readAdminPassword(dataDir)) return;
  await writeAdminPassword(dataDir, initialPassword, new Date(clock.now()));
  logger.info('dashboard password set from HEARTH_PASSWORD');
}
