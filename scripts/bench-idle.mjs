#!/usr/bin/env node
/**
 * npm run bench -- idle (or node scripts/bench-idle.mjs [startup|idle|runs]):
 * the scaling rows of issue 13 for what an always-on appliance pays while it
 * waits and what each run costs.
 *
 *  - start-up with 10 and 1,000 jobs: launch → /api/health answering (a
 *    restart with an unchanged config, a first start, a first start without
 *    the V8 code cache), the peak RSS (VmHWM) and the settled RSS 20 s later;
 *  - idle: event-loop wake-ups per second (`strace -f -c` counting
 *    epoll_wait/epoll_pwait for 20 s) and CPU ms per minute (utime+stime
 *    from /proc/PID/stat over 60 s, after 45 s to settle) of a real
 *    `hearth start` with ten jobs, none due; its RSS (anonymous and file
 *    pages) before any HTTP request and after the first one, and how long
 *    that first request takes (it loads the web app);
 *  - durable runs: no-op runs/s on disk and the process CPU per run, bytes
 *    written per run (total, the WAL's appends, own log files created; and
 *    one run at a time, where each durable point dirties a page), and
 *    a `true` shell job's end-to-end p50 against a bare spawn of `true`.
 *
 * Targets (issue 13): start-up ≤ 350 ms and peak ≤ settled + 10 MB at 1,000
 * jobs; ≤ 5 wake-ups/s and ≤ 20 ms CPU per minute idle; ≥ 5,000 runs/s,
 * ≤ 4 KB written per run, end-to-end p50 ≤ 3× a bare spawn.
 *
 * Needs strace for the wake-up row (Debian: apt-get install strace); without
 * it that row says so and the rest still runs. Runs against dist/: build first.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, watch, writeFileSync } from 'node:fs';
import { cpus, totalmem, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { freePort, percentile } from './bench-lib.mjs';

const root = resolve(import.meta.dirname, '..');
const dist = (path) => import(join(root, 'dist', path));
const only = process.argv[2];
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function row(name, value, unit, target, extra = '') {
  console.log(`${name.padEnd(52)} ${String(value).padStart(10)} ${unit.padEnd(8)} (target ${target})${extra ? `  ${extra}` : ''}`);
}

function statusMb(pid, field) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(new RegExp(`^${field}:\\s+(\\d+)`, 'm').exec(status)?.[1] ?? NaN) / 1024;
}

/** utime + stime of a process in ms (/proc/PID/stat fields 14 and 15, in clock ticks). */
function cpuMs(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]);
  const hz = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim()) || 100;
  return (ticks * 1000) / hz;
}

/** A hearth.yaml with `count` scheduled jobs: a mix of cron, every and rrule, as a real catalog would have. */
function configWith(count) {
  const lines = ['timezone: Europe/London', 'server: { host: "${HEARTH_HOST}", port: "${HEARTH_PORT}" }', 'pools: { default: { concurrency: 2 } }', 'jobs:'];
  for (let i = 0; i < count; i++) {
    const kind = i % 3;
    const schedule =
      kind === 0 ? `{ cron: "${i % 60} ${i % 24} * * *" }` : kind === 1 ? `{ every: ${5 + (i % 55)}m }` : `{ rrule: "FREQ=WEEKLY;BYDAY=MO;BYHOUR=${i % 24}" }`;
    lines.push(`  j${i}: { run: "true", schedule: ${schedule} }`);
  }
  return lines.join('\n') + '\n';
}

/** The V8 code cache bin/hearth.js writes; the bench keeps its own so runs do not share one with the user's. */
const codeCacheDir = mkdtempSync(join(tmpdir(), 'hearth-bench-code-cache-'));

/**
 * Starts `hearth start` on `yaml` (in a fresh directory unless `dir` is given); resolves once /api/health answers,
 * or with `readyWhen: 'log'` once it logs "hearth started" (what systemd's READY=1 follows), before any HTTP
 * request: the web app loads with the first request, so an idle appliance nobody has looked at is measured that
 * way. `codeCache: false` starts without the V8 code cache (as after an upgrade); `keep` leaves the directory on stop.
 */
