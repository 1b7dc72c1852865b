import type { ConfigIssue } from '../core/errors.js';
import type { ConnectionSettings } from '../config/load.js';
import type { HearthConfig } from '../config/types.js';
import type { CliContext } from './context.js';

/**
 * Loads hearth.yaml for the CLI. Modules are imported lazily so that
 * `hearth logs -f` with HEARTH_URL and HEARTH_TOKEN set never pays for the
 * YAML parser, and only `validate` pays for the schedule and action checks.
 */

export interface LoadedConfig {
  config: HearthConfig;
  /** The file that was read. */
  path: string;
  /** No hearth.yaml was found, so the bundled example config was used. */
  embedded: boolean;
}

export interface LoadCliConfigOptions {
  /** The `--config` flag. */
  flag: string | undefined;
  /** Run every check `hearth start` would (schedules, action parameters). */
  strict: boolean;
}

export async function loadCliConfig(
  ctx: Pick<CliContext, 'env' | 'cwd'>,
  options: LoadCliConfigOptions,
): Promise<LoadedConfig> {
  const { loadConfig, resolveConfigPath } = await import('../config/load.js');
  const { path, embedded } = resolveConfigPath({ flag: options.flag, env: ctx.env, cwd: ctx.cwd });
  // Same base directory rule as `hearth start`: the bundled config's relative paths mean "here".
  const baseDir = embedded ? ctx.cwd : undefined;
  const loadOptions = options.strict
    ? (await import('../config-options.js')).configLoadOptions(ctx.env, baseDir)
    : { env: ctx.env, ...(baseDir ? { baseDir } : {}) };
  const config = await loadConfig(path, loadOptions);
  return { config, path, embedded };
}

/**
 * For the commands that talk to the running appliance: the server address and
 * data directory, read leniently. A broken hearth.yaml is when `hearth jobs`,
 * `runs` and `logs` are needed most, so its problems come back as `issues`
 * (printed as a warning) instead of stopping the command.
 */
export async function loadCliConnection(
  ctx: Pick<CliContext, 'env' | 'cwd'>,
  flag: string | undefined,
): Promise<{ settings: ConnectionSettings; path: string; issues: ConfigIssue[] }> {
  const { loadConnectionSettings, resolveConfigPath } = await import('../config/load.js');
  const { path, embedded } = resolveConfigPath({ flag, env: ctx.env, cwd: ctx.cwd });
  const baseDir = embedded ? ctx.cwd : undefined;
  const { settings, issues } = await loadConnectionSettings(path, { env: ctx.env, ...(baseDir ? { baseDir } : {}) });
  return { settings, path, issues };
}
