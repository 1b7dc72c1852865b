import { createHash } from 'node:crypto';

/** 32 hex characters (128 bits) of SHA-256: ids that are short but never collide in practice. */
export function contentHash(text: string | Uint8Array): string {
  return createHash('sha256').update(text).digest('hex').slice(0, 32);
}

/** The full SHA-256, for raw blobs (their name is their hash, so they never change). */
export function blobHash(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** A document's id: the same source and key give the same id, whatever the content. */
export function documentId(source: string, key: string): string {
  return contentHash(`${source}\0${key}`);
}
