#!/usr/bin/env node
/**
 * npm run bench: measures the engine's figures and prints them with the
 * machine they ran on. Targets (README): p99 fire latency ≤ 20 ms with 1,000
 * schedules, ≥ 1,000 durable no-op runs/s, ≤ 16 KB written per run with
 * 10,000 runs of history, idle RSS ≤ 55 MB, /api/health answering ≤ 0.4 s,
 * four readers of a 100 MB run log < 100 MB of RSS above idle.
 *
 * Then the knowledge store's figures (scripts/bench-knowledge.mjs). One part
 * only: npm run bench -- fire | runs | start | logs | logdisk | idle | knowledge | history | gmail | slack (slack runs only when named)
 * (`npm run bench -- idle startup|idle|runs` for one row group of the scaling section).
 *
 * Runs against dist/ (what `hearth start` runs), so build first.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { cpus, totalmem, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { describeMemory, memoryOf } from './proc-memory.mjs';
import { freePort, percentile } from './bench-lib.mjs';
import { makeBenchEngine, noopAction } from './bench-engine.mjs';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { statSync } from 'node:fs';

// A real gc() for memory figures, without asking `npm run bench` for --expose-gc.
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc');

const root = resolve(import.meta.dirname, '..');
const dist = (path) => import(join(root, 'dist', path));

const { DEFAULT_RETRY } = await dist('config/types.js');

const only = process.argv[2];
const results = [];

function machine() {
  const cpu = cpus()[0]?.model ?? 'unknown cpu';
  return `${cpu}, ${cpus().length} cores, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}, ${process.platform}-${process.arch}`;
}

function report(name, value, unit, target) {
  results.push({ name, value, unit, target });
  console.log(`${name.padEnd(44)} ${String(value).padStart(10)} ${unit.padEnd(8)} (target ${target})`);
}

function ioWriteBytes() {
  const io = readFileSync('/proc/self/io', 'utf8');
  return Number(/^write_bytes: (\d+)/m.exec(io)[1]);
}


function jobDef(name, extra = {}) {
  return {
    name,
    pool: 'default',
    overlap: 'allow',
    retries: { ...DEFAULT_RETRY, jitter: 0 },
    env: {},
    tasks: [{ name: 'main', action: 'noop', dependsOn: [], with: {}, env: {}, continueOnError: false }],
    ...extra,
  };
}


async function waitUntil(predicate, timeoutMs = 120_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error('bench timed out');
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** 1,000 `every: 60s` schedules spread over the minute, plus a burst where all are due at once. */
async function fireLatency() {
  const dir = mkdtempSync(join(tmpdir(), 'hearth-bench-fire-'));
  const latencies = [];
  const start = Date.now();
  const firstDue = Math.ceil((start + 2000) / 1000) * 1000;
  const jobs = Array.from({ length: 1000 }, (_, i) =>
    jobDef(`job-${i}`, {
      schedule: { spec: { kind: 'every', everyMs: 60_000, anchor: firstDue + (i % 50) * 200 }, timezone: 'UTC', catchup: 'none', maxCatchup: 1 },
    }),
  );
  const { engine, store } = await makeBenchEngine(dir, jobs, {
    onInsert: (run) => run.scheduledFor && latencies.push(Date.now() - Date.parse(run.scheduledFor)),
  });
  await engine.start();
  await waitUntil(() => latencies.length >= 1000, 90_000);
  await engine.stop();
  await store.close();
  rmSync(dir, { recursive: true, force: true });
  report('fire latency p50 (1,000 schedules, 20 due per 200 ms)', percentile(latencies, 50), 'ms', '—');
  report('fire latency p99 (1,000 schedules, 20 due per 200 ms)', percentile(latencies, 99), 'ms', '≤ 20 ms');

  const burstDir = mkdtempSync(join(tmpdir(), 'hearth-bench-burst-'));
  const burst = [];
  const due = Math.ceil((Date.now() + 2000) / 1000) * 1000;
  const burstJobs = jobs.map((j) => ({ ...j, schedule: { ...j.schedule, spec: { kind: 'every', everyMs: 60_000, anchor: due } } }));
  const second = await makeBenchEngine(burstDir, burstJobs, {
    onInsert: (run) => run.scheduledFor && burst.push(Date.now() - Date.parse(run.scheduledFor)),
  });
  await second.engine.start();
  await waitUntil(() => burst.length >= 1000, 90_000);
  await second.engine.stop();
  await second.store.close();
  rmSync(burstDir, { recursive: true, force: true });
  report('fire latency p99 (1,000 schedules due at once)', percentile(burst, 99), 'ms', '—');
  await diskSyncLatency();
}

