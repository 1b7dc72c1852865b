import { createReadStream } from 'node:fs';
import { mkdir, open, readdir, unlink } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fsyncDirectory } from '../core/atomic-file.js';
import { isRunId } from '../core/ids.js';
import type { Logger } from '../core/logger.js';
import type { Run } from './model.js';
import { matchesQuery, newestFirst } from './run-query.js';
import type { NormalizedQuery } from './run-query.js';
import { isRunRecord } from './run-state.js';
import { isMissingFile } from './state-file.js';

/**
 * history/<YYYY-MM>.jsonl: finished runs that left state.json, one per line,
 * filed by the month of their createdAt (UTC). Files are only ever appended
 * to. A run may appear twice (a crash between the history append and its
 * removal from state); readers keep one copy per id.
 *
 * Nothing is read at start-up but the directory listing. Because run ids
 * encode their creation time, a month file's name bounds the ids inside it;
 * once a file has been read in full, its exact id ranges (overall and per
 * job) are remembered so later queries skip it without I/O.
 */

const MONTH_FILE = /^(\d{4})-(\d{2})\.jsonl$/;
const DAY_MS = 86_400_000;
/** Slack around month boundaries, in case a run's createdAt and the time in its id differ slightly. */
const BOUNDARY_MARGIN_MS = DAY_MS;

interface IdRange {
  min: string;
  max: string;
}

interface ScannedRanges {
  all?: IdRange;
  jobs: Map<string, IdRange>;
}

interface MonthFile {
  month: string;
  path: string;
  /** Exact id ranges, once the whole file has been read. */
  scanned?: ScannedRanges;
  /** Bumped on every append, so a read that overlapped one does not record stale ranges. */
  appends: number;
  /** Whether we made sure the file ends in a newline before our first append. */
  tailChecked: boolean;
  warnedAboutBadLines: boolean;
}

export interface HistoryArchiveOptions {
  dir: string;
  logger: Logger;
  /** Called after every fsync of a history file (for stats). */
  onSync?: () => void;
}

export class HistoryArchive {
  private readonly files = new Map<string, MonthFile>();
  private fileReads = 0;

  constructor(private readonly options: HistoryArchiveOptions) {}

  /** How many month files have been read in full (to check that small pages stay cheap). */
  get filesRead(): number {
    return this.fileReads;
  }

  async open(): Promise<void> {
    await mkdir(this.options.dir, { recursive: true });
    for (const name of await readdir(this.options.dir)) {
      const match = MONTH_FILE.exec(name);
      if (match) this.trackFile(`${match[1]}-${match[2]}`);
    }
  }

  /** Appends and fsyncs `runs`; when this resolves they are safe to drop from state. */
  async append(runs: readonly Run[]): Promise<void> {
    // Serialise now: the caller compares identities afterwards to see what changed meanwhile.
    const byMonth = new Map<string, { lines: string[]; runs: Run[] }>();
    for (const run of runs) {
      const month = monthOfRun(run);
      const group = byMonth.get(month) ?? { lines: [], runs: [] };
      group.lines.push(JSON.stringify(run));
      group.runs.push(run);
      byMonth.set(month, group);
    }
    for (const [month, group] of byMonth) await this.appendToMonth(month, group.lines, group.runs);
  }

  /** Finds an archived run by id: the id's time names the month file. */
  async find(id: string): Promise<Run | undefined> {
    for (const month of monthsForId(id)) {
      const file = this.files.get(month);
      if (!file) continue;
      if (file.scanned && !inRange(file.scanned.all, id)) continue;
      let found: Run | undefined;
      await this.scan(file, (run) => {
        if (run.id === id) found = run;
      });
      if (found) return found;
    }
    return undefined;
  }

