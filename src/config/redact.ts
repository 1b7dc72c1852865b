import type { RetryPolicy, TaskDef } from './types.js';

/**
 * What a task does, safe to show on the dashboard: values that came from `${VAR}` are shown as the
 * reference written in hearth.yaml (a non-empty default masked), and `with:` values under a key that
 * names a secret (token, password, apiKey, Authorization, …) are replaced by REDACTED.
 */

export const REDACTED = '•••';

const SECRET_KEY = /secret|token|passw(?:or)?d|api[-_]?key|authori[sz]ation|cookie|credential|private[-_]?key|smtp/i;

export interface ShownTask {
  run?: string;
  with?: Record<string, unknown>;
}

export function shownTask(task: TaskDef): ShownTask {
  const fromEnv = task.fromEnv ?? [];
  const written = (path: Array<string | number>) => fromEnv.find((entry) => samePath(entry.path, path))?.written;
  const out: ShownTask = {};
  if (task.run !== undefined) out.run = maskDefaults(written(['run']) ?? task.run);
  if (task.action !== undefined) out.with = redactValue(task.with, ['with'], false, written) as Record<string, unknown>;
  return out;
}

/** `${TOKEN:abc}` → `${TOKEN:…}`: a default may be a secret too; `${TOKEN}` and `${TOKEN:}` stay. */
export function maskDefaults(text: string): string {
  return text.replace(/(^|[^$])\$\{([A-Za-z_][A-Za-z0-9_]*):[^}]+\}/g, '$1${$2:…}');
}

function redactValue(value: unknown, path: Array<string | number>, secret: boolean, written: (path: Array<string | number>) => string | undefined): unknown {
  const source = written(path);
  if (source !== undefined) return maskDefaults(source);
  if (Array.isArray(value)) return value.map((item, i) => redactValue(item, [...path, i], secret, written));
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) out[key] = redactValue(item, [...path, key], secret || SECRET_KEY.test(key), written);
    return out;
  }
  return secret && value !== '' && value !== null && value !== undefined ? REDACTED : value;
}

function samePath(a: ReadonlyArray<string | number>, b: ReadonlyArray<string | number>): boolean {
  return a.length === b.length && a.every((segment, i) => segment === b[i]);
}

/** A retry policy as views show it (jitter is an implementation detail). */
export function retryView(policy: RetryPolicy): { max: number; delayMs: number; backoff: 'fixed' | 'exponential'; maxDelayMs: number } {
  return { max: policy.max, delayMs: policy.delayMs, backoff: policy.backoff, maxDelayMs: policy.maxDelayMs };
}
