import { randomBytes } from 'node:crypto';

/**
 * Run ids sort by creation time and are safe in file names and URLs:
 * `r_` + 10 base36 chars of milliseconds + 8 random hex chars.
 */
export function newRunId(now: number): string {
  return `r_${now.toString(36).padStart(10, '0')}${randomBytes(4).toString('hex')}`;
}

export const RUN_ID_PATTERN = /^r_[0-9a-z]{10}[0-9a-f]{8}$/;

export function isRunId(value: string): boolean {
  return RUN_ID_PATTERN.test(value);
}
