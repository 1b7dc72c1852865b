import { execFileSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, rmSync, unlinkSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * A real small disk for full-disk (ENOSPC) tests: a tmpfs of a few megabytes
 * at a fresh temporary directory. Mounting needs root (CI runs as root);
 * where it is refused, `mountSmallDisk` says why and the caller skips its
 * test with that reason, so a skipped run is never mistaken for a pass.
 */
export interface SmallDisk {
  dir: string;
  /** Writes a filler file until the disk refuses a single byte; returns the function that frees the space again. */
  fill(): () => void;
  /** Unmounts (lazily: a killed process may still hold a file there for a moment) and removes the directory. */
  remove(): void;
}

export function mountSmallDisk(size: string, prefix = 'hearth-small-disk-'): SmallDisk | { error: string } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size},mode=0700`, 'tmpfs', dir], { stdio: 'pipe' });
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    return { error: String((error as { stderr?: Buffer }).stderr ?? error).trim() || 'mount failed' };
  }
  return {
    dir,
    fill: () => fillDisk(dir),
    remove: () => {
      execFileSync('umount', ['-l', dir]);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Fills the file system under `dir` to the last byte; returns a function that frees it again. */
export function fillDisk(dir: string): () => void {
  const path = join(dir, 'filler');
  const fd = openSync(path, 'w');
  const chunk = Buffer.alloc(64 * 1024, 1);
  try {
    for (let size = chunk.length; size >= 1; size = Math.floor(size / 2)) {
      for (;;) {
        try {
          if (writeSync(fd, chunk, 0, size) < size) break;
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code !== 'ENOSPC') throw error;
          break;
        }
      }
    }
  } finally {
    closeSync(fd);
  }
  return () => unlinkSync(path);
}