async function launch(yaml, { dir = mkdtempSync(join(tmpdir(), 'hearth-bench-idle-')), codeCache = true, keep = false, readyWhen = 'health' } = {}) {
  const port = await freePort();
  writeFileSync(join(dir, 'hearth.yaml'), yaml);
  const t0 = performance.now();
  const child = spawn(process.execPath, [join(root, 'bin/hearth.js'), 'start'], {
    cwd: dir,
    env: {
      ...process.env,
      HEARTH_PORT: String(port),
      HEARTH_HOST: '127.0.0.1',
      HEARTH_LOG_FORMAT: 'json',
      NOTIFY_SOCKET: '',
      HEARTH_CODE_CACHE: codeCache ? codeCacheDir : 'off',
    },
    stdio: ['ignore', readyWhen === 'log' ? 'pipe' : 'ignore', 'ignore'],
  });
  let logged = '';
  child.stdout?.on('data', (chunk) => {
    if (logged.length < 1e6) logged += chunk;
  });
  for (;;) {
    if (readyWhen === 'log') {
      if (logged.includes('"hearth started"')) break;
    } else {
      try {
        const response = await fetch(`http://127.0.0.1:${port}/api/health`);
        if (response.ok) break;
      } catch {
        // not listening yet
      }
    }
    if (child.exitCode !== null) throw new Error(`hearth exited with ${child.exitCode}`);
    await sleep(2);
  }
  const ms = performance.now() - t0;
  return {
    // CPU the process used to get there: steadier than wall time on a shared machine.
    cpu: cpuMs(child.pid),
    child,
    output: () => logged,
    dir,
    ms,
    port,
    async stop() {
      child.kill('SIGTERM');
      if (child.exitCode === null) await new Promise((r) => child.once('exit', r));
      if (!keep) rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * Start-up, three ways, median of 5 each: a first start (a fresh data dir: hearth.yaml is parsed), a restart
 * (the data dir of a previous start and an unchanged file: the config tree cache is read instead), both with the
 * V8 code cache, and a first start without it (what the first start after an upgrade pays).
 */
async function startup() {
  // The code cache is written a few seconds after a start: one start that lives long enough.
  const warm = await launch(configWith(10));
  while (!existsSync(join(codeCacheDir, 'code-cache.bin'))) await sleep(100);
  await warm.stop();
  const figures = {};
  for (const count of [10, 1000]) {
    const yaml = configWith(count);
    const first = { ms: [], cpu: [] };
    const restart = { ms: [], cpu: [] };
    const uncached = { ms: [], cpu: [] };
    let peak = 0;
    let settled = 0;
    for (let i = 0; i < 5; i++) {
      const dir = mkdtempSync(join(tmpdir(), 'hearth-bench-idle-'));
      const hearth = await launch(yaml, { dir, keep: true });
      first.ms.push(hearth.ms);
      first.cpu.push(hearth.cpu);
      // Settled: after V8's memory reducer has had its go (it shrinks the heap some seconds after allocation stops).
      // The config tree cache is written once the start is over; the restart below reads it.
      await sleep(i === 0 ? 20_000 : 1_000);
      if (i === 0) {
        peak = statusMb(hearth.child.pid, 'VmHWM');
        settled = statusMb(hearth.child.pid, 'VmRSS');
      }
      await hearth.stop();
      const again = await launch(yaml, { dir });
      restart.ms.push(again.ms);
      restart.cpu.push(again.cpu);
      await again.stop();
      const cold = await launch(yaml, { codeCache: false });
      uncached.ms.push(cold.ms);
      uncached.cpu.push(cold.cpu);
      await cold.stop();
    }
    const median = (runs) => ({ ms: percentile(runs.ms, 50), cpu: percentile(runs.cpu, 50) });
    figures[count] = { first: median(first), restart: median(restart), uncached: median(uncached) };
    const n = count.toLocaleString('en');
    for (const [kind, label] of [['restart', 'restart (unchanged config)'], ['first', 'first start (config parsed)'], ['uncached', 'first start, no code cache']]) {
      const f = figures[count][kind];
      row(`start-up, ${n} jobs, ${label}: launch → /api/health`, Math.round(f.ms), 'ms', count === 1000 ? '≤ 350 ms' : '—', `(CPU ${Math.round(f.cpu)} ms)`);
    }
    row(`start-up, ${n} jobs: peak RSS − settled RSS (20 s)`, (peak - settled).toFixed(1), 'MB', count === 1000 ? '≤ 10 MB' : '—', `(peak ${peak.toFixed(1)}, settled ${settled.toFixed(1)})`);
  }
  const ratio = (kind) => `${(figures[1000][kind].ms / figures[10][kind].ms).toFixed(2)}; ${(figures[1000][kind].cpu / figures[10][kind].cpu).toFixed(2)}`;
  row('start-up ratio 1,000 / 10 jobs, restart (wall; CPU)', ratio('restart'), '×', 'flat ≈ 1');
  row('start-up ratio 1,000 / 10 jobs, first start (wall; CPU)', ratio('first'), '×', 'flat ≈ 1');
}

async function idle() {
  // Ten scheduled jobs, none due while we measure (daily, twelve hours from now): an appliance waiting.
  const hour = (new Date().getUTCHours() + 12) % 24;
  const jobs = Array.from({ length: 10 }, (_, i) => `  j${i}: { run: "true", schedule: { cron: "${i * 5} ${hour} * * *", timezone: UTC } }`);
  const yaml = ['server: { host: "${HEARTH_HOST}", port: "${HEARTH_PORT}" }', 'jobs:', ...jobs, ''].join('\n');
  // Measured as after a reboot: an earlier start on the same data dir wrote the V8 code cache and the config tree
  // cache, which this start reads (a first start writes the code cache 3 s in, a one-off allocation of a few MB).
  const earlier = await launch(yaml, { readyWhen: 'log', keep: true });
  while (!existsSync(join(codeCacheDir, 'code-cache.bin'))) await sleep(100);
  // ...and it served a request, so it also wrote the web app's code cache (dist/hearth-web.cjs: bin/hearth.js writes it
  // 3 s after the first request), which the measured start's first request reads.
  await (await fetch(`http://127.0.0.1:${earlier.port}/api/health`)).text();
  if (existsSync(join(root, 'dist/hearth-web.cjs'))) while (!existsSync(join(codeCacheDir, 'code-cache-web.bin'))) await sleep(100);
  await earlier.stop();
  const hearth = await launch(yaml, { dir: earlier.dir, readyWhen: 'log' });
  try {
    // Let start-up settle: the first statfs, the first flush, and V8's memory reducer, which runs a few full GCs
    // once allocation stops (counting those would measure start-up, not idling).
    await sleep(45_000);
    const pid = hearth.child.pid;
    const cpu0 = cpuMs(pid);
    await sleep(60_000);
    const perMinute = cpuMs(pid) - cpu0;
    const seconds = 20;
    const straceOut = join(hearth.dir, 'strace.txt');
    const strace = spawn('strace', ['-f', '-c', '-o', straceOut, '-e', 'trace=epoll_pwait,epoll_wait', '-p', String(pid)], { stdio: 'ignore' });
    const failed = await Promise.race([new Promise((r) => strace.once('error', r)), sleep(seconds * 1000).then(() => undefined)]);
    if (failed) {
      row('idle wake-ups per second (strace -c epoll_*wait)', 'n/a', '/s', '≤ 5', `(strace: ${failed.message}; apt-get install strace)`);
    } else {
      strace.kill('SIGINT');
      await new Promise((r) => strace.once('exit', r));
      const summary = readFileSync(straceOut, 'utf8');
      const calls = [...summary.matchAll(/^\s*[\d.]+\s+[\d.]+\s+\d+\s+(\d+)\s+(?:\d+\s+)?epoll_p?wait\s*$/gm)].reduce((sum, m) => sum + Number(m[1]), 0);
      row('idle wake-ups per second (strace -c epoll_*wait)', (calls / seconds).toFixed(1), '/s', '≤ 5', `(${calls} in ${seconds} s, all threads)`);
    }
    row('idle CPU (utime+stime over 60 s)', Math.round(perMinute), 'ms/min', '≤ 20 ms/min');
    row('idle RSS, no HTTP request yet (125 s after start)', statusMb(pid, 'VmRSS').toFixed(1), 'MB', '≤ 52 MB', memoryParts(pid));
    // The web app (Hono, its Node adapter, Node's undici, routes and pages) loads with the first request.
    const url = `http://127.0.0.1:${hearth.port}/api/health`;
    const timed = async () => {
      const t0 = performance.now();
      const response = await fetch(url, { headers: { connection: 'close' } });
      await response.text();
      return performance.now() - t0;
    };
    const requestCpu0 = threadsCpuMs(pid);
    const first = await timed();
    const firstCpu = threadsCpuMs(pid) - requestCpu0;
    const later = [];
    for (let i = 0; i < 20; i++) later.push(await timed());
    // The log line bin/hearth.js's web bundle load ends with: how long loading the web app took, from its code cache?
    const web = /"msg":"web app loaded","ms":(\d+)(?:,"codeCache":"(\w+)")?/.exec(hearth.output());
    const loaded = web ? `; web app loaded in ${web[1]} ms${web[2] ? `, code cache ${web[2]}` : ''}` : '';
    row('first HTTP request after start (loads the web app)', first.toFixed(1), 'ms', '—', `(CPU ${firstCpu.toFixed(1)} ms; later requests p50 ${percentile(later, 50).toFixed(1)} ms${loaded})`);
    await sleep(20_000);
    row('idle RSS 20 s after the first requests', statusMb(pid, 'VmRSS').toFixed(1), 'MB', '—', memoryParts(pid));
  } finally {
    await hearth.stop();
  }
}

/** Counts run log files created in `dir` (inotify through fs.watch: a file created and removed again still counts). */
function countLogFiles(dir) {
  const seen = new Set();
  const watcher = watch(dir, (type, name) => {
    if (type === 'rename' && name && /^r_\w+\.log$/.test(name)) seen.add(name);
  });
  return { created: () => seen.size, stop: () => watcher.close() };
}

/** CPU time of every thread of a process in ms, from /proc/PID/task/TID/schedstat (ns: finer than 10 ms ticks). */
function threadsCpuMs(pid) {
  let ns = 0;
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      ns += Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]);
    } catch {
      // the thread ended meanwhile
    }
  }
  return ns / 1e6;
}

