import { UsageError } from '../core/errors.js';
import type { NotifyChannelDef } from '../config/types.js';
import type { CheckResult, Connections } from '../integrations/connect.js';
import type { SecretsStore } from '../secrets/store.js';
import type { GmailConnector } from '../integrations/gmail/connect.js';
import type { CommandArgs } from './args.js';
import { stringValue } from './args.js';
import { loadCliConfig } from './config.js';
import type { CliContext } from './context.js';
import { CliFailure } from './errors.js';

/**
 * `hearth connect NAME`: hands a connection its secret from a terminal. On a
 * terminal each field is asked without echo; from a pipe the fields are read
 * one per line (`echo "$SLACK_TOKEN" | hearth connect slack-home`). The value
 * goes to `<dataDir>/secrets/NAME.json` (0600), then the type's check runs
 * (Slack: auth.test, scopes required vs granted; Gmail: the refresh token and
 * users.getProfile). `--check` only checks, `--forget` deletes the saved
 * secrets. Values are never printed.
 *
 * Gmail's refresh token comes from Google's consent page, in two steps a
 * single save cannot carry: the GmailConnector (integrations/gmail/connect.ts,
 * the same one behind Settings › Connections › Gmail) asks for the Desktop
 * client's id/secret when hearth.yaml has none, prints the consent link, and
 * exchanges the 127.0.0.1 address the browser could not open. Works on the Pi
 * over SSH with the browser on a phone or laptop.
 */

export interface SecretInput {
  /** Reads one value per field, in order. */
  read(labels: string[], ctx: CliContext): Promise<string[]>;
}

export async function connectCommand(args: CommandArgs, ctx: CliContext, input: SecretInput = terminalOrPipe): Promise<number> {
  try {
    return await connect(args, ctx, input);
  } finally {
    // An open pipe (e.g. ssh without a terminal) would otherwise keep the finished command waiting.
    if (pipe) process.stdin.destroy();
  }
}

async function connect(args: CommandArgs, ctx: CliContext, input: SecretInput): Promise<number> {
  const name = args.positionals[0]!;
  const { config } = await loadCliConfig(ctx, { flag: stringValue(args, 'config'), strict: false });
  const { Connections } = await import('../integrations/connect.js');
  const { connectFlows } = await import('../integrations/flows.js');
  const { SecretsStore } = await import('../secrets/store.js');
  const secrets = new SecretsStore(config.dataDir);
  const connections: Connections = new Connections({ connections: () => config.connections ?? {}, secrets, flows: connectFlows() });
  const known = Object.keys(config.connections ?? {});
  const channel = known.includes(name) ? undefined : config.notify?.channels[name];
  if (channel) return connectChannel(channel, secrets, args, ctx, input);
  if (!known.includes(name)) {
    const channels = Object.keys(config.notify?.channels ?? {});
    if (channels.length) throw new UsageError(`no connection or notification channel "${name}" in ${config.file} (it has: ${[...known, ...channels].join(', ')})`);
    throw new UsageError(`no connection "${name}" in ${config.file}${known.length ? ` (it has: ${known.join(', ')})` : '; add one under connections:, e.g. slack-home: { type: slack }'}`);
  }
  const info = await connections.get(name);
  if (args.values.forget) {
    await connections.forget(name);
    ctx.stdout.write(`forgot the saved secrets of ${name}${info.fromConfig.length ? ` (hearth.yaml still sets ${info.fromConfig.join(', ')})` : ''}\n`);
    return 0;
  }
  if (args.values.check) return printCheck(ctx, name, await connections.check(name));
  if (info.type === 'gmail') {
    const { createGmailConnector } = await import('../integrations/gmail/connect.js');
    await connectGmail(name, createGmailConnector({ connections: () => config.connections ?? {}, secrets }), ctx, input);
    ctx.stdout.write(`Connected: the refresh token is saved in ${config.dataDir}/secrets/${name}.json (0600).\n`);
    return printCheck(ctx, name, await connections.check(name));
  }

  const d = info.description;
  ctx.stderr.write(`${name} (${info.type}): ${d.summary}\n`);
  for (const line of d.help) ctx.stderr.write(`  ${line}\n`);
  if (d.scopes.length) ctx.stderr.write(`  scopes needed: ${d.scopes.join(', ')}\n`);
  if (info.saved.length) ctx.stderr.write(`  saved already: ${info.saved.join(', ')} (a new value replaces it)\n`);
  if (info.fromConfig.length) ctx.stderr.write(`  note: hearth.yaml sets ${info.fromConfig.join(', ')}, which wins over a saved value\n`);
  const fields = d.fields.filter((field) => !field.optional);
  const values = await input.read(fields.map((field) => `${field.label}: `), ctx);
  const given: Record<string, string> = {};
  fields.forEach((field, i) => (given[field.key] = values[i] ?? ''));
  if (Object.values(given).every((value) => value.trim() === '')) throw new UsageError('nothing given; nothing was saved');
  const check = await connections.save(name, given);
  ctx.stdout.write(`saved ${Object.keys(given).join(', ')} for ${name} (${config.dataDir}/secrets/${name}.json, mode 0600)\n`);
  return printCheck(ctx, name, check);
}

/**
 * A notification channel (notify.channels.NAME): its type's secret settings
 * (SECRET_SETTINGS: a bot token, an SMTP URL with its password …) saved under
 * the channel's name, where the Notifier reads them at each send; a value in
 * hearth.yaml still wins. The check is a real message: `hearth notify test`.
 */
