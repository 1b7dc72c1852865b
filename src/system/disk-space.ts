import { statfs as fsStatfs } from 'node:fs/promises';
import type { Clock } from '../core/clock.js';
import type { DiskView } from '../engine/port.js';

/**
 * Free space on the data directory's file system, for /api/health and the
 * dashboard's banner. health() is synchronous and polled by monitors, so it
 * reads a cached figure; a reading older than `refreshMs` starts a new
 * statfs in the background (one at a time) and the next call sees it.
 */

/** The part of statfs used here: injected so tests need no full disk. */
export type StatFs = (path: string) => Promise<{ bavail: number; blocks: number; bsize: number }>;

export interface DiskSpaceOptions {
  path: string;
  clock: Clock;
  statfs?: StatFs;
  refreshMs?: number;
  /** Below this, the disk counts as full. */
  fullBelowBytes?: number;
  /** Below this fraction of the total, the disk is nearly full (a message, not `full`). */
  lowBelowFraction?: number;
}

export const DISK_DEFAULTS = {
  refreshMs: 10_000,
  // A WAL checkpoint rewrites state.json (a few MB with 10,000 runs) and a
  // run log can grow by megabytes: under 64 MB a write failing is a matter of time.
  fullBelowBytes: 64 * 1024 * 1024,
  lowBelowFraction: 0.05,
} as const;

export class DiskSpace {
  private reading: DiskView | undefined;
  private readAt = Number.NEGATIVE_INFINITY;
  private pending: Promise<void> | undefined;

  constructor(private readonly options: DiskSpaceOptions) {}

  /** The latest reading (undefined before the first one, or when statfs fails); refreshes it in the background when stale. */
  current(): DiskView | undefined {
    if (this.options.clock.now() - this.readAt >= (this.options.refreshMs ?? DISK_DEFAULTS.refreshMs)) void this.refresh();
    return this.reading;
  }

  /** Reads now (at most one statfs at a time). Never rejects. */
  refresh(): Promise<void> {
    this.pending ??= this.read().finally(() => {
      this.pending = undefined;
    });
    return this.pending;
  }

  private async read(): Promise<void> {
    this.readAt = this.options.clock.now();
    try {
      const stats = await (this.options.statfs ?? fsStatfs)(this.options.path);
      this.reading = diskView(stats.bavail * stats.bsize, stats.blocks * stats.bsize, this.options);
    } catch {
      this.reading = undefined;
    }
  }
}

export function diskView(freeBytes: number, totalBytes: number, options: Pick<DiskSpaceOptions, 'fullBelowBytes' | 'lowBelowFraction'> = {}): DiskView {
  const fullBelow = options.fullBelowBytes ?? DISK_DEFAULTS.fullBelowBytes;
  const lowBelow = options.lowBelowFraction ?? DISK_DEFAULTS.lowBelowFraction;
  const full = freeBytes < fullBelow;
  const free = `${megabytes(freeBytes)} free of ${megabytes(totalBytes)}`;
  const message = full
    ? `The data directory's disk is full (${free}): runs may fail and their logs may be cut. Free some space.`
    : totalBytes > 0 && freeBytes / totalBytes < lowBelow
      ? `The data directory's disk is nearly full (${free}).`
      : undefined;
  return { freeBytes, totalBytes, full, ...(message ? { message } : {}) };
}

function megabytes(n: number): string {
  return n >= 10 * 1024 ** 3 ? `${Math.round(n / 1024 ** 3)} GB` : `${Math.round(n / 1024 ** 2)} MB`;
}
