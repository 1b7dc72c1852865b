import type { AttentionView, HealthView, JobView, RetryView } from '../../engine/port.js';
import { formatDuration } from '../../core/durations.js';
import type { Run, RunStatus } from '../../runs/model.js';
import type { StepView } from '../../steps/journal.js';
import { isActive } from '../../runs/model.js';
import type { ApiTokenInfo } from '../auth/api-tokens.js';
import type { SystemView } from '../../system/system-info.js';
import type { ThrottlingFlags } from '../../system/throttling.js';
import { bytes, shortDuration, spanOf, statusBadge, taskErrorText, timeTag } from './format.js';
import { html, type Html } from './html.js';
import { actionButton } from './layout.js';
import { historySummary, runStrip } from './charts.js';
import { OVERVIEW_STRIP_JOBS, type JobHistory } from './history.js';
import type { PasswdCommand } from '../../platform/passwd-command.js';

/** The run page shows (and follows) this many last lines of the log; the whole file is a download. */
export const LOG_VIEW_LINES = 5000;

/** Pure renderers: data in, HTML out. The routes fetch the data (routes.ts). */

export interface RenderContext {
  now: number;
  timeZone: string;
}

// ---- overview ---------------------------------------------------------------

/** Under the strips when not every job has one (jobsForStrips: at most the 50 that ran last, none for a job that never ran). */
function stripsNote(stripped: number, total: number): Html {
  const all = html`all ${total} are on <a href="/jobs">Jobs</a>.`;
  if (stripped === 0) return html`None of the ${total} jobs has run yet; ${all}`;
  if (stripped < OVERVIEW_STRIP_JOBS) return html`The ${stripped === 1 ? 'one job' : `${stripped} jobs`} that ran so far; ${all}`;
  return html`The ${stripped} jobs that ran last; ${all}`;
}

export function overviewBody(
  ctx: RenderContext,
  data: { health: HealthView; attention: AttentionView; jobs: JobView[]; active: Run[]; failures: Run[]; recent?: Map<string, Run[]> },
): Html {
  const { health, attention, jobs, active, failures, recent } = data;
  const status = statusLine(health, attention);
  // The routes pass only the strips of the jobs that ran last when there are many (jobsForStrips).
  const stripped = recent && jobs.length > recent.size ? jobs.filter((job) => recent.has(job.name)) : jobs;
  const upcoming = jobs
    .filter((job) => job.schedule?.nextRun && !job.schedule.paused)
    .sort((a, b) => Date.parse(a.schedule!.nextRun!) - Date.parse(b.schedule!.nextRun!))
    .slice(0, 8);
  return html`<h1>Overview</h1>
<section class="card status" aria-label="Appliance status">
<dl class="facts">
<div class="wide"><dt>Status</dt><dd id="status-line">${status === undefined ? html`<span class="ok">● All good</span>` : html`<span class="bad">● ${status}</span>`}</dd></div>
<div><dt>Up for</dt><dd>${shortDuration(health.uptimeSeconds * 1000)}</dd></div>
<div><dt>Clock</dt><dd>${health.clock.trusted ? 'trusted' : html`<span class="bad">not trusted</span>`}</dd></div>
<div><dt>Jobs</dt><dd>${health.config.jobs}</dd></div>
<div><dt>Running</dt><dd>${health.runs.running}</dd></div>
<div><dt>Queued</dt><dd>${health.runs.queued + health.runs.waiting}</dd></div>
<div><dt>Version</dt><dd>${health.version}</dd></div>
<div><dt>Config</dt><dd>loaded ${timeTag(health.config.loadedAt, ctx.timeZone)}</dd></div>
</dl>
${!health.clock.trusted && html`<p class="note warn">${health.clock.message}</p>`}
${attentionList(ctx, attention)}
${health.config.errors && html`<div class="note error" id="config-errors"><p><strong>The last config reload failed</strong> ${timeTag(health.config.failedAt, ctx.timeZone)}; the previous jobs keep running. Fix the file and save it again:</p><ul class="mono errors">${health.config.errors.map((line) => html`<li>${line}</li>`)}</ul></div>`}
</section>
<section aria-labelledby="running-h"><h2 id="running-h">Running now</h2>
${active.length ? html`<ul class="list">${active.map((run) => runItem(ctx, run, true))}</ul>` : html`<p class="empty">Nothing is running.</p>`}
</section>
<section aria-labelledby="fail-h"><h2 id="fail-h">Recent failures</h2>
${failures.length ? html`<ul class="list">${failures.map((run) => runItem(ctx, run, true))}</ul>` : html`<p class="empty">No failed runs. </p>`}
</section>
${recent && jobs.length > 0 && html`<section aria-labelledby="last-h"><h2 id="last-h">Last runs</h2>
<ul class="list strips">${stripped.map((job) => html`<li><a href="/jobs/${job.name}">${job.name}</a>${runStrip(recent.get(job.name) ?? [], ctx.timeZone)}</li>`)}</ul>
${stripped.length < jobs.length && html`<p class="muted small" id="strips-more">${stripsNote(stripped.length, jobs.length)}</p>`}
</section>`}
<section aria-labelledby="next-h"><h2 id="next-h">Up next</h2>
${upcoming.length
    ? html`<ol class="timeline">${upcoming.map((job) => html`<li><span class="when">${timeTag(job.schedule!.nextRun, ctx.timeZone)}</span><a href="/jobs/${job.name}">${job.name}</a><span class="muted small">${job.schedule!.description}</span></li>`)}</ol>`
    : html`<p class="empty">No scheduled runs.</p>`}
</section>`;
}

