/**
 * The composition root: the only place that builds concrete adapters and
 * wires them together. Everything else receives small interfaces.
 */
import { existsSync, watch, type FSWatcher } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { packageRoot, packageVersion } from './core/package-root.js';
import { systemClock, type Clock } from './core/clock.js';
import { ConfigError, errorMessage, formatConfigIssue } from './core/errors.js';
import { createLogger, type Logger, type LogLevel } from './core/logger.js';
import { resolveConfigPath, warningsToLog } from './config/load.js';
import { ensurePrivateDataDir, usePrivateUmask, withUmask } from './core/private-files.js';
import { loadConfigAtStart, loadConfigOffThread, type ConfigLoadRequest } from './config-off-thread.js';
import type { HearthConfig } from './config/types.js';
import { builtinActions } from './actions/index.js';
import { createActionRegistry } from './actions/registry.js';
import { FileRunStore } from './runs/file-store.js';
import { runShell, killProcessGroup } from './pool/process/shell.js';
import { findRunProcessGroups } from './pool/process/group.js';
import type { Engine } from './engine/engine.js';
import { createEngine } from './engine/create-engine.js';
import { nextRunCacheFile, nextRunCacheKey, readNextRuns, writeNextRuns } from './engine/next-run-cache.js';
import { DEFAULT_MAX_RUN_LOG_BYTES, RunLogs } from './engine/run-logs.js';
import { FileStepJournal } from './steps/file-journal.js';
import { FileInboxStore, observeQuestions } from './steps/inbox.js';
import { FileEventLog } from './steps/events.js';
import { HEARTH_SECRET_ENV } from './engine/task-env.js';
import { createHttpSurface } from './http/dashboard/compose.js';
import { EventLoopMonitor } from './metrics/event-loop.js';
import { SystemInfo } from './system/system-info.js';
import { DiskSpace } from './system/disk-space.js';
import { parseThrottled, readThrottledText } from './system/throttling.js';
import { startHttpServer } from './http/server.js';
import { createTokenCheck, ensureApiToken } from './http/token.js';
import { KnowledgeService } from './knowledge/service.js';
import { createGmailActions } from './actions/gmail.js';
import { createGmailConnector } from './integrations/gmail/connect.js';
import { Connections } from './integrations/connect.js';
import { connectFlows } from './integrations/flows.js';
import { createSystemdNotifier, progressLiveness } from './platform/systemd-notify.js';
import { passwdCommand } from './platform/passwd-command.js';
import { userInfo } from 'node:os';
import { Notifier } from './notify/notifier.js';
import { SecretsStore } from './secrets/store.js';

/** The scheduler finishes a pass at least every 30 s; this long without one means it is stuck. */
const SCHEDULER_STALL_MS = 75_000;

export interface StartOptions {
  configFlag?: string;
  env: NodeJS.ProcessEnv;
  cwd: string;
  clock?: Clock;
  logger?: Logger;
  /** Install SIGTERM/SIGINT/SIGHUP handlers (the CLI does; tests may not). */
  handleSignals?: boolean;
}

export interface RunningAppliance {
  engine: Engine;
  config: HearthConfig;
  url: string;
  /** Reloads hearth.yaml now (what SIGHUP and a file change do). */
  reload(): Promise<boolean>;
  /** Graceful stop; safe to call twice; runs every cleanup even if one throws. */
  stop(): Promise<void>;
}