async function connectChannel(channel: NotifyChannelDef, secrets: SecretsStore, args: CommandArgs, ctx: CliContext, input: SecretInput): Promise<number> {
  const { name, type } = channel;
  const { SECRET_SETTINGS } = await import('../notify/channels/index.js');
  const keys = SECRET_SETTINGS[type];
  const file = `${secrets.dir}/${name}.json`;
  if (args.values.forget) {
    await secrets.delete(name);
    ctx.stdout.write(`forgot the saved secrets of ${name}\n`);
    return 0;
  }
  const saved = await secrets.keys(name);
  const fromConfig = keys.filter((key) => channel.settings[key] !== undefined);
  if (args.values.check) {
    ctx.stdout.write(`${name} (${type}): saved: ${saved.length ? saved.join(', ') : 'nothing'}${fromConfig.length ? `; hearth.yaml sets ${fromConfig.join(', ')}` : ''}\n`);
    ctx.stdout.write(`send a real message with: hearth notify test ${name}\n`);
    return 0;
  }
  ctx.stderr.write(`${name} (${type} notification channel): secret settings ${keys.join(', ')}\n`);
  if (saved.length) ctx.stderr.write(`  saved already: ${saved.join(', ')} (a new value replaces it)\n`);
  if (fromConfig.length) ctx.stderr.write(`  note: hearth.yaml sets ${fromConfig.join(', ')}, which wins over a saved value\n`);
  const values = await input.read(keys.map((key) => `${key} (empty: leave as it is): `), ctx);
  const given: Record<string, string> = {};
  keys.forEach((key, i) => {
    const value = values[i]?.trim() ?? '';
    if (value !== '') given[key] = value;
  });
  if (Object.keys(given).length === 0) throw new UsageError('nothing given; nothing was saved');
  await secrets.set(name, given);
  ctx.stdout.write(`saved ${Object.keys(given).join(', ')} for the notification channel ${name} (${file}, mode 0600)\n`);
  ctx.stdout.write(`the running appliance uses it from its next message; try: hearth notify test ${name}\n`);
  return 0;
}

/** The consent steps: client id/secret if missing, the consent link, the pasted 127.0.0.1 address. */
async function connectGmail(name: string, connector: GmailConnector, ctx: CliContext, input: SecretInput): Promise<void> {
  const status = await connector.status(name);
  const out = (line = '') => ctx.stdout.write(`${line}\n`);
  out(`Connecting Gmail account "${name}" (${status.connected ? 'connected now; this replaces the saved sign-in' : 'not connected yet'}).`);
  out();
  connector.instructions.forEach((line, i) => out(`${i + 1}. ${line}`));
  out();
  const missing = [...(status.clientId ? [] : ['clientId' as const]), ...(status.hasClientSecret ? [] : ['clientSecret' as const])];
  const answers = missing.length ? await input.read(missing.map((key) => (key === 'clientId' ? 'Client ID: ' : 'Client secret: ')), ctx) : [];
  const typed: { clientId?: string; clientSecret?: string } = {};
  missing.forEach((key, i) => (typed[key] = answers[i] ?? ''));
  const { url } = await connector.begin(name, typed);
  out('Open this address in a browser (a phone is fine), choose the account and allow access:');
  out();
  out(url);
  out();
  const [pasted] = await input.read(['Paste the http://127.0.0.1… address the browser then failed to open: '], ctx);
  await connector.finish(name, pasted ?? '');
}

function printCheck(ctx: CliContext, name: string, check: CheckResult): number {
  ctx.stdout.write(`${check.ok ? 'ok' : 'problem'}: ${name}: ${check.summary}\n`);
  for (const line of check.details) ctx.stdout.write(`  ${line}\n`);
  if (!check.ok) throw new CliFailure(`${name} is not ready: ${check.summary}`);
  return 0;
}

/**
 * A terminal: each value asked without echo. A pipe: one value per line, read
 * as they come (Gmail asks twice: the pasted address after the consent link),
 * so the lines of one pipe serve every read.
 */
const terminalOrPipe: SecretInput = {
  async read(labels, ctx) {
    const { askHidden } = await import('./passwd.js');
    if (!process.stdin.isTTY) {
      const values: string[] = [];
      for (const label of labels) {
        ctx.stderr.write(label);
        values.push((await pipeLines().next()).trim());
      }
      return values;
    }
    const values: string[] = [];
    for (const label of labels) values.push((await askHidden(label, ctx)).trim());
    return values;
  },
};

let pipe: { next(): Promise<string> } | undefined;

/** Lines of stdin, one per call ('' once it has ended). */
function pipeLines(): { next(): Promise<string> } {
  if (pipe) return pipe;
  const lines: string[] = [];
  const waiting: Array<(line: string) => void> = [];
  let ended = false;
  let rest = '';
  const push = (line: string) => {
    const waiter = waiting.shift();
    if (waiter) waiter(line);
    else lines.push(line);
    // Paused while nobody waits, so a finished command does not hold the process on stdin.
    if (waiting.length === 0) process.stdin.pause();
  };
  process.stdin.setEncoding('utf8');
  process.stdin.on('data', (chunk: string) => {
    rest += chunk;
    let at: number;
    while ((at = rest.indexOf('\n')) >= 0) {
      push(rest.slice(0, at).replace(/\r$/, ''));
      rest = rest.slice(at + 1);
    }
    // Bounded: a value is one line of at most 4 KiB.
    if (rest.length > 4096) rest = rest.slice(0, 4096);
  });
  process.stdin.once('end', () => {
    if (rest !== '') push(rest.replace(/\r$/, ''));
    rest = '';
    ended = true;
    for (const waiter of waiting.splice(0)) waiter('');
  });
  pipe = {
    next: () => {
      if (lines.length > 0) return Promise.resolve(lines.shift()!);
      if (ended) return Promise.resolve('');
      return new Promise((resolve) => {
        waiting.push(resolve);
        process.stdin.resume();
      });
    },
  };
  return pipe;
}
