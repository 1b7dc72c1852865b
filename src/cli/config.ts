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
  const validators = options.strict ? await strictValidators() : {};
  // Same base directory rule as `hearth start`: the bundled config's relative paths mean "here".
  const config = await loadConfig(path, { env: ctx.env, ...validators, ...(embedded ? { baseDir: ctx.cwd } : {}) });
  return { config, path, embedded };
}

/** The validators `hearth start` wires into the loader (see configLoadOptions in src/main.ts). */
async function strictValidators() {
  const [{ scheduleProblem }, { builtinActions, createActionRegistry }] = await Promise.all([
    import('../schedule/index.js'),
    import('../actions/index.js'),
  ]);
  const registry = createActionRegistry(builtinActions());
  return {
    validateSchedule: scheduleProblem,
    knownActions: registry.names(),
    validateAction: (name: string, params: Record<string, unknown>) => registry.get(name)?.validate(params) ?? [],
  };
}