export async function startAppliance(options: StartOptions): Promise<RunningAppliance> {
  const clock = options.clock ?? systemClock;
  const logger = options.logger ?? createLogger({
    level: (options.env.HEARTH_LOG_LEVEL as LogLevel | undefined) ?? 'info',
    pretty: Boolean(process.stdout.isTTY) && options.env.HEARTH_LOG_FORMAT !== 'json',
  });
  // Hearth's own secrets are read here once and then leave process.env: shell tasks get an environment without them
  // (task-env.ts), and `module` actions, which run in this process, must not find them there either.
  const initialPassword = options.env.HEARTH_PASSWORD;
  if (options.env === process.env) for (const name of HEARTH_SECRET_ENV) delete process.env[name];
  const { path: configPath, embedded } = resolveConfigPath({ flag: options.configFlag, env: options.env, cwd: options.cwd });
  const loadRequest: ConfigLoadRequest = { file: configPath, env: options.env, ...(embedded ? { baseDir: options.cwd } : {}) };
  // At start nothing runs yet, so the file is checked in this thread (a worker would add its start-up to Hearth's),
  // through the tree cache (an unchanged file is not parsed again); reloads use a worker, so a large or hostile file
  // cannot hold the scheduler and the API (config-off-thread.ts).
  const version = await readVersion();
  const { config, saveCache, fromCache: configFromCache } = await loadConfigAtStart(loadRequest, version);
  if (embedded) logger.info('no hearth.yaml here: running the bundled example config', { file: configPath });
  for (const warning of warningsToLog(config)) logger.warn(warning, { file: configPath });

  // Everything Hearth creates from here on is 0700/0600 whatever umask `npm start` inherited (see private-files.ts);
  // tasks still get the umask Hearth started with.
  const taskUmask = usePrivateUmask();
  await ensurePrivateDataDir(config.dataDir);
  // Registered as each piece comes up, so a failure half-way stops what already runs.
  const cleanups: Array<() => Promise<void> | void> = [];
  const stopAll = once(async () => {
    logger.info('stopping');
    for (const cleanup of cleanups.reverse()) {
      try {
        await cleanup();
      } catch (error) {
        logger.error('cleanup failed', { error: errorMessage(error) });
      }
    }
    logger.info('stopped');
  });
  try {
    return await assemble();
  } catch (error) {
    await stopAll();
    throw error;
  }

  async function assemble(): Promise<RunningAppliance> {
    // Watched from the moment the file was read: an edit saved while Hearth is still starting (a slow Pi takes
    // seconds) is reloaded once the start is done, instead of being missed until the next edit.
    let changedWhileStarting = false;
    let onConfigChange = () => void (changedWhileStarting = true);
    const watcher = watchConfig(configPath, () => onConfigChange(), logger);
    cleanups.push(() => watcher?.close());
    const store = new FileRunStore({ dataDir: config.dataDir, clock, logger: logger.child({ component: 'store' }), keepPerJob: config.historyPerJob });
    await store.open();
    cleanups.push(() => store.close());
    // The config in force; reloads replace it (declared before anything that reads it runs).
    let current = config;
    const logs = new RunLogs(join(config.dataDir, 'logs'), clock, {
      // Read for each new run's log, so a reload applies to the next run.
      maxRunBytes: () => current.logMaxRunBytes ?? DEFAULT_MAX_RUN_LOG_BYTES,
      logger: logger.child({ component: 'logs' }),
    });
    await logs.init();
    // Workflow step journals (one file per run) and inbox questions.
    const journal = new FileStepJournal(join(config.dataDir, 'steps'));
    await journal.init();
    const inbox = new FileInboxStore(join(config.dataDir, 'inbox.json'));
    await inbox.init();
    const events = new FileEventLog(join(config.dataDir, 'events.jsonl'));
    await events.init();
    // Opens nothing until an ingest job or a search needs it (LanceDB and models load lazily).
    const knowledge = new KnowledgeService({ dataDir: config.dataDir, config: config.knowledge, clock, logger: logger.child({ component: 'knowledge' }) });
    // One store of saved secrets (<dataDir>/secrets/) for connections and notification channels.
    const secrets = new SecretsStore(config.dataDir);
    // Outside accounts (connections: in hearth.yaml) with the secrets saved by `hearth connect` or Settings › Connections.
    const connections = new Connections({ connections: () => current.connections ?? {}, secrets, flows: connectFlows() });
    const actions = createActionRegistry([
      ...builtinActions({ knowledge, connections }),
      // Gmail backup and labels: the connections in force (a reload changes them), saved tokens, the inbox for "reconnect".
      // Its "reconnect Gmail" question goes through the engine like a workflow's, so it is also sent as an `input` notification.
      ...createGmailActions({ connections: () => current.connections ?? {}, secrets, inbox: observeQuestions(inbox, (item) => engine.onQuestion(item)), knowledge }),
    ]);
    // Free space for /api/health and the dashboard banner: one statfs every 10 s at most, off the request path.
    const disk = new DiskSpace({ path: config.dataDir, clock });
    await disk.refresh();
    // Notifications: the outbox is read now and what a crash left unsent goes out; detectors publish through the engine.
    const notifications = new Notifier({ config, clock, logger: logger.child({ component: 'notify' }), secrets: (channel) => secrets.get(channel) });
    await notifications.start();
    cleanups.push(() => notifications.stop());
    // What the scheduler computed before the last stop: an unchanged schedule is neither compiled nor searched again.
    const nextRunsFile = nextRunCacheFile(config.dataDir);
    const knownNextRuns = await readNextRuns(nextRunsFile, nextRunCacheKey(version));
    const engine = createEngine({
      knownNextRuns,
      notifications,
      notifyStatus: () => notifications.status(),
      config,
      store,
      clock,
      logs,
      logger,
      version,
      // runShell spawns before its first await, so the child takes the operator's umask, not Hearth's private one.
      runShell: (shellOptions) => withUmask(taskUmask, () => runShell(shellOptions)),
      actions,
      dataDir: config.dataDir,
      baseEnv: inheritedEnv(options.env),
      killOrphan: (pid, runId) => killOrphanGroups(pid, runId, logger),
      disk: () => disk.current(),
      // Pi under-voltage / throttling for appliance notifications; absent on a PC (then never asked again).
      power: async () => {
        const text = await readThrottledText();
        return text === undefined ? undefined : parseThrottled(text);
      },
      workflows: { journal, inbox, events },
    });
    // Runs after engine.stop (cleanups run in reverse): the scheduler's last next occurrences, for the next start.
    cleanups.push(() =>
      writeNextRuns(nextRunsFile, nextRunCacheKey(version), engine.nextRunRecords()).catch((error: unknown) =>
        logger.warn('cannot write the next-run cache', { error: errorMessage(error) }),
      ),
    );
    cleanups.push(() => knowledge.close(), () => engine.stop());

    const token = await ensureApiToken(config.dataDir);
    // The dashboard, the API and /metrics; the password, sessions and tokens live in <dataDir>/secrets.
    const surface = await createHttpSurface({
      appliance: engine,
      dataDir: config.dataDir,
      packageRoot: packageRoot(import.meta.url),
      clock,
      logger: logger.child({ component: 'http' }),
      cliTokenCheck: createTokenCheck([token]),
      system: new SystemInfo({ dataDir: config.dataDir, clock }),
      eventLoop: new EventLoopMonitor(),
      timeZone: () => current.timezone,
      ...(initialPassword ? { initialPassword } : {}),
      api: { search: knowledge, notify: { channels: () => notifications.status(), test: (channel) => notifications.test(channel) } },
      connections,
      // Settings › Connections › Gmail: the OAuth consent steps for a gmail connection (the Connections page links there).
      gmailConnect: createGmailConnector({ connections: () => current.connections ?? {}, secrets }),
      passwd: passwdCommand({
        configFile: configPath,
        cwd: options.cwd,
        packageRoot: packageRoot(import.meta.url),
        wrapper: existsSync(join(packageRoot(import.meta.url), 'hearth')),
        user: userInfo().username,
        env: options.env,
        embedded,
      }),
    });
    // The routes and pages load with the first request (server.ts); an appliance nobody looks at does not carry them.
    const app = surface.app;
    // Ends the live streams and the event-loop monitor, also when the server fails to listen.
    cleanups.push(() => surface.stop());
    // SIGTERM/SIGINT are taken before the API answers: a supervisor that stops Hearth as soon as /api/health
    // answers (on a slow Pi the engine may still be starting then) gets a clean stop, after the start finishes.
    let engineStarted: Promise<unknown> = Promise.resolve();
    if (options.handleSignals) {
      const onStop = (signal: string) => {
        logger.info('signal received', { signal });
        void engineStarted
          .catch(() => {})
          .then(stopAll)
          .then(() => process.exit(0));
      };
      process.once('SIGTERM', onStop);
      process.once('SIGINT', onStop);
      cleanups.push(() => {
        process.off('SIGTERM', onStop);
        process.off('SIGINT', onStop);
      });
    }
    const server = await startHttpServer(app, { host: config.server.host, port: config.server.port, logger });
    cleanups.push(() => server.close());
    // Runs start (recovered ones, catch-up) only once the API answers: jobs may call it.
    engineStarted = engine.start();
    await engineStarted;

    const reload = async (): Promise<boolean> => {
      try {
        // An empty file on reload is an error, not "remove every job" (a half-saved file).
        current = await loadConfigOffThread({ ...loadRequest, rejectEmpty: true }, { clock });
        for (const warning of warningsToLog(current)) logger.warn(warning, { file: configPath });
        engine.reload(current);
        await notifications.reconfigure(current);
        await knowledge.configure(current.dataDir, current.knowledge);
        logger.info('config reloaded', { file: configPath, jobs: Object.keys(current.jobs).length });
        return true;
      } catch (error) {
        const lines = error instanceof ConfigError ? error.issues.map(formatConfigIssue) : [errorMessage(error)];
        engine.reloadFailed(lines);
        logger.error('config reload failed; the previous jobs keep running', { file: configPath, errors: lines });
        return false;
      }
    };
    onConfigChange = () => void reload();
    if (changedWhileStarting) void reload();

    if (options.handleSignals) {
      const onHup = () => void reload();
      process.on('SIGHUP', onHup);
      cleanups.push(() => {
        process.off('SIGHUP', onHup);
      });
    }

    // bin/hearth.js says whether V8's code cache compiled the bundle (off, missing, rejected or used).
    const codeCache = (globalThis as Record<symbol, unknown>)[Symbol.for('hearth.codeCache')];
    logger.info('hearth started', {
      version, config: configPath, dataDir: config.dataDir, url: server.url, jobs: Object.keys(config.jobs).length,
      configFromCache,
      ...(typeof codeCache === 'string' && { codeCache }),
    });
    // bin/hearth.js's process settings that must wait until start-up is over (a smaller V8 heap growth factor).
    const afterStart = (globalThis as Record<symbol, unknown>)[Symbol.for('hearth.afterStart')];
    if (typeof afterStart === 'function') afterStart();
    // Under systemd (Type=notify): ready now, then watchdog pings while the scheduler keeps completing passes.
    const notifier = createSystemdNotifier({
      env: options.env,
      logger: logger.child({ component: 'systemd' }),
      liveness: progressLiveness(() => engine.schedulerPasses(), SCHEDULER_STALL_MS, () => performance.now()),
    });
    await notifier.ready(`serving ${server.url}`);
    cleanups.push(() => notifier.stopping());
    // The file was parsed: remember its tree for the next start, off the start-up path (a stop waits for the write).
    if (saveCache) {
      const saving = saveCache().catch((error: unknown) => logger.warn('cannot write the config tree cache', { error: errorMessage(error) }));
      cleanups.push(() => saving.then(() => {}));
    }
    return {
      engine,
      get config() {
        return current;
      },
      url: server.url,
      reload,
      stop: stopAll,
    };
  }
}

