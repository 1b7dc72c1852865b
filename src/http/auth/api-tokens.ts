import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import type { Clock } from '../../core/clock.js';
import { ConflictError, NotFoundError, UsageError } from '../../core/errors.js';
import { SecretFileError, WriteChain, readSecretJson, secretsDir, writeSecretJson } from './secret-file.js';
import { randomSecret, sameDigest, sha256 } from './digest.js';

/**
 * API tokens people create in the dashboard (for a phone shortcut that runs a
 * job with one HTTP call). Stored in `<dataDir>/secrets/api-tokens.json` as
 * SHA-256 digests only: the token is shown once, when it is created.
 */

export interface ApiTokenInfo {
  id: string;
  name: string;
  createdAt: string;
  /** Since the last restart: kept in memory so checking a token never writes to the SD card. */
  lastUsedAt?: string;
}

interface StoredToken {
  id: string;
  name: string;
  createdAt: string;
  /** hex SHA-256 of the token */
  digest: string;
}

const TOKEN_PREFIX = 'hth_';
export const MAX_API_TOKENS = 50;
export const TOKEN_NAME_PATTERN = /^[\p{L}\p{N} ._'()-]{1,40}$/u;
const TOKEN_ID_PATTERN = /^t_[0-9a-f]{8}$/;

export function isApiTokenId(value: string): boolean {
  return TOKEN_ID_PATTERN.test(value);
}

export class ApiTokenStore {
  private tokens: Array<StoredToken & { digestBytes: Buffer; lastUsedAt?: string }> = [];
  private readonly writes = new WriteChain();
  readonly file: string;

  constructor(private readonly options: { dataDir: string; clock: Clock }) {
    this.file = join(secretsDir(options.dataDir), 'api-tokens.json');
  }

  async load(): Promise<void> {
    const value = await readSecretJson(this.file);
    if (value === undefined) return;
    const list = (value as { tokens?: unknown }).tokens;
    if (!Array.isArray(list)) throw new SecretFileError(this.file, 'has no "tokens" list');
    this.tokens = (list as StoredToken[])
      .filter((t) => typeof t?.id === 'string' && typeof t.digest === 'string' && /^[0-9a-f]{64}$/.test(t.digest))
      .map((t) => ({ id: t.id, name: String(t.name ?? ''), createdAt: String(t.createdAt ?? ''), digest: t.digest, digestBytes: Buffer.from(t.digest, 'hex') }));
  }

  list(): ApiTokenInfo[] {
    return this.tokens.map(({ id, name, createdAt, lastUsedAt }) => ({ id, name, createdAt, ...(lastUsedAt ? { lastUsedAt } : {}) }));
  }

  /** Creates a token; resolves once it is on disk. The returned token is the only copy. */
  async create(name: string): Promise<{ token: string; info: ApiTokenInfo }> {
    const trimmed = name.trim();
    if (!TOKEN_NAME_PATTERN.test(trimmed)) {
      throw new UsageError('token name: use 1-40 letters, digits, spaces or . _ \' ( ) -');
    }
    if (this.tokens.length >= MAX_API_TOKENS) throw new ConflictError(`there are already ${MAX_API_TOKENS} tokens; revoke one first`);
    const id = `t_${randomBytes(4).toString('hex')}`;
    const token = `${TOKEN_PREFIX}${randomSecret()}`;
    const digestBytes = sha256(token);
    const stored = { id, name: trimmed, createdAt: new Date(this.options.clock.now()).toISOString(), digest: digestBytes.toString('hex'), digestBytes };
    this.tokens.push(stored);
    await this.save();
    return { token, info: { id, name: stored.name, createdAt: stored.createdAt } };
  }

  async revoke(id: string): Promise<void> {
    const before = this.tokens.length;
    this.tokens = this.tokens.filter((token) => token.id !== id);
    if (this.tokens.length === before) throw new NotFoundError('token', id);
    await this.save();
  }

  /** Every stored digest is compared (no early exit), so timing does not say which token almost matched. */
  check(candidate: string): boolean {
    if (!candidate.startsWith(TOKEN_PREFIX) || candidate.length > 200) return false;
    const offered = sha256(candidate);
    let match: (typeof this.tokens)[number] | undefined;
    for (const token of this.tokens) if (sameDigest(offered, token.digestBytes)) match = token;
    if (match) match.lastUsedAt = new Date(this.options.clock.now()).toISOString();
    return match !== undefined;
  }

  private save(): Promise<void> {
    const tokens = this.tokens.map(({ id, name, createdAt, digest }) => ({ id, name, createdAt, digest }));
    return this.writes.run(() => writeSecretJson(this.file, { version: 1, tokens }));
  }
}
