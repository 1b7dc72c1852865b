import type { CommandArgs } from './args.js';
import { stringValue } from './args.js';
import { loadCliConfig } from './config.js';
import type { CliContext } from './context.js';

/** Commands that work on this machine without a running appliance: start and validate. */

export async function startCommand(args: CommandArgs, ctx: CliContext): Promise<number> {
  // Imported lazily: only `start` needs the engine, the store and the HTTP server.
  const startAppliance = ctx.startAppliance ?? (await import('../main.js')).startAppliance;
  const configFlag = stringValue(args, 'config');
  await startAppliance({ ...(configFlag !== undefined && { configFlag }), env: ctx.env, cwd: ctx.cwd, handleSignals: true });
  // The HTTP server and the scheduler keep the process alive; signal handlers stop it.
  return 0;
}

export async function validateCommand(args: CommandArgs, ctx: CliContext): Promise<number> {
  // A ConfigError propagates: the CLI prints each issue on its own line and exits 1.
  const { config, path, embedded } = await loadCliConfig(ctx, { flag: stringValue(args, 'config'), strict: true });
  const count = Object.keys(config.jobs).length;
  const where = embedded ? `${path}, the bundled example` : path;
  ctx.stdout.write(`ok: ${count} ${count === 1 ? 'job' : 'jobs'} (${where})\n`);
  const { configWarnings } = await import('../config/load.js');
  for (const warning of configWarnings(config)) ctx.stderr.write(`warning: ${warning}\n`);
  return 0;
}
