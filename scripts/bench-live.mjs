#!/usr/bin/env node
/**
 * What 20 dashboard viewers cost: the hearth process's CPU time and RSS over
 * the same busy window (a job started every 2 s, each printing 20 lines over
 * 1 s), first with nobody watching, then with VIEWERS tabs open, each holding
 * the live-updates stream (/events) and following the current run's log.
 * Run after `npm run build`:  node scripts/bench-live.mjs [VIEWERS] [SECONDS]
 */
import { readFileSync } from 'node:fs';
import http from 'node:http';
import { startHearth } from './dashboard-harness.mjs';

const VIEWERS = Number(process.argv[2] ?? 20);
const SECONDS = Number(process.argv[3] ?? 20);
const TICK = Number(readFileSync('/proc/self/stat', 'utf8') && 100); // USER_HZ on Linux

const hearth = await startHearth(`  chatter:
    overlap: allow
    run: for i in $(seq 1 20); do echo "line $i of some log output"; sleep 0.05; done
`);
const pid = hearth.child.pid;

function cpuSeconds() {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) / TICK; // utime + stime
}
function rssMB() {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8').split('\n').find((l) => l.startsWith('VmRSS:'));
  return Number(line.split(/\s+/)[1]) / 1024;
}

/** An SSE client that counts events and bytes, like a browser tab's EventSource. */
function stream(path, stats) {
  const request = http.get(hearth.url + path, { headers: { Accept: 'text/event-stream', Cookie: hearth.cookie } }, (response) => {
    response.on('data', (chunk) => {
      stats.bytes += chunk.length;
      stats.events += (chunk.toString().match(/^event: /gm) ?? []).length;
    });
  });
  request.on('error', () => {});
  return request;
}

async function busyWindow(label, onRun) {
  const cpu0 = cpuSeconds();
  const started = Date.now();
  let runs = 0;
  let peak = rssMB();
  while (Date.now() - started < SECONDS * 1000) {
    const response = await fetch(hearth.url + '/api/jobs/chatter/run', { method: 'POST', headers: { Authorization: `Bearer ${hearth.token}` } });
    const { runId } = await response.json();
    runs++;
    onRun?.(runId);
    for (let i = 0; i < 4; i++) {
      await new Promise((r) => setTimeout(r, 500));
      peak = Math.max(peak, rssMB());
    }
  }
  const cpu = cpuSeconds() - cpu0;
  const elapsed = (Date.now() - started) / 1000;
  return { label, runs, cpuPercent: (100 * cpu) / elapsed, rssMB: rssMB(), peakRssMB: peak };
}

await new Promise((r) => setTimeout(r, 2000)); // let start-up settle
const idleRss = rssMB();
const alone = await busyWindow('no viewers');

const stats = { events: 0, bytes: 0 };
const live = Array.from({ length: VIEWERS }, () => stream('/events', stats));
let logs = [];
const watched = await busyWindow(`${VIEWERS} viewers`, (runId) => {
  // Each tab follows the newest run's log, as a person watching the Run page would.
  for (const request of logs) request.destroy();
  logs = Array.from({ length: VIEWERS }, () => stream(`/api/runs/${runId}/logs`, stats));
});
const metrics = await (await fetch(hearth.url + '/metrics', { headers: { Authorization: `Bearer ${hearth.token}` } })).text();
for (const request of [...live, ...logs]) request.destroy();
await hearth.stop();

console.log(`hearth pid ${pid}, ${SECONDS} s per window, a run every 2 s (20 log lines each); RSS at idle ${idleRss.toFixed(1)} MB`);
for (const r of [alone, watched]) {
  console.log(`${r.label.padEnd(12)} runs ${String(r.runs).padStart(3)}  CPU ${r.cpuPercent.toFixed(1).padStart(5)} %  RSS ${r.rssMB.toFixed(1)} MB (peak ${r.peakRssMB.toFixed(1)} MB)`);
}
console.log(`viewers received ${stats.events} events, ${(stats.bytes / 1024).toFixed(0)} KB in total`);
console.log(`extra for ${VIEWERS} viewers: CPU +${(watched.cpuPercent - alone.cpuPercent).toFixed(1)} points, RSS +${(watched.peakRssMB - alone.peakRssMB).toFixed(1)} MB`);
console.log(metrics.split('\n').filter((l) => l.startsWith('hearth_event_loop_lag_seconds{')).join('\n'));