/**
 * Fire latency ends with an fsync, so its p99 can be no better than the
 * disk's: measure a lone 4 KB append + fdatasync, paced like the scheduler's
 * passes, in the same folder the store used.
 */
async function diskSyncLatency() {
  const dir = mkdtempSync(join(tmpdir(), 'hearth-bench-fsync-'));
  const file = await open(join(dir, 'probe'), 'a');
  const samples = [];
  for (let i = 0; i < 300; i++) {
    const started = performance.now();
    await file.writeFile('x'.repeat(4095) + '\n');
    await file.datasync();
    samples.push(performance.now() - started);
    await new Promise((r) => setTimeout(r, 100));
  }
  await file.close();
  rmSync(dir, { recursive: true, force: true });
  const ms = (p) => percentile(samples, p).toFixed(1);
  report('disk: 4 KB append + fdatasync p50 / p99', `${ms(50)} / ${ms(99)}`, 'ms', 'none; fire p99 cannot beat it');
}

/** Durable no-op runs per second, then disk bytes per run with 10,000 runs of history. */
async function throughputAndWrites() {
  const dir = mkdtempSync(join(tmpdir(), 'hearth-bench-runs-'));
  const { engine, store } = await makeBenchEngine(dir, [jobDef('noop')]);
  await engine.start();
  const finishedCount = async () => (await store.listRuns({ job: 'noop', limit: 1 })).runs[0]?.status === 'succeeded';

  async function runBatch(total, inFlight = 200) {
    let created = 0;
    const ids = [];
    const worker = async () => {
      while (created < total) {
        created++;
        const run = await engine.triggerJob('noop', 'api');
        ids.push(run.id);
      }
    };
    await Promise.all(Array.from({ length: inFlight }, worker));
    await waitUntil(async () => engine.health().runs.queued + engine.health().runs.running === 0);
    return ids;
  }

  const t0 = performance.now();
  await runBatch(10_000);
  const seconds = (performance.now() - t0) / 1000;
  await waitUntil(finishedCount);
  report('durable no-op runs per second (10,000 runs)', Math.round(10_000 / seconds), 'runs/s', '≥ 1,000');

  await store.flush();
  const before = ioWriteBytes();
  await runBatch(2_000);
  await store.flush();
  const written = ioWriteBytes() - before;
  report('bytes written per run (after 10,000 runs)', Math.round(written / 2_000), 'B', '≤ 16,384 B');
  await engine.stop();
  await store.close();
  rmSync(dir, { recursive: true, force: true });
}


/**
 * Workflows: a run of 1,000 durable step.run no-ops (each journaled and
 * fdatasynced before the next step starts), bytes written per step, and the
 * memory a suspended (sleeping) workflow costs while parked.
 */