  /**
   * Adds the newest archived runs matching `query` to `candidates` (which
   * already holds the matches from state), keeping at most `want` of them.
   * Month files are read newest first, one at a time, and a file is skipped
   * when none of its ids can make it into the page.
   */
  async collectNewest(
    query: NormalizedQuery,
    want: number,
    candidates: Map<string, Run>,
    isInState: (id: string) => boolean,
  ): Promise<void> {
    const newestMonthFirst = [...this.files.values()].sort((a, b) => b.month.localeCompare(a.month));
    for (const file of newestMonthFirst) {
      const range = rangeOf(file, query.job);
      if (!range) continue;
      if (query.before !== undefined && range.min >= query.before) continue;
      const cutoff = candidates.size >= want ? oldestId(candidates) : undefined;
      if (cutoff !== undefined && range.max < cutoff) continue;
      await this.scan(file, (run) => {
        if (!matchesQuery(run, query) || isInState(run.id)) return;
        candidates.set(run.id, run);
        if (candidates.size > want * 2 + 64) keepNewest(candidates, want);
      });
      keepNewest(candidates, want);
    }
  }

  /**
   * Deletes the month files whose every run is older than `before` (a month
   * ends, with the boundary margin, before it), except the months in `keep`.
   * Returns the months deleted. Whole files go: they are never rewritten.
   */
  async pruneBefore(before: number, keep: ReadonlySet<string>): Promise<string[]> {
    const deleted: string[] = [];
    for (const file of [...this.files.values()]) {
      if (keep.has(file.month) || monthEnd(file.month) + BOUNDARY_MARGIN_MS > before) continue;
      try {
        await unlink(file.path);
      } catch (error) {
        if (!isMissingFile(error)) throw error;
      }
      this.files.delete(file.month);
      deleted.push(file.month);
    }
    if (deleted.length > 0) await fsyncDirectory(this.options.dir);
    return deleted.sort();
  }

  private trackFile(month: string): MonthFile {
    const existing = this.files.get(month);
    if (existing) return existing;
    const file: MonthFile = {
      month,
      path: join(this.options.dir, `${month}.jsonl`),
      appends: 0,
      tailChecked: false,
      warnedAboutBadLines: false,
    };
    this.files.set(month, file);
    return file;
  }

  private async appendToMonth(month: string, lines: string[], runs: Run[]): Promise<void> {
    const isNewFile = !this.files.has(month);
    const file = this.trackFile(month);
    file.appends++;
    // a+: append, and read the last byte to see whether a previous append was cut short.
    const handle = await open(file.path, 'a+');
    try {
      // A power cut mid-append can leave half a line; never glue our first line onto it.
      const prefix = !file.tailChecked && (await endsMidLine(handle)) ? '\n' : '';
      file.tailChecked = false;
      await handle.writeFile(prefix + lines.join('\n') + '\n');
      await handle.datasync();
      file.tailChecked = true;
    } finally {
      await handle.close();
    }
    if (isNewFile) await fsyncDirectory(this.options.dir);
    this.options.onSync?.();
    if (file.scanned) for (const run of runs) extendRanges(file.scanned, run);
  }

  /** Streams a month file line by line; unreadable lines (a torn tail) are skipped. */
  private async scan(file: MonthFile, visit: (run: Run) => void): Promise<void> {
    this.fileReads++;
    const appendsAtStart = file.appends;
    const ranges: ScannedRanges = { jobs: new Map() };
    let badLines = 0;
    const lines = createInterface({ input: createReadStream(file.path, { encoding: 'utf8' }), crlfDelay: Infinity });
    try {
      for await (const line of lines) {
        if (line === '') continue;
        const run = parseRunLine(line);
        if (!run) {
          badLines++;
          continue;
        }
        extendRanges(ranges, run);
        visit(run);
      }
    } catch (error) {
      if (!isMissingFile(error)) throw error;
      this.options.logger.warn('history file disappeared while reading it', { file: file.path });
      return;
    } finally {
      lines.close();
    }
    if (badLines > 0 && !file.warnedAboutBadLines) {
      file.warnedAboutBadLines = true;
      this.options.logger.warn('skipped unreadable lines in a history file (an append cut short?)', {
        file: file.path,
        lines: badLines,
      });
    }
    if (file.appends === appendsAtStart) file.scanned = ranges;
  }
}

