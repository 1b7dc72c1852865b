import { stat } from 'node:fs/promises';
import { extname, isAbsolute, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { inspect } from 'node:util';
import { z } from 'zod';
import { errorMessage, NonRetriableError, RetryAfterError, StepError } from '../core/errors.js';
import { lazy } from '../core/lazy.js';
import { abortError, parseParams, validateParams } from './params.js';
import type { ActionContext, ActionDefinition, ModuleContext } from './types.js';

const LOADABLE_EXTENSIONS = ['.js', '.mjs', '.cjs', '.ts', '.mts'];
const TYPESCRIPT_EXTENSIONS = ['.ts', '.mts'];

/** Built on first use (src/core/lazy.ts): an appliance that does not use this action never builds it. */
const moduleParams = lazy(() =>
  z.strictObject({
    path: z
      .string()
      .min(1, 'must not be empty')
      .refine((path) => LOADABLE_EXTENSIONS.includes(extname(path).toLowerCase()), {
        error: `must be a ${LOADABLE_EXTENSIONS.join(', ')} file`,
      }),
    export: z.string().min(1, 'must not be empty').default('default'),
    args: z.unknown().optional(),
  }),
);

type ModuleParams = z.output<ReturnType<typeof moduleParams>>;

/**
 * `action: module` — calls a function exported by the user's own JavaScript
 * module with a ModuleContext. Errors the function throws propagate
 * unchanged, so its own NonRetriableError / RetryAfterError (imported from
 * Hearth's sdk entry) keep steering retries.
 */
export const moduleAction: ActionDefinition = {
  name: 'module',
  validate: (params) => validateParams(moduleParams(), params),
  execute: async (params, ctx) => runModule(parseParams(moduleParams(), params, 'module'), ctx),
};

async function runModule(params: ModuleParams, ctx: ActionContext): Promise<unknown> {
  const file = isAbsolute(params.path) ? params.path : resolve(ctx.configDir, params.path);
  const fn = await loadExportedFunction(file, params.export);
  if (ctx.signal.aborted) throw abortError(ctx.signal);
  const moduleCtx: ModuleContext = {
    ...ctx,
    args: params.args,
    input: ctx.input,
    step: ctx.step ?? noSteps,
    since: ctx.lastSuccess,
    errors: { NonRetriableError, RetryAfterError },
  };
  // The call happens inside the promise chain so a synchronous throw is a rejection like any other.
  const result = await untilAborted(Promise.resolve().then(() => fn(moduleCtx)), ctx.signal);
  return toJsonValue(result, ctx.log);
}

type ExportedFunction = (ctx: ModuleContext) => unknown;

/** Where no engine hands out steps (a module called outside a run): every step explains itself. */
const unavailable = (): never => {
  throw new StepError('durable steps are only available when Hearth runs the module as a task');
};
const noSteps: ModuleContext['step'] = {
  run: unavailable,
  sleep: unavailable,
  sleepUntil: unavailable,
  waitForInput: unavailable,
  invoke: unavailable,
  waitForEvent: unavailable,
  sendEvent: unavailable,
};

export async function loadExportedFunction(file: string, exportName: string): Promise<ExportedFunction> {
  const info = await stat(file).catch(() => undefined);
  if (!info) throw new NonRetriableError(`module not found: ${file}`);
  if (!info.isFile()) throw new NonRetriableError(`module path is not a file: ${file}`);

  // Node caches a module by URL for the life of the process; keying on the
  // modification time makes an edited file take effect without a restart
  // (only this file: modules it imports stay cached).
  const url = pathToFileURL(file);
  url.searchParams.set('mtime', String(Math.trunc(info.mtimeMs)));
  let namespace: Record<string, unknown>;
  try {
    namespace = (await import(url.href)) as Record<string, unknown>;
  } catch (error) {
    throw describeImportFailure(file, error);
  }

  const value = pickExport(namespace, exportName);
  if (value === undefined) {
    const available = Object.keys(namespace).filter((key) => key !== '__esModule');
    throw new NonRetriableError(
      `module ${file} has no export "${exportName}" (it exports: ${available.join(', ') || 'nothing'})`,
    );
  }
  if (typeof value !== 'function') {
    throw new NonRetriableError(`export "${exportName}" of ${file} is a ${typeof value}, not a function`);
  }
  return value as ExportedFunction;
}

/** A CommonJS module's named exports may only be reachable through `default` (module.exports). */
function pickExport(namespace: Record<string, unknown>, name: string): unknown {
  if (namespace[name] !== undefined) return namespace[name];
  const commonJs = namespace.default;
  if (name !== 'default' && commonJs !== null && typeof commonJs === 'object') {
    return (commonJs as Record<string, unknown>)[name];
  }
  return undefined;
}

/**
 * Loading failures that retrying cannot fix (a syntax error, a missing
 * dependency, TypeScript that Node cannot run) become NonRetriableError; any
 * other error thrown while the module evaluates propagates unchanged.
 */
export function describeImportFailure(file: string, error: unknown): unknown {
  const code = (error as NodeJS.ErrnoException | null)?.code;
  const isTypeScript = TYPESCRIPT_EXTENSIONS.includes(extname(file).toLowerCase());
  if (isTypeScript && (code === 'ERR_UNKNOWN_FILE_EXTENSION' || code === 'ERR_UNSUPPORTED_NODE_MODULES_TYPE_STRIPPING')) {
    return new NonRetriableError(
      `cannot load ${file}: this Node.js cannot run TypeScript directly. ` +
        'Compile it to JavaScript (e.g. with tsc) and point `path` at the .js file, or write the module as .mjs.',
      { cause: error },
    );
  }
  if (error instanceof SyntaxError || code === 'ERR_MODULE_NOT_FOUND' || code === 'ERR_UNKNOWN_FILE_EXTENSION') {
    return new NonRetriableError(`cannot load ${file}: ${errorMessage(error)}`, { cause: error });
  }
  return error;
}

/**
 * Settles with `work`, or rejects as soon as `signal` aborts, so a module that
 * ignores its signal cannot hold up a cancel or a timeout. (Its work carries on
 * in the background; JavaScript has no way to stop it.)
 */
function untilAborted<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  return new Promise<T>((resolvePromise, reject) => {
    const onAbort = () => reject(abortError(signal));
    if (signal.aborted) {
      onAbort();
      return;
    }
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolvePromise(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}

/**
 * The output is stored as JSON, so it is normalised through JSON now (Dates
 * become ISO strings, functions vanish). A value JSON cannot represent
 * (a cycle, a BigInt) is kept as its printed form instead.
 */
export function toJsonValue(value: unknown, log: (line: string) => void): unknown {
  if (value === undefined) return undefined;
  try {
    const json = JSON.stringify(value);
    return json === undefined ? undefined : (JSON.parse(json) as unknown);
  } catch (error) {
    log(`module result is not JSON-serialisable (${errorMessage(error)}); stored as text`);
    return inspect(value, { depth: 4, breakLength: Infinity });
  }
}