async function workflowSteps() {
  const dir = mkdtempSync(join(tmpdir(), 'hearth-bench-steps-'));
  const STEPS = 1_000;
  const stepsAction = {
    name: 'steps',
    validate: () => [],
    execute: async (_params, { step }) => {
      for (let i = 0; i < STEPS; i++) await step.run(`s${i}`, () => i);
      return STEPS;
    },
  };
  const sleepAction = { name: 'sleeper', validate: () => [], execute: async (_params, { step }) => step.sleep('nap', '1h') };
  const { engine, store } = await makeBenchEngine(dir, [jobDef('steps', { tasks: [{ ...jobDef('x').tasks[0], action: 'steps' }] }), jobDef('sleeper', { tasks: [{ ...jobDef('x').tasks[0], action: 'sleeper' }] })], {
    actions: [stepsAction, sleepAction],
  });
  await engine.start();
  const done = async (id) => (await store.getRun(id))?.status === 'succeeded';

  // Warm up (module loading, the first file), then measure a fresh run.
  const warm = await engine.triggerJob('steps', 'api');
  await waitUntil(() => done(warm.id));
  await store.flush();
  const before = ioWriteBytes();
  const t0 = performance.now();
  const run = await engine.triggerJob('steps', 'api');
  await waitUntil(() => done(run.id));
  const seconds = (performance.now() - t0) / 1000;
  await store.flush();
  const written = ioWriteBytes() - before;
  report(`durable step.run per second (${STEPS.toLocaleString('en')} steps)`, Math.round(STEPS / seconds), 'steps/s', '≥ 500');
  report('bytes written per step (disk, /proc/self/io)', Math.round(written / STEPS), 'B', '≤ 2,048 B');
  const journalBytes = statSync(join(dir, 'steps', `${run.id}.jsonl`)).size;
  console.log(`  (the journal itself grows ${Math.round(journalBytes / STEPS)} B per step; each step's fdatasync writes back at least one 4 KiB page)`);

  // Suspended workflows: parked runs hold their Run record and nothing else.
  const SLEEPERS = 1_000;
  gc();
  const rssBefore = process.memoryUsage().rss;
  const heapBefore = process.memoryUsage().heapUsed;
  for (let i = 0; i < SLEEPERS; i++) await engine.triggerJob('sleeper', 'api');
  await waitUntil(async () => engine.health().runs.waiting === SLEEPERS);
  await store.flush();
  gc();
  const perRss = (process.memoryUsage().rss - rssBefore) / SLEEPERS;
  const perHeap = (process.memoryUsage().heapUsed - heapBefore) / SLEEPERS;
  report(`memory kept per suspended workflow (${SLEEPERS.toLocaleString('en')} asleep)`, Math.round(perHeap), 'B', '≤ 10,240 B');
  console.log(`  (JS heap after GC; RSS grew ${Math.round(perRss)} B per workflow, most of it heap V8 keeps after starting 1,000 runs at once)`);
  await engine.stop();
  await store.close();
  rmSync(dir, { recursive: true, force: true });
}

/** The floor under any Node program's RSS on this machine. */
async function bareNodeMemory() {
  const child = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 5000)'], { stdio: 'ignore' });
  await new Promise((r) => setTimeout(r, 1000));
  const memory = memoryOf(child.pid);
  child.kill();
  await new Promise((r) => child.once('exit', r));
  return memory;
}

/** Launch → /api/health answering, and idle RSS, of the real `hearth start` on the bundled example. */
async function startupAndRss() {
  const times = [];
  let memory;
  for (let i = 0; i < 5; i++) {
    const dir = mkdtempSync(join(tmpdir(), 'hearth-bench-start-'));
    const port = await freePort();
    writeFileSync(join(dir, 'hearth.yaml'), readFileSync(join(root, 'examples/hearth.yaml'), 'utf8'));
    const t0 = performance.now();
    const child = spawn(process.execPath, [join(root, 'bin/hearth.js'), 'start'], {
      cwd: dir,
      env: { ...process.env, HEARTH_PORT: String(port), HEARTH_HOST: '127.0.0.1', HEARTH_LOG_FORMAT: 'json' },
      stdio: 'ignore',
    });
    for (;;) {
      try {
        const response = await fetch(`http://127.0.0.1:${port}/api/health`);
        if (response.ok) break;
      } catch {
        // not listening yet
      }
      await new Promise((r) => setTimeout(r, 2));
    }
    times.push(performance.now() - t0);
    if (i === 0) {
      await new Promise((r) => setTimeout(r, 10_000));
      memory = memoryOf(child.pid);
    }
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
    rmSync(dir, { recursive: true, force: true });
  }
  report('launch → /api/health answering (median of 5)', Math.round(percentile(times, 50)), 'ms', '≤ 400 ms');
  report('idle RSS of hearth start (10 s after start)', memory.rss.toFixed(1), 'MB', '≤ 55 MB');
  console.log(`  of which: ${describeMemory(memory)}; a bare \`node -e 0\` here: ${describeMemory(await bareNodeMemory())}`);
}

