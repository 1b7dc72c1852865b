import { chmod, mkdir, readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { writeFileAtomic } from '../../core/atomic-file.js';

/**
 * Small JSON files under `<dataDir>/secrets/` (directory 0700, files 0600),
 * written atomically so a power cut leaves the old or the new file. A file
 * that exists but cannot be parsed is an error naming the file, never
 * silently replaced: it may hold the only copy of a password hash.
 */

export function secretsDir(dataDir: string): string {
  return join(dataDir, 'secrets');
}

export async function readSecretJson(path: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new SecretFileError(path, 'is not valid JSON', { cause: error });
  }
}

export async function writeSecretJson(path: string, value: unknown): Promise<void> {
  const dir = dirname(path);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await chmod(dir, 0o700);
  await writeFileAtomic(path, `${JSON.stringify(value, null, 2)}\n`, 0o600);
}

/** A secrets file exists but is damaged; the message names the file and says how to recover. */
export class SecretFileError extends Error {
  override name = 'SecretFileError';
  constructor(readonly file: string, problem: string, options?: ErrorOptions) {
    super(`${file} ${problem}; fix or delete it (deleting it resets what it holds)`, options);
  }
}

/** Serialises writes of one file so the last change always wins on disk. */
export class WriteChain {
  private tail: Promise<void> = Promise.resolve();

  run(write: () => Promise<void>): Promise<void> {
    const next = this.tail.then(write, write);
    this.tail = next.catch(() => undefined);
    return next;
  }
}