/**
 * What needs attention in one line (the engine's answer, /api/attention), or
 * undefined when all is good. The banners' immediate facts (an untrusted clock,
 * a full disk, a failed reload) count at once, before the engine reports them.
 */
export function statusLine(health: HealthView, attention: AttentionView): string | undefined {
  const has = (key: string) => attention.appliance.some((problem) => problem.key === key);
  const extra = [
    !health.clock.trusted && !has('appliance:clock') && 'clock not trusted',
    health.config.errors && !has('appliance:config') && 'config reload failed',
    health.disk?.full && !has('appliance:disk') && 'disk full',
  ].filter((word): word is string => typeof word === 'string');
  if (attention.ok && extra.length === 0) return undefined;
  return [...extra, ...(attention.ok ? [] : [attention.summary])].join(' · ');
}

/** Each failing job with its reason, stuck runs and overdue jobs: one line each, linked. */
function attentionList(ctx: RenderContext, attention: AttentionView): Html | false {
  const { failing, stuck, overdue, questions } = attention;
  if (!failing.length && !stuck.length && !overdue.length && !questions) return false;
  return html`<ul class="attention" aria-label="Needs attention">
${failing.map((f) => html`<li class="failing"><a href="/runs/${f.runId}"><strong>${f.job}</strong> failing${f.failures > 1 ? html` (${f.failures} runs)` : ''}</a><span class="reason mono">${f.reason}</span></li>`)}
${stuck.map((s) => html`<li class="stuck"><a href="/runs/${s.runId}"><strong>${s.job}</strong> stuck</a><span class="reason">${s.reason}</span></li>`)}
${overdue.map((o) => html`<li class="overdue"><a href="/jobs/${o.job}"><strong>${o.job}</strong> overdue</a><span class="reason">no success ${o.lastSuccessAt ? html`since ${timeTag(o.lastSuccessAt, ctx.timeZone)}` : 'yet'}; expected every ${formatDuration(o.everyMs)}</span></li>`)}
${questions > 0 && html`<li class="questions"><a href="/inbox"><strong>${questions} ${questions === 1 ? 'question' : 'questions'}</strong> waiting in the inbox</a></li>`}
</ul>`;
}

// ---- jobs -------------------------------------------------------------------

/** Job cards per page of /jobs: 1,000 jobs would be ~900 KB of HTML on one page. */
export const JOBS_PAGE_SIZE = 50;
/** Below this many jobs the page has no filter box: everything fits on one screenful or two. */
const JOBS_FILTER_FROM = 10;

/** What the /jobs page shows: the filter as typed (`?q=`) and the page number (`?page=`, from 1). */
export interface JobsListing {
  q: string;
  page: number;
}

/** Jobs whose name or description contains every word of `q` (case-insensitive), in catalog order. */
export function filterJobs<T extends Pick<JobView, 'name' | 'description'>>(jobs: T[], q: string): T[] {
  const words = q.toLowerCase().split(/\s+/).filter(Boolean);
  if (words.length === 0) return jobs;
  return jobs.filter((job) => {
    const text = `${job.name} ${job.description ?? ''}`.toLowerCase();
    return words.every((word) => text.includes(word));
  });
}

/** One page of /jobs: which jobs (names) to show; the route looks up only those. */
export interface JobsPage {
  q: string;
  page: number;
  pages: number;
  total: number;
  matching: number;
  /** Index of the first shown job among the matching ones. */
  first: number;
  names: string[];
}

