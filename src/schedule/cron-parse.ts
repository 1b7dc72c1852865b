/**
 * Cron expression parser. Our own (not node-cron's) so occurrence math is
 * pure and DST-correct; see cron.ts for the occurrence rules.
 *
 * Accepted: 5 fields (minute hour day-of-month month day-of-week) or 6 with a
 * leading seconds field; `*`, `?` (day fields only, same as `*`), values,
 * ranges `1-5`, steps `*\/15`, `10-50/10` and `10/15` (= 10-max/15), lists,
 * month names JAN-DEC and weekday names SUN-SAT (any case), 0 and 7 = Sunday,
 * and the macros @yearly @annually @monthly @weekly @daily @midnight @hourly.
 */
import { ScheduleError } from './types.js';

export type CronFieldName = 'second' | 'minute' | 'hour' | 'day-of-month' | 'month' | 'day-of-week';

interface FieldRule {
  name: CronFieldName;
  min: number;
  max: number;
  /** Upper bound a written value may have (day-of-week allows 7 for Sunday). */
  writtenMax: number;
  names?: readonly string[];
  /** Index of names[0]. */
  namesFrom?: number;
}

const MONTH_NAMES = ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'] as const;
const WEEKDAY_NAMES = ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'] as const;

const RULES: Record<CronFieldName, FieldRule> = {
  second: { name: 'second', min: 0, max: 59, writtenMax: 59 },
  minute: { name: 'minute', min: 0, max: 59, writtenMax: 59 },
  hour: { name: 'hour', min: 0, max: 23, writtenMax: 23 },
  'day-of-month': { name: 'day-of-month', min: 1, max: 31, writtenMax: 31 },
  month: { name: 'month', min: 1, max: 12, writtenMax: 12, names: MONTH_NAMES, namesFrom: 1 },
  'day-of-week': { name: 'day-of-week', min: 0, max: 6, writtenMax: 7, names: WEEKDAY_NAMES, namesFrom: 0 },
};

const MACROS: Record<string, string> = {
  '@yearly': '0 0 1 1 *',
  '@annually': '0 0 1 1 *',
  '@monthly': '0 0 1 * *',
  '@weekly': '0 0 * * 0',
  '@daily': '0 0 * * *',
  '@midnight': '0 0 * * *',
  '@hourly': '0 * * * *',
};

/** The allowed values of one field, with O(1) "smallest allowed value >= v". */
export class ValueSet {
  readonly values: readonly number[];
  /** Every value of the field's range is allowed. */
  readonly isFull: boolean;
  private readonly member: boolean[];
  private readonly nextFrom: number[];

  constructor(values: Iterable<number>, min: number, max: number) {
    this.values = [...new Set(values)].sort((a, b) => a - b);
    this.member = [];
    for (const v of this.values) this.member[v] = true;
    this.nextFrom = [];
    let next = -1;
    for (let v = max; v >= 0; v--) {
      if (this.member[v]) next = v;
      this.nextFrom[v] = next;
    }
    this.isFull = this.values.length === max - min + 1;
  }

  has(value: number): boolean {
    return this.member[value] === true;
  }

  /** Smallest allowed value >= `value`, or undefined. */
  atOrAfter(value: number): number | undefined {
    const next = this.nextFrom[value];
    return next === undefined || next < 0 ? undefined : next;
  }

  get first(): number {
    return this.values[0]!;
  }
}

export interface CronExpression {
  /** The text as written (macros included). */
  source: string;
  /** The field texts after macro expansion, seconds first ("0" when omitted). */
  fieldTexts: Record<CronFieldName, string>;
  hasSecondsField: boolean;
  second: ValueSet;
  minute: ValueSet;
  hour: ValueSet;
  dayOfMonth: ValueSet;
  month: ValueSet;
  /** 0 = Sunday ... 6 = Saturday (7 is folded into 0). */
  dayOfWeek: ValueSet;
  /**
   * The hour field is `*` or stepped (`*\/2`, `1-23/2`): the schedule runs on
   * elapsed time (real instants) rather than at fixed wall-clock hours. See cron.ts.
   */
  elapsedTime: boolean;
}

