import { formatDuration } from '../core/durations.js';

/** Tables and values for people reading a terminal over SSH. */

export interface Cell {
  text: string;
  /** ANSI SGR code applied after padding, so colour never breaks alignment. */
  color?: string;
}

const RESET = '\u001b[0m';

const STATUS_COLORS: Record<string, string> = {
  succeeded: '32', // green
  failed: '31', // red
  cancelled: '90', // grey
  running: '36', // cyan
  queued: '33', // yellow
  waiting: '35', // magenta
};

export function statusCell(status: string): Cell {
  const color = STATUS_COLORS[status];
  return color ? { text: status, color } : { text: status };
}

export function colorize(text: string, color: string | undefined, enabled: boolean): string {
  return enabled && color ? `\u001b[${color}m${text}${RESET}` : text;
}

/** Left-aligned columns separated by two spaces; the last column is not padded. */
export function renderTable(header: string[], rows: Array<Array<Cell | string>>, color: boolean): string {
  const cells = rows.map((row) => row.map((cell): Cell => (typeof cell === 'string' ? { text: cell } : cell)));
  const all: Cell[][] = [header.map((text) => ({ text })), ...cells];
  const widths = header.map((_, column) => Math.max(...all.map((row) => row[column]?.text.length ?? 0)));
  const lines = all.map((row, index) =>
    row
      .map((cell, column) => {
        const padded = column === row.length - 1 ? cell.text : cell.text.padEnd(widths[column] ?? 0);
        return colorize(padded, index === 0 ? '1' : cell.color, color);
      })
      .join('  ')
      .trimEnd(),
  );
  return `${lines.join('\n')}\n`;
}

/**
 * `2026-01-01 03:00:00` in `timeZone` (the system's when undefined): the
 * exact instant matters less to a person than reading it in their own zone.
 */
export function formatTime(iso: string | undefined, timeZone?: string): string {
  if (!iso) return '-';
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  const parts = new Intl.DateTimeFormat('en-GB', {
    timeZone,
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
    hourCycle: 'h23',
  }).formatToParts(date);
  const part = (type: Intl.DateTimeFormatPartTypes) => parts.find((p) => p.type === type)?.value ?? '';
  return `${part('year')}-${part('month')}-${part('day')} ${part('hour')}:${part('minute')}:${part('second')}`;
}

/** How long a run took, `-` while it has not both started and finished. */
export function runDuration(run: { startedAt?: string; finishedAt?: string }): string {
  if (!run.startedAt || !run.finishedAt) return '-';
  const ms = Date.parse(run.finishedAt) - Date.parse(run.startedAt);
  return Number.isFinite(ms) && ms >= 0 ? formatDuration(ms) : '-';
}

export function json(value: unknown): string {
  return `${JSON.stringify(value, null, 2)}\n`;
}