export function pickJobsPage(all: Array<Pick<JobView, 'name' | 'description'>>, listing: JobsListing): JobsPage {
  const q = listing.q.trim();
  const matching = filterJobs(all, q);
  const pages = Math.max(1, Math.ceil(matching.length / JOBS_PAGE_SIZE));
  const page = Math.min(Math.max(1, Math.floor(listing.page) || 1), pages);
  const first = (page - 1) * JOBS_PAGE_SIZE;
  const names = matching.slice(first, first + JOBS_PAGE_SIZE).map((job) => job.name);
  return { q, page, pages, total: all.length, matching: matching.length, first, names };
}

export function jobsBody(ctx: RenderContext, listing: JobsPage, shown: JobView[]): Html {
  const { q, page, pages, total, matching, first } = listing;
  if (total === 0) return html`<h1>Jobs</h1><p class="empty">No jobs yet: add some to hearth.yaml; Hearth reloads it when it changes.</p>`;
  const filter = (total > JOBS_FILTER_FROM || q) && html`<form method="get" action="/jobs" class="card search-form" role="search">
<label for="jobs-q">Filter jobs <span class="muted small">(name or description)</span></label>
<input id="jobs-q" type="search" name="q" value="${q}" maxlength="200" autocomplete="off" enterkeyhint="search">
<button type="submit" class="btn primary">Filter</button>
</form>`;
  const count = q
    ? html`<p class="muted">${matching} of ${total} jobs match “${q}”${matching > 0 && pages > 1 ? html`, ${shown.length} shown` : ''}. <a href="/jobs">Show all</a></p>`
    : pages > 1 && html`<p class="muted">Jobs ${first + 1}–${first + shown.length} of ${total}</p>`;
  return html`<h1>Jobs</h1>${filter}<div data-live-part>${count}
${shown.length > 0 ? html`<ul class="cards">${shown.map((job) => jobCard(ctx, job))}</ul>` : html`<p class="empty">No job matches “${q}”.</p>`}
${jobsPager(q, page, pages)}</div>`;
}

function jobsPager(q: string, page: number, pages: number): Html | false {
  if (pages <= 1) return false;
  const href = (n: number) => `/jobs?${new URLSearchParams({ ...(q ? { q } : {}), page: String(n) }).toString()}`;
  return html`<nav class="pager" aria-label="Pages of jobs">${page > 1 ? html`<a class="btn plain" href="${href(page - 1)}">‹ Previous</a>` : ''}<span class="muted">Page ${page} of ${pages}</span>${page < pages ? html`<a class="btn plain" href="${href(page + 1)}">Next ›</a>` : ''}</nav>`;
}

function jobCard(ctx: RenderContext, job: JobView): Html {
  const last = job.lastRun;
  return html`<li class="card job" data-job="${job.name}">
<div class="row"><h2><a href="/jobs/${job.name}">${job.name}</a></h2>${job.schedule?.paused && statusBadge('paused')}${job.activeRuns > 0 && statusBadge('running')}</div>
${job.description && html`<p class="muted">${job.description}</p>`}
${jobAttentionNote(job)}
<dl class="facts compact">
<div><dt>Schedule</dt><dd>${job.schedule ? job.schedule.description : html`<span class="muted">manual only</span>`}</dd></div>
${job.schedule && html`<div><dt>Next</dt><dd>${job.schedule.paused ? html`<span class="muted">paused</span>` : blockedWords(job) ?? timeTag(job.schedule.nextRun, ctx.timeZone)}</dd></div>`}
<div><dt>Last run</dt><dd>${last ? html`<a href="/runs/${last.id}">${statusBadge(last.status)}</a> ${timeTag(last.createdAt, ctx.timeZone)} <span class="muted">${spanOf(last.startedAt, last.finishedAt, ctx.now)}</span>` : html`<span class="muted">never</span>`}</dd></div>
</dl>
<div class="actions">${runNowButton(job)}${pauseButton(job, '/jobs')}</div>
</li>`;
}

function runNowButton(job: JobView): Html {
  return actionButton(`/jobs/${job.name}/run`, 'Run now', { kind: 'primary', confirm: `Run ${job.name} now?` });
}

function pauseButton(job: JobView, back: string): Html | false {
  if (!job.schedule) return false;
  return job.schedule.paused
    ? actionButton(`/jobs/${job.name}/resume`, 'Resume', { fields: { back } })
    : actionButton(`/jobs/${job.name}/pause`, 'Pause', { fields: { back }, confirm: `Pause the schedule of ${job.name}?` });
}

// ---- one job ----------------------------------------------------------------