/** RSS split into anonymous memory (heaps) and file pages (mostly the node binary's code and data). */
function memoryParts(pid) {
  return `(anonymous ${statusMb(pid, 'RssAnon').toFixed(1)}, file ${statusMb(pid, 'RssFile').toFixed(1)})`;
}

function ioWriteBytes() {
  const io = readFileSync('/proc/self/io', 'utf8');
  return Number(/^write_bytes: (\d+)/m.exec(io)[1]);
}

async function runs() {
  const { makeBenchEngine } = await import('./bench-engine.mjs');
  const { DEFAULT_RETRY } = await dist('config/types.js');
  const task = { name: 'main', dependsOn: [], with: {}, env: {}, continueOnError: false };
  const job = (name, t) => ({ name, pool: 'default', overlap: 'allow', retries: { ...DEFAULT_RETRY, jitter: 0 }, env: {}, tasks: [{ ...task, ...t }] });

  const dir = mkdtempSync(join(tmpdir(), 'hearth-bench-durable-'));
  const jobs = [job('noop', { action: 'noop' }), job('true', { run: 'true' })];
  const { engine, store, logs } = await makeBenchEngine(dir, jobs, { baseEnv: { PATH: process.env.PATH ?? '/usr/bin:/bin' } });
  await engine.start();
  const finished = new Map();
  engine.onRunEvent((event) => {
    if (event.type !== 'finished') return;
    finished.get(event.run.id)?.(event.run);
  });
  const runOnce = (name) =>
    new Promise((resolveRun, reject) => {
      engine.triggerJob(name, 'api').then((run) => finished.set(run.id, (done) => (finished.delete(run.id), resolveRun(done))), reject);
    });

  async function batch(total, inFlight = 200) {
    let created = 0;
    const worker = async () => {
      while (created < total) {
        created++;
        await runOnce('noop');
      }
    };
    await Promise.all(Array.from({ length: inFlight }, worker));
  }

  await batch(500); // warm-up
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  await batch(10_000);
  const perSecond = 10_000 / ((performance.now() - t0) / 1000);
  const cpu = process.cpuUsage(cpu0);
  row('durable no-op runs per second (10,000 runs, 200 in flight)', Math.round(perSecond), 'runs/s', '≥ 5,000');
  // CPU of the whole process (main thread and libuv's pool) per run: steadier than runs/s on a loaded machine.
  row('CPU per no-op run (process user+system)', Math.round((cpu.user + cpu.system) / 10_000), 'µs', '—');

  await store.flush();
  await logs.flushPacks();
  const before = ioWriteBytes();
  const statsBefore = store.stats();
  const logFiles = countLogFiles(join(dir, 'logs'));
  await batch(2_000);
  logFiles.stop();
  await store.flush();
  await logs.flushPacks();
  const written = (ioWriteBytes() - before) / 2_000;
  const stats = store.stats();
  const per = (key) => ((stats[key] - statsBefore[key]) / 2_000).toFixed(2);
  row('bytes written per run (disk, /proc/self/io)', Math.round(written), 'B', '≤ 4,096 B', `(per run: ${per('walSyncs')} WAL syncs, ${per('historySyncs')} history syncs, ${per('checkpoints')} checkpoints)`);
  row('state.wal bytes appended per run', Math.round((stats.walBytesWritten - statsBefore.walBytesWritten) / 2_000), 'B', '—');
  row('own log files created per no-op run (logs/*.log)', (logFiles.created() / 2_000).toFixed(2), '', '0');

  // One at a time (a Pi running a job now and then): each durable point dirties at least a page of its own.
  const beforeOne = ioWriteBytes();
  const statsOne = store.stats();
  await batch(300, 1);
  await store.flush();
  await logs.flushPacks();
  const statsOneAfter = store.stats();
  const perOne = (key) => ((statsOneAfter[key] - statsOne[key]) / 300).toFixed(2);
  row('bytes written per run, one run at a time (300 runs)', Math.round((ioWriteBytes() - beforeOne) / 300), 'B', '—', `(per run: ${perOne('walSyncs')} WAL syncs, ${perOne('historySyncs')} history syncs)`);

  // End to end, one at a time: trigger → run finished, against spawning `true` directly (interleaved, so both
  // see the same load on a shared machine).
  const bareSpawn = () => new Promise((r) => spawn('true', [], { stdio: 'ignore' }).once('exit', r));
  for (let i = 0; i < 20; i++) await Promise.all([runOnce('true'), bareSpawn()]);
  const e2e = [];
  const bare = [];
  for (let i = 0; i < 200; i++) {
    let started = performance.now();
    const run = await runOnce('true');
    if (run.status !== 'succeeded') throw new Error(`true run ended ${run.status}`);
    e2e.push(performance.now() - started);
    started = performance.now();
    await bareSpawn();
    bare.push(performance.now() - started);
  }
  const p50 = percentile(e2e, 50);
  const bareP50 = percentile(bare, 50);
  row('`true` job end to end p50 (trigger → finished)', p50.toFixed(1), 'ms', '—');
  row('bare spawn of `true` p50', bareP50.toFixed(1), 'ms', '—');
  row('end-to-end p50 / bare spawn p50', (p50 / bareP50).toFixed(2), '×', '≤ 3×');
  await engine.stop();
  await store.close();
  rmSync(dir, { recursive: true, force: true });
}

console.log(`Hearth idle/start-up/run-cost scaling on ${cpus()[0]?.model ?? 'unknown cpu'}, ${cpus().length} cores, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}`);
console.log(`(${new Date().toISOString()})\n`);
if (!only || only === 'startup') await startup();
if (!only || only === 'idle') await idle();
if (!only || only === 'runs') await runs();
rmSync(codeCacheDir, { recursive: true, force: true });
