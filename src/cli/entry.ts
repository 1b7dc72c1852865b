/**
 * What the start-up bundle (dist/hearth.cjs, scripts/bundle.mjs) exports to
 * bin/hearth.js: the CLI with the real process streams, and the writer of
 * the V8 code cache bin/hearth.js compiles the bundle with. The bundle is
 * CommonJS because only a classic script can be compiled from a code cache
 * on Node 20 (vm.Script cachedData; ES modules have no such API before Node
 * 22's module.enableCompileCache). dist/cli/main.js runs the same CLI as an
 * ES module (no cache).
 */
import { rename, unlink, writeFile } from 'node:fs/promises';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { randomBytes } from 'node:crypto';
import { runCli } from './cli.js';

export async function main(argv: string[]): Promise<number> {
  return runCli({
    argv,
    env: process.env,
    cwd: process.cwd(),
    stdout: process.stdout,
    stderr: process.stderr,
    fetch: (url, init) => fetch(url, init),
  });
}

// `hearth runs | head` closes the pipe early; that is not an error worth a stack trace.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw error;
});

/**
 * Writes a code cache for bin/hearth.js: `key` (which bundle, Node and
 * architecture it belongs to) then V8's data. Temp file and rename, so a
 * reader sees the old file or the new one; no fsync: a cache lost in a power
 * cut is only rebuilt, and V8 checks what it is given (a cache for other
 * flags or another V8 is rejected and written again).
 */
export async function saveCodeCache(file: string, key: string, data: Buffer): Promise<void> {
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  const temp = `${file}.${randomBytes(4).toString('hex')}.tmp`;
  try {
    await writeFile(temp, Buffer.concat([Buffer.from(`${key}\n`), data]), { mode: 0o600 });
    await rename(temp, file);
  } catch (error) {
    await unlink(temp).catch(() => {});
    throw error;
  }
}