export function jobBody(ctx: RenderContext, job: JobView, runs: Run[], page: { before?: string; nextBefore?: string }, history?: JobHistory): Html {
  const s = job.schedule;
  return html`<nav class="crumbs"><a href="/jobs">Jobs</a> ›</nav>
<div class="row"><h1>${job.name}</h1>${s?.paused && statusBadge('paused')}</div>
${job.description && html`<p class="muted">${job.description}</p>`}
${jobAttentionNote(job)}
<div class="actions">${runNowButton(job)}${pauseButton(job, `/jobs/${job.name}`)}</div>
${history && historySummary(history, ctx.now, ctx.timeZone)}
<section class="card"><h2>Schedule</h2>
${s
    ? html`<dl class="facts">
<div class="wide"><dt>When</dt><dd>${s.description}</dd></div>
<div><dt>Expression</dt><dd class="mono">${s.kind}: ${s.expression}</dd></div>
<div><dt>Schedule's zone</dt><dd>${s.timezone}</dd></div>
<div><dt>Next run</dt><dd>${s.paused ? 'paused' : blockedWords(job) ?? timeTag(s.nextRun, ctx.timeZone, { exact: true })}</dd></div>
<div><dt>Catch-up</dt><dd>${catchupWords(s.catchup, s.maxCatchup)}</dd></div>
<div class="wide"><dt>Last catch-up</dt><dd>${s.lastCatchup
        ? html`${timeTag(s.lastCatchup.at, ctx.timeZone, { exact: true })}: ${s.lastCatchup.occurrences} missed ${s.lastCatchup.occurrences === 1 ? 'occurrence' : 'occurrences'}, ${s.lastCatchup.runs} ${s.lastCatchup.runs === 1 ? 'run' : 'runs'} (${s.lastCatchup.policy})`
        : html`<span class="muted">none yet</span>`}</dd></div>
</dl>`
    : html`<p class="muted">No schedule: this job runs only when started by hand or by the API.</p>`}
<dl class="facts compact"><div><dt>Pool</dt><dd>${job.pool}</dd></div><div><dt>Overlap</dt><dd>${job.overlap}</dd></div></dl>
</section>
<section class="card"><h2>Tasks</h2>${taskGraph(job)}</section>
<section><h2>History</h2>
${runs.length ? html`<ul class="list">${runs.map((run) => runItem(ctx, run, false))}</ul>` : html`<p class="empty">No runs yet.</p>`}
${pager(`/jobs/${job.name}`, page)}
</section>`;
}

/** Failing (with its reason), stuck or overdue: one line each. */
function jobAttentionNote(job: JobView): Html | false {
  const a = job.attention;
  if (!a) return false;
  return html`<ul class="attention compact">
${a.failing && html`<li class="failing"><a href="/runs/${a.failing.runId}">failing${a.failing.failures > 1 ? ` (${a.failing.failures} runs)` : ''}</a><span class="reason mono">${a.failing.reason}</span></li>`}
${a.stuck && html`<li class="stuck"><a href="/runs/${a.stuck.runId}">stuck</a><span class="reason">${a.stuck.reason}</span></li>`}
${a.overdue && html`<li class="overdue">overdue<span class="reason">no success since before ${a.overdue.dueAt.slice(0, 16).replace('T', ' ')} UTC (expect)</span></li>`}
</ul>`;
}

/**
 * The next occurrence will not start while a run blocks it (overlap: skip):
 * say so instead of promising a time that has passed.
 */
function blockedWords(job: JobView): Html | undefined {
  if (job.overlap !== 'skip' || job.activeRuns === 0) return undefined;
  const skipped = job.attention?.stuck?.skipped;
  return html`<span class="warn-text">skipped while a run is active${skipped ? ` (${skipped} skipped so far)` : ''}</span>`;
}

function catchupWords(policy: string, max: number): string {
  if (policy === 'none') return 'none: missed runs are skipped';
  if (policy === 'latest') return 'latest: one run for the newest missed time';
  return `all: every missed time, at most ${max}`;
}

