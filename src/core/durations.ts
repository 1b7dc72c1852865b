/**
 * Durations as people write them in hearth.yaml: `30s`, `15m`, `1h30m`, `2d`,
 * `500ms`, or a bare number of milliseconds. Returns milliseconds.
 */
const UNIT_MS: Record<string, number> = {
  ms: 1,
  s: 1_000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 604_800_000,
};

/**
 * The longest duration a config may hold: 10 years. Timers chain past
 * setTimeout's 24.8-day limit (see clock.ts), so months or years are fine;
 * anything longer is a typo (`3650000d`) or a value that would overflow date
 * arithmetic, and is refused rather than silently meaning "never".
 */
export const MAX_DURATION_MS = 3650 * 86_400_000;

const PART = /(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)/gy;

export function parseDuration(input: string | number): number {
  if (typeof input === 'number') {
    if (!Number.isFinite(input) || input < 0) throw new RangeError(`invalid duration ${input}`);
    return input;
  }
  const text = input.trim().toLowerCase();
  if (/^\d+$/.test(text)) return Number(text);
  PART.lastIndex = 0;
  let total = 0;
  let consumed = 0;
  for (let match = PART.exec(text); match; match = PART.exec(text)) {
    total += Number(match[1]) * UNIT_MS[match[2]!]!;
    consumed = PART.lastIndex;
    while (text[PART.lastIndex] === ' ') PART.lastIndex++;
    consumed = PART.lastIndex;
  }
  if (consumed !== text.length || text.length === 0) {
    throw new RangeError(`invalid duration "${input}" (use e.g. 30s, 15m, 1h30m, 2d)`);
  }
  return Math.round(total);
}

export function isDuration(input: unknown): boolean {
  if (typeof input !== 'string' && typeof input !== 'number') return false;
  try {
    parseDuration(input);
    return true;
  } catch {
    return false;
  }
}

/** `93784000` → `1d2h3m4s`: short, for logs and tables. */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  let rest = Math.round(ms / 1000);
  const parts: string[] = [];
  for (const [unit, size] of [['d', 86400], ['h', 3600], ['m', 60], ['s', 1]] as const) {
    const count = Math.floor(rest / size);
    if (count > 0) parts.push(`${count}${unit}`);
    rest -= count * size;
  }
  return parts.join('');
}
