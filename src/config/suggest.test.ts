import { describe, expect, it } from 'vitest';
import { closestMatch, editDistance } from './suggest.js';
import { canonicalTimeZone, parseAnchor, unknownTimeZoneMessage } from './timezone.js';

describe('closestMatch', () => {
  const keys = ['run', 'action', 'with', 'depends_on', 'env', 'cwd', 'timeout', 'retries', 'continue_on_error'];

  it('ignores case, dashes and underscores', () => {
    expect(closestMatch('dependson', keys)).toBe('depends_on');
    expect(closestMatch('dependsOn', keys)).toBe('depends_on');
    expect(closestMatch('continueOnError', keys)).toBe('continue_on_error');
  });

  it('counts a swap of neighbouring letters as one edit', () => {
    expect(editDistance('shcedule', 'schedule')).toBe(1);
    expect(editDistance('sechdule', 'schedule')).toBe(2);
    expect(closestMatch('timoeut', keys)).toBe('timeout');
  });

  it('suggests nothing when no key is close', () => {
    expect(closestMatch('colour', keys)).toBeUndefined();
    expect(closestMatch('x', keys)).toBeUndefined();
  });
});

describe('time zones', () => {
  it('knows IANA zones and UTC in their canonical spelling, not made-up ones', () => {
    expect(canonicalTimeZone('Europe/London')).toBe('Europe/London');
    expect(canonicalTimeZone('europe/london')).toBe('Europe/London');
    expect(canonicalTimeZone('UTC')).toBe('UTC');
    expect(canonicalTimeZone('Europe/Londn')).toBeUndefined();
    expect(unknownTimeZoneMessage('america/new_york ')).toBe('unknown timezone "america/new_york ": did you mean "America/New_York"?');
  });
});

describe('parseAnchor', () => {
  it('reads instants with an offset', () => {
    expect(parseAnchor('2026-03-01T12:00:00Z', 'Asia/Tokyo')).toBe(Date.parse('2026-03-01T12:00:00Z'));
    expect(parseAnchor('2026-03-01T12:00:00.250-05:30', 'UTC')).toBe(Date.parse('2026-03-01T17:30:00.250Z'));
  });

  it('reads a time without an offset as wall time in the zone, on both sides of a DST change', () => {
    expect(parseAnchor('2026-01-15T09:00', 'Europe/London')).toBe(Date.parse('2026-01-15T09:00:00Z'));
    expect(parseAnchor('2026-07-15 09:00', 'Europe/London')).toBe(Date.parse('2026-07-15T08:00:00Z'));
    expect(parseAnchor('2026-07-15', 'America/New_York')).toBe(Date.parse('2026-07-15T04:00:00Z'));
  });

  it('rejects what is not an ISO time or not a real date', () => {
    expect(parseAnchor('tomorrow', 'UTC')).toBeUndefined();
    expect(parseAnchor('2026-02-29T00:00', 'UTC')).toBeUndefined();
    expect(parseAnchor('2026-01-01T24:00', 'UTC')).toBeUndefined();
  });
});
