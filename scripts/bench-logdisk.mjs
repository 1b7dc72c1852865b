#!/usr/bin/env node
/**
 * Disk blocks per small run log (npm run bench -- logdisk): 1,000 runs that
 * each print a few lines (~260 bytes of log, as a `true` or `echo` job
 * leaves), written and finished through RunLogs as the engine does, into a
 * logs/ directory on the real disk (HEARTH_BENCH_DIR, default the OS temp
 * directory; tmpfs would not show blocks). Measured as `du` does: the
 * allocated blocks (stat st_blocks × 512) of every file and directory under
 * logs/, divided by the runs. Once with every log in its own file (how Hearth
 * kept logs before packs: `packMaxBytes: 0`), once with small logs packed
 * (engine/log-packs.ts). Target: ≤ 1 KB per small run.
 *
 * Runs against dist/, so build first.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';

const root = resolve(import.meta.dirname, '..');
const { RunLogs } = await import(join(root, 'dist', 'engine', 'run-logs.js'));
const { RunIdGenerator } = await import(join(root, 'dist', 'core', 'ids.js'));
const { systemClock } = await import(join(root, 'dist', 'core', 'clock.js'));

const RUNS = Number(process.env.HEARTH_BENCH_RUNS ?? 1000);
const base = process.env.HEARTH_BENCH_DIR ?? tmpdir();

function report(name, value, unit, target) {
  console.log(`${name.padEnd(44)} ${String(value).padStart(10)} ${unit.padEnd(8)} (target ${target})`);
}

/** Allocated bytes of everything under `path` (st_blocks × 512, as du counts), and the number of files. */
function allocated(path) {
  const info = statSync(path);
  let bytes = info.blocks * 512;
  let files = info.isFile() ? 1 : 0;
  let apparent = info.isFile() ? info.size : 0;
  if (info.isDirectory()) {
    for (const name of readdirSync(path)) {
      const inner = allocated(join(path, name));
      bytes += inner.bytes;
      files += inner.files;
      apparent += inner.apparent;
    }
  }
  return { bytes, files, apparent };
}

async function measure(packMaxBytes) {
  const dir = mkdtempSync(join(base, 'hearth-logdisk-'));
  try {
    const logsDir = join(dir, 'logs');
    const logs = new RunLogs(logsDir, systemClock, packMaxBytes === undefined ? {} : { packMaxBytes });
    await logs.init();
    const ids = new RunIdGenerator();
    const started = performance.now();
    const finishing = [];
    for (let i = 0; i < RUNS; i++) {
      const id = ids.next(Date.now());
      logs.write(id, 'hearth', `run ${id} of backup-notes started by schedule (scheduled for 2026-03-01T03:00:00.000Z)`);
      logs.write(id, 'hearth', 'task main started (attempt 1)');
      logs.write(id, 'main', `notes.tgz written (${i} files)`);
      logs.write(id, 'hearth', 'task main succeeded in 41ms');
      logs.write(id, 'hearth', 'run succeeded in 43ms');
      finishing.push(logs.finish(id));
      // A run at a time, as a Pi runs them; every 50th waits, so batches stay realistic.
      if (i % 50 === 49) await Promise.all(finishing.splice(0));
    }
    await Promise.all(finishing);
    await logs.closeAll();
    const seconds = (performance.now() - started) / 1000;
    execFileSync('sync');
    const { bytes, files, apparent } = allocated(logsDir);
    const du = execFileSync('du', ['-sk', logsDir], { encoding: 'utf8' }).split('\t')[0];
    return { bytes, files, apparent, du: Number(du), seconds };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

console.log(`log disk use: ${RUNS} small runs under ${base} (${execFileSync('df', ['-T', base], { encoding: 'utf8' }).split('\n')[1]?.split(/\s+/)[1] ?? '?'})`);
const own = await measure(0);
const packed = await measure(undefined);
const perRun = (m) => (m.bytes / RUNS / 1024).toFixed(2);
report('log bytes per small run (text)', Math.round(packed.apparent / RUNS), 'B', '—');
report('disk per small run, one file per run (before)', perRun(own), 'KB', '≤ 1 KB');
report('disk per small run, day packs', perRun(packed), 'KB', '≤ 1 KB');
report('ratio packed / own files', (packed.bytes / own.bytes).toFixed(3), '×', '—');
report('files in logs/ after the runs, before → packed', `${own.files} → ${packed.files}`, 'files', '—');
console.log(`  du -sk logs/: ${own.du} KB with own files, ${packed.du} KB packed; writing and finishing ${RUNS} logs took ${own.seconds.toFixed(2)} s and ${packed.seconds.toFixed(2)} s (two fsyncs per pack batch)`);
