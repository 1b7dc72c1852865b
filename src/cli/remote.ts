import type { HealthView, JobView } from '../engine/port.js';
import { parseJobName, parseLimit, parseRunId, parseRunStatus, parseTailLines } from '../http/params.js';
import type { Run } from '../runs/model.js';
import type { CommandArgs } from './args.js';
import { booleanValue, stringValue } from './args.js';
import { ApiRequestError, ConnectionLostError, UnreachableError } from './client.js';
import { isRunId } from '../core/ids.js';
import type { ApiClient } from './client.js';
import type { CliContext } from './context.js';
import { realSleep, useColor } from './context.js';
import { CliFailure } from './errors.js';
import { UsageError } from '../core/errors.js';
import { formatTime, json, renderTable, runDuration, statusCell } from './format.js';
import type { Cell } from './format.js';

/**
 * The commands that talk to the running appliance over its HTTP API:
 * jobs, run, runs, logs, cancel. Each takes an ApiClient (see target.ts), so
 * tests point them at the Hono app through a fake fetch.
 */

const RECONNECT_DELAY_MS = 1_000;
const MAX_RECONNECTS = 10;

export async function jobsCommand(args: CommandArgs, ctx: CliContext, client: ApiClient): Promise<number> {
  const body = await client.getJson<{ jobs: JobView[]; config?: HealthView['config'] }>('/api/jobs');
  if (booleanValue(args, 'json')) {
    ctx.stdout.write(json(body));
    return 0;
  }
  reportConfigErrors(body.config, ctx, client.configIssuesShown);
  if (body.jobs.length === 0) {
    ctx.stdout.write('no jobs configured\n');
    return 0;
  }
  const zone = displayZone(ctx);
  const rows = body.jobs.map((job): Cell[] => [
    { text: job.name },
    { text: scheduleText(job) },
    { text: nextRunText(job) },
    job.lastRun ? statusCell(job.lastRun.status) : { text: '-' },
    { text: formatTime(job.lastRun?.createdAt, zone) },
    { text: String(job.activeRuns) },
  ]);
  ctx.stdout.write(renderTable(['NAME', 'SCHEDULE', 'NEXT RUN', 'LAST', 'LAST RUN', 'ACTIVE'], rows, useColor(ctx)));
  return 0;
}

/** A failed reload: the jobs listed are the previous, still-running catalog. */
function reportConfigErrors(config: HealthView['config'] | undefined, ctx: CliContext, alreadyShown: boolean): void {
  if (!config?.errors?.length) return;
  const when = config.failedAt ? ` at ${config.failedAt}` : '';
  if (alreadyShown) {
    ctx.stderr.write(`config reload failed${when}; still running the previous jobs (problems above)\n`);
    return;
  }
  ctx.stderr.write(`config reload failed${when}; still running the previous jobs:\n`);
  for (const line of config.errors) ctx.stderr.write(`  ${line}\n`);
}

/**
 * `--input JSON`: the run's input, any JSON value. Checked before connecting,
 * so a typo is a usage error (exit 2) even when the appliance is down.
 */
export function parseInputFlag(args: CommandArgs): { input?: unknown } {
  const text = stringValue(args, 'input');
  if (text === undefined) return {};
  try {
    return { input: JSON.parse(text) as unknown };
  } catch (error) {
    const why = error instanceof Error ? error.message : String(error);
    throw new UsageError(`--input: not valid JSON (${why}); e.g. --input '{"path": "/tmp/x"}' or --input '"text"'`, { cause: error });
  }
}

export async function runCommand(args: CommandArgs, ctx: CliContext, client: ApiClient): Promise<number> {
  const name = parseJobName(args.positionals[0] ?? '');
  const asJson = booleanValue(args, 'json');
  const body = parseInputFlag(args);
  const started = await client.postJson<{ runId: string; run: Run }>(
    `/api/jobs/${encodeURIComponent(name)}/run`,
    { 'X-Hearth-Trigger': 'manual' },
    'input' in body ? body : undefined,
  );
  if (!booleanValue(args, 'wait')) {
    if (asJson) ctx.stdout.write(json(started));
    else if (ctx.stdout.isTTY) ctx.stdout.write(`started ${name}: run ${started.runId}\nfollow it with: hearth logs ${started.runId} -f\n`);
    else ctx.stdout.write(`${started.runId}\n`);
    return 0;
  }
  if (!asJson) ctx.stderr.write(`started ${name}: run ${started.runId}\n`);
  const onLine = asJson ? () => {} : (line: string) => ctx.stdout.write(`${line}\n`);
  const final = await followUntilFinished(ctx, client, started.runId, onLine);
  if (asJson) ctx.stdout.write(json(final));
  else ctx.stderr.write(`${runSummary(final)}\n`);
  return final.status === 'succeeded' ? 0 : 1;
}

