import { join } from 'node:path';
import type { Clock } from '../../core/clock.js';
import { SecretFileError, WriteChain, readSecretJson, secretsDir, writeSecretJson } from './secret-file.js';
import { randomSecret, sha256 } from './digest.js';

/**
 * Dashboard sessions, persisted in `<dataDir>/secrets/sessions.json` so a
 * restart (or a power cut) does not log everyone out. Only a SHA-256 digest
 * of each session id is stored: a copied data directory holds no usable
 * cookie. Sessions expire `ttlMs` after login; logout deletes one.
 */

export const SESSION_TTL_MS = 30 * 24 * 3600_000;
/** A phone, a tablet, a laptop or three per household; the oldest go first beyond this. */
const MAX_SESSIONS = 50;

interface StoredSession {
  /** hex SHA-256 of the cookie value */
  digest: string;
  createdAt: number;
  expiresAt: number;
}

export interface SessionStoreOptions {
  dataDir: string;
  clock: Clock;
  ttlMs?: number;
}

export class SessionStore {
  private readonly sessions = new Map<string, StoredSession>();
  private readonly writes = new WriteChain();
  private readonly ttlMs: number;
  readonly file: string;

  constructor(private readonly options: SessionStoreOptions) {
    this.ttlMs = options.ttlMs ?? SESSION_TTL_MS;
    this.file = join(secretsDir(options.dataDir), 'sessions.json');
  }

  async load(): Promise<void> {
    const value = await readSecretJson(this.file);
    if (value === undefined) return;
    const list = (value as { sessions?: unknown }).sessions;
    if (!Array.isArray(list)) throw new SecretFileError(this.file, 'has no "sessions" list');
    for (const item of list as StoredSession[]) {
      if (typeof item?.digest === 'string' && Number.isFinite(item.expiresAt)) this.sessions.set(item.digest, item);
    }
  }

  /** A new session; resolves once it is on disk. Returns the cookie value (shown to nobody but the browser). */
  async create(): Promise<{ cookie: string; expiresAt: number }> {
    const now = this.options.clock.now();
    const cookie = randomSecret();
    const session = { digest: sha256(cookie).toString('hex'), createdAt: now, expiresAt: now + this.ttlMs };
    this.pruneExpired(now);
    this.sessions.set(session.digest, session);
    while (this.sessions.size > MAX_SESSIONS) this.sessions.delete(this.sessions.keys().next().value!);
    await this.save();
    return { cookie, expiresAt: session.expiresAt };
  }

  isValid(cookie: string | undefined): boolean {
    if (!cookie || cookie.length > 128) return false;
    const session = this.sessions.get(sha256(cookie).toString('hex'));
    return session !== undefined && session.expiresAt > this.options.clock.now();
  }

  async revoke(cookie: string): Promise<void> {
    if (this.sessions.delete(sha256(cookie).toString('hex'))) await this.save();
  }

  /** Logs out every browser (after a password change, or a lost phone). */
  async revokeAll(): Promise<number> {
    const count = this.sessions.size;
    this.sessions.clear();
    await this.save();
    return count;
  }

  get size(): number {
    return this.sessions.size;
  }

  private pruneExpired(now: number): void {
    for (const [digest, session] of this.sessions) if (session.expiresAt <= now) this.sessions.delete(digest);
  }

  private save(): Promise<void> {
    return this.writes.run(() => writeSecretJson(this.file, { version: 1, sessions: [...this.sessions.values()] }));
  }
}
