import { z } from 'zod';
import { NonRetriableError } from '../core/errors.js';
import { parseDuration } from '../core/durations.js';
import type { ActionParamIssue } from './types.js';

/** zod issues as `with:`-relative paths; an unknown key gets its own path so the config loader can point at its line. */
export function toParamIssues(error: z.ZodError): ActionParamIssue[] {
  return flattenIssues(error.issues, []);
}

function flattenIssues(issues: readonly z.core.$ZodIssue[], prefix: PropertyKey[]): ActionParamIssue[] {
  return issues.flatMap((issue) => {
    const path = [...prefix, ...issue.path];
    if (issue.code === 'unrecognized_keys') {
      return issue.keys.map((key) => ({ path: joinPath([...path, key]), message: 'unknown field' }));
    }
    if (issue.code === 'invalid_union') {
      const closest = closestUnionBranch(issue.errors);
      if (closest) return flattenIssues(closest, path);
    }
    return [{ path: joinPath(path), message: issue.message }];
  });
}

/**
 * "Invalid input" for a whole union helps nobody. The branch whose issues
 * reach deepest into the value is the one the user most likely meant (for
 * `expect: [200, "ok"]`, the list branch, complaining about `expect.1`).
 */
function closestUnionBranch(branches: z.core.$ZodIssue[][]): z.core.$ZodIssue[] | undefined {
  let best: z.core.$ZodIssue[] | undefined;
  let bestDepth = 0;
  for (const branch of branches) {
    const depth = Math.max(0, ...branch.map((issue) => issue.path.length));
    if (depth > bestDepth) {
      best = branch;
      bestDepth = depth;
    }
  }
  return best;
}

function joinPath(path: readonly PropertyKey[]): string {
  return path.map(String).join('.');
}

export function validateParams(schema: z.ZodType, params: Record<string, unknown>): ActionParamIssue[] {
  const result = schema.safeParse(params);
  return result.success ? [] : toParamIssues(result.error);
}

/**
 * Parses `with:` at run time. Config loading already validated it, so a failure
 * here means a bad value slipped through (e.g. an env substitution); retrying
 * cannot fix that.
 */
export function parseParams<S extends z.ZodType>(schema: S, params: Record<string, unknown>, action: string): z.output<S> {
  const result = schema.safeParse(params);
  if (result.success) return result.data;
  const details = toParamIssues(result.error)
    .map((issue) => (issue.path ? `${issue.path}: ${issue.message}` : issue.message))
    .join('; ');
  throw new NonRetriableError(`invalid "with" for action ${action}: ${details}`);
}

/** A duration as written in hearth.yaml (`30s`, `1m30s`, or milliseconds), parsed to milliseconds; a new schema each call (callers build theirs lazily). */
export function durationParam() {
  return z.union([z.string(), z.number()]).transform((value, ctx) => {
    try {
      return parseDuration(value);
    } catch {
      ctx.addIssue({ code: 'custom', message: `invalid duration ${JSON.stringify(value)} (use e.g. 30s, 15m, 1h30m)` });
      return z.NEVER;
    }
  });
}

// abortError lives in core/errors.ts (integrations use it too); re-exported for the actions.
export { abortError } from '../core/errors.js';