/** Tasks grouped by depth in the graph: each level can start when the levels above are done. */
function taskGraph(job: JobView): Html {
  const depth = new Map<string, number>();
  const depthOf = (name: string, seen = new Set<string>()): number => {
    const known = depth.get(name);
    if (known !== undefined) return known;
    if (seen.has(name)) return 0;
    seen.add(name);
    const task = job.tasks.find((t) => t.name === name);
    const d = task && task.dependsOn.length ? 1 + Math.max(...task.dependsOn.map((dep) => depthOf(dep, seen))) : 0;
    depth.set(name, d);
    return d;
  };
  const levels: Array<typeof job.tasks> = [];
  for (const task of job.tasks) (levels[depthOf(task.name)] ??= []).push(task);
  return html`<ol class="graph">${levels.map(
    (level) => html`<li><ul>${level.map(
      (task) => html`<li class="task" data-task="${task.name}"><div class="row"><span class="name">${task.name}</span><span class="muted small">${task.kind === 'shell' ? 'shell' : `action: ${task.action}`}</span></div>
${task.dependsOn.length > 0 && html`<span class="small after">after ${task.dependsOn.join(', ')}</span>`}
${task.run !== undefined && html`<pre class="mono wrap cmd">${task.run}</pre>`}
${task.with && Object.keys(task.with).length > 0 && html`<dl class="with mono small">${Object.entries(task.with).map(([key, value]) => html`<div><dt>${key}:</dt><dd>${typeof value === 'string' ? value : JSON.stringify(value)}</dd></div>`)}</dl>`}
<dl class="facts compact small">
<div><dt>Timeout</dt><dd>${task.timeoutMs !== undefined ? formatDuration(task.timeoutMs) : job.settings?.timeoutMs !== undefined ? html`${formatDuration(job.settings.timeoutMs)} <span class="muted">(job)</span>` : html`<span class="muted">none</span>`}</dd></div>
<div><dt>Retries</dt><dd>${task.retries ? retryWords(task.retries) : job.settings ? html`${retryWords(job.settings.retries)}${job.settings.retries.max > 0 ? html` <span class="muted">(job)</span>` : ''}` : html`<span class="muted">–</span>`}</dd></div>
<div><dt>Pool</dt><dd>${job.pool}</dd></div>
${(task.env?.length ?? 0) + (job.settings?.env.length ?? 0) > 0 && html`<div><dt>Env</dt><dd class="mono">${[...(job.settings?.env ?? []), ...(task.env ?? [])].join(' ')}</dd></div>`}
${task.continueOnError && html`<div><dt>On error</dt><dd>the job goes on</dd></div>`}
</dl></li>`,
    )}</ul></li>`,
  )}</ol>`;
}

function retryWords(retries: RetryView): string {
  if (retries.max === 0) return 'none';
  const delay = formatDuration(retries.delayMs);
  return `${retries.max}× after ${delay}${retries.backoff === 'exponential' ? `, doubling up to ${formatDuration(retries.maxDelayMs)}` : ''}`;
}

// ---- runs -------------------------------------------------------------------

const STATUS_FILTERS: Array<RunStatus | undefined> = [undefined, 'running', 'queued', 'failed', 'succeeded', 'cancelled'];

export function runsBody(ctx: RenderContext, runs: Run[], filter: { status?: RunStatus; before?: string; nextBefore?: string }): Html {
  return html`<h1>Runs</h1>
<nav class="chips" aria-label="Filter by status">${STATUS_FILTERS.map(
    (status) => html`<a href="/runs${status ? `?status=${status}` : ''}"${status === filter.status ? html` aria-current="true"` : ''}>${status ?? 'all'}</a>`,
  )}</nav>
${runs.length ? html`<ul class="list">${runs.map((run) => runItem(ctx, run, true))}</ul>` : html`<p class="empty">No runs.</p>`}
${pager(`/runs${filter.status ? `?status=${filter.status}` : ''}`, filter)}`;
}

function runItem(ctx: RenderContext, run: Run, showJob: boolean): Html {
  return html`<li><a class="run" href="/runs/${run.id}">${statusBadge(run.status)}<span class="what">${showJob ? run.job : run.trigger}${showJob && html` <span class="muted small">${run.trigger}</span>`}</span><span class="when small">${timeTag(run.createdAt, ctx.timeZone)}</span><span class="dur small muted">${spanOf(run.startedAt, run.finishedAt, ctx.now)}</span></a></li>`;
}

function pager(base: string, page: { before?: string; nextBefore?: string }): Html | false {
  if (!page.before && !page.nextBefore) return false;
  const join = base.includes('?') ? '&' : '?';
  return html`<nav class="pager">${page.before ? html`<a class="btn plain" href="${base}">Newest</a>` : ''}${page.nextBefore ? html`<a class="btn plain" href="${base}${join}before=${page.nextBefore}">Older ›</a>` : ''}</nav>`;
}

