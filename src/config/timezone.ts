import { readlinkSync } from 'node:fs';
import { offsetAt } from '../core/zone.js';
import { closestMatch } from './suggest.js';

/**
 * The canonical spelling of an IANA zone Intl knows (`europe/london` →
 * `Europe/London`), or undefined: Intl throws RangeError for unknown zones.
 * Answers are remembered (a DateTimeFormat costs ~50 µs, and 1,000 jobs
 * name a handful of zones); the memo holds at most MEMO_LIMIT names.
 */
export function canonicalTimeZone(zone: string): string | undefined {
  // Intl's own answer, without mapping ICU's data for it (core/zone.ts says why).
  if (zone === 'UTC') return zone;
  const known = canonicalMemo.get(zone);
  if (known !== undefined || canonicalMemo.has(zone)) return known;
  let canonical: string | undefined;
  try {
    canonical = new Intl.DateTimeFormat('en', { timeZone: zone }).resolvedOptions().timeZone;
  } catch (error) {
    if (!(error instanceof RangeError)) throw error;
  }
  if (canonicalMemo.size >= MEMO_LIMIT) canonicalMemo.clear();
  canonicalMemo.set(zone, canonical);
  return canonical;
}

const MEMO_LIMIT = 256;

/** The zone names answered so far and their canonical spelling (what the config tree cache records). */
export function knownTimeZones(): Array<[string, string]> {
  return [...canonicalMemo].filter((entry): entry is [string, string] => entry[1] !== undefined);
}

/** Seeds the answers with ones Intl gave before under the same runtime (the config tree cache's checks). */
export function rememberTimeZones(entries: Array<[string, string]>): void {
  for (const [zone, canonical] of entries.slice(0, MEMO_LIMIT - canonicalMemo.size)) canonicalMemo.set(zone, canonical);
}
/** Intl's answer for a zone name never changes within a process, so this is a cache, not state. */
const canonicalMemo = new Map<string, string | undefined>();

export function systemTimeZone(): string {
  return hostZoneIfUtc(process.env.TZ, readLocaltimeLink) ?? (Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC');
}

/**
 * `UTC` when the host's zone is UTC by the rules ICU itself follows (TZ, else where /etc/localtime points), so the
 * common case needs no Intl (core/zone.ts says why); undefined for anything else, which Intl then answers.
 * `TZ=` (empty) is left to Intl too: it says `Etc/Unknown`.
 */
export function hostZoneIfUtc(tz: string | undefined, localtimeLink: () => string | undefined): 'UTC' | undefined {
  if (tz !== undefined) return /^:?(Etc\/)?UTC$/.test(tz) ? 'UTC' : undefined;
  const link = localtimeLink();
  return link !== undefined && /\/zoneinfo\/(Etc\/)?UTC$/.test(link) ? 'UTC' : undefined;
}

function readLocaltimeLink(): string | undefined {
  try {
    return readlinkSync('/etc/localtime');
  } catch {
    return undefined;
  }
}

export function unknownTimeZoneMessage(zone: string): string {
  const suggestion = closestMatch(zone, ['UTC', ...Intl.supportedValuesOf('timeZone')]);
  const hint = suggestion ? `did you mean "${suggestion}"?` : 'use an IANA name such as Europe/London or UTC';
  return `unknown timezone "${zone}": ${hint}`;
}

const ANCHOR = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,3})\d*)?)?(Z|[+-]\d{2}:?\d{2})?)?$/;

/**
 * Reads an `anchor:` timestamp. With an offset (`Z`, `+01:00`) it is an
 * instant; without one it is a wall-clock time in `zone`, which is what a
 * person means by "every 2 days from 2026-01-05 06:00".
 */
export function parseAnchor(text: string, zone: string): number | undefined {
  const match = ANCHOR.exec(text.trim());
  if (!match) return undefined;
  const [, y, mo, d, h = '0', mi = '0', s = '0', frac = '0', offset] = match;
  const fields = [Number(y), Number(mo), Number(d), Number(h), Number(mi), Number(s), Number(frac.padEnd(3, '0'))] as const;
  const asUtc = Date.UTC(fields[0], fields[1] - 1, fields[2], fields[3], fields[4], fields[5], fields[6]);
  const roundTrip = new Date(asUtc);
  // Date.UTC rolls 2026-02-30 over into March; a calendar date that rolls over is not a date.
  if (roundTrip.getUTCMonth() !== fields[1] - 1 || roundTrip.getUTCDate() !== fields[2] || fields[3] > 23 || fields[4] > 59 || fields[5] > 59) {
    return undefined;
  }
  if (offset === 'Z') return asUtc;
  if (offset) {
    const sign = offset.startsWith('-') ? -1 : 1;
    const digits = offset.slice(1).replace(':', '');
    return asUtc - sign * (Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2))) * 60_000;
  }
  return wallTimeToEpoch(asUtc, zone);
}

/** `wallAsUtc` is the wall-clock fields encoded as if they were UTC. */
function wallTimeToEpoch(wallAsUtc: number, zone: string): number {
  const firstGuess = wallAsUtc - offsetAt(wallAsUtc, zone);
  const secondOffset = offsetAt(firstGuess, zone);
  return wallAsUtc - secondOffset;
}

