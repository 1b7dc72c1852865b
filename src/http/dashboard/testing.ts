/**
 * A dashboard wired to a FakeAppliance, a FakeClock and a temp data directory,
 * for route tests through `app.request` (no socket).
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { FakeClock } from '../../core/clock.js';
import { createLogger } from '../../core/logger.js';
import { RunMetrics } from '../../metrics/run-metrics.js';
import { SystemInfo } from '../../system/system-info.js';
import { ApiTokenStore } from '../auth/api-tokens.js';
import { PasswordSource } from '../auth/password-source.js';
import { writeAdminPassword } from '../auth/password.js';
import { LoginLimiter } from '../auth/rate-limit.js';
import { SessionStore } from '../auth/sessions.js';
import { createTokenCheck } from '../token.js';
import type { SearchPort } from '../../knowledge/types.js';
import type { NotifyPort } from '../../notify/port.js';
import { FakeAppliance } from '../testing/fake-appliance.js';
import { Assets } from './assets.js';
import { createHttpApp } from './http-app.js';
import { LiveHub } from './live.js';
import type { PasswdCommand } from '../../platform/passwd-command.js';
import type { GmailConnector } from '../../integrations/gmail/connect.js';
import type { Connections } from '../../integrations/connect.js';

export const CLI_TOKEN = 'cli-token-0123456789abcdef';
export const PASSWORD = 'open sesame 123';
export const ORIGIN = 'http://localhost';
const WEB_DIR = resolve(import.meta.dirname, '../../../web');

export interface Harness {
  app: ReturnType<typeof createHttpApp>;
  appliance: FakeAppliance;
  clock: FakeClock;
  dataDir: string;
  sessions: SessionStore;
  tokens: ApiTokenStore;
  live: LiveHub;
  runs: RunMetrics;
  system: SystemInfo;
  logs: string[];
}

export async function dashboardHarness(options: { dataDir?: string; password?: boolean; clock?: FakeClock; search?: SearchPort; passwd?: PasswdCommand; connections?: Connections; notify?: NotifyPort; gmailConnect?: GmailConnector } = {}): Promise<Harness> {
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), 'hearth-dash-'));
  const clock = options.clock ?? new FakeClock('2026-05-01T10:00:00Z');
  if (options.password !== false) await writeAdminPassword(dataDir, PASSWORD, new Date(clock.now()));
  const appliance = new FakeAppliance();
  const sessions = new SessionStore({ dataDir, clock });
  const tokens = new ApiTokenStore({ dataDir, clock });
  await Promise.all([sessions.load(), tokens.load()]);
  const logs: string[] = [];
  const logger = createLogger({ level: 'debug', write: (line) => logs.push(line) });
  const live = new LiveHub({ appliance, clock, flushMs: 100 });
  live.start();
  const runs = new RunMetrics();
  appliance.onRunEvent((event) => runs.observe(event));
  const system = new SystemInfo({
    dataDir,
    clock,
    loadModule: async () => ({
      cpuTemperature: async () => ({ main: null }),
      mem: async () => ({ total: 4 * 2 ** 30, available: 3 * 2 ** 30 }),
      osInfo: async () => ({ distro: 'Debian GNU/Linux', release: '12' }),
      system: async () => ({ manufacturer: 'Raspberry Pi Foundation', model: 'Raspberry Pi 4 Model B' }),
    }),
    readThrottled: async () => 'throttled=0x50005',
  });
  const tokenCheck = createTokenCheck([CLI_TOKEN]);
  const app = createHttpApp({
    appliance,
    assets: new Assets(WEB_DIR),
    sessions,
    tokens,
    password: new PasswordSource({ dataDir, clock, maxAgeMs: 0 }),
    limiter: new LoginLimiter({ clock }),
    system,
    clock,
    logger,
    timeZone: () => 'Europe/London',
    tokenCheck: (token) => tokenCheck(token) || tokens.check(token),
    live,
    metrics: { runs, eventLoop: () => ({ p50Seconds: 0.001, p99Seconds: 0.004, maxSeconds: 0.01 }), rssBytes: () => 50_000_000 },
    ...(options.search || options.notify ? { api: { ...(options.search ? { search: options.search } : {}), ...(options.notify ? { notify: options.notify } : {}) } } : {}),
    ...(options.passwd ? { passwd: options.passwd } : {}),
    ...(options.connections ? { connections: options.connections } : {}),
    ...(options.gmailConnect ? { gmailConnect: options.gmailConnect } : {}),
  });
  return { app, appliance, clock, dataDir, sessions, tokens, live, runs, system, logs };
}

/** The peer address Hono's node adapter would pass in `env`. */
export function fromAddress(address: string) {
  return { incoming: { socket: { remoteAddress: address } } };
}

/** Logs in through the form; returns the Cookie header value. */
export async function logIn(h: Harness, address = '192.168.1.20'): Promise<string> {
  const response = await h.app.request('/login', formPost({ password: PASSWORD, next: '/' }), fromAddress(address));
  if (response.status !== 303) throw new Error(`login failed: ${response.status}`);
  const cookie = response.headers.get('set-cookie') ?? '';
  return cookie.split(';')[0]!;
}

export function formPost(fields: Record<string, string>, headers: Record<string, string> = {}): RequestInit {
  return {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded', Origin: ORIGIN, 'Sec-Fetch-Site': 'same-origin', ...headers },
    body: new URLSearchParams(fields).toString(),
  };
}
