/**
 * Loads hearth.yaml on a worker thread. Parsing and checking a config is
 * synchronous, and the yaml package's parser alone costs ~2 µs a byte on a
 * dense file: in the main thread, a hot reload of a hostile (or merely large)
 * file would hold the event loop, and with it the scheduler and the API, for
 * hundreds of milliseconds. On a worker the main thread only starts the
 * worker and receives plain data; a file that takes longer than `timeoutMs`
 * is refused and its worker terminated.
 *
 * From the TypeScript sources (tests) there is no compiled worker, so the
 * same checks run in-thread; they are identical (config-worker.ts calls the
 * same loadConfig with the same options).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { systemClock, type Clock } from './core/clock.js';
import { ConfigError } from './core/errors.js';
import type { ConfigIssue } from './core/errors.js';
import { packageRoot } from './core/package-root.js';
import { loadConfig, loadConfigCached, type CachedLoad } from './config/load.js';
import type { HearthConfig } from './config/types.js';
import { configLoadOptions } from './config-options.js';

export interface ConfigLoadRequest {
  file: string;
  env: Record<string, string | undefined>;
  baseDir?: string;
  /** An empty or comment-only file is an error (reloads). */
  rejectEmpty?: boolean;
}

export type ConfigLoadReply = { ok: true; config: HearthConfig } | { ok: false; issues: ConfigIssue[] } | { ok: false; error: string };

export const CONFIG_LOAD_TIMEOUT_MS = 10_000;

export interface OffThreadOptions {
  clock?: Clock;
  timeoutMs?: number;
  /** The compiled worker; default dist/config-worker.js when this module runs compiled. */
  workerFile?: string;
  /** Check in this thread (start-up, when nothing else runs yet). */
  inThread?: boolean;
}

/** Same contract as loadConfig: resolves with the config or rejects with a ConfigError listing every problem. */
export async function loadConfigOffThread(request: ConfigLoadRequest, options: OffThreadOptions = {}): Promise<HearthConfig> {
  const workerFile = options.inThread ? undefined : options.workerFile ?? compiledWorker();
  if (!workerFile) {
    return loadConfig(request.file, { ...configLoadOptions(request.env, request.baseDir), rejectEmpty: request.rejectEmpty });
  }
  const clock = options.clock ?? systemClock;
  const timeoutMs = options.timeoutMs ?? CONFIG_LOAD_TIMEOUT_MS;
  // Loaded with the first reload: worker_threads is ~1.5 MB of RSS that an appliance nobody edits never needs.
  const { Worker } = await import('node:worker_threads');
  return new Promise<HearthConfig>((resolve, reject) => {
    // A bounded heap: a file that still manages to blow up memory ends this worker, not Hearth.
    const worker = new Worker(workerFile, { workerData: request, resourceLimits: { maxOldGenerationSizeMb: 256 } });
    let settled = false;
    const settle = (outcome: () => void) => {
      if (settled) return;
      settled = true;
      timer.cancel();
      void worker.terminate();
      outcome();
    };
    const timer = clock.setTimer(timeoutMs, () =>
      settle(() => reject(new ConfigError([wholeFile(request.file, `checking the file took longer than ${timeoutMs / 1000} s; it was not loaded`)]))),
    );
    worker.once('message', (reply: ConfigLoadReply) =>
      settle(() => {
        if (reply.ok) resolve(reply.config);
        else if ('issues' in reply) reject(new ConfigError(reply.issues));
        else reject(new Error(reply.error));
      }),
    );
    worker.once('error', (error) => settle(() => reject(new ConfigError([wholeFile(request.file, `the file could not be checked: ${error.message}`)], { cause: error }))));
    worker.once('exit', (code) => settle(() => reject(new Error(`the config loader stopped (exit code ${code}) without an answer`))));
  });
}

/**
 * The load at start: in this thread (nothing runs yet) and through the tree
 * cache, so an unchanged file is not parsed again (config/tree-cache.ts).
 * `saveCache` is set after a parse; call it once the data dir exists.
 */
export async function loadConfigAtStart(request: ConfigLoadRequest, version: string): Promise<CachedLoad> {
  return loadConfigCached(request.file, { ...configLoadOptions(request.env, request.baseDir), rejectEmpty: request.rejectEmpty, version });
}

function wholeFile(file: string, message: string): ConfigIssue {
  return { file, line: 0, col: 0, path: '', message };
}

/** dist/config-worker.js when this module is compiled (dist/ or the start-up bundle); undefined from the sources. */
function compiledWorker(): string | undefined {
  if (import.meta.url.endsWith('.ts')) return undefined;
  const file = join(packageRoot(import.meta.url), 'dist', 'config-worker.js');
  return existsSync(file) ? file : undefined;
}
