/**
 * The engine the in-process benches drive (scripts/bench.mjs, scripts/bench-idle.mjs): the real createEngine
 * from dist/ on a file run store, run logs, step journal and inbox in `dataDir`, on the system clock, with no
 * HTTP server. Runs against dist/: build first.
 */
import { join, resolve } from 'node:path';

const dist = (path) => import(join(resolve(import.meta.dirname, '..'), 'dist', path));

const { createEngine } = await dist('engine/create-engine.js');
const { RunLogs } = await dist('engine/run-logs.js');
const { FileRunStore } = await dist('runs/file-store.js');
const { systemClock } = await dist('core/clock.js');
const { silentLogger } = await dist('core/logger.js');
const { runShell } = await dist('pool/process/shell.js');
const { FileStepJournal } = await dist('steps/file-journal.js');
const { FileInboxStore } = await dist('steps/inbox.js');

export const noopAction = { name: 'noop', validate: () => [], execute: async () => null };

/**
 * `jobs` are JobDefs; `actions` the actions they may name; `onInsert` sees each run as it is inserted;
 * `baseEnv` is what shell tasks inherit.
 */
export async function makeBenchEngine(dataDir, jobs, { concurrency = 64, onInsert, actions = [noopAction], baseEnv = {} } = {}) {
  const store = new FileRunStore({ dataDir, clock: systemClock, logger: silentLogger, keepPerJob: 50 });
  await store.open();
  if (onInsert) {
    const insert = store.insertRun.bind(store);
    store.insertRun = async (run) => {
      await insert(run);
      onInsert(run);
    };
  }
  const logs = new RunLogs(join(dataDir, 'logs'), systemClock);
  await logs.init();
  const journal = new FileStepJournal(join(dataDir, 'steps'));
  await journal.init();
  const engine = createEngine({
    config: {
      file: join(dataDir, 'hearth.yaml'),
      timezone: 'UTC',
      dataDir,
      server: { host: '127.0.0.1', port: 0 },
      pools: { default: { name: 'default', concurrency } },
      jobs: Object.fromEntries(jobs.map((j) => [j.name, j])),
      historyPerJob: 50,
      logRetentionMs: 30 * 86_400_000,
      killGraceMs: 1000,
    },
    store,
    clock: systemClock,
    logs,
    logger: silentLogger,
    version: 'bench',
    runShell,
    actions: { get: (name) => actions.find((action) => action.name === name) },
    dataDir,
    baseEnv,
    workflows: { journal, inbox: new FileInboxStore(join(dataDir, 'inbox.json')) },
  });
  return { engine, store, logs };
}
