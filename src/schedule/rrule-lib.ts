import { createRequire } from 'node:module';
import type * as RRuleModule from 'rrule';

/**
 * The rrule package, evaluated the first time an `rrule:` schedule is compiled. A catalog of cron and `every`
 * schedules never needs it, yet its module (classes, tables, the functions V8 keeps) was evaluated at every start
 * and kept for the life of an idle appliance (issue 13, item 7). In the start-up bundle `require` is the bundle's
 * own and the package stays inside it (and in its code cache once a start has used it); from dist/ and under
 * vitest the package is required from node_modules.
 */
let lib: typeof RRuleModule | undefined;

export function rruleLib(): typeof RRuleModule {
  lib ??= (typeof require === 'function' ? require('rrule') : createRequire(import.meta.url)('rrule')) as typeof RRuleModule;
  return lib;
}

/** rrule's Frequency values (RFC 5545's order), so module-level tables can name them without loading the package. */
export const FREQ = { YEARLY: 0, MONTHLY: 1, WEEKLY: 2, DAILY: 3, HOURLY: 4, MINUTELY: 5, SECONDLY: 6 } as const;
