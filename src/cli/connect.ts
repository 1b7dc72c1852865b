import { UsageError } from '../core/errors.js';
import type { CheckResult, Connections } from '../integrations/connect.js';
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
 * (Slack: auth.test, scopes required vs granted). `--check` only checks,
 * `--forget` deletes the saved secrets. Values are never printed.
 */

export interface SecretInput {
  /** Reads one value per field, in order. */
  read(labels: string[], ctx: CliContext): Promise<string[]>;
}

export async function connectCommand(args: CommandArgs, ctx: CliContext, input: SecretInput = terminalOrPipe): Promise<number> {
  const name = args.positionals[0]!;
  const { config } = await loadCliConfig(ctx, { flag: stringValue(args, 'config'), strict: false });
  const { Connections } = await import('../integrations/connect.js');
  const { connectFlows } = await import('../integrations/flows.js');
  const { SecretsStore } = await import('../secrets/store.js');
  const connections: Connections = new Connections({ connections: () => config.connections ?? {}, secrets: new SecretsStore(config.dataDir), flows: connectFlows() });
  const known = Object.keys(config.connections ?? {});
  if (!known.includes(name)) {
    throw new UsageError(`no connection "${name}" in ${config.file}${known.length ? ` (it has: ${known.join(', ')})` : '; add one under connections:, e.g. slack-home: { type: slack }'}`);
  }
  const info = await connections.get(name);
  if (args.values.forget) {
    await connections.forget(name);
    ctx.stdout.write(`forgot the saved secrets of ${name}${info.fromConfig.length ? ` (hearth.yaml still sets ${info.fromConfig.join(', ')})` : ''}\n`);
    return 0;
  }
  if (args.values.check) return printCheck(ctx, name, await connections.check(name));

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

function printCheck(ctx: CliContext, name: string, check: CheckResult): number {
  ctx.stdout.write(`${check.ok ? 'ok' : 'problem'}: ${name}: ${check.summary}\n`);
  for (const line of check.details) ctx.stdout.write(`  ${line}\n`);
  if (!check.ok) throw new CliFailure(`${name} is not ready: ${check.summary}`);
  return 0;
}

const terminalOrPipe: SecretInput = {
  async read(labels, ctx) {
    const { askHidden, readAll } = await import('./passwd.js');
    if (!process.stdin.isTTY) {
      const lines = (await readAll(process.stdin)).split(/\r?\n/);
      return labels.map((_, i) => (lines[i] ?? '').trim());
    }
    const values: string[] = [];
    for (const label of labels) values.push((await askHidden(label, ctx)).trim());
    return values;
  },
};
