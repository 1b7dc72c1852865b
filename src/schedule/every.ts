/**
 * `every: 15m`: occurrences at `anchor + k * everyMs` for every integer k.
 * Pure elapsed time (the zone plays no part), and the phase comes from the
 * anchor rather than from when the process started, so restarts never drift.
 */
import { ScheduleError, type Schedule } from './types.js';

export const MIN_EVERY_MS = 1_000;

const UNITS: ReadonlyArray<readonly [number, string]> = [
  [604_800_000, 'week'],
  [86_400_000, 'day'],
  [3_600_000, 'hour'],
  [60_000, 'minute'],
  [1_000, 'second'],
];

export class EverySchedule implements Schedule {
  constructor(readonly everyMs: number, readonly anchor = 0) {
    if (!Number.isFinite(everyMs) || everyMs < MIN_EVERY_MS) {
      throw new ScheduleError(`every: interval must be at least 1s, got ${everyMs}ms`);
    }
    if (!Number.isFinite(anchor)) throw new ScheduleError(`every: anchor must be a finite epoch time, got ${anchor}`);
  }

  /** Index k of the newest occurrence <= instant. */
  private indexAtOrBefore(instant: number): number {
    return Math.floor((instant - this.anchor) / this.everyMs);
  }

  private at(index: number): number {
    return this.anchor + index * this.everyMs;
  }

  next(after: number): number {
    return this.at(this.indexAtOrBefore(after) + 1);
  }

  previous(atOrBefore: number): number {
    return this.at(this.indexAtOrBefore(atOrBefore));
  }

  between(after: number, until: number, limit: number): number[] {
    const found: number[] = [];
    for (let index = this.indexAtOrBefore(after) + 1; found.length < limit; index++) {
      const occurrence = this.at(index);
      if (occurrence > until) break;
      found.push(occurrence);
    }
    return found;
  }

  /** Exact, by arithmetic: a year of `every: 1m` (525,600 occurrences) costs nothing, so `cap` is not needed. */
  countBetween(after: number, until: number, _cap?: number): { count: number; capped: boolean } {
    return { count: Math.max(0, this.indexAtOrBefore(until) - this.indexAtOrBefore(after)), capped: false };
  }

  describe(): string {
    for (const [size, unit] of UNITS) {
      if (this.everyMs % size === 0) {
        const count = this.everyMs / size;
        return count === 1 ? `every ${unit}` : `every ${count} ${unit}s`;
      }
    }
    return `every ${this.everyMs / 1000} seconds`;
  }
}
