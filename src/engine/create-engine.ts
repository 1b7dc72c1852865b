import { ShutdownError } from '../core/errors.js';
import { RunIdGenerator } from '../core/ids.js';
import { dirname } from 'node:path';
import { Dispatcher } from '../pool/dispatcher.js';
import { Engine, type EngineDeps } from './engine.js';
import { executeRun, type ExecutorDeps } from './executor.js';
import { CompiledSchedules, RunEventHub, RunReadModel, observeRunChanges, type ConfigRef } from './parts.js';
import { Scheduler } from './scheduler.js';
import { Workflows } from './workflows.js';
import { silentNotifications } from '../notify/types.js';
import { MemoryInboxStore, observeQuestions } from '../steps/inbox.js';
import type { HearthConfig } from '../config/types.js';

/**
 * Builds an Engine with its worker pool (Dispatcher), Scheduler and
 * Workflows: the one place they are wired together (main.ts, the engine
 * tests and the benchmarks all call it). The parts call back into the engine
 * only once it exists: nothing runs before `engine.start()`.
 */
export function createEngine(given: EngineDeps): Engine {
  // Detectors publish to deps.notifications; without a Notifier they go nowhere.
  const deps: EngineDeps = { ...given, notifications: given.notifications ?? silentNotifications };
  const runEvents = new RunEventHub(deps.logger);
  const readModel = new RunReadModel();
  // Every run change goes through the store's repository, so observing it there tells listeners about all of them.
  const store = observeRunChanges(deps.store, (type, run) => {
    readModel.note(run);
    runEvents.emit({ type, run });
  });
  const config: ConfigRef = { current: deps.config };
  const ids = new RunIdGenerator();
  const schedules = new CompiledSchedules();
  let engine: Engine | undefined;
  const theEngine = (): Engine => {
    if (!engine) throw new Error('createEngine: a part called the engine before it was built');
    return engine;
  };

  // Built once per config in force (a reload gives the next run the new one), not once per run.
  let executorDepsOf: { config: HearthConfig; deps: ExecutorDeps } | undefined;
  const executorDeps = (): ExecutorDeps => {
    if (executorDepsOf?.config === config.current) return executorDepsOf.deps;
    const built: ExecutorDeps = {
      ...deps,
      runs: store.runs,
      configDir: dirname(config.current.file),
      // killGrace is read from the current config at each stop, so a reload applies to the next one.
      killGraceMs: () => config.current.killGraceMs,
      defaultTimeoutMs: () => config.current.defaultTimeoutMs,
      steps: workflows.host,
    };
    executorDepsOf = { config: config.current, deps: built };
    return built;
  };
  const dispatcher: Dispatcher = new Dispatcher({
    clock: deps.clock,
    logger: deps.logger,
    runs: store.runs,
    queue: store.queue,
    pools: () => config.current.pools,
    job: (name) => config.current.jobs[name],
    execute: (run, job, stop) => executeRun(run, job, executorDeps(), stop),
    shutdownReason: () => new ShutdownError('appliance shutting down'),
    onFinished: (run) => theEngine().onRunFinished(run),
    onParked: (run) => workflows.onParked(run),
  });
  // Questions are observed where they are stored: each new one is an `input` notification.
  const inbox = observeQuestions(deps.workflows?.inbox ?? new MemoryInboxStore(), (item) => theEngine().onQuestion(item));
  const workflows: Workflows = new Workflows({
    ...deps.workflows,
    inbox,
    emitEvent: (name, data, id) => theEngine().sendEvent({ name, ...(data !== undefined ? { data } : {}), id }),
    createChild: (job, child) => theEngine().createRun(job, { trigger: 'invoke', occurrences: 1, ...child }),
    clock: deps.clock,
    store,
    logs: deps.logs,
    logger: deps.logger,
    dispatcher,
    job: (name) => config.current.jobs[name],
    newRunId: () => ids.next(deps.clock.now()),
    cancelRun: (id) => theEngine().cancelRun(id),
  });
  const scheduler = new Scheduler({
    clock: deps.clock,
    store,
    logger: deps.logger.child({ component: 'scheduler' }),
    newestScheduledFor: (job) => readModel.newestScheduledFor(job),
    compile: (job) => schedules.of(job),
    submit: (job, planned) => theEngine().submitScheduled(job, planned),
    ...(deps.knownNextRuns && { knownNextRuns: deps.knownNextRuns }),
  });
  engine = new Engine({ ...deps, store }, { config, runEvents, ids, schedules, dispatcher, scheduler, workflows, readModel });
  return engine;
}
