import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Hearth's package root, found by walking up from the calling module. The
 * same code runs from src/ (tests), dist/<dir>/ (tsc output) and
 * dist/hearth.cjs (the start-up bundle), at different depths.
 */
export function packageRoot(fromUrl: string): string {
  let dir = dirname(fileURLToPath(fromUrl));
  for (;;) {
    const manifest = join(dir, 'package.json');
    if (existsSync(manifest) && (JSON.parse(readFileSync(manifest, 'utf8')) as { name?: string }).name === 'hearth') return dir;
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`cannot find Hearth's package.json above ${fromUrl}`);
    dir = parent;
  }
}

export function packageVersion(fromUrl: string): string {
  const manifest = JSON.parse(readFileSync(join(packageRoot(fromUrl), 'package.json'), 'utf8')) as { version: string };
  return manifest.version;
}