/** Parses a cron expression; throws ScheduleError naming the field and value at fault. */
export function parseCron(text: string): CronExpression {
  const source = text.trim();
  if (source === '') throw new ScheduleError('cron expression is empty');
  let expanded = source;
  if (source.startsWith('@')) {
    const macro = MACROS[source.toLowerCase()];
    if (!macro) throw new ScheduleError(`unknown cron macro "${source}" (use @yearly, @annually, @monthly, @weekly, @daily, @midnight or @hourly)`);
    expanded = macro;
  }
  const parts = expanded.split(/\s+/);
  if (parts.length !== 5 && parts.length !== 6) {
    throw new ScheduleError(
      `cron expression needs 5 fields (minute hour day-of-month month day-of-week) or 6 with a leading second field, got ${parts.length}: "${source}"`,
    );
  }
  const hasSecondsField = parts.length === 6;
  const [second, minute, hour, dayOfMonth, month, dayOfWeek] = hasSecondsField ? parts : ['0', ...parts];
  const fieldTexts: Record<CronFieldName, string> = {
    second: second!,
    minute: minute!,
    hour: hour!,
    'day-of-month': dayOfMonth!,
    month: month!,
    'day-of-week': dayOfWeek!,
  };
  const field = (name: CronFieldName): ValueSet => {
    try {
      return parseField(fieldTexts[name], RULES[name]);
    } catch (error) {
      // "15 7 * * MON-FRI *": the 6th field shifted every field one place to the right.
      if (!(error instanceof ScheduleError) || !hasSecondsField) throw error;
      throw new ScheduleError(
        `${error.message}; "${source}" has 6 fields, so it is read seconds first (second minute hour day-of-month month day-of-week): the 6th field made it a seconds-first expression. For minute hour day-of-month month day-of-week, write 5 fields`,
        { cause: error },
      );
    }
  };
  const expression: CronExpression = {
    source,
    fieldTexts,
    hasSecondsField,
    second: field('second'),
    minute: field('minute'),
    hour: field('hour'),
    dayOfMonth: field('day-of-month'),
    month: field('month'),
    dayOfWeek: field('day-of-week'),
    elapsedTime: /[*/]/.test(fieldTexts.hour),
  };
  const impossible = whyNeverMatches(expression);
  if (impossible) throw new ScheduleError(`cron expression "${source}" never matches: ${impossible}`);
  return expression;
}

/**
 * Parsed fields by field and text, shared by every expression that writes the same field the same way: a ValueSet
 * never changes, and at 1,000 jobs 6,000 of them (two lookup arrays each) were ~5 MB of the live heap, where a
 * config holds a few dozen distinct fields. Bounded: emptied when it reaches FIELD_CACHE_MAX entries.
 */
const fieldCache = new Map<string, ValueSet>();
const FIELD_CACHE_MAX = 2_000;

/** How many distinct parsed fields are held (for tests). */
export function cachedCronFields(): number {
  return fieldCache.size;
}

function parseField(text: string, rule: FieldRule): ValueSet {
  const key = `${rule.name} ${text}`;
  let set = fieldCache.get(key);
  if (!set) {
    set = parseFieldText(text, rule);
    if (fieldCache.size >= FIELD_CACHE_MAX) fieldCache.clear();
    fieldCache.set(key, set);
  }
  return set;
}

function parseFieldText(text: string, rule: FieldRule): ValueSet {
  const values: number[] = [];
  for (const element of text.split(',')) {
    if (element === '') throw new ScheduleError(`${rule.name} field: empty list element in "${text}"`);
    values.push(...parseElement(element, rule));
  }
  // Day-of-week 7 is Sunday, like 0.
  const folded = rule.name === 'day-of-week' ? values.map((v) => (v === 7 ? 0 : v)) : values;
  return new ValueSet(folded, rule.min, rule.max);
}

