import { parseArgs } from 'node:util';
import type { ParseArgsConfig } from 'node:util';
import { UsageError } from '../core/errors.js';

/** Argument parsing on top of node:util parseArgs; every mistake becomes a UsageError (exit 2). */

export type OptionSpecs = NonNullable<ParseArgsConfig['options']>;

export interface CommandArgs {
  values: Record<string, string | boolean | undefined>;
  positionals: string[];
}

export interface PositionalSpec {
  /** Names as shown in messages, e.g. `JOB`. */
  names: string[];
  /** How many of `names` are required (the rest are optional). */
  required: number;
}

export function parseCommandArgs(argv: string[], options: OptionSpecs, positional: PositionalSpec): CommandArgs {
  let parsed: { values: Record<string, unknown>; positionals: string[] };
  try {
    parsed = parseArgs({ args: argv, options, allowPositionals: true, strict: true });
  } catch (error) {
    if (isParseArgsError(error)) throw new UsageError(error.message, { cause: error });
    throw error;
  }
  const values = parsed.values as CommandArgs['values'];
  // `--help` wins over a missing argument: `hearth run --help` shows help, not an error.
  if (values.help === true) return { values, positionals: parsed.positionals };
  const { positionals } = parsed;
  const missing = positional.names[positionals.length];
  if (positionals.length < positional.required && missing) throw new UsageError(`missing argument ${missing}`);
  if (positionals.length > positional.names.length) {
    throw new UsageError(`unexpected argument "${positionals[positional.names.length]}"`);
  }
  return { values, positionals };
}

export function stringValue(args: CommandArgs, name: string): string | undefined {
  const value = args.values[name];
  return typeof value === 'string' ? value : undefined;
}

export function booleanValue(args: CommandArgs, name: string): boolean {
  return args.values[name] === true;
}

function isParseArgsError(error: unknown): error is Error {
  const code = (error as { code?: unknown } | null)?.code;
  return error instanceof Error && typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS');
}
