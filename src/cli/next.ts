import { canonicalTimeZone, parseAnchor, systemTimeZone, unknownTimeZoneMessage } from '../config/timezone.js';
import type { ScheduleSpec } from '../config/types.js';
import { parseDuration } from '../core/durations.js';
import { UsageError } from '../core/errors.js';
import type { CommandArgs } from './args.js';
import { stringValue } from './args.js';
import type { CliContext } from './context.js';

/**
 * `hearth next`: the next times a schedule fires, one ISO 8601 timestamp with
 * its zone offset per line, so a schedule can be checked before it goes into
 * hearth.yaml (and scripts can read the answer).
 */

const DEFAULT_COUNT = 5;
const MAX_COUNT = 1000;

export async function nextCommand(args: CommandArgs, ctx: CliContext): Promise<number> {
  const spec = scheduleSpec(args);
  const zoneFlag = stringValue(args, 'tz');
  const timeZone = zoneFlag === undefined ? systemTimeZone() : canonicalTimeZone(zoneFlag);
  if (timeZone === undefined) throw new UsageError(unknownTimeZoneMessage(zoneFlag ?? ''));
  const after = startInstant(stringValue(args, 'from'), timeZone, ctx);
  const count = occurrenceCount(stringValue(args, 'count'));

  // The schedule math (cron parser, rrule) is only loaded for this command.
  const { formatInZone, nextOccurrences, scheduleProblem } = await import('../schedule/index.js');
  const problem = scheduleProblem(spec, timeZone);
  if (problem) throw new UsageError(problem);
  const occurrences = nextOccurrences(spec, timeZone, { after, count });
  for (const instant of occurrences) ctx.stdout.write(`${formatInZone(instant, timeZone)}\n`);
  if (occurrences.length < count) {
    ctx.stderr.write(`the schedule has no ${occurrences.length === 0 ? '' : 'more '}occurrences after that\n`);
  }
  return 0;
}

function scheduleSpec(args: CommandArgs): ScheduleSpec {
  const cron = stringValue(args, 'cron');
  const every = stringValue(args, 'every');
  const rrule = stringValue(args, 'rrule');
  const given = [cron, every, rrule].filter((value) => value !== undefined).length;
  if (given !== 1) throw new UsageError('give exactly one of --cron, --every or --rrule');
  if (cron !== undefined) return { kind: 'cron', expr: cron };
  if (rrule !== undefined) return { kind: 'rrule', rule: rrule };
  return { kind: 'every', everyMs: intervalMs(every ?? ''), anchor: 0 };
}

function intervalMs(text: string): number {
  let ms: number;
  try {
    ms = parseDuration(text);
  } catch (error) {
    throw new UsageError(`invalid --every "${text}" (use e.g. 30s, 15m, 1h30m, 2d)`, { cause: error });
  }
  if (ms <= 0) throw new UsageError(`invalid --every "${text}": the interval must be longer than zero`);
  return ms;
}

/** `--from` with an offset is an instant; without one it is a wall-clock time in the schedule's zone. */
function startInstant(from: string | undefined, timeZone: string, ctx: CliContext): number {
  if (from === undefined) return (ctx.now ?? Date.now)();
  const instant = parseAnchor(from, timeZone);
  if (instant === undefined) {
    throw new UsageError(`invalid --from "${from}" (use ISO 8601, e.g. 2026-03-29T00:30:00Z or 2026-03-29 00:30)`);
  }
  return instant;
}

function occurrenceCount(text: string | undefined): number {
  if (text === undefined) return DEFAULT_COUNT;
  const count = /^\d+$/.test(text) ? Number(text) : NaN;
  if (!Number.isSafeInteger(count) || count < 1 || count > MAX_COUNT) {
    throw new UsageError(`invalid --count "${text}": use a whole number from 1 to ${MAX_COUNT}`);
  }
  return count;
}