function parseElement(element: string, rule: FieldRule): number[] {
  const [rangeText, stepText, extra] = element.split('/');
  if (extra !== undefined) throw new ScheduleError(`${rule.name} field: "${element}" has more than one "/"`);
  const step = stepText === undefined ? 1 : parseStep(stepText, rule);
  let start: number;
  let end: number;
  if (rangeText === '*' || rangeText === '?') {
    if (rangeText === '?' && rule.name !== 'day-of-month' && rule.name !== 'day-of-week') {
      throw new ScheduleError(`${rule.name} field: "?" is only allowed in the day-of-month and day-of-week fields`);
    }
    start = rule.min;
    end = rule.max;
  } else if (rangeText!.includes('-')) {
    const [from, to, more] = rangeText!.split('-');
    if (more !== undefined || from === '' || to === '') throw new ScheduleError(`${rule.name} field: "${element}" is not a valid range`);
    start = parseValue(from!, rule);
    end = parseValue(to!, rule);
    // "FRI-SUN": a weekday range may end on Sunday written as a name.
    if (rule.name === 'day-of-week' && end === 0 && start > 0 && /^sun$/i.test(to!)) end = 7;
    if (start > end) {
      throw new ScheduleError(`${rule.name} field: range ${from}-${to} runs backwards (write it as two ranges, e.g. "${from}-${rule.writtenMax},${rule.min}-${to}")`);
    }
  } else {
    start = parseValue(rangeText!, rule);
    // "10/15" means "from 10 to the end, every 15"; a bare value is just itself.
    end = stepText === undefined ? start : rule.max;
  }
  const values: number[] = [];
  for (let v = start; v <= end; v += step) values.push(v);
  return values;
}

function parseStep(text: string, rule: FieldRule): number {
  if (!/^\d+$/.test(text)) throw new ScheduleError(`${rule.name} field: step "${text}" is not a whole number`);
  const step = Number(text);
  if (step < 1) throw new ScheduleError(`${rule.name} field: step ${step} must be at least 1`);
  if (step > rule.writtenMax - rule.min + 1) {
    throw new ScheduleError(`${rule.name} field: step ${step} is larger than the field's range ${rule.min}-${rule.writtenMax}`);
  }
  return step;
}

function parseValue(text: string, rule: FieldRule): number {
  if (/^\d+$/.test(text)) {
    const value = Number(text);
    if (value < rule.min || value > rule.writtenMax) {
      throw new ScheduleError(`${rule.name} field: ${text} is out of range ${rule.min}-${rule.writtenMax}`);
    }
    return value;
  }
  if (rule.names) {
    const index = rule.names.indexOf(text.toUpperCase());
    if (index >= 0) return index + (rule.namesFrom ?? 0);
    throw new ScheduleError(
      `${rule.name} field: "${text}" is not a number (${rule.min}-${rule.writtenMax}) or a name (${rule.names[0]}-${rule.names[rule.names.length - 1]})`,
    );
  }
  throw new ScheduleError(`${rule.name} field: "${text}" is not a number (${rule.min}-${rule.writtenMax})`);
}

/** Longest month length in any year (February can have 29 days). */
const MAX_DAYS_IN_MONTH = [0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/**
 * Detects expressions that can never fire, such as `0 0 30 2 *`, so they are
 * rejected when the config is validated instead of making every search run to
 * its bound. Only day-of-month alone can be impossible: a restricted
 * day-of-week is ORed in, and every weekday occurs in every month.
 */
function whyNeverMatches(expression: CronExpression): string | undefined {
  if (expression.dayOfMonth.isFull || !expression.dayOfWeek.isFull) return undefined;
  const firstDay = expression.dayOfMonth.first;
  const possible = expression.month.values.some((month) => firstDay <= MAX_DAYS_IN_MONTH[month]!);
  if (possible) return undefined;
  const days = expression.dayOfMonth.values.join(',');
  const months = expression.month.values.map((m) => MONTH_NAMES[m - 1]).join(',');
  return `day-of-month ${days} does not occur in ${months}`;
}

/**
 * A 6-field expression that fires more than once in a minute is usually a
 * 5-field one with a stray field (`*\/5 * * * * *` is every five seconds, not
 * every five minutes). Still valid; worth a warning. Undefined when fine.
 */
export function cronSubMinuteWarning(expression: CronExpression): string | undefined {
  if (!expression.hasSecondsField) return undefined;
  const perMinute = expression.second.values.length;
  if (perMinute <= 1) return undefined;
  // Written as 5 fields plus a stray one, the first five are what was most likely meant.
  const fiveFields = expression.source.split(/\s+/).slice(0, 5).join(' ');
  return (
    `"${expression.source}" has 6 fields, so the first is seconds: it fires ${perMinute} times a minute. ` +
    `If that is not meant, write 5 fields (e.g. "${fiveFields}")`
  );
}
