#!/usr/bin/env node
/**
 * node scripts/bench-config.mjs: how long loading a hostile hearth.yaml holds
 * the event loop. Config loading is synchronous once the file is read, so the
 * stall is the time parseConfigText takes. Target: under 100 ms for every
 * case on the Pi (issue 9, defect 7). Runs against dist/, so build first.
 */
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { monitorEventLoopDelay } from 'node:perf_hooks';

const root = resolve(import.meta.dirname, '..');
const { parseConfigText } = await import(join(root, 'dist', 'config', 'load.js'));

function laughs(depth, fan) {
  const lines = ['x0: &a0 "lol"'];
  for (let i = 1; i <= depth; i++) lines.push(`x${i}: &a${i} [${Array(fan).fill(`*a${i - 1}`).join(', ')}]`);
  return lines.join('\n') + '\njobs: {}\n';
}

const cases = {
  'warm-up (small valid file)': 'jobs:\n  a:\n    run: echo hi\n',
  'billion laughs 9^9 (509 B)': laughs(9, 9),
  '1 MiB file': 'x: "' + 'y'.repeat(1024 * 1024) + '"\n',
  'billion laughs 10^6': laughs(6, 10),
  'long string x aliases': `s: &s "${'x'.repeat(100_000)}"\nl: [${Array(1000).fill('*s').join(', ')}]\njobs: {}\n`,
  '2,000 small aliases': `a: &a { k: v }\nl: [${Array(2_000).fill('*a').join(', ')}]\njobs: {}\n`,
  'dense 128 KiB block list': 'x:\n' + '- a\n'.repeat(32 * 1024 - 2),
  'dense 128 KiB flow list': 'x: [' + '1,'.repeat(64 * 1024 - 4) + '1]\n',
  'plain 128 KiB file (the limit)': (() => {
    let text = 'jobs:\n';
    for (let i = 0; text.length < 128 * 1024 - 200; i++) text += `  job-${i}:\n    run: echo ${i} and some words\n    schedule: { every: 15m }\n`;
    return text;
  })(),
};

for (const [name, text] of Object.entries(cases)) {
  const histogram = monitorEventLoopDelay({ resolution: 5 });
  histogram.enable();
  await new Promise((r) => setTimeout(r, 20));
  const start = performance.now();
  let outcome;
  try {
    const config = parseConfigText(text, 'hearth.yaml', { env: {}, systemTimezone: 'UTC' });
    outcome = `loaded, ${Object.keys(config.jobs).length} jobs`;
  } catch (error) {
    outcome = `rejected: ${String(error.message).split('\n')[0].slice(0, 110)}`;
  }
  const ms = performance.now() - start;
  await new Promise((r) => setTimeout(r, 20));
  histogram.disable();
  const rss = Math.round(process.memoryUsage().rss / 1048576);
  console.log(`${name.padEnd(30)} ${ms.toFixed(1).padStart(7)} ms sync, loop delay max ${(histogram.max / 1e6).toFixed(1)} ms, rss ${rss} MB; ${outcome}`);
}

// The same dense file through a hot reload's path: checked on a worker thread.
const { loadConfigOffThread } = await import(join(root, 'dist', 'config-off-thread.js'));
const { writeFileSync, mkdtempSync } = await import('node:fs');
const { tmpdir } = await import('node:os');
const dir = mkdtempSync(join(tmpdir(), 'hearth-bench-config-'));
for (const name of ['billion laughs 9^9 (509 B)', 'dense 128 KiB flow list', 'plain 128 KiB file (the limit)']) {
  const file = join(dir, 'hearth.yaml');
  writeFileSync(file, cases[name]);
  const histogram = monitorEventLoopDelay({ resolution: 5 });
  histogram.enable();
  const start = performance.now();
  let outcome;
  try {
    const config = await loadConfigOffThread({ file, env: {} });
    outcome = `loaded, ${Object.keys(config.jobs).length} jobs`;
  } catch (error) {
    outcome = `rejected: ${String(error.message).split('\n')[0].slice(0, 80)}`;
  }
  const ms = performance.now() - start;
  histogram.disable();
  console.log(`reload path (worker): ${name.padEnd(30)} ${ms.toFixed(1).padStart(7)} ms wall, loop delay max ${(histogram.max / 1e6).toFixed(1)} ms; ${outcome}`);
}
