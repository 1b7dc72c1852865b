/**
 * Test helpers for the engine: job builders, a scripted fake shell that runs
 * on a FakeClock, and an engine wired to an in-memory store.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FakeClock } from '../core/clock.js';
import { silentLogger, type Logger } from '../core/logger.js';
import type { HearthConfig, JobDef, TaskDef } from '../config/types.js';
import { DEFAULT_RETRY } from '../config/types.js';
import { killGraceOf, type ShellOptions, type ShellResult } from '../pool/process/shell.js';
import type { ActionDefinition } from '../actions/types.js';
import { MemoryRunStore } from '../runs/memory-store.js';
import type { RunStore } from '../runs/store.js';
import type { Engine, EngineDeps } from './engine.js';
import { createEngine } from './create-engine.js';
import { RunLogs } from './run-logs.js';

export function task(name: string, run: string, extra: Partial<TaskDef> = {}): TaskDef {
  return { name, run, dependsOn: [], with: {}, env: {}, continueOnError: false, ...extra };
}

export function job(name: string, tasks: TaskDef[], extra: Partial<JobDef> = {}): JobDef {
  return { name, pool: 'default', overlap: 'allow', retries: { ...DEFAULT_RETRY, jitter: 0 }, env: {}, tasks, ...extra };
}

export function config(jobs: JobDef[], extra: Partial<HearthConfig> = {}): HearthConfig {
  return {
    file: '/etc/hearth/hearth.yaml',
    timezone: 'UTC',
    dataDir: '/tmp/hearth-test',
    server: { host: '127.0.0.1', port: 0 },
    pools: { default: { name: 'default', concurrency: 4 } },
    jobs: Object.fromEntries(jobs.map((j) => [j.name, j])),
    historyPerJob: 50,
    logRetentionMs: 30 * 86_400_000,
    historyRetentionMs: 365 * 86_400_000,
    killGraceMs: 1000,
    ...extra,
  };
}

/** What a scripted command does: exit code after `ms` of fake time, printing `lines`. */
export interface Script {
  exit?: number;
  ms?: number;
  lines?: string[];
}

export interface ShellCall {
  command: string;
  env: Record<string, string>;
  at: number;
  /** The kill grace in force when the command was stopped (absent if it was not stopped). */
  stoppedWithGraceMs?: number;
}

/**
 * A fake /bin/sh: commands are looked up in `scripts` (a function may vary by
 * attempt). Time passes only on the FakeClock; abort resolves as a kill.
 */
export function fakeShell(clock: FakeClock, scripts: Record<string, Script | ((env: Record<string, string>) => Script)>) {
  const calls: ShellCall[] = [];
  const runShell = (options: ShellOptions): Promise<ShellResult> => {
    const call: ShellCall = { command: options.command, env: options.env, at: clock.now() };
    calls.push(call);
    const entry = scripts[options.command];
    const script = typeof entry === 'function' ? entry(options.env) : entry ?? { exit: 0 };
    options.onSpawn?.(4242);
    for (const line of script.lines ?? []) options.onLine('stdout', line);
    const tail = script.lines ?? [];
    return new Promise((resolve) => {
      const timer = clock.setTimer(script.ms ?? 0, () => {
        options.signal.removeEventListener('abort', onAbort);
        resolve({ exitCode: script.exit ?? 0, signal: null, timedOut: false, cancelled: false, tail, pid: 4242 });
      });
      const onAbort = () => {
        timer.cancel();
        call.stoppedWithGraceMs = killGraceOf(options);
        resolve({ exitCode: null, signal: 'SIGTERM', timedOut: false, cancelled: true, tail, pid: 4242 });
      };
      if (options.signal.aborted) onAbort();
      else options.signal.addEventListener('abort', onAbort, { once: true });
    });
  };
  return { runShell, calls };
}

export interface TestEngine {
  engine: Engine;
  store: RunStore;
  clock: FakeClock;
  logs: RunLogs;
  calls: ShellCall[];
}

export async function testEngine(options: {
  jobs: JobDef[];
  scripts?: Parameters<typeof fakeShell>[1];
  clock?: FakeClock;
  store?: RunStore;
  actions?: ActionDefinition[];
  config?: Partial<HearthConfig>;
  logger?: Logger;
  start?: boolean;
  /** Where run logs go (default: a fresh temporary directory). */
  logsDir?: string;
  /** The data directory tasks see, where run inputs are written (default /tmp/hearth-test, which nothing else writes to). */
  dataDir?: string;
  /** Step journal and inbox (default: fresh in-memory ones). */
  workflows?: EngineDeps['workflows'];
  /** More engine deps (notifications, disk, power). */
  deps?: Partial<Pick<EngineDeps, 'notifications' | 'disk' | 'power' | 'knownNextRuns'>>;
}): Promise<TestEngine> {
  const clock = options.clock ?? new FakeClock('2026-03-01T12:00:00Z');
  const store = options.store ?? new MemoryRunStore({ clock });
  await store.open();
  const logs = new RunLogs(options.logsDir ?? mkdtempSync(join(tmpdir(), 'hearth-logs-')), clock, options.logger ? { logger: options.logger } : {});
  await logs.init();
  const shell = fakeShell(clock, options.scripts ?? {});
  const actions = new Map((options.actions ?? []).map((a) => [a.name, a]));
  const engine = createEngine({
    config: config(options.jobs, { ...(options.dataDir ? { dataDir: options.dataDir } : {}), ...options.config }),
    store,
    clock,
    logs,
    logger: options.logger ?? silentLogger,
    version: 'test',
    runShell: shell.runShell,
    actions: { get: (name) => actions.get(name) },
    dataDir: options.dataDir ?? '/tmp/hearth-test',
    baseEnv: {},
    random: () => 0.5,
    ...(options.workflows ? { workflows: options.workflows } : {}),
    ...options.deps,
  });
  if (options.start !== false) await engine.start();
  return { engine, store, clock, logs, calls: shell.calls };
}
