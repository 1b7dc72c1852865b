import { UsageError } from '../core/errors.js';
import { adminPasswordPath, validateNewPassword, writeAdminPassword } from '../http/auth/password.js';
import type { CommandArgs } from './args.js';
import { stringValue } from './args.js';
import { loadCliConfig } from './config.js';
import type { CliContext } from './context.js';

/**
 * `hearth passwd`: sets the dashboard's admin password. On a terminal it asks
 * twice without echo; otherwise it reads one line from standard input
 * (`echo "$PW" | hearth passwd`), so provisioning scripts can set it. The
 * running appliance picks the new hash up within two seconds.
 */

export interface PasswordInput {
  /** One password from a person at a terminal (asked twice) or from a pipe. */
  read(ctx: CliContext): Promise<string>;
}

export async function passwdCommand(args: CommandArgs, ctx: CliContext, input: PasswordInput = terminalOrPipe): Promise<number> {
  const { config } = await loadCliConfig(ctx, { flag: stringValue(args, 'config'), strict: false });
  const password = await input.read(ctx);
  validateNewPassword(password);
  await writeAdminPassword(config.dataDir, password, new Date(ctx.now?.() ?? Date.now()));
  ctx.stdout.write(`password set (${adminPasswordPath(config.dataDir)})\n`);
  ctx.stdout.write('browsers already logged in stay logged in; use Settings › Log out everywhere to end their sessions\n');
  return 0;
}

const terminalOrPipe: PasswordInput = {
  async read(ctx) {
    const stdin = process.stdin;
    if (!stdin.isTTY) return firstLine(await readAll(stdin));
    const first = await askHidden('New password: ', ctx);
    const second = await askHidden('Again: ', ctx);
    if (first !== second) throw new UsageError('the two passwords differ; nothing was changed');
    return first;
  },
};

function firstLine(text: string): string {
  const line = text.split(/\r?\n/)[0] ?? '';
  if (line === '') throw new UsageError('no password on standard input (pipe one line, or run hearth passwd on a terminal)');
  return line;
}

export async function readAll(stream: NodeJS.ReadStream): Promise<string> {
  let text = '';
  for await (const chunk of stream) {
    text += String(chunk);
    if (text.length > 4096) break;
  }
  return text;
}

/** Reads a line in raw mode, echoing nothing; Ctrl-C aborts. */
export function askHidden(prompt: string, ctx: CliContext): Promise<string> {
  const stdin = process.stdin;
  ctx.stderr.write(prompt);
  return new Promise((resolve, reject) => {
    let value = '';
    stdin.setRawMode(true);
    stdin.resume();
    stdin.setEncoding('utf8');
    const done = (error?: Error) => {
      stdin.setRawMode(false);
      stdin.pause();
      stdin.off('data', onData);
      ctx.stderr.write('\n');
      if (error) reject(error);
      else resolve(value);
    };
    const onData = (chunk: string) => {
      for (const ch of chunk) {
        if (ch === '\r' || ch === '\n') return done();
        if (ch === '\u0003') return done(new UsageError('cancelled; nothing was changed'));
        if (ch === '\u007f' || ch === '\b') value = value.slice(0, -1);
        else value += ch;
      }
    };
    stdin.on('data', onData);
  });
}

/** For tests: a fixed password, as if typed. */
export function fixedPassword(password: string): PasswordInput {
  return { read: async () => password };
}

