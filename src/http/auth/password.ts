import { randomBytes, scrypt, timingSafeEqual } from 'node:crypto';
import { join } from 'node:path';
import { UsageError } from '../../core/errors.js';
import { SecretFileError, readSecretJson, secretsDir, writeSecretJson } from './secret-file.js';

/**
 * The admin password, stored as an scrypt hash in
 * `<dataDir>/secrets/admin-password.json`. Set by `hearth passwd`, or by
 * HEARTH_PASSWORD on a start when none is set. The password itself is never
 * written or logged.
 */

export interface PasswordHash {
  algorithm: 'scrypt';
  N: number;
  r: number;
  p: number;
  /** base64 */
  salt: string;
  /** base64 */
  hash: string;
  setAt: string;
}

/** 2^14 × 8 × 128 B = 16 MB and roughly 0.1 s per check on a Pi 4: slow for a guesser, fine for a person. */
const COST = { N: 16_384, r: 8, p: 1 };
const KEY_LENGTH = 32;
export const MIN_PASSWORD_LENGTH = 8;
export const MAX_PASSWORD_LENGTH = 1024;

export function adminPasswordPath(dataDir: string): string {
  return join(secretsDir(dataDir), 'admin-password.json');
}

export function validateNewPassword(password: string): void {
  if (password.length < MIN_PASSWORD_LENGTH) throw new UsageError(`the password must have at least ${MIN_PASSWORD_LENGTH} characters`);
  if (password.length > MAX_PASSWORD_LENGTH) throw new UsageError(`the password must have at most ${MAX_PASSWORD_LENGTH} characters`);
}

export async function hashPassword(password: string, now: Date): Promise<PasswordHash> {
  const salt = randomBytes(16);
  const hash = await derive(password, salt, COST);
  return { algorithm: 'scrypt', ...COST, salt: salt.toString('base64'), hash: hash.toString('base64'), setAt: now.toISOString() };
}

export async function verifyPassword(password: string, stored: PasswordHash): Promise<boolean> {
  if (password.length === 0 || password.length > MAX_PASSWORD_LENGTH) return false;
  const expected = Buffer.from(stored.hash, 'base64');
  const offered = await derive(password, Buffer.from(stored.salt, 'base64'), stored, expected.length);
  return offered.length === expected.length && timingSafeEqual(offered, expected);
}

export async function readAdminPassword(dataDir: string): Promise<PasswordHash | undefined> {
  const path = adminPasswordPath(dataDir);
  const value = await readSecretJson(path);
  if (value === undefined) return undefined;
  if (!isPasswordHash(value)) throw new SecretFileError(path, 'is not a Hearth password hash (set it again with `hearth passwd`)');
  return value;
}

export async function writeAdminPassword(dataDir: string, password: string, now: Date): Promise<void> {
  validateNewPassword(password);
  await writeSecretJson(adminPasswordPath(dataDir), await hashPassword(password, now));
}

function derive(password: string, salt: Buffer, cost: { N: number; r: number; p: number }, length = KEY_LENGTH): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const maxmem = 128 * cost.N * cost.r * 2;
    scrypt(password.normalize('NFC'), salt, length, { N: cost.N, r: cost.r, p: cost.p, maxmem }, (error, key) =>
      error ? reject(error) : resolve(key),
    );
  });
}

function isPasswordHash(value: unknown): value is PasswordHash {
  const v = value as Partial<PasswordHash> | null;
  return (
    typeof v === 'object' && v !== null && v.algorithm === 'scrypt' &&
    [v.N, v.r, v.p].every((n) => Number.isSafeInteger(n) && (n as number) > 0) &&
    typeof v.salt === 'string' && typeof v.hash === 'string' && v.hash.length > 0
  );
}
