import { createInterface } from 'node:readline/promises';
import { UsageError } from '../core/errors.js';
import type { CommandArgs } from './args.js';
import { stringValue } from './args.js';
import { loadCliConfig } from './config.js';
import type { CliContext } from './context.js';

/**
 * `hearth connect NAME` for a connection of type gmail: the same flow as
 * Settings › Connections › Gmail, in a terminal. It asks for the Desktop
 * client's id/secret when hearth.yaml has none, prints Google's consent
 * link, and reads back the 127.0.0.1 address the browser could not open.
 * Works on the Pi over SSH with the browser on a phone or laptop.
 *
 * (The connections registry keyed by type joins here: `connectByType[type]`.)
 */

export interface LineInput {
  /** Asks one question and returns the answer line (without the newline). */
  ask(prompt: string): Promise<string>;
}

export async function connectCommand(args: CommandArgs, ctx: CliContext, input: LineInput = stdinLines(ctx)): Promise<number> {
  const name = args.positionals[0]!;
  const { config } = await loadCliConfig(ctx, { flag: stringValue(args, 'config'), strict: false });
  const def = config.connections?.[name];
  if (!def) {
    const known = Object.keys(config.connections ?? {});
    throw new UsageError(`no connection "${name}" in ${config.file} (connections: ${known.join(', ') || 'none'})`);
  }
  const connect = connectByType[def.type];
  if (!connect) throw new UsageError(`connection "${name}" is of type ${def.type}; hearth connect does not handle that type yet`);
  return connect(name, config, ctx, input);
}

type ConnectFlow = (name: string, config: Awaited<ReturnType<typeof loadCliConfig>>['config'], ctx: CliContext, input: LineInput) => Promise<number>;

const connectByType: Partial<Record<string, ConnectFlow>> = {
  gmail: async (name, config, ctx, input) => {
    const [{ createGmailConnector }, { SecretsStore }] = await Promise.all([import('../integrations/gmail/connect.js'), import('../secrets/store.js')]);
    const connector = createGmailConnector({ connections: () => config.connections ?? {}, secrets: new SecretsStore(config.dataDir) });
    const status = await connector.status(name);
    const out = (line = '') => ctx.stdout.write(`${line}\n`);
    out(`Connecting Gmail account "${name}" (${status.connected ? 'connected now; this replaces the saved sign-in' : 'not connected yet'}).`);
    out();
    connector.instructions.forEach((line, i) => out(`${i + 1}. ${line}`));
    out();
    const typed: { clientId?: string; clientSecret?: string } = {};
    if (!status.clientId) typed.clientId = await input.ask('Client ID: ');
    if (!status.hasClientSecret) typed.clientSecret = await input.ask('Client secret: ');
    const { url } = await connector.begin(name, typed);
    out('Open this address in a browser (a phone is fine), choose the account and allow access:');
    out();
    out(url);
    out();
    const pasted = await input.ask('Paste the http://127.0.0.1… address the browser then failed to open: ');
    await connector.finish(name, pasted);
    out(`Connected: the refresh token is saved in ${config.dataDir}/secrets/${name}.json (0600).`);
    return 0;
  },
};

function stdinLines(ctx: CliContext): LineInput {
  return {
    async ask(prompt) {
      const rl = createInterface({ input: process.stdin, output: process.stdin.isTTY ? (process.stderr as NodeJS.WritableStream) : undefined, terminal: Boolean(process.stdin.isTTY) });
      try {
        if (!process.stdin.isTTY) ctx.stderr.write(prompt);
        const answer = process.stdin.isTTY ? await rl.question(prompt) : await new Promise<string>((resolve) => rl.once('line', resolve).once('close', () => resolve('')));
        return answer.trim();
      } finally {
        rl.close();
      }
    },
  };
}
