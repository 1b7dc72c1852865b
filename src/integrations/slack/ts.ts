/** Slack timestamps ("1700000000.000100": epoch seconds, microseconds) as ordered values. */

export function compareTs(a: string, b: string): number {
  const [as, af = ''] = a.split('.');
  const [bs, bf = ''] = b.split('.');
  const d = Number(as) - Number(bs);
  if (d !== 0) return d;
  return Number(af.padEnd(6, '0')) - Number(bf.padEnd(6, '0'));
}

export function tsToMs(ts: string): number {
  return Math.floor(Number(ts) * 1000);
}

export function msToTs(ms: number): string {
  const seconds = Math.floor(ms / 1000);
  return `${seconds}.${String((ms % 1000) * 1000).padStart(6, '0')}`;
}

/** The UTC day a timestamp falls on: `2026-03-01`. */
export function dayOf(ts: string): string {
  return new Date(tsToMs(ts)).toISOString().slice(0, 10);
}

export function maxTs(a: string | undefined, b: string | undefined): string | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  return compareTs(a, b) >= 0 ? a : b;
}
