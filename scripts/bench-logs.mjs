#!/usr/bin/env node
/**
 * Run logs under load (npm run bench -- logs): a real `hearth start`, a job
 * whose task prints ~80 MB (a ~100 MB log with its timestamps), then four
 * concurrent readers of that log, first over `GET /api/runs/:id/logs` (the
 * plain text, streamed) and then as four SSE followers replaying it from the
 * start. Reports the hearth process's peak RSS during each (sampled every
 * 20 ms from /proc) against its RSS just before: target under 100 MB above
 * idle. Then the same task under the default 16 MB cap: the log's size.
 *
 * Runs against dist/ (what `hearth start` runs), so build first.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { describeMemory, memoryOf } from './proc-memory.mjs';
import { freePort } from './bench-lib.mjs';

const root = resolve(import.meta.dirname, '..');
const MB = 1024 * 1024;
// 795,000 lines of 99 characters: 80 MB of output, ~100 MB of log (each line gains a timestamp and the task name).
const FLOOD = `yes ${'x'.repeat(99)} | head -n 795000`;

function report(name, value, unit, target) {
  console.log(`${name.padEnd(44)} ${String(value).padStart(10)} ${unit.padEnd(8)} (target ${target})`);
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function startHearth(yaml) {
  const dir = mkdtempSync(join(tmpdir(), 'hearth-bench-logs-'));
  const port = await freePort();
  writeFileSync(join(dir, 'hearth.yaml'), `server: { host: 127.0.0.1, port: ${port} }\n${yaml}`);
  const child = spawn(process.execPath, [join(root, 'bin/hearth.js'), 'start'], {
    cwd: dir,
    env: { ...process.env, HEARTH_LOG_FORMAT: 'json' },
    stdio: 'ignore',
  });
  const base = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null || Date.now() > deadline) throw new Error(`hearth did not start in ${dir}`);
    try {
      if ((await fetch(`${base}/api/health`)).ok) break;
    } catch {
      // not listening yet
    }
    await sleep(20);
  }
  const token = readFileSync(join(dir, 'data/secrets/api-token'), 'utf8').trim();
  const api = (path, init = {}) => fetch(`${base}${path}`, { ...init, headers: { authorization: `Bearer ${token}`, ...(init.headers ?? {}) } });
  return {
    dir,
    child,
    api,
    async stop() {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function runFlood(hearth) {
  const response = await hearth.api('/api/jobs/flood/run', { method: 'POST' });
  const { runId } = await response.json();
  if (!response.ok || !runId) throw new Error(`triggering the job failed: HTTP ${response.status}`);
  for (;;) {
    const run = await (await hearth.api(`/api/runs/${runId}`)).json();
    if (['succeeded', 'failed', 'cancelled'].includes(run.status)) return run;
    await sleep(200);
  }
}

/** Peak RSS of `pid` while `work` runs. */
async function peakDuring(pid, work) {
  let peak = memoryOf(pid).rss;
  const timer = setInterval(() => (peak = Math.max(peak, memoryOf(pid).rss)), 20);
  const t0 = performance.now();
  const result = await work();
  clearInterval(timer);
  return { peak: Math.max(peak, memoryOf(pid).rss), ms: performance.now() - t0, result };
}

async function drain(response) {
  let bytes = 0;
  for await (const chunk of response.body) bytes += chunk.length;
  return bytes;
}

const yaml = (extra) => `dataDir: ./data\n${extra}jobs:\n  flood:\n    run: ${JSON.stringify(FLOOD)}\n`;

const hearth = await startHearth(yaml('logs: { maxRunSize: 128MB }\n'));
try {
  const run = await runFlood(hearth);
  console.log(`run ${run.status}; hearth's RSS just after it: ${describeMemory(memoryOf(hearth.child.pid))}`);
  // The log is closed just after the run's final status is recorded.
  await sleep(3000);
  const size = statSync(join(hearth.dir, 'data/logs', `${run.id}.log`)).size;
  console.log(`a ${(size / MB).toFixed(1)} MB log`);
  const idle = memoryOf(hearth.child.pid);
  console.log(`idle before the readers: ${describeMemory(idle)}`);

  const plain = await peakDuring(hearth.child.pid, () =>
    Promise.all([1, 2, 3, 4].map(async () => drain(await hearth.api(`/api/runs/${run.id}/logs`)))),
  );
  if (!plain.result.every((bytes) => bytes === size)) throw new Error(`a reader got ${plain.result} bytes, expected ${size}`);
  report('4 × GET /logs of a 100 MB log: peak RSS above idle', (plain.peak - idle.rss).toFixed(1), 'MB', '< 100 MB');
  console.log(`  (${Math.round(plain.ms)} ms for all four; peak ${plain.peak.toFixed(1)} MB)`);

  await sleep(2000);
  const sse = await peakDuring(hearth.child.pid, () =>
    Promise.all([1, 2, 3, 4].map(async () => drain(await hearth.api(`/api/runs/${run.id}/logs`, { headers: { accept: 'text/event-stream' } })))),
  );
  // Against the idle figure before any reader: the heap the GETs grew is not handed back at once.
  report('4 SSE followers replaying it: peak RSS above idle', (sse.peak - idle.rss).toFixed(1), 'MB', '< 100 MB');
  console.log(`  (${Math.round(sse.ms)} ms for all four; peak ${sse.peak.toFixed(1)} MB)`);
  await sleep(5000);
  console.log(`  5 s later: ${describeMemory(memoryOf(hearth.child.pid))}`);
} finally {
  await hearth.stop();
}

const capped = await startHearth(yaml(''));
try {
  const run = await runFlood(capped);
  await sleep(3000);
  const size = statSync(join(capped.dir, 'data/logs', `${run.id}.log`)).size;
  report('the same output under the default cap: log size', (size / MB).toFixed(1), 'MB', '≤ 16 MB');
} finally {
  await capped.stop();
}
