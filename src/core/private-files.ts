import { chmod, mkdir, readdir } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * Hearth's data directory holds run logs (whatever tasks print), the run
 * history and the secrets: it is private to the user Hearth runs as. `npm
 * start` usually inherits umask 022, which made the directory 0755 and every
 * log 0644, readable by any local user.
 *
 * The umask is set once, at the composition root, before anything is
 * created: every directory and file, ours and those a library writes
 * (LanceDB, model downloads), is then 0700/0600 without each call site
 * passing a mode. Tasks are another matter: they get the umask Hearth
 * started with (see `withUmask`), so a job that writes a report for other
 * users keeps doing so.
 */
export const PRIVATE_UMASK = 0o077;

/** Sets the process umask to PRIVATE_UMASK; returns the one it replaced. */
export function usePrivateUmask(): number {
  return process.umask(PRIVATE_UMASK);
}

/**
 * Calls `fn` with the process umask set to `mask`, then puts the previous one
 * back. For spawning tasks: a child takes the umask at fork, which spawn does
 * synchronously, so `fn` must start its process before its first await.
 */
export function withUmask<T>(mask: number, fn: () => T): T {
  const previous = process.umask(mask);
  try {
    return fn();
  } finally {
    process.umask(previous);
  }
}

/**
 * Creates the data directory 0700, and tightens it and the directories
 * directly in it (logs/, history/, knowledge/, ...) when an earlier version
 * or a looser umask made them readable by others. Files inside need no
 * chmod: nobody else can reach them through a 0700 directory.
 */
export async function ensurePrivateDataDir(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await chmod(dir, 0o700);
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    if (entry.isDirectory()) await chmod(join(dir, entry.name), 0o700);
  }
}
