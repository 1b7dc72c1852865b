/**
 * The `hearth` executable (bin/hearth.js imports dist/cli/main.js): runs the
 * CLI on import with the real process streams. The logic lives in cli.ts so
 * tests call runCli with fakes instead of importing this file.
 */
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

process.exitCode = await main(process.argv.slice(2));
