import type { RunStatus, TaskStatus } from '../../runs/model.js';
import { html, type Html } from './html.js';

/** Short, phone-sized renderings of times, durations and sizes. */

export function shortDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '–';
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${String(s % 60).padStart(2, '0')}s`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h}h ${String(m % 60).padStart(2, '0')}m`;
  return `${Math.floor(h / 24)}d ${h % 24}h`;
}

export function spanOf(startedAt: string | undefined, finishedAt: string | undefined, now: number): string {
  if (!startedAt) return '–';
  const end = finishedAt ? Date.parse(finishedAt) : now;
  return shortDuration(end - Date.parse(startedAt));
}

/**
 * "2026-05-01 03:00" in the page's zone. The browser turns `data-rel` into "in 5 min" / "3 h ago" and a tap
 * on any such time switches the page between relative and exact times (`data-abs`), so a phone, which has no
 * hover, can read the exact one. `exact` times stay exact (with the relative one beside them).
 */
export function timeTag(iso: string | undefined, timeZone: string, options: { exact?: boolean } = {}): Html {
  if (!iso) return html`<span class="muted">–</span>`;
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return html`<span class="muted">–</span>`;
  const abs = absolute(date, timeZone);
  if (options.exact) return html`<time datetime="${date.toISOString()}" data-abs="${abs}" data-after>${abs}</time>`;
  return html`<time datetime="${date.toISOString()}" data-rel data-abs="${abs}" title="${abs}">${abs}</time>`;
}

/**
 * One formatter per zone, built once: a new Intl.DateTimeFormat costs ~50 µs and ICU memory, and a page
 * of 1,000 jobs shows 2,000 times. Zones are few (the config's and the jobs'); the cap only guards
 * against something feeding it arbitrary names.
 */
const formatters = new Map<string, Intl.DateTimeFormat>();
const MAX_FORMATTERS = 64;

function formatterFor(timeZone: string): Intl.DateTimeFormat {
  let formatter = formatters.get(timeZone);
  if (!formatter) {
    formatter = new Intl.DateTimeFormat('en-GB', {
      timeZone, year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', hourCycle: 'h23',
    });
    if (formatters.size >= MAX_FORMATTERS) formatters.clear();
    formatters.set(timeZone, formatter);
  }
  return formatter;
}

export function absolute(date: Date, timeZone: string): string {
  try {
    const parts = formatterFor(timeZone).formatToParts(date);
    const get = (type: string) => parts.find((p) => p.type === type)?.value ?? '';
    return `${get('year')}-${get('month')}-${get('day')} ${get('hour')}:${get('minute')}`;
  } catch {
    return date.toISOString().slice(0, 16).replace('T', ' ');
  }
}

export function bytes(n: number): string {
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let value = n;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value >= 10 || unit === 0 ? Math.round(value) : value.toFixed(1)} ${units[unit]}`;
}

/**
 * Glyphs every font has (Debian's Chromium shows U+23F8 "⏸" as an empty box); waiting and paused are
 * drawn as two CSS bars instead.
 */
const STATUS_ICON: Record<string, string> = {
  succeeded: '✓', failed: '✕', cancelled: '⊘', running: '▶', queued: '…', pending: '·', skipped: '↷',
};

export function statusBadge(status: RunStatus | TaskStatus | 'paused' | 'never'): Html {
  const icon = status === 'waiting' || status === 'paused' ? html`<i class="bars" aria-hidden="true"></i>` : STATUS_ICON[status] ?? '';
  return html`<span class="badge s-${status}">${icon} ${status}</span>`;
}

/** "exit code 1" already says it: the exit code is added only when the error does not mention it. */
export function taskErrorText(error: string, exitCode: number | null | undefined): string {
  if (exitCode === undefined || exitCode === null || /\bexit(?: code)? \d+/.test(error)) return error;
  return `${error} (exit ${exitCode})`;
}
