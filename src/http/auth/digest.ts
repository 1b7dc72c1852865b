import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/** Secrets are stored and compared as SHA-256 digests: equal lengths, so timing says nothing about them. */
export function sha256(value: string): Buffer {
  return createHash('sha256').update(value, 'utf8').digest();
}

export function sameDigest(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

/** 32 random bytes, URL- and cookie-safe. */
export function randomSecret(): string {
  return randomBytes(32).toString('base64url');
}
