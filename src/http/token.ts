import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { chmod, mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../core/atomic-file.js';

/**
 * The API token: 32 random bytes (base64url) in `<dataDir>/secrets/api-token`,
 * readable only by the user Hearth runs as. The appliance creates it on first
 * start; the CLI on the same machine reads it. The token itself is never
 * logged or put in an error message.
 */

export type TokenCheck = (token: string) => boolean;

export function apiTokenPath(dataDir: string): string {
  return join(dataDir, 'secrets', 'api-token');
}

/** Returns the token, creating it (secrets dir 0700, file 0600) on first start. */
export async function ensureApiToken(dataDir: string): Promise<string> {
  const secretsDir = join(dataDir, 'secrets');
  await mkdir(secretsDir, { recursive: true, mode: 0o700 });
  // mkdir leaves an existing directory alone; tighten it in case it was made by hand.
  await chmod(secretsDir, 0o700);
  const existing = await readApiToken(dataDir);
  if (existing) {
    await chmod(apiTokenPath(dataDir), 0o600);
    return existing;
  }
  const token = randomBytes(32).toString('base64url');
  await writeFileAtomic(apiTokenPath(dataDir), `${token}\n`, 0o600);
  return token;
}

/**
 * Reads the token for the CLI. `undefined` when there is none yet (the
 * appliance never started with this data directory); other failures, such as
 * EACCES when the CLI runs as a different user, are thrown.
 */
export async function readApiToken(dataDir: string): Promise<string | undefined> {
  let text: string;
  try {
    text = await readFile(apiTokenPath(dataDir), 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  const token = text.trim();
  return token === '' ? undefined : token;
}

/**
 * Accepts any of `tokens`. Both sides are hashed first so the comparison is
 * always between equal-length buffers: neither the content nor the length of
 * a valid token leaks through timing.
 */
export function createTokenCheck(tokens: string[]): TokenCheck {
  const digests = tokens.filter((token) => token.length > 0).map(digest);
  return (candidate: string) => {
    if (candidate.length === 0) return false;
    const offered = digest(candidate);
    let accepted = false;
    // No early exit: every token is compared, whichever matches.
    for (const expected of digests) accepted = timingSafeEqual(offered, expected) || accepted;
    return accepted;
  };
}

function digest(token: string): Buffer {
  return createHash('sha256').update(token, 'utf8').digest();
}