console.log(`Hearth benchmarks on ${machine()}`);
console.log(`(${new Date().toISOString()})\n`);
if (!only || only === 'fire') await fireLatency();
if (!only || only === 'runs') await throughputAndWrites();
if (!only || only === 'steps') await workflowSteps();
if (!only || only === 'start') await startupAndRss();
// Run logs: four readers of a 100 MB log against a real hearth (scripts/bench-logs.mjs).
if (!only || only === 'logs') {
  console.log('\nrun logs (scripts/bench-logs.mjs):');
  const child = spawn(process.execPath, [join(root, 'scripts', 'bench-logs.mjs')], { stdio: 'inherit' });
  const code = await new Promise((resolve) => child.once('exit', resolve));
  if (code !== 0) process.exitCode = 1;
}
// Disk blocks per small run log: own files against day packs (scripts/bench-logdisk.mjs).
if (!only || only === 'logdisk') {
  console.log('\nrun log disk use (scripts/bench-logdisk.mjs):');
  const child = spawn(process.execPath, [join(root, 'scripts', 'bench-logdisk.mjs')], { stdio: 'inherit' });
  const code = await new Promise((resolve) => child.once('exit', resolve));
  if (code !== 0) process.exitCode = 1;
}

// Scaling rows of issue 13: start-up at 10 / 1,000 jobs, idle wake-ups and CPU, run cost (scripts/bench-idle.mjs).
if (!only || only === 'idle') {
  console.log('\nidle, start-up and run cost (scripts/bench-idle.mjs):');
  const child = spawn(process.execPath, [join(root, 'scripts', 'bench-idle.mjs'), ...process.argv.slice(3)], { stdio: 'inherit' });
  const code = await new Promise((resolve) => child.once('exit', resolve));
  if (code !== 0) process.exitCode = 1;
}
// The knowledge store's figures (ingest, search at 10k and 100k chunks, RSS) come from their own
// script, run as a child so LanceDB's threads and memory do not colour the engine's figures above.
if (!only || only === 'knowledge') {
  console.log('\nknowledge store (scripts/bench-knowledge.mjs):');
  const child = spawn(process.execPath, [join(root, 'scripts', 'bench-knowledge.mjs')], { stdio: 'inherit' });
  const code = await new Promise((resolve) => child.once('exit', resolve));
  if (code !== 0) process.exitCode = 1;
}
// Gmail backup figures (scripts/bench-gmail.mjs): messages/s from the fake Google server, an incremental run, bytes per message.
if (!only || only === 'gmail') {
  console.log('\ngmail backup (scripts/bench-gmail.mjs):');
  const child = spawn(process.execPath, [join(root, 'scripts', 'bench-gmail.mjs')], { stdio: 'inherit' });
  const code = await new Promise((resolve) => child.once('exit', resolve));
  if (code !== 0) process.exitCode = 1;
}

// Slack ingest from a fake Slack on 127.0.0.1 and search at 100k messages: only when asked (several minutes).
if (only === 'slack') {
  console.log('\nslack ingest (scripts/bench-slack.mjs):');
  const child = spawn(process.execPath, [join(root, 'scripts', 'bench-slack.mjs'), ...process.argv.slice(3)], { stdio: 'inherit' });
  const code = await new Promise((resolve) => child.once('exit', resolve));
  if (code !== 0) process.exitCode = 1;
}

// History and dashboard scaling (100 / 10k / 100k runs, 10 / 1,000 jobs, RSS after page loads):
// scripts/bench-history.mjs, a child for the same reason. Extra arguments pass through (--1m, jobs, queries).
if (!only || only === 'history') {
  console.log('\nhistory and dashboard scaling (scripts/bench-history.mjs):');
  const child = spawn(process.execPath, [join(root, 'scripts', 'bench-history.mjs'), ...process.argv.slice(3)], { stdio: 'inherit' });
  const code = await new Promise((resolve) => child.once('exit', resolve));
  if (code !== 0) process.exitCode = 1;
}