/**
 * Watches the config file's directory rather than the file: editors save by
 * writing a new file and renaming it over the old one, which ends a watch on
 * the file itself. Changes are debounced so one save reloads once.
 */
function watchConfig(file: string, onChange: () => void, logger: Logger): FSWatcher | undefined {
  let debounce: NodeJS.Timeout | undefined;
  try {
    const watcher = watch(dirname(file), (_event, name) => {
      if (name && name !== basename(file)) return;
      clearTimeout(debounce);
      debounce = setTimeout(onChange, 300);
    });
    watcher.on('error', (error) => logger.warn('config watch stopped; SIGHUP still reloads', { error: errorMessage(error) }));
    watcher.unref();
    return watcher;
  } catch (error) {
    logger.warn('cannot watch the config file; SIGHUP still reloads', { error: errorMessage(error) });
    return undefined;
  }
}

/**
 * After kill -9 or a power cut the tasks' process groups may still be alive
 * (kill -9) or the pid may now belong to something else (reboot). Only a
 * process whose environment carries this run's id is ours to kill.
 */
/**
 * Kills what is left of an interrupted run's tasks after a crash: every
 * process group whose processes carry the run's HEARTH_RUN_ID. The recorded
 * pid is only a hint (it may not have reached the disk before the crash, and
 * after a reboot the number may belong to someone else), so the environment
 * decides, and it finds a task whose pid was never written too.
 */
function killOrphanGroups(hintPid: number | undefined, runId: string, logger: Logger): void {
  for (const pgid of findRunProcessGroups(runId)) {
    killProcessGroup(pgid, 'SIGKILL');
    logger.warn('killed an orphaned task process group from before the restart', { pgid, runId, ...(hintPid !== undefined ? { recordedPid: hintPid } : {}) });
  }
}

function inheritedEnv(env: NodeJS.ProcessEnv): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(env)) if (value !== undefined) out[key] = value;
  return out;
}

async function readVersion(): Promise<string> {
  return packageVersion(import.meta.url);
}

function once(fn: () => Promise<void>): () => Promise<void> {
  let result: Promise<void> | undefined;
  return () => (result ??= fn());
}