function parseRunLine(line: string): Run | undefined {
  try {
    const value: unknown = JSON.parse(line);
    return isRunRecord(value) ? value : undefined;
  } catch {
    return undefined;
  }
}

async function endsMidLine(handle: FileHandle): Promise<boolean> {
  const { size } = await handle.stat();
  if (size === 0) return false;
  const last = Buffer.alloc(1);
  await handle.read(last, 0, 1, size - 1);
  return last[0] !== 0x0a;
}

function extendRanges(ranges: ScannedRanges, run: Run): void {
  ranges.all = widen(ranges.all, run.id);
  ranges.jobs.set(run.job, widen(ranges.jobs.get(run.job), run.id));
}

function widen(range: IdRange | undefined, id: string): IdRange {
  if (!range) return { min: id, max: id };
  return { min: id < range.min ? id : range.min, max: id > range.max ? id : range.max };
}

function inRange(range: IdRange | undefined, id: string): boolean {
  return range !== undefined && id >= range.min && id <= range.max;
}

/** The ids a file can hold for `job`: exact once read, else bounded by the file's month. */
function rangeOf(file: MonthFile, job: string | undefined): IdRange | undefined {
  if (file.scanned) return job === undefined ? file.scanned.all : file.scanned.jobs.get(job);
  return monthIdBounds(file.month);
}

function oldestId(candidates: Map<string, Run>): string | undefined {
  let oldest: string | undefined;
  for (const id of candidates.keys()) if (oldest === undefined || id < oldest) oldest = id;
  return oldest;
}

function keepNewest(candidates: Map<string, Run>, want: number): void {
  if (candidates.size <= want) return;
  const dropped = [...candidates.values()].sort(newestFirst).slice(want);
  for (const run of dropped) candidates.delete(run.id);
}

/** `r_` + the 10 base36 time digits of a run id made at `ms` (src/core/ids.ts). */
function idPrefix(ms: number): string {
  return `r_${Math.max(0, ms).toString(36).padStart(10, '0')}`;
}

/** The first instant after `month` ("YYYY-MM", UTC). */
function monthEnd(month: string): number {
  const [year, monthNumber] = month.split('-').map(Number) as [number, number];
  return Date.UTC(year, monthNumber, 1);
}

function monthIdBounds(month: string): IdRange {
  const [year, monthNumber] = month.split('-').map(Number) as [number, number];
  const start = Date.UTC(year, monthNumber - 1, 1) - BOUNDARY_MARGIN_MS;
  const end = monthEnd(month) + BOUNDARY_MARGIN_MS;
  // '~' sorts after every base36 and hex character, so it bounds all ids with that prefix.
  return { min: idPrefix(start), max: `${idPrefix(end)}~` };
}

function monthOf(ms: number): string {
  return new Date(ms).toISOString().slice(0, 7);
}

function timeOfId(id: string): number | undefined {
  return isRunId(id) ? parseInt(id.slice(2, 12), 36) : undefined;
}

/** The month file a run is filed in: its createdAt month, UTC. */
export function monthOfRun(run: Pick<Run, 'id' | 'createdAt'>): string {
  const created = Date.parse(run.createdAt);
  if (Number.isFinite(created)) return monthOf(created);
  return monthOf(timeOfId(run.id) ?? 0);
}

/** Where an archived run with this id can be: its id's month, and a neighbour when it is near the edge. */
export function monthsForId(id: string): string[] {
  const time = timeOfId(id);
  if (time === undefined) return [];
  const months = [monthOf(time), monthOf(time - BOUNDARY_MARGIN_MS), monthOf(time + BOUNDARY_MARGIN_MS)];
  return [...new Set(months)];
}
