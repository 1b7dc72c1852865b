import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';

/**
 * Raspberry Pi under-voltage and throttling flags. The firmware reports a
 * bit field (`vcgencmd get_throttled`, or the same value in sysfs):
 *
 *   bit 0  under-voltage now            bit 16  under-voltage has occurred
 *   bit 1  ARM frequency capped now     bit 17  frequency capping has occurred
 *   bit 2  throttled now                bit 18  throttling has occurred
 *   bit 3  soft temperature limit now   bit 19  soft temperature limit has occurred
 *
 * Elsewhere (a PC, a VM) nothing reports it and the dashboard says "not reported".
 */

export interface ThrottlingFlags {
  /** The value as the firmware gave it, e.g. `0x50005`. */
  raw: string;
  underVoltageNow: boolean;
  frequencyCappedNow: boolean;
  throttledNow: boolean;
  softTemperatureLimitNow: boolean;
  underVoltageOccurred: boolean;
  frequencyCappedOccurred: boolean;
  throttledOccurred: boolean;
  softTemperatureLimitOccurred: boolean;
}

export const SYSFS_THROTTLED = '/sys/devices/platform/soc/soc:firmware/get_throttled';

/** Parses `throttled=0x50005`, `0x50005` or sysfs's `50005` (hex). `undefined` for anything else. */
export function parseThrottled(text: string): ThrottlingFlags | undefined {
  const match = text.trim().match(/^(?:throttled=)?(?:0x)?([0-9a-f]{1,8})$/i);
  if (!match) return undefined;
  const bits = Number.parseInt(match[1]!, 16);
  const bit = (n: number) => (bits & (1 << n)) !== 0;
  return {
    raw: `0x${bits.toString(16)}`,
    underVoltageNow: bit(0),
    frequencyCappedNow: bit(1),
    throttledNow: bit(2),
    softTemperatureLimitNow: bit(3),
    underVoltageOccurred: bit(16),
    frequencyCappedOccurred: bit(17),
    throttledOccurred: bit(18),
    softTemperatureLimitOccurred: bit(19),
  };
}

/** sysfs first (no process to start), then `vcgencmd`; `undefined` when neither exists. */
export async function readThrottledText(): Promise<string | undefined> {
  try {
    return await readFile(SYSFS_THROTTLED, 'utf8');
  } catch {
    // not a Pi kernel, or the file is absent: try the firmware tool
  }
  return new Promise((resolve) => {
    execFile('vcgencmd', ['get_throttled'], { timeout: 2000 }, (error, stdout) => resolve(error ? undefined : stdout));
  });
}
