/**
 * Pure schedule math: when does a job run? Cron (our own parser, DST-aware),
 * fixed intervals (`every`), and RFC 5545 rules, all in an IANA time zone.
 * No function here reads the clock; callers pass the instants.
 */
import type { ScheduleSpec } from '../config/types.js';
import { CronSchedule } from './cron.js';
import { cronSubMinuteWarning, parseCron } from './cron-parse.js';
import { EverySchedule } from './every.js';
import { RRuleSchedule } from './rrule.js';
import { ScheduleError, type Schedule } from './types.js';
import { formatNaive, formatOffset, isValidTimeZone, offsetAt } from './zone.js';

export { ScheduleError, type Schedule } from './types.js';
export { planCatchup, type CatchupPlan, type CatchupInput, type PlannedRun } from './catchup.js';
export { isValidTimeZone } from './zone.js';

/** Compiles a schedule spec read in `timezone`; throws ScheduleError with a message fit for a config error. */
export function compileSchedule(spec: ScheduleSpec, timezone: string): Schedule {
  if (!isValidTimeZone(timezone)) throw new ScheduleError(`unknown time zone "${timezone}" (use an IANA name such as Europe/London)`);
  try {
    switch (spec.kind) {
      case 'cron':
        return CronSchedule.parse(spec.expr, timezone);
      case 'every':
        return new EverySchedule(spec.everyMs, spec.anchor);
      case 'rrule':
        return new RRuleSchedule(spec.rule, timezone);
      default:
        throw new ScheduleError(`unknown schedule kind "${(spec as { kind: unknown }).kind}"`);
    }
  } catch (error) {
    if (error instanceof ScheduleError) throw error;
    // The rrule package throws plain Errors for rules it cannot handle.
    throw new ScheduleError(`${spec.kind}: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }
}

/**
 * Schedules compiled while a config was checked (scheduleProblem), by spec
 * object. The engine compiles every job's schedule again when the config is
 * installed: at start (same objects, same thread) it takes them from here
 * instead of doing the work twice (rrule's compile searches for a first
 * occurrence; 1,000 jobs, ~60 ms). Schedules hold no state, so sharing one is
 * safe; a spec no longer referenced takes its entry with it.
 */
const checked = new WeakMap<ScheduleSpec, { timezone: string; schedule: Schedule }>();

/**
 * Cron and rrule schedules compiled during the current check of a config (one synchronous pass), by text and zone:
 * a catalog that repeats a rule compiles it once (an rrule's compile searches for its first occurrence). Cleared in
 * the microtask after the pass began, so it holds nothing between checks; a failed compile is not kept (its error
 * is thrown again, word for word).
 */
const compiledInPass = new Map<string, Schedule>();

function compileInPass(spec: ScheduleSpec, timezone: string): Schedule {
  if (spec.kind !== 'cron' && spec.kind !== 'rrule') return compileSchedule(spec, timezone);
  const key = `${spec.kind}\0${spec.kind === 'cron' ? spec.expr : spec.rule}\0${timezone}`;
  const known = compiledInPass.get(key);
  if (known) return known;
  const schedule = compileSchedule(spec, timezone);
  if (compiledInPass.size === 0) queueMicrotask(() => compiledInPass.clear());
  compiledInPass.set(key, schedule);
  return schedule;
}

/** compileSchedule, reusing what scheduleProblem compiled for this very spec object. */
export function compileCheckedSchedule(spec: ScheduleSpec, timezone: string): Schedule {
  const known = checked.get(spec);
  return known?.timezone === timezone ? known.schedule : compileSchedule(spec, timezone);
}

/** For config warnings: a valid schedule that is probably not what was meant (a 6-field cron firing every few seconds). */
export function scheduleWarning(spec: ScheduleSpec): string | undefined {
  if (spec.kind !== 'cron') return undefined;
  const known = checked.get(spec)?.schedule;
  if (known instanceof CronSchedule) return cronSubMinuteWarning(known.expression);
  try {
    return cronSubMinuteWarning(parseCron(spec.expr));
  } catch {
    return undefined; // Invalid: scheduleProblem reports it.
  }
}

/** For config validation: undefined if fine, else the message (no file/line, the caller adds those). */
export function scheduleProblem(spec: ScheduleSpec, timezone: string): string | undefined {
  try {
    checked.set(spec, { timezone, schedule: compileInPass(spec, timezone) });
    return undefined;
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
}

/** The next `count` occurrences strictly after `after`, oldest first (fewer if the rule ends). */
export function nextOccurrences(spec: ScheduleSpec, timezone: string, opts: { after: number; count: number }): number[] {
  const schedule = compileSchedule(spec, timezone);
  const found: number[] = [];
  for (let at = schedule.next(opts.after); at !== undefined && found.length < opts.count; at = schedule.next(at)) found.push(at);
  return found;
}

/** ISO 8601 with the zone's offset, e.g. 2026-03-29T02:00:00+01:00 (seconds always shown; never "Z": +00:00). */
export function formatInZone(instant: number, timezone: string): string {
  if (!isValidTimeZone(timezone)) throw new ScheduleError(`unknown time zone "${timezone}"`);
  const offset = offsetAt(instant, timezone);
  return `${formatNaive(instant + offset)}${formatOffset(offset)}`;
}
