import type { Run } from '../../runs/model.js';
import { shortDuration, absolute } from './format.js';
import { html, type Html } from './html.js';
import type { JobHistory, SuccessRate } from './history.js';

/**
 * History at a glance, as inline SVG (no chart library, no inline style: the
 * colours come from app.css classes `b-<status>`, which follow dark mode).
 */

const SLOT = 10;
const BAR = 7;
const HEIGHT = 60;

function durationOf(run: Run, now: number): number | undefined {
  if (!run.startedAt) return undefined;
  const end = run.finishedAt ? Date.parse(run.finishedAt) : now;
  const ms = end - Date.parse(run.startedAt);
  return Number.isFinite(ms) && ms >= 0 ? ms : undefined;
}

/** The last runs' durations as bars, oldest on the left, coloured by status; each bar links to its run. */
export function durationChart(runs: Run[], now: number, timeZone: string): Html {
  if (runs.length === 0) return html`<p class="empty">No runs yet.</p>`;
  const oldestFirst = [...runs].reverse();
  const durations = oldestFirst.map((run) => durationOf(run, now));
  const longest = Math.max(1, ...durations.map((d) => d ?? 0));
  const counts = new Map<string, number>();
  for (const run of runs) counts.set(run.status, (counts.get(run.status) ?? 0) + 1);
  const summary = [...counts].map(([status, n]) => `${n} ${status}`).join(', ');
  const width = Math.max(oldestFirst.length, 10) * SLOT;
  return html`<figure class="chart-box">
<svg class="chart" viewBox="0 0 ${width} ${HEIGHT}" preserveAspectRatio="none" role="img" aria-label="Durations of the last ${runs.length} runs: ${summary}">
<line class="axis" x1="0" y1="${HEIGHT - 0.5}" x2="${width}" y2="${HEIGHT - 0.5}"></line>
${oldestFirst.map((run, i) => {
    const d = durations[i];
    const h = d === undefined ? 2 : Math.max(2, Math.round((d / longest) * (HEIGHT - 2)));
    const label = `${absolute(new Date(run.createdAt), timeZone)} · ${run.status} · ${d === undefined ? 'not started' : shortDuration(d)}`;
    return html`<a href="/runs/${run.id}"><rect class="b-${run.status}" x="${i * SLOT + (SLOT - BAR) / 2}" y="${HEIGHT - h}" width="${BAR}" height="${h}"><title>${label}</title></rect></a>`;
  })}
</svg>
<figcaption class="small muted"><span>longest ${shortDuration(longest)}</span><span>${summary}</span><span>oldest ← → newest</span></figcaption>
</figure>`;
}

export function rateText(rate: SuccessRate): Html {
  if (rate.finished === 0) return html`<span class="muted">no finished runs</span>`;
  const share = Math.round((rate.succeeded / rate.finished) * 100);
  return html`<strong class="${share === 100 ? 'ok' : share >= 80 ? 'warn-text' : 'bad'}">${share}%</strong> <span class="muted small">${rate.succeeded} of ${rate.finished}</span>`;
}

export function historySummary(history: JobHistory, now: number, timeZone: string): Html {
  return html`<section class="card" aria-labelledby="glance-h"><h2 id="glance-h">At a glance</h2>
<dl class="facts rates">${history.rates.map((rate) => html`<div><dt>Succeeded, ${rate.days} days</dt><dd>${rateText(rate)}</dd></div>`)}</dl>
${history.capped && html`<p class="small muted">Counted over the newest runs only (this job runs very often).</p>`}
${durationChart(history.recent, now, timeZone)}
</section>`;
}

/** A row of small bars: a job's last runs, newest on the right. */
export function runStrip(runs: Run[], timeZone: string): Html {
  const oldestFirst = [...runs].reverse();
  if (oldestFirst.length === 0) return html`<span class="muted small">no runs yet</span>`;
  const width = oldestFirst.length * 13;
  return html`<svg class="strip" viewBox="0 0 ${width} 16" width="${width}" height="16" role="img" aria-label="Last ${runs.length} runs, oldest first: ${oldestFirst.map((r) => r.status).join(', ')}">${oldestFirst.map(
    (run, i) => html`<rect class="b-${run.status}" x="${i * 13}" y="0" width="10" height="16" rx="2"><title>${absolute(new Date(run.createdAt), timeZone)} · ${run.status}</title></rect>`,
  )}</svg>`;
}
