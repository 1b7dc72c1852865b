#!/usr/bin/env node
/**
 * npm run bench -- history: how the run history and the dashboard scale.
 *
 *  - history queries (GET /api/runs …) and the pages that read history (/, /jobs/NAME)
 *    at 100 / 10k / 100k runs (1M with --1m), 10 jobs, a year of history: the newest 50
 *    runs per job in state.json (as a running appliance keeps them), the rest in
 *    history/<month>.jsonl written directly. Cold (first request after start) and warm
 *    (median of 20) times, measured by the client over loopback HTTP;
 *  - the /jobs page at 10 and 1,000 jobs: time (median of 20) and bytes;
 *  - RSS of the hearth process after 51 loads of /jobs at 1,000 jobs, a minute of history
 *    queries at 100k runs, and 30 s later.
 *
 * Ratios are printed beside the times (100k / 100 runs, 1,000 / 10 jobs): flat is ≈ 1.
 * Runs against dist/ (npm run build first). Targets (issue 13): every history query and
 * the home page ≤ 10 ms at 100k runs and ≤ 20 ms at 1M; /jobs ≤ 20 ms and ≤ 100 KB at
 * 1,000 jobs; RSS ≤ 100 MB.
 */
import { cpSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync, writeSync, closeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { ROOT, startHearth, unitMallocEnv } from './dashboard-harness.mjs';
import { memoryOf } from './proc-memory.mjs';
import { percentile } from './bench-lib.mjs';

const { FileRunStore } = await import(join(ROOT, 'dist/runs/file-store.js'));
const { silentLogger } = await import(join(ROOT, 'dist/core/logger.js'));
const { RunIdGenerator } = await import(join(ROOT, 'dist/core/ids.js'));
const { systemClock } = await import(join(ROOT, 'dist/core/clock.js'));

import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

// A real gc() for retained-heap figures, without asking for --expose-gc.
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc');
const heapMB = () => {
  gc();
  const { heapUsed, external, arrayBuffers } = process.memoryUsage();
  return (heapUsed + external + arrayBuffers) / 2 ** 20;
};

const withMillion = process.argv.includes('--1m');
const KEEP_PER_JOB = 50;
const DAY_MS = 86_400_000;
const YEAR_MS = 365 * DAY_MS;

const median = (values) => percentile(values, 50);

function line(name, value, unit, extra = '') {
  console.log(`${name.padEnd(52)} ${String(value).padStart(9)} ${unit.padEnd(5)} ${extra}`);
}

function makeRun(ids, job, at, i) {
  const status = i % 50 === 7 ? 'failed' : i % 100 === 13 ? 'cancelled' : 'succeeded';
  const created = new Date(at).toISOString();
  const started = new Date(at + 20).toISOString();
  const finished = new Date(at + 1_500).toISOString();
  const task = { status, attempt: 1, startedAt: started, finishedAt: finished, exitCode: status === 'failed' ? 1 : 0, output: 'done\n' };
  if (status === 'failed') task.error = 'exit code 1';
  return {
    id: ids.next(at),
    job,
    status,
    trigger: 'schedule',
    scheduledFor: created,
    occurrences: 1,
    createdAt: created,
    startedAt: started,
    finishedAt: finished,
    ...(status === 'failed' ? { error: 'task main failed: exit code 1' } : {}),
    tasks: { main: task },
    taskOrder: ['main'],
  };
}

/** A data dir with `total` runs of `jobs` jobs over the last year: history files + the newest 50 per job in state. */
async function prepareHistory(dataDir, total, jobs) {
  const now = Date.now();
  const ids = new RunIdGenerator();
  const step = YEAR_MS / total;
  // The newest run a minute ago (not in the future: runs that fire during the bench must sort newest).
  const start = now - 60_000 - (total - 1) * step;
  const inState = Math.min(total, KEEP_PER_JOB * jobs);
  const archived = total - inState;
  const historyDir = join(dataDir, 'history');
  mkdirSync(historyDir, { recursive: true });
  let month;
  let fd;
  let buffer = [];
  const flush = () => {
    if (fd !== undefined && buffer.length > 0) writeSync(fd, buffer.join(''));
    buffer = [];
  };
  for (let i = 0; i < archived; i++) {
    const at = Math.floor(start + i * step);
    const run = makeRun(ids, `job-${i % jobs}`, at, i);
    const runMonth = run.createdAt.slice(0, 7);
    if (runMonth !== month) {
      flush();
      if (fd !== undefined) closeSync(fd);
      month = runMonth;
      fd = openSync(join(historyDir, `${month}.jsonl`), 'a');
    }
    buffer.push(JSON.stringify(run) + '\n');
    if (buffer.length >= 2000) flush();
  }
  flush();
  if (fd !== undefined) closeSync(fd);
  // The newest runs go straight into state.json, as a checkpoint leaves it (inserting 50k runs through the store
  // would rewrite a 20 MB state.json at every checkpoint); opening the store then writes its WAL.
  const doc = { version: 1, runs: {}, schedules: {}, meta: {}, lastSuccess: {}, walGeneration: 0 };
  for (let i = archived; i < total; i++) {
    const run = makeRun(ids, `job-${i % jobs}`, Math.floor(start + i * step), i);
    doc.runs[run.id] = run;
    if (run.status === 'succeeded') doc.lastSuccess[run.job] = { id: run.id, finishedAt: run.finishedAt };
  }
  writeFileSync(join(dataDir, 'state.json'), JSON.stringify(doc));
  const store = new FileRunStore({ dataDir, clock: systemClock, logger: silentLogger, keepPerJob: KEEP_PER_JOB });
  await store.open();
  await store.close();
}

function jobsYaml(count, { schedule }) {
  let yaml = '';
  for (let i = 0; i < count; i++) {
    yaml += `  job-${i}:\n    description: Job number ${i} of the benchmark\n`;
    if (schedule) yaml += `    schedule: { cron: "${i % 60} ${i % 24} * * *" }\n`;
    yaml += `    run: "true"\n`;
  }
  return yaml;
}

/** CPU time (user + system) of a process in ms, from /proc: robust to other load on a shared machine. */
function cpuMs(pid) {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

/** The store's own figures, in this process: cold (first query after open) and warm CPU time per query. */
async function storeQueries(dataDir, size) {
  const heapBefore = heapMB();
  const store = new FileRunStore({ dataDir, clock: systemClock, logger: silentLogger, keepPerJob: KEEP_PER_JOB });
  await store.open();
  try {
    const queries = [
      ['listRuns({ limit: 50 })', { limit: 50 }],
      ['listRuns({ job, limit: 50 })', { job: 'job-3', limit: 50 }],
      ['listRuns({ status: failed, limit: 10 })', { status: 'failed', limit: 10 }],
      ['listRuns({ status: running, limit: 10 })', { status: 'running', limit: 10 }],
      ['listRuns({ job, limit: 500, before }) x3', 'pages'],
    ];
    for (const [name, query] of queries) {
      const once = async () => {
        if (query !== 'pages') return store.listRuns(query);
        let before;
        for (let i = 0; i < 3; i++) {
          const page = await store.listRuns({ job: 'job-3', limit: 500, ...(before ? { before } : {}) });
          before = page.nextBefore;
          if (!before) break;
        }
      };
      const c0 = process.cpuUsage();
      await once();
      const cold = process.cpuUsage(c0);
      const reps = 50;
      const c1 = process.cpuUsage();
      const t1 = performance.now();
      for (let i = 0; i < reps; i++) await once();
      const cpu = process.cpuUsage(c1);
      const wall = (performance.now() - t1) / reps;
      const warm = (cpu.user + cpu.system) / 1000 / reps;
      figures.set(`store ${name}@${size}`, warm);
      const base = figures.get(`store ${name}@100`);
      line(`  store ${name}`, warm.toFixed(2), 'ms', `cpu/query warm; cold ${((cold.user + cold.system) / 1000).toFixed(1)} ms cpu; wall ${wall.toFixed(2)} ms${base ? ` (${(warm / base).toFixed(1)}× the 100-run figure)` : ''}`);
    }
    console.log(`  store: ${store.stats().historyFilesRead} month-file opens in all; JS heap + buffers kept by the open store after every query above: ${(heapMB() - heapBefore).toFixed(1)} MB`);
  } finally {
    await store.close();
  }
}

const figures = new Map();

async function timed(hearth, path, { auth = 'cookie' } = {}) {
  const headers = auth === 'token' ? { Authorization: `Bearer ${hearth.token}` } : { Cookie: hearth.cookie };
  const t0 = performance.now();
  const response = await fetch(hearth.url + path, { headers });
  const body = await response.arrayBuffer();
  const ms = performance.now() - t0;
  if (!response.ok) throw new Error(`${path}: HTTP ${response.status}`);
  return { ms, bytes: body.byteLength };
}

const QUERIES = [
  ['GET /api/runs?limit=50', '/api/runs?limit=50', 'token'],
  ['GET /api/runs?job=job-3&limit=50', '/api/runs?job=job-3&limit=50', 'token'],
  ['GET /api/runs?status=failed&limit=50', '/api/runs?status=failed&limit=50', 'token'],
  ['GET /api/runs?status=running&limit=50', '/api/runs?status=running&limit=50', 'token'],
  ['home page /', '/', 'cookie'],
  ['job page /jobs/job-3', '/jobs/job-3', 'cookie'],
];

async function historyScaling() {
  const only = process.argv.find((arg) => arg.startsWith('--sizes='));
  const sizes = only ? only.slice(8).split(',').map(Number) : [100, 10_000, 100_000, ...(withMillion ? [1_000_000] : [])];
  const figures = new Map();
  for (const size of sizes) {
    const t0 = performance.now();
    let built = 0;
    const hearth = await startHearth(jobsYaml(10, { schedule: false }), {
      prepare: async (dataDir) => {
        await prepareHistory(dataDir, size, 10);
        built = performance.now() - t0;
        console.log(`\n${size.toLocaleString('en')} runs of history (10 jobs; built in ${(built / 1000).toFixed(1)} s):`);
        await storeQueries(dataDir, size);
      },
    });
    try {
      const idle = memoryOf(hearth.child.pid);
      for (const [name, path, auth] of QUERIES) {
        const cold = await timed(hearth, path, { auth });
        const warm = [];
        const cpu0 = cpuMs(hearth.child.pid);
        for (let i = 0; i < 20; i++) warm.push((await timed(hearth, path, { auth })).ms);
        const cpu = (cpuMs(hearth.child.pid) - cpu0) / 20;
        const ms = median(warm);
        figures.set(`${name}@${size}`, ms);
        const base = figures.get(`${name}@100`);
        const ratio = size === 100 || base === undefined ? '' : `(${(ms / base).toFixed(1)}× the 100-run time)`;
        line(`  ${name}`, ms.toFixed(2), 'ms', `median wall; server cpu ${cpu.toFixed(1)} ms/req; cold ${cold.ms.toFixed(1)} ms ${ratio}`);
      }
      if (size === 100_000) {
        // A minute's worth of normal use against a big history, then the process's memory.
        for (let i = 0; i < 60; i++) for (const [, path, auth] of QUERIES) await timed(hearth, path, { auth });
        const after = memoryOf(hearth.child.pid);
        line('  RSS idle, then after 360 history requests', after.rss.toFixed(1), 'MB', `(anonymous ${after.anon.toFixed(1)}; idle ${idle.rss.toFixed(1)}, anonymous ${idle.anon.toFixed(1)})`);
      }
    } finally {
      await hearth.stop();
      rmSync(hearth.dir, { recursive: true, force: true });
    }
  }
}

async function jobsPage() {
  console.log('\n/jobs page:');
  for (const count of [10, 1_000]) {
    const hearth = await startHearth(jobsYaml(count, { schedule: true }));
    try {
      const idle = memoryOf(hearth.child.pid);
      const cold = await timed(hearth, '/jobs');
      const warm = [];
      let bytes = cold.bytes;
      for (let i = 0; i < 20; i++) {
        const result = await timed(hearth, '/jobs');
        warm.push(result.ms);
        bytes = result.bytes;
      }
      const ms = median(warm);
      figures.set(`jobs@${count}`, ms);
      const cpu0 = cpuMs(hearth.child.pid);
      for (let i = 0; i < 20; i++) await timed(hearth, '/jobs');
      const cpu = (cpuMs(hearth.child.pid) - cpu0) / 20;
      const ratio = `server cpu ${cpu.toFixed(1)} ms/req` + (count === 10 ? '' : ` (${(ms / figures.get('jobs@10')).toFixed(1)}× the 10-job time)`);
      line(`  /jobs at ${count.toLocaleString('en')} jobs`, ms.toFixed(2), 'ms', `${(bytes / 1024).toFixed(1)} KB, cold ${cold.ms.toFixed(1)} ms ${ratio}`);
      if (count === 1_000) {
        for (let i = 41; i < 51; i++) await timed(hearth, '/jobs');
        const loaded = memoryOf(hearth.child.pid);
        line('  RSS idle at 1,000 jobs', idle.rss.toFixed(1), 'MB', `(anonymous ${idle.anon.toFixed(1)})`);
        line('  RSS after 51 loads of /jobs', loaded.rss.toFixed(1), 'MB', `(anonymous ${loaded.anon.toFixed(1)})`);
        await new Promise((resolve) => setTimeout(resolve, 30_000));
        const settled = memoryOf(hearth.child.pid);
        line('  RSS 30 s later', settled.rss.toFixed(1), 'MB', `(anonymous ${settled.anon.toFixed(1)})`);
      }
    } finally {
      await hearth.stop();
      rmSync(hearth.dir, { recursive: true, force: true });
    }
  }
}

/** VmRSS and the anonymous / file-backed split of /proc/PID/smaps_rollup, in MB. */
function rollup(pid) {
  const text = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
  const kb = (name) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? NaN);
  const rss = kb('Rss');
  const anon = kb('Anonymous');
  return { rss: rss / 1024, anon: anon / 1024, file: (rss - anon) / 1024, hwm: memoryOf(pid).hwm };
}

/**
 * --smaps: resident MB by mapping from /proc/PID/smaps, the biggest first: `[heap]` is glibc's main arena (brk),
 * `anon` every other anonymous mapping (V8's heap pages, other arenas, thread stacks, mmapped malloc blocks), files by
 * name (the node binary's code and data, the bundle, libraries).
 */
function smapsByMapping(pid) {
  const totals = new Map();
  let name;
  for (const row of readFileSync(`/proc/${pid}/smaps`, 'utf8').split('\n')) {
    const header = /^[0-9a-f]+-[0-9a-f]+ \S+ \S+ \S+ \S+\s*(.*)$/.exec(row);
    if (header) name = header[1] || 'anon';
    else if (row.startsWith('Rss:')) totals.set(name, (totals.get(name) ?? 0) + Number(/(\d+)/.exec(row)[1]) / 1024);
  }
  return [...totals].sort((a, b) => b[1] - a[1]).filter(([, mb]) => mb >= 0.5).map(([n, mb]) => `${n.replace(/^.*\//, '')} ${mb.toFixed(1)}`).join(', ');
}

function describeRollup({ rss, anon, file }) {
  return `${rss.toFixed(1)} MB (anonymous ${anon.toFixed(1)}, file-backed ${file.toFixed(1)})`;
}

const HOUR_JOBS = 1_000;
/** Jobs that fire during the compressed hour: every minute in real life, every 2 s here (20 × 60 = 1,200 runs). */
const FAST_JOBS = 20;

/** --only=runs: the runs fire and nobody uses the dashboard; --only=use: the dashboard is used and no job fires. */
const only = process.argv.find((arg) => arg.startsWith('--only='))?.slice(7);

function hourJobsYaml() {
  let yaml = '';
  for (let i = 0; i < HOUR_JOBS; i++) {
    yaml += `  job-${i}:\n    description: Job ${i}\n`;
    yaml += i < FAST_JOBS && only !== 'use' ? `    schedule: { every: 2s }\n` : `    schedule: { cron: "${i % 60} ${i % 24} * * *" }\n`;
    yaml += `    run: "echo job ${i}; echo ok"\n`;
  }
  return yaml;
}

/**
 * One "minute" of a person using the dashboard and the API: the pages they open and what those pages fetch.
 * `n` picks different jobs, pages and runs each minute.
 */
async function minuteOfUse(hearth, n) {
  const token = { auth: 'token' };
  const get = (path, options) => timed(hearth, path, options);
  const json = async (path) => {
    const response = await fetch(hearth.url + path, { headers: { Authorization: `Bearer ${hearth.token}` } });
    if (!response.ok) throw new Error(`${path}: HTTP ${response.status}`);
    return response.json();
  };
  await get('/');
  await get(`/jobs?page=${1 + (n % 20)}`);
  await get(`/jobs?q=job-${n % 100}`);
  const job = `job-${n % 2 === 0 ? n % FAST_JOBS : (n * 37) % HOUR_JOBS}`;
  await get(`/jobs/${job}`);
  const { runs } = await json(`/api/runs?job=${job}&limit=50`);
  if (runs.length > 0) {
    const run = runs[n % runs.length];
    await get(`/runs/${run.id}`);
    await get(`/api/runs/${run.id}/logs`, token);
    await get(`/api/runs/${run.id}`, token);
  }
  const page = await json('/api/runs?limit=50');
  if (page.nextBefore) await get(`/runs?before=${page.nextBefore}`);
  await get(['/runs?status=failed', '/runs?status=cancelled', '/runs?status=succeeded', '/runs'][n % 4]);
  await get('/api/runs?status=failed&limit=50', token);
  await get('/api/runs?status=running&limit=50', token);
  await get('/api/attention', token);
  await get('/inbox');
  if (n % 5 === 0) await get('/settings');
  if (n % 10 === 0) await get('/api/jobs', token);
  await get(`/api/jobs/${job}`, token);
  // The live view: an SSE connection held for a moment, then dropped (a tab closed).
  const controller = new AbortController();
  const events = await fetch(hearth.url + '/events', { headers: { Cookie: hearth.cookie }, signal: controller.signal });
  if (!events.ok) throw new Error(`/events: HTTP ${events.status}`);
  const reader = events.body.getReader();
  await Promise.race([reader.read(), new Promise((r) => setTimeout(r, 200))]);
  controller.abort();
  await reader.cancel().catch(() => {});
}

/**
 * RSS after an hour of normal use at 1,000 jobs and 100k runs of history (issue 13 item 3, ≤ 100 MB), compressed:
 * a real `hearth start` on a data dir with 100k runs (the newest 50 per job in state.json, the rest in history/),
 * 20 of the 1,000 jobs firing every 2 s for 2 minutes (an hour of every-minute runs: 1,200), and 60 "minutes" of
 * dashboard and API use (~20 requests each, an SSE connect/disconnect) meanwhile. RSS at start, after, 60 s later.
 * `--node-args=a,b` passes flags to node before bin/hearth.js; `--heap-snapshots=DIR` writes a heap snapshot at
 * each of the three points (SIGUSR2) into DIR. Hearth runs with the systemd unit's malloc settings, as on the Pi
 * (`--no-unit-env`: without them; MALLOC_* in this environment override them).
 */
async function hourOfUse() {
  const runsArg = process.argv.find((arg) => arg.startsWith('--runs='));
  const totalRuns = runsArg ? Number(runsArg.slice(7)) : 100_000;
  const nodeArgs = (process.argv.find((arg) => arg.startsWith('--node-args='))?.slice(12).split(',') ?? []).filter(Boolean);
  const snapshotDir = process.argv.find((arg) => arg.startsWith('--heap-snapshots='))?.slice(17);
  if (snapshotDir) {
    mkdirSync(snapshotDir, { recursive: true });
    nodeArgs.push('--heapsnapshot-signal=SIGUSR2', `--diagnostic-dir=${snapshotDir}`);
  }
  // --gc-log=FILE: node's --trace-gc lines (heap sizes at every GC) into FILE, to set against RSS.
  const gcLog = process.argv.find((arg) => arg.startsWith('--gc-log='))?.slice(9);
  if (gcLog) nodeArgs.push('--trace-gc');
  // As the Pi runs it: the systemd unit's malloc settings (what this environment sets wins; --no-unit-env: none).
  const env = process.argv.includes('--no-unit-env') ? {} : Object.fromEntries(Object.entries(unitMallocEnv()).filter(([name]) => process.env[name] === undefined));
  const mallocEnv = Object.entries({ ...env, ...Object.fromEntries(Object.entries(process.env).filter(([name]) => name.startsWith('MALLOC_'))) }).map(([name, value]) => `${name}=${value}`).join(' ') || 'none';
  const t0 = performance.now();
  const hearth = await startHearth(hourJobsYaml(), {
    nodeArgs,
    env,
    ...(gcLog ? { stdout: openSync(gcLog, 'w') } : {}),
    startTimeoutMs: 120_000,
    prepare: async (dataDir) => {
      // --seed-cache=DIR keeps the seeded data dir for the next run (building it takes a minute or more).
      const cache = process.argv.find((arg) => arg.startsWith('--seed-cache='))?.slice(13);
      if (cache && existsSync(cache)) cpSync(cache, dataDir, { recursive: true });
      else {
        await prepareHistory(dataDir, totalRuns, HOUR_JOBS);
        // A running appliance has indexed its months long ago: page one job back to the start, so every month
        // gets its sidecar (otherwise the hour would include indexing 100k runs once).
        const store = new FileRunStore({ dataDir, clock: systemClock, logger: silentLogger, keepPerJob: KEEP_PER_JOB });
        await store.open();
        let before;
        do before = (await store.listRuns({ job: 'job-1', limit: 500, ...(before ? { before } : {}) })).nextBefore;
        while (before);
        await store.close();
        if (cache) cpSync(dataDir, cache, { recursive: true });
      }
      console.log(`\nan hour of use at ${HOUR_JOBS.toLocaleString('en')} jobs and ${totalRuns.toLocaleString('en')} runs (history built in ${((performance.now() - t0) / 1000).toFixed(1)} s; malloc env: ${mallocEnv}${nodeArgs.length ? `; node ${nodeArgs.join(' ')}` : ''}):`);
    },
  });
  const pid = hearth.child.pid;
  const withSmaps = process.argv.includes('--smaps');
  const snapshot = async () => {
    if (withSmaps) console.log(`    by mapping (MB): ${smapsByMapping(pid)}`);
    if (!snapshotDir) return;
    process.kill(pid, 'SIGUSR2');
    await new Promise((r) => setTimeout(r, 5_000));
  };
  try {
    await new Promise((r) => setTimeout(r, 20_000));
    const start = rollup(pid);
    line('  RSS 20 s after start', start.rss.toFixed(1), 'MB', describeRollup(start));
    await snapshot();
    const cpu0 = cpuMs(pid);
    const firstRun = (await (await fetch(`${hearth.url}/api/runs?limit=1`, { headers: { Authorization: `Bearer ${hearth.token}` } })).json()).runs[0]?.id;
    const until = performance.now() + 120_000;
    const minuteTimes = [];
    for (let n = 0; n < 60; n++) {
      const before = performance.now();
      if (only !== 'runs') await minuteOfUse(hearth, n);
      minuteTimes.push(performance.now() - before);
      // Spread the 60 minutes over the 2 minutes the runs take (a person is not a load generator).
      const left = until - performance.now();
      if (left > 0) await new Promise((r) => setTimeout(r, left / (60 - n)));
    }
    let fired = 0;
    for (let i = 0; i < FAST_JOBS; i++) {
      const { runs } = await (await fetch(`${hearth.url}/api/runs?job=job-${i}&limit=200`, { headers: { Authorization: `Bearer ${hearth.token}` } })).json();
      fired += runs.filter((run) => run.id > firstRun).length;
    }
    const after = rollup(pid);
    line('  RSS after the hour (60 minutes of use)', after.rss.toFixed(1), 'MB', `${describeRollup(after)}; ${fired} runs fired; server cpu ${((cpuMs(pid) - cpu0) / 1000).toFixed(1)} s; a minute of use ${median(minuteTimes).toFixed(0)} ms wall (median)`);
    await snapshot();
    await new Promise((r) => setTimeout(r, 60_000));
    const later = rollup(pid);
    line('  RSS 60 s later', later.rss.toFixed(1), 'MB', `${describeRollup(later)}; peak (VmHWM) ${later.hwm.toFixed(1)} MB; target ≤ 100 MB`);
    await snapshot();
  } finally {
    await hearth.stop();
    rmSync(hearth.dir, { recursive: true, force: true });
  }
}

const part = process.argv.find((arg) => arg === 'jobs' || arg === 'queries' || arg === 'hour');
if (!part || part === 'queries') await historyScaling();
if (!part || part === 'jobs') await jobsPage();
if (!part || part === 'hour') await hourOfUse();
