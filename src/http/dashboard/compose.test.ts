import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { FakeClock } from '../../core/clock.js';
import { silentLogger } from '../../core/logger.js';
import { EventLoopMonitor } from '../../metrics/event-loop.js';
import { SystemInfo } from '../../system/system-info.js';
import { FakeAppliance } from '../testing/fake-appliance.js';
import { createTokenCheck } from '../token.js';
import { createHttpSurface } from './compose.js';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describe('createHttpSurface', () => {
  it('builds the web app and starts event-loop sampling only when the app is first asked for, once', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'hearth-compose-'));
    dirs.push(dataDir);
    const clock = new FakeClock(Date.UTC(2026, 10, 26, 12));
    const eventLoop = new EventLoopMonitor({ clock, monotonicNow: () => clock.now(), utilization: () => 0 });
    const surface = await createHttpSurface({
      appliance: new FakeAppliance(),
      dataDir,
      packageRoot: resolve(import.meta.dirname, '../../..'),
      clock,
      logger: silentLogger,
      cliTokenCheck: createTokenCheck(['t0ken']),
      system: new SystemInfo({ dataDir, clock }),
      eventLoop,
      timeZone: () => 'UTC',
    });
    // Idle: nothing samples the loop (no timer armed), so an unwatched appliance is not woken every second.
    await clock.advance(10_000);
    expect(eventLoop.sampleCount()).toBe(0);

    const [app, again] = await Promise.all([surface.app(), surface.app()]);
    expect(again).toBe(app);
    expect(await surface.app()).toBe(app);
    const health = await app.request('/api/health');
    expect(health.status).toBe(200);
    await clock.advance(10_000);
    expect(eventLoop.sampleCount()).toBeGreaterThan(0);

    surface.stop();
    const sampled = eventLoop.sampleCount();
    await clock.advance(10_000);
    expect(eventLoop.sampleCount()).toBe(sampled);
  });
});
