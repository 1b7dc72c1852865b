/**
 * The config loader with the schedule and action validators wired in: the
 * one place that decides what `hearth start` and `hearth validate` check, so
 * the two can never disagree. (Config cannot import schedule or actions
 * itself; dependencies point inward.)
 */
import type { LoadOptions } from './config/load.js';
import { scheduleProblem, scheduleWarning } from './schedule/index.js';
import { builtinActions } from './actions/index.js';
import { createActionRegistry } from './actions/registry.js';
import { createGmailActions } from './actions/gmail.js';

export function configLoadOptions(env: Record<string, string | undefined>, baseDir?: string): LoadOptions {
  const registry = createActionRegistry([...builtinActions(), ...createGmailActions({ connections: () => ({}) })]);
  return {
    env,
    validateSchedule: scheduleProblem,
    scheduleWarning,
    knownActions: registry.names(),
    validateAction: (name, params) => registry.get(name)?.validate(params) ?? [],
    ...(baseDir ? { baseDir } : {}),
  };
}
