import { randomFillSync } from 'node:crypto';

const RANDOM_BLOCK_BYTES = 512;

/**
 * Run ids sort by creation time and are safe in file names and URLs:
 * `r_` + 10 base36 chars of milliseconds + 4 hex chars of a per-millisecond
 * sequence + 4 random hex chars. The sequence keeps ids created in the same
 * millisecond (a burst of catch-up runs) in creation order.
 */
export class RunIdGenerator {
  private lastMs = -1;
  private sequence = 0;
  /** Random bytes taken from the system RNG in blocks (one call per 256 ids instead of one per id). */
  private readonly random = Buffer.alloc(RANDOM_BLOCK_BYTES);
  private randomAt = RANDOM_BLOCK_BYTES;

  constructor(private readonly fillRandom: (buffer: Buffer) => void = (buffer) => void randomFillSync(buffer)) {}

  next(now: number): string {
    if (now === this.lastMs) this.sequence++;
    else {
      this.lastMs = now;
      this.sequence = 0;
    }
    const seq = (this.sequence & 0xffff).toString(16).padStart(4, '0');
    if (this.randomAt + 2 > RANDOM_BLOCK_BYTES) {
      this.fillRandom(this.random);
      this.randomAt = 0;
    }
    const random = this.random.readUInt16BE(this.randomAt).toString(16).padStart(4, '0');
    this.randomAt += 2;
    return `r_${now.toString(36).padStart(10, '0')}${seq}${random}`;
  }
}

/** A one-off id (no ordering guarantee within one millisecond). */
export function newRunId(now: number): string {
  return oneOffIds.next(now);
}

const oneOffIds = new RunIdGenerator();

export const RUN_ID_PATTERN = /^r_[0-9a-z]{10}[0-9a-f]{8}$/;

export function isRunId(value: string): boolean {
  return RUN_ID_PATTERN.test(value);
}