export async function runsCommand(args: CommandArgs, ctx: CliContext, client: ApiClient): Promise<number> {
  const query = new URLSearchParams();
  const job = args.positionals[0];
  if (job !== undefined) query.set('job', parseJobName(job));
  const status = stringValue(args, 'status');
  if (status !== undefined) query.set('status', parseRunStatus(status));
  const limit = stringValue(args, 'limit');
  if (limit !== undefined) query.set('limit', String(parseLimit(limit)));
  const before = stringValue(args, 'before');
  if (before !== undefined) query.set('before', parseRunId(before));
  const search = query.size > 0 ? `?${query}` : '';
  const page = await client.getJson<{ runs: Run[]; nextBefore: string | null }>(`/api/runs${search}`);

  if (booleanValue(args, 'json')) {
    ctx.stdout.write(json(page));
    return 0;
  }
  if (page.runs.length === 0) {
    ctx.stdout.write('no runs\n');
    return 0;
  }
  const zone = displayZone(ctx);
  const rows = page.runs.map((run): Cell[] => [
    { text: run.id },
    { text: run.job },
    statusCell(run.status),
    { text: run.trigger },
    { text: formatTime(run.createdAt, zone) },
    { text: runDuration(run) },
  ]);
  ctx.stdout.write(renderTable(['ID', 'JOB', 'STATUS', 'TRIGGER', 'CREATED', 'DURATION'], rows, useColor(ctx)));
  if (page.nextBefore) ctx.stderr.write(`more: hearth runs${job ? ` ${job}` : ''} --before ${page.nextBefore}\n`);
  return 0;
}

export async function logsCommand(args: CommandArgs, ctx: CliContext, client: ApiClient): Promise<number> {
  const id = await logTarget(args, ctx, client);
  const tailText = stringValue(args, 'tail');
  const tail = tailText === undefined ? undefined : parseTailLines(tailText);
  if (!booleanValue(args, 'follow')) {
    // Streamed: a 16 MB log costs the CLI a chunk at a time, and a slow pipe (| less) holds the download back.
    await client.streamText(`/api/runs/${id}/logs${tail === undefined ? '' : `?tail=${tail}`}`, (text) => written(ctx.stdout, text));
    return 0;
  }
  await followLog(ctx, client, id, (line) => ctx.stdout.write(`${line}\n`), tail);
  return 0;
}

/**
 * `logs RUN` is that run; `logs JOB` the job's latest run, `logs JOB --failed`
 * its latest failure. Which run it picked goes to stderr, so stdout stays the log.
 */
async function logTarget(args: CommandArgs, ctx: CliContext, client: ApiClient): Promise<string> {
  const target = args.positionals[0] ?? '';
  const failed = booleanValue(args, 'failed');
  if (isRunId(target)) {
    if (failed) throw new UsageError(`--failed picks a job's latest failure: give a JOB, not a run id (${target})`);
    return target;
  }
  const name = parseJobName(target);
  try {
    await client.getJson<JobView>(`/api/jobs/${encodeURIComponent(name)}`);
  } catch (error) {
    if (error instanceof ApiRequestError && error.status === 404) {
      throw new UsageError(`no job named "${name}", and it is not a run id (e.g. r_00mjv5x2w0a1b2c3d4); see hearth jobs`, { cause: error });
    }
    throw error;
  }
  const query = new URLSearchParams({ job: name, limit: '1', ...(failed ? { status: 'failed' } : {}) });
  const page = await client.getJson<{ runs: Run[] }>(`/api/runs?${query}`);
  const run = page.runs[0];
  if (!run) throw new CliFailure(failed ? `${name} has no failed run in its history` : `${name} has not run yet`);
  ctx.stderr.write(`run ${run.id} of ${name}: ${run.status}, ${formatTime(run.createdAt, displayZone(ctx))}\n`);
  return run.id;
}

/** `pause JOB` / `resume JOB`: scheduled runs stop or start again; manual runs always work. */
export function pauseCommand(paused: boolean) {
  return async (args: CommandArgs, ctx: CliContext, client: ApiClient): Promise<number> => {
    const name = parseJobName(args.positionals[0] ?? '');
    const job = await client.postJson<JobView>(`/api/jobs/${encodeURIComponent(name)}/${paused ? 'pause' : 'resume'}`);
    if (booleanValue(args, 'json')) {
      ctx.stdout.write(json(job));
      return 0;
    }
    if (!job.schedule) ctx.stdout.write(`${name} has no schedule; it runs only when started\n`);
    else if (paused) ctx.stdout.write(`paused ${name}: no scheduled runs until hearth resume ${name}\n`);
    else ctx.stdout.write(`resumed ${name}: next run ${nextRunText(job)}\n`);
    return 0;
  };
}

