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
import { mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync, writeSync, closeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { ROOT, startHearth } from './dashboard-harness.mjs';
import { memoryOf } from './proc-memory.mjs';

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

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

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
  const start = now - YEAR_MS + DAY_MS;
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
  const store = new FileRunStore({ dataDir, clock: systemClock, logger: silentLogger, keepPerJob: KEEP_PER_JOB });
  await store.open();
  for (let i = archived; i < total; i++) {
    const run = makeRun(ids, `job-${i % jobs}`, Math.floor(start + i * step), i);
    await store.insertRun({ ...run, status: 'queued', tasks: { main: { status: 'pending', attempt: 0 } } });
    store.updateRun(run);
  }
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

const part = process.argv.find((arg) => arg === 'jobs' || arg === 'queries');
if (!part || part === 'queries') await historyScaling();
if (!part || part === 'jobs') await jobsPage();