export function runBody(ctx: RenderContext, run: Run, steps: StepView[] = []): Html {
  const active = isActive(run);
  // A replayed step no longer matches the journal: only a fresh run (new id, empty journal) can go on.
  const replayMismatch = !active && run.taskOrder.some((name) => run.tasks[name]?.errorCode === 'replay-mismatch');
  return html`<nav class="crumbs"><a href="/jobs">Jobs</a> › <a href="/jobs/${run.job}">${run.job}</a> ›</nav>
<div data-live-part>
<div class="row"><h1>${run.job}</h1>${statusBadge(run.status)}</div>
<p class="muted small mono">run ${run.id}</p>
<div class="actions">${active
    ? run.cancelRequested ? html`<span class="muted">cancelling…</span>` : actionButton(`/runs/${run.id}/cancel`, 'Cancel', { kind: 'danger', confirm: 'Cancel this run?' })
    : run.status === 'succeeded'
      ? ''
      : replayMismatch
        ? actionButton(`/runs/${run.id}/retry`, 'Restart', { kind: 'primary', confirm: `Start a fresh run of ${run.job} with the same input?` })
        : actionButton(`/runs/${run.id}/retry`, 'Retry', { kind: 'primary', confirm: `Run ${run.job} again?` })}</div>
${replayMismatch && html`<p class="note warn" id="restart-hint">The workflow's code changed while this run was suspended, so its steps no longer match the journal: restart it as a fresh run with the same input.</p>`}
<section class="card"><dl class="facts">
<div><dt>Trigger</dt><dd>${run.trigger}${run.occurrences > 1 ? ` (stands for ${run.occurrences} times)` : ''}</dd></div>
<div><dt>Scheduled for</dt><dd>${run.scheduledFor ? timeTag(run.scheduledFor, ctx.timeZone, { exact: true }) : html`<span class="muted">–</span>`}</dd></div>
<div><dt>Created</dt><dd>${timeTag(run.createdAt, ctx.timeZone, { exact: true })}</dd></div>
<div><dt>Duration</dt><dd>${spanOf(run.startedAt, run.finishedAt, ctx.now)}</dd></div>
${run.retryOf && html`<div><dt>Retry of</dt><dd><a class="mono" href="/runs/${run.retryOf}">${run.retryOf}</a></dd></div>`}
${run.error && html`<div class="wide"><dt>Error</dt><dd class="bad">${run.error}</dd></div>`}
</dl></section>
<section class="card"><h2>Tasks</h2><table class="tasks"><thead><tr><th>Task</th><th>Status</th><th>Tries</th><th>Time</th></tr></thead><tbody>${run.taskOrder.map((name) => {
    const task = run.tasks[name];
    if (!task) return '';
    return html`<tr><td class="mono">${name}</td><td>${statusBadge(task.status)}</td><td>${task.attempts}</td><td>${spanOf(task.startedAt, task.finishedAt, ctx.now)}</td></tr>${task.error && html`<tr class="sub"><td colspan="4" class="small bad">${taskErrorText(task.error, task.exitCode)}</td></tr>`}`;
  })}</tbody></table></section>
${steps.length > 0 && stepsCard(ctx, steps)}
</div>
<section class="card logcard"><div class="row"><h2>Log</h2><span class="muted small" id="log-state">${active ? 'live' : ''}</span></div>
<pre id="log" class="log" data-run="${run.id}" data-finished="${active ? '' : '1'}" data-tail="${LOG_VIEW_LINES}" tabindex="0" aria-live="off"></pre>
<button type="button" class="btn plain follow" id="follow" hidden>↓ Follow the log</button>
<p class="small muted">Shows the last ${LOG_VIEW_LINES.toLocaleString('en')} lines. <a href="/api/runs/${run.id}/logs?download" download>Download the whole log</a></p>
</section>`;
}

/** A workflow's steps as a timeline: id, status, duration, what a waiting step waits for. */
function stepsCard(ctx: RenderContext, steps: StepView[]): Html {
  const multiTask = new Set(steps.map((step) => step.task)).size > 1;
  return html`<section class="card"><h2>Steps</h2><table class="tasks steps"><thead><tr><th>Step</th><th>Status</th><th>Time</th></tr></thead><tbody>${steps.map(
    (step) => html`<tr><td class="mono">${multiTask ? `${step.task}: ` : ''}${step.id} <span class="muted small">${step.kind}</span></td><td>${statusBadge(step.status)}</td><td>${spanOf(step.startedAt, step.finishedAt, ctx.now)}</td></tr>${(step.wait || step.error) && html`<tr class="sub"><td colspan="3" class="small${step.error ? ' bad' : ''}">${step.error ?? waitText(ctx, step.wait!)}</td></tr>`}`,
  )}</tbody></table></section>`;
}

function waitText(ctx: RenderContext, wait: NonNullable<StepView['wait']>): Html {
  switch (wait.kind) {
    case 'timer':
      return html`sleeps until ${timeTag(wait.at, ctx.timeZone)}`;
    case 'input':
      return html`waits for <a href="/inbox#${wait.id}">an answer in the inbox</a>${wait.until ? html` until ${timeTag(wait.until, ctx.timeZone)}` : ''}`;
    case 'event':
      return html`waits for the event <span class="mono">${wait.name}</span>${wait.until ? html` until ${timeTag(wait.until, ctx.timeZone)}` : ''}`;
    case 'children':
      return html`waits for ${wait.runIds.map((id) => html`<a class="mono" href="/runs/${id}">${id}</a>`)}`;
  }
}

// ---- system -----------------------------------------------------------------

export function systemBody(ctx: RenderContext, system: SystemView, version: string): Html {
  const notReported = html`<span class="muted">not reported</span>`;
  const memUsed = system.memory.totalBytes - system.memory.availableBytes;
  return html`<h1>System</h1>
<section class="card"><dl class="facts">
<div><dt>CPU temperature</dt><dd>${system.cpuTemperatureC === null ? notReported : html`<span class="${system.cpuTemperatureC >= 80 ? 'bad' : system.cpuTemperatureC >= 70 ? 'warn-text' : ''}">${system.cpuTemperatureC.toFixed(1)} °C</span>`}</dd></div>
<div><dt>Power / throttling</dt><dd>${system.throttling ? throttlingWords(system.throttling) : notReported}</dd></div>
<div><dt>Load (1/5/15 min)</dt><dd>${system.load.one.toFixed(2)} / ${system.load.five.toFixed(2)} / ${system.load.fifteen.toFixed(2)} <span class="muted small">${system.cpus} CPUs</span></dd></div>
<div><dt>Memory</dt><dd>${bytes(system.memory.availableBytes)} free of ${bytes(system.memory.totalBytes)}${meter(memUsed, system.memory.totalBytes)}</dd></div>
<div><dt>Disk (data)</dt><dd>${system.disk ? html`${bytes(system.disk.availableBytes)} free of ${bytes(system.disk.totalBytes)}${meter(system.disk.totalBytes - system.disk.availableBytes, system.disk.totalBytes)}<span class="muted small mono">${system.disk.path}</span>` : notReported}</dd></div>
<div><dt>Up for</dt><dd>${shortDuration(system.uptimeSeconds * 1000)}</dd></div>
</dl></section>
<section class="card"><h2>Network</h2>${system.addresses.length
    ? html`<ul class="plain">${system.addresses.map((a) => html`<li><span class="mono">${a.address}</span> <span class="muted small">${a.interface}, ${a.family}</span></li>`)}</ul>`
    : html`<p class="muted">No network address.</p>`}</section>
<section class="card"><h2>Software</h2><dl class="facts">
<div><dt>Hearth</dt><dd>${version}</dd></div>
<div><dt>Node.js</dt><dd>${system.nodeVersion}</dd></div>
<div><dt>Hearth memory</dt><dd>${bytes(system.processRssBytes)}</dd></div>
<div><dt>Host</dt><dd>${system.hostname}</dd></div>
<div><dt>Board</dt><dd>${system.model ?? notReported}</dd></div>
<div><dt>OS</dt><dd>${system.os ?? notReported} <span class="muted small">${system.arch}</span></dd></div>
</dl><p class="small muted">Read ${timeTag(system.collectedAt, ctx.timeZone)}; refreshed every 10 s while this page is open.</p></section>`;
}

function throttlingWords(flags: ThrottlingFlags): Html {
  const now = [flags.underVoltageNow && 'under-voltage', flags.throttledNow && 'throttled', flags.frequencyCappedNow && 'frequency capped', flags.softTemperatureLimitNow && 'soft temperature limit'].filter(Boolean);
  const past = [flags.underVoltageOccurred && 'under-voltage', flags.throttledOccurred && 'throttling', flags.frequencyCappedOccurred && 'frequency capping', flags.softTemperatureLimitOccurred && 'soft temperature limit'].filter(Boolean);
  if (!now.length && !past.length) return html`<span class="ok">OK</span> <span class="muted small">${flags.raw}</span>`;
  return html`${now.length ? html`<span class="bad">now: ${now.join(', ')}</span>` : html`<span class="ok">OK now</span>`}${past.length > 0 && html`<br><span class="warn-text small">since boot: ${past.join(', ')}</span>`} <span class="muted small">${flags.raw}</span>`;
}

function meter(used: number, total: number): Html {
  const share = total > 0 ? Math.min(1, Math.max(0, used / total)) : 0;
  return html`<meter min="0" max="100" low="70" high="90" optimum="10" value="${Math.round(share * 100)}">${Math.round(share * 100)}%</meter>`;
}

// ---- settings ---------------------------------------------------------------

export function settingsBody(ctx: RenderContext, data: { tokens: ApiTokenInfo[]; created?: { token: string; name: string }; origin: string; exampleJob?: string; sessions: number }): Html {
  const { tokens, created } = data;
  const job = data.exampleJob ?? 'JOB';
  return html`<h1>Settings</h1>
<p><a class="btn" href="/settings/connections">Connections ›</a> <span class="small muted">Slack, Gmail and other accounts jobs use</span></p>
${created && html`<section class="card created" role="status"><h2>Token “${created.name}” created</h2>
<p>Copy it now: it is shown only once.</p>
<input class="mono token" readonly value="${created.token}" aria-label="The new token" data-select>
<p class="small">Run a job with one call (e.g. from an iOS Shortcut or Tasker):</p>
<pre class="mono small wrap">curl -X POST -H "Authorization: Bearer ${created.token}" ${data.origin}/api/jobs/${job}/run</pre></section>`}
<section class="card"><h2>API tokens</h2>
<p class="small muted">For scripts and phone shortcuts. Each token can do what you can do here; revoke one you no longer use.</p>
${tokens.length
    ? html`<ul class="list tokens">${tokens.map((t) => html`<li><div><strong>${t.name}</strong> <span class="muted small mono">${t.id}</span><br><span class="small muted">created ${timeTag(t.createdAt, ctx.timeZone)}${t.lastUsedAt ? html`, last used ${timeTag(t.lastUsedAt, ctx.timeZone)}` : ''}</span></div>${actionButton(`/settings/tokens/${t.id}/revoke`, 'Revoke', { kind: 'danger', confirm: `Revoke ${t.name}?` })}</li>`)}</ul>`
    : html`<p class="empty">No tokens yet.</p>`}
<form method="post" action="/settings/tokens" class="stack"><label for="token-name">New token name</label><input id="token-name" name="name" required maxlength="40" placeholder="e.g. Phone shortcut" autocomplete="off"><button class="btn primary" type="submit">Create token</button></form>
</section>
<section class="card"><h2>Sessions</h2>
<p class="small muted">${data.sessions} ${data.sessions === 1 ? 'browser is' : 'browsers are'} logged in. Change the password on the appliance with <code>hearth passwd</code>.</p>
<div class="actions">${actionButton('/logout', 'Log out', { kind: 'primary' })}${actionButton('/logout/all', 'Log out everywhere', { confirm: 'Log out every browser, this one too?' })}</div>
</section>`;
}

// ---- login / setup ----------------------------------------------------------

export function loginBody(options: { error?: string; next?: string; passwd: PasswdCommand }): Html {
  return html`<section class="card narrow"><h1>Log in</h1>
${options.error && html`<p class="note error" role="alert">${options.error}</p>`}
<form method="post" action="/login" class="stack">
<input type="hidden" name="next" value="${options.next ?? '/'}">
<input type="text" name="username" value="admin" autocomplete="username" hidden>
<label for="password">Password</label>
<input id="password" name="password" type="password" autocomplete="current-password" required autofocus maxlength="1024">
<button class="btn primary" type="submit">Log in</button>
</form>
<p class="small muted">Forgot it? Set a new one on the appliance${options.passwd.directory ? html`, in <code class="path">${options.passwd.directory}</code>` : ''}:</p>
<pre class="mono wrap cmd">${options.passwd.command}</pre>
</section>`;
}

export function setupBody(passwd: PasswdCommand): Html {
  return html`<section class="card narrow"><h1>Set a password first</h1>
<p>The dashboard is locked until an admin password is set. On the appliance${passwd.directory ? html`, in <code class="path">${passwd.directory}</code>` : ' (over SSH)'}, run:</p>
<pre class="mono wrap cmd">${passwd.command}</pre>
<p>or start Hearth once with <code>HEARTH_PASSWORD</code> set in its environment (used only when no password is set yet).</p>
<p>Then reload this page.</p>
</section>`;
}

export function errorBody(status: number, message: string): Html {
  return html`<section class="card narrow"><h1>${status === 404 ? 'Not found' : status >= 500 ? 'Something went wrong' : 'That did not work'}</h1>
<p>${message}</p><p><a class="btn plain" href="/">Back to the overview</a></p></section>`;
}
