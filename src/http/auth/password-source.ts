import type { Clock } from '../../core/clock.js';
import { readAdminPassword, type PasswordHash } from './password.js';

/**
 * The admin password hash as the running appliance sees it. Re-read from disk
 * at most every `maxAgeMs`, so `hearth passwd` (a separate process) takes
 * effect without a restart, and a page view costs no disk read most of the time.
 */
export class PasswordSource {
  private cached: { at: number; hash: Promise<PasswordHash | undefined> } | undefined;

  constructor(private readonly options: { dataDir: string; clock: Clock; maxAgeMs?: number }) {}

  get(): Promise<PasswordHash | undefined> {
    const now = this.options.clock.now();
    if (!this.cached || now - this.cached.at >= (this.options.maxAgeMs ?? 2000)) {
      const hash = readAdminPassword(this.options.dataDir);
      this.cached = { at: now, hash };
      hash.catch(() => (this.cached = undefined));
    }
    return this.cached.hash;
  }

  async isSet(): Promise<boolean> {
    return (await this.get()) !== undefined;
  }
}