/** `retry RUN`: a new run of the same job with the same input (trigger `retry`). */
export async function retryCommand(args: CommandArgs, ctx: CliContext, client: ApiClient): Promise<number> {
  const id = parseRunId(args.positionals[0] ?? '');
  const asJson = booleanValue(args, 'json');
  const started = await client.postJson<{ runId: string; run: Run }>(`/api/runs/${id}/retry`);
  if (!booleanValue(args, 'wait')) {
    if (asJson) ctx.stdout.write(json(started));
    else if (ctx.stdout.isTTY) ctx.stdout.write(`retrying ${started.run.job}: run ${started.runId}\nfollow it with: hearth logs ${started.runId} -f\n`);
    else ctx.stdout.write(`${started.runId}\n`);
    return 0;
  }
  if (!asJson) ctx.stderr.write(`retrying ${started.run.job}: run ${started.runId}\n`);
  const onLine = asJson ? () => {} : (line: string) => ctx.stdout.write(`${line}\n`);
  const final = await followUntilFinished(ctx, client, started.runId, onLine);
  if (asJson) ctx.stdout.write(json(final));
  else ctx.stderr.write(`${runSummary(final)}\n`);
  return final.status === 'succeeded' ? 0 : 1;
}

export async function cancelCommand(args: CommandArgs, ctx: CliContext, client: ApiClient): Promise<number> {
  const id = parseRunId(args.positionals[0] ?? '');
  const run = await client.postJson<Run>(`/api/runs/${id}/cancel`);
  if (booleanValue(args, 'json')) ctx.stdout.write(json(run));
  else ctx.stdout.write(`cancelling run ${run.id} (${run.job})\n`);
  return 0;
}

/** Streams the run's log until it ends, then returns the finished run. */
async function followUntilFinished(
  ctx: CliContext,
  client: ApiClient,
  runId: string,
  onLine: (line: string) => void,
): Promise<Run> {
  await followLog(ctx, client, runId, onLine);
  return await client.getJson<Run>(`/api/runs/${runId}`);
}

/**
 * Follows a run's log over SSE until its `end` event. If the connection drops
 * (the appliance restarted, Wi-Fi blipped) it reconnects; the server replays
 * the log from the start, so lines already shown are skipped. (Exact while
 * the log is under its cap: a capped running log drops middle lines as it
 * grows, so a reconnect then may repeat or miss a few lines.) With `tail`,
 * each connection starts at the last `tail` lines.
 */
export async function followLog(
  ctx: CliContext,
  client: ApiClient,
  runId: string,
  onLine: (line: string) => void,
  tail?: number,
): Promise<void> {
  const sleep = ctx.sleep ?? realSleep;
  let shown = 0;
  for (let reconnects = 0; ; reconnects++) {
    let seen = 0;
    // Counting lines only matches a replay from the start; after a tail replay the window has moved.
    if (tail !== undefined && reconnects > 0) {
      shown = 0;
      ctx.stderr.write(`hearth: reconnected; showing the last ${tail} lines again\n`);
    }
    try {
      for await (const event of client.events(`/api/runs/${runId}/logs${tail === undefined ? '' : `?tail=${tail}`}`)) {
        if (event.event === 'line') {
          seen++;
          if (seen > shown) {
            shown = seen;
            onLine(event.data);
          }
        } else if (event.event === 'end') {
          return;
        } else if (event.event === 'error') {
          throw new CliFailure(`following the log of ${runId} failed: ${event.data}`);
        }
      }
    } catch (error) {
      if (!(error instanceof ConnectionLostError || error instanceof UnreachableError)) throw error;
    }
    if (reconnects >= MAX_RECONNECTS) {
      throw new CliFailure(`lost the connection to ${client.baseUrl} while following run ${runId}`);
    }
    await sleep(RECONNECT_DELAY_MS);
  }
}

/**
 * The next run in the schedule's own zone, named, so it reads like the
 * schedule's description ("every day at 03:00 (Europe/London)" next runs at
 * "… 03:00:00 Europe/London"), whatever zone the terminal is in.
 */
function nextRunText(job: JobView): string {
  const schedule = job.schedule;
  if (!schedule?.nextRun) return '-';
  return `${formatTime(schedule.nextRun, schedule.timezone)} ${schedule.timezone}`;
}

function scheduleText(job: JobView): string {
  if (!job.schedule) return '-';
  const text = job.schedule.description || job.schedule.expression;
  return job.schedule.paused ? `${text} (paused)` : text;
}

function runSummary(run: Run): string {
  const took = runDuration(run);
  const base = `run ${run.id} ${run.status}${took === '-' ? '' : ` in ${took}`}`;
  return run.error ? `${base}: ${run.error}` : base;
}

/** Times are shown in TZ when it names a real zone, else in the system's zone. */
export function displayZone(ctx: CliContext): string | undefined {
  const zone = ctx.env.TZ;
  if (!zone) return undefined;
  try {
    new Intl.DateTimeFormat('en', { timeZone: zone });
    return zone;
  } catch {
    return undefined;
  }
}

/** Writes and, when the output is a stream that is full (a pipe to a slow reader), waits for it to drain. */
function written(output: CliContext['stdout'], text: string): Promise<void> | void {
  const stream = output as CliContext['stdout'] & { once?: (event: 'drain', listener: () => void) => unknown };
  if (output.write(text) === false && typeof stream.once === 'function') {
    return new Promise((resolve) => stream.once!('drain', resolve));
  }
}
