import { spawnSync } from 'node:child_process';
import fc from 'fast-check';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { isValidTimeZone, offsetAt } from '../core/zone.js';
import { canonicalTimeZone, hostZoneIfUtc, systemTimeZone } from './timezone.js';

const restore: Array<() => void> = [];
afterEach(() => {
  for (const undo of restore.splice(0)) undo();
  vi.unstubAllEnvs();
});

/** What Intl says the host's zone is, in a fresh Node with this TZ (undefined: TZ unset). */
function intlHostZone(tz: string | undefined): string {
  const env = { ...process.env };
  if (tz === undefined) delete env.TZ;
  else env.TZ = tz;
  const child = spawnSync(process.execPath, ['-p', 'Intl.DateTimeFormat().resolvedOptions().timeZone'], { env, encoding: 'utf8' });
  return child.stdout.trim();
}

describe('time zones without Intl (issue 13, item 7: ICU stays unmapped while idle on UTC)', () => {
  it('answers UTC for the host only where Intl says UTC too', () => {
    for (const tz of ['UTC', 'Etc/UTC', ':UTC', ':Etc/UTC', 'Europe/London', '', 'GMT', 'EST5EDT']) {
      const ours = hostZoneIfUtc(tz, () => undefined);
      if (ours !== undefined) expect([tz, ours]).toEqual([tz, intlHostZone(tz)]);
    }
    expect(hostZoneIfUtc('UTC', () => undefined)).toBe('UTC');
    expect(hostZoneIfUtc('Europe/London', () => '/usr/share/zoneinfo/Etc/UTC')).toBeUndefined();
    expect(hostZoneIfUtc('', () => '/usr/share/zoneinfo/Etc/UTC')).toBeUndefined();
  });

  it('reads /etc/localtime the way ICU does when TZ is unset', () => {
    expect(hostZoneIfUtc(undefined, () => '/usr/share/zoneinfo/Etc/UTC')).toBe('UTC');
    expect(hostZoneIfUtc(undefined, () => '../usr/share/zoneinfo/UTC')).toBe('UTC');
    expect(hostZoneIfUtc(undefined, () => '/usr/share/zoneinfo/Europe/London')).toBeUndefined();
    expect(hostZoneIfUtc(undefined, () => '/usr/share/zoneinfo/Etc/UTC-backup')).toBeUndefined();
    expect(hostZoneIfUtc(undefined, () => undefined)).toBeUndefined();
  });

  it('validates, canonicalizes and computes offsets for UTC without constructing an Intl.DateTimeFormat', () => {
    let constructed = 0;
    const original = Intl.DateTimeFormat;
    const counting = new Proxy(original, {
      construct: (target, args: ConstructorParameters<typeof Intl.DateTimeFormat>) => (constructed++, new target(...args)),
      apply: (target, _this, args: ConstructorParameters<typeof Intl.DateTimeFormat>) => (constructed++, target(...args)),
    });
    restore.push(() => (Intl.DateTimeFormat = original));
    Intl.DateTimeFormat = counting;
    vi.stubEnv('TZ', 'UTC');
    expect(systemTimeZone()).toBe('UTC');
    expect(canonicalTimeZone('UTC')).toBe('UTC');
    expect(isValidTimeZone('UTC')).toBe(true);
    expect(offsetAt(Date.UTC(2026, 2, 29, 1, 30), 'UTC')).toBe(0);
    expect(constructed).toBe(0);
    // The spy does see a construction (so the assertion above can fail): any other zone still asks Intl.
    offsetAt(Date.UTC(2026, 2, 29, 1, 30), 'Pacific/Chatham');
    canonicalTimeZone('pacific/chatham');
    expect(constructed).toBeGreaterThan(0);
  });

  it("agrees with Intl's UTC offsets at every instant, years before 1 CE included", () => {
    const intl = new Intl.DateTimeFormat('en-US', { timeZone: 'UTC', hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric', second: 'numeric', era: 'short' });
    const naiveFromIntl = (instant: number): number => {
      const parts = Object.fromEntries(intl.formatToParts(instant).map((part) => [part.type, part.value]));
      const year = /^B/i.test(parts.era ?? '') ? 1 - Number(parts.year) : Number(parts.year);
      const date = new Date(0);
      date.setUTCFullYear(year, Number(parts.month) - 1, Number(parts.day));
      date.setUTCHours(Number(parts.hour), Number(parts.minute), Number(parts.second), 0);
      return date.getTime();
    };
    fc.assert(
      fc.property(fc.integer({ min: -8.64e15 + 86_400_000, max: 8.64e15 - 86_400_000 }), (instant) => {
        const wholeSecond = Math.floor(instant / 1000) * 1000;
        expect(offsetAt(instant, 'UTC')).toBe(naiveFromIntl(wholeSecond) - wholeSecond);
      }),
      { numRuns: 500 },
    );
  });
});
