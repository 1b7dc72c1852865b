import { describe, expect, it } from 'vitest';
import { tmpdir } from 'node:os';
import { FakeClock } from '../core/clock.js';
import { SystemInfo, type SystemInformationModule } from './system-info.js';
import { parseThrottled } from './throttling.js';

function fakeSi(temperature: number | null): SystemInformationModule & { calls: number } {
  const si = {
    calls: 0,
    cpuTemperature: async () => {
      si.calls++;
      return { main: temperature };
    },
    mem: async () => ({ total: 8e9, available: 6e9 }),
    osInfo: async () => ({ distro: 'Debian GNU/Linux', release: '12' }),
    system: async () => ({ manufacturer: 'Raspberry Pi Foundation', model: 'Raspberry Pi 5' }),
  };
  return si;
}

describe('parseThrottled', () => {
  it('reads vcgencmd and sysfs forms', () => {
    expect(parseThrottled('throttled=0x50005\n')).toMatchObject({ raw: '0x50005', underVoltageNow: true, throttledNow: true, frequencyCappedNow: false, underVoltageOccurred: true, throttledOccurred: true, frequencyCappedOccurred: false });
    expect(parseThrottled('0\n')).toMatchObject({ raw: '0x0', underVoltageNow: false, underVoltageOccurred: false });
    expect(parseThrottled('80008')).toMatchObject({ softTemperatureLimitNow: true, softTemperatureLimitOccurred: true });
    expect(parseThrottled('error=1 error_msg="Command not registered"')).toBeUndefined();
  });
});

describe('SystemInfo', () => {
  it('loads systeminformation lazily and caches a snapshot for 5 s', async () => {
    const clock = new FakeClock();
    const si = fakeSi(51.3);
    let loads = 0;
    const info = new SystemInfo({ dataDir: tmpdir(), clock, loadModule: async () => (loads++, si), readThrottled: async () => undefined });
    expect(loads).toBe(0);
    const first = await info.snapshot();
    await Promise.all(Array.from({ length: 20 }, () => info.snapshot()));
    expect(si.calls).toBe(1);
    await clock.advance(5000);
    await info.snapshot();
    expect(si.calls).toBe(2);
    expect(loads).toBe(1);
    expect(first).toMatchObject({ cpuTemperatureC: 51.3, throttling: null, model: 'Raspberry Pi Foundation Raspberry Pi 5', memory: { totalBytes: 8e9, availableBytes: 6e9 } });
    expect(first.disk!.totalBytes).toBeGreaterThan(0);
    expect(first.nodeVersion).toBe(process.version);
  });

  it('reports a missing sensor as null', async () => {
    const info = new SystemInfo({ dataDir: '/nonexistent-dir', clock: new FakeClock(), loadModule: async () => fakeSi(-1), readThrottled: async () => undefined });
    const view = await info.snapshot();
    expect(view.cpuTemperatureC).toBeNull();
    expect(view.disk).toBeNull();
  });

  it('works with the real systeminformation package', async () => {
    const view = await new SystemInfo({ dataDir: tmpdir(), clock: new FakeClock() }).snapshot();
    expect(view.memory.totalBytes).toBeGreaterThan(0);
    expect(view.cpus).toBeGreaterThan(0);
  });
});
