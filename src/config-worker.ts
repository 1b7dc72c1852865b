/**
 * Worker-thread entry: loads and checks hearth.yaml with every check `hearth
 * start` runs, and posts back the config or its problems. See
 * config-off-thread.ts for why.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { ConfigError, errorMessage } from './core/errors.js';
import { loadConfig } from './config/load.js';
import { configLoadOptions } from './config-options.js';
import type { ConfigLoadRequest, ConfigLoadReply } from './config-off-thread.js';

const request = workerData as ConfigLoadRequest;
let reply: ConfigLoadReply;
try {
  const config = await loadConfig(request.file, { ...configLoadOptions(request.env, request.baseDir), rejectEmpty: request.rejectEmpty });
  reply = { ok: true, config };
} catch (error) {
  reply = error instanceof ConfigError ? { ok: false, issues: error.issues } : { ok: false, error: errorMessage(error) };
}
parentPort!.postMessage(reply);
