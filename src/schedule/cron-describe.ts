/**
 * Plain-English descriptions of cron expressions for the dashboard:
 * "every day at 03:00 (Europe/London)", "every 15 minutes",
 * "at minute 0 past every 2nd hour". Good enough to recognise a schedule,
 * not a grammar engine.
 */
import type { CronExpression, ValueSet } from './cron-parse.js';

const WEEKDAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];
const MONTHS = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];
/** Beyond this many "HH:MM" combinations we describe the fields separately. */
const MAX_LISTED_TIMES = 6;

export function listWords(items: readonly string[]): string {
  if (items.length <= 1) return items[0] ?? '';
  return `${items.slice(0, -1).join(', ')} and ${items[items.length - 1]}`;
}

export function ordinal(n: number): string {
  const lastTwo = n % 100;
  if (lastTwo >= 11 && lastTwo <= 13) return `${n}th`;
  const suffix = ['th', 'st', 'nd', 'rd'][n % 10] ?? 'th';
  return `${n}${suffix}`;
}

/** "1 through 5", "1, 3 and 5", "0, 10 through 20 and 45": runs of three or more collapse. */
function valueList(values: readonly number[], label: (value: number) => string = String): string {
  const pieces: string[] = [];
  for (let i = 0; i < values.length; ) {
    let j = i;
    while (j + 1 < values.length && values[j + 1] === values[j]! + 1) j++;
    if (j - i >= 2) {
      pieces.push(`${label(values[i]!)} through ${label(values[j]!)}`);
      i = j + 1;
    } else {
      pieces.push(label(values[i]!));
      i++;
    }
  }
  return listWords(pieces);
}

/** The step of a field written exactly as `*\/n`, else undefined. */
function starStep(text: string): number | undefined {
  const match = /^\*\/(\d+)$/.exec(text);
  return match ? Number(match[1]) : undefined;
}

function pad(value: number): string {
  return String(value).padStart(2, '0');
}

/** "every minute", "every 15 minutes", "at minute 5", "at minutes 0 and 30". */
function unitPhrase(set: ValueSet, text: string, unit: string): string {
  if (set.isFull) return `every ${unit}`;
  const step = starStep(text);
  if (step !== undefined) return `every ${step} ${unit}s`;
  if (set.values.length === 1) return `at ${unit} ${set.values[0]}`;
  return `at ${unit}s ${valueList(set.values)}`;
}

function hourPhrase(cron: CronExpression, linkWord: string): string {
  if (cron.hour.isFull) return linkWord === 'past' ? 'past every hour' : '';
  const step = starStep(cron.fieldTexts.hour);
  if (step !== undefined) return `${linkWord} every ${ordinal(step)} hour`;
  const hours = cron.hour.values;
  return `${linkWord} ${hours.length === 1 ? 'hour' : 'hours'} ${valueList(hours)}`;
}

function dayPhrase(cron: CronExpression): string | undefined {
  const monthDay = !cron.dayOfMonth.isFull ? monthDayPhrase(cron) : undefined;
  const weekday = !cron.dayOfWeek.isFull ? `on ${valueList(cron.dayOfWeek.values, (d) => WEEKDAYS[d]!)}` : undefined;
  if (monthDay && weekday) return `${monthDay} or ${weekday}`;
  return monthDay ?? weekday;
}

function monthDayPhrase(cron: CronExpression): string {
  const step = starStep(cron.fieldTexts['day-of-month']);
  if (step !== undefined) return `on every ${ordinal(step)} day of the month`;
  const days = cron.dayOfMonth.values;
  return `on ${days.length === 1 ? 'day' : 'days'} ${valueList(days)} of the month`;
}

function monthPhrase(cron: CronExpression): string | undefined {
  if (cron.month.isFull) return undefined;
  const step = starStep(cron.fieldTexts.month);
  if (step !== undefined) return `in every ${ordinal(step)} month`;
  return `in ${valueList(cron.month.values, (m) => MONTHS[m - 1]!)}`;
}

/** "03:00", "09:00 and 17:30", or undefined when there are too many to list. */
function fixedTimes(cron: CronExpression): string | undefined {
  if (cron.elapsedTime) return undefined;
  const { hour, minute, second } = cron;
  if (hour.values.length * minute.values.length * second.values.length > MAX_LISTED_TIMES) return undefined;
  const withSeconds = second.values.some((s) => s !== 0);
  const times: string[] = [];
  for (const h of hour.values) {
    for (const m of minute.values) {
      for (const s of second.values) times.push(`${pad(h)}:${pad(m)}${withSeconds ? `:${pad(s)}` : ''}`);
    }
  }
  return listWords(times);
}

function timeOfDayPhrase(cron: CronExpression): string {
  const secondsMatter = cron.hasSecondsField && !(cron.second.values.length === 1 && cron.second.values[0] === 0);
  const parts: string[] = [];
  if (secondsMatter) parts.push(unitPhrase(cron.second, cron.fieldTexts.second, 'second'));
  const minuteWords = unitPhrase(cron.minute, cron.fieldTexts.minute, 'minute');
  const everySecondOrSoIsEnough = secondsMatter && cron.minute.isFull && parts[0]!.startsWith('every');
  if (secondsMatter && !cron.minute.isFull) parts.push(`of ${minuteWords.replace(/^at /, '')}`);
  else if (!everySecondOrSoIsEnough) parts.push(secondsMatter ? 'past every minute' : minuteWords);
  const last = parts[parts.length - 1]!;
  const hourWords = hourPhrase(cron, /^(at|past|of minute)/.test(last) ? 'past' : 'during');
  if (hourWords) parts.push(hourWords);
  return parts.join(' ').replace('past every minute past every hour', 'past every minute');
}

export function describeCron(cron: CronExpression, timeZone: string): string {
  const days = dayPhrase(cron);
  const months = monthPhrase(cron);
  const zone = ` (${timeZone})`;
  const times = fixedTimes(cron);
  if (times !== undefined) {
    const when = [days ?? 'every day', months].filter(Boolean).join(' ');
    return `${when} at ${times}${zone}`;
  }
  const text = [timeOfDayPhrase(cron), [days, months].filter(Boolean).join(' ')].filter(Boolean).join(', ');
  const zoneMatters = !cron.elapsedTime || days !== undefined || months !== undefined;
  return zoneMatters ? `${text}${zone}` : text;
}
