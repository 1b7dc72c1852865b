import { spawn } from 'node:child_process';
import { createWriteStream, existsSync } from 'node:fs';
import { chmod, copyFile, mkdir, mkdtemp, readFile, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { UsageError } from '../core/errors.js';
import { STATE_FILES, snapshotStateFiles } from '../runs/state-snapshot.js';
import type { CommandArgs } from './args.js';
import { booleanValue, stringValue } from './args.js';
import { loadCliConnection } from './config.js';
import type { CliContext } from './context.js';
import { CliFailure } from './errors.js';
import { localUrl } from './target.js';

/**
 * `hearth backup [FILE]` and `hearth restore FILE`: the data directory's
 * state in one .tar.gz, for a new SD card or a bad day.
 *
 * The archive holds the data directory's layout at its root (state files,
 * history/, secrets/, inputs/, the workflows' steps/, inbox.json and
 * events.jsonl; knowledge/ and logs/ on request) plus
 * `.hearth-backup/manifest.json` and `.hearth-backup/hearth.yaml` (the
 * config). The state files are copied first, in the order replay tolerates
 * (src/runs/state-snapshot.ts), so a backup taken while the appliance runs
 * opens like the state after a power cut at that instant; the directories
 * are read after them. The system `tar` writes and reads the archive.
 */

const META_DIR = '.hearth-backup';
const FORMAT = 1;
/**
 * Always in a backup (when present), read after the state files: run history,
 * secrets, run inputs, and the workflows' step journals, inbox and event log
 * (a journal read after the state may hold steps the state does not know of
 * yet, which a replay simply returns). knowledge/ and logs/ on request.
 */
const DIRECTORIES = ['history', 'secrets', 'inputs', 'steps', 'inbox.json', 'events.jsonl'] as const;
const OPTIONAL_DIRECTORIES = { knowledge: 'knowledge', logs: 'logs' } as const;
/** Everything a backup may hold, and so what a forced restore moves aside. */
const RESTORABLE: readonly string[] = [...STATE_FILES, ...DIRECTORIES, ...Object.values(OPTIONAL_DIRECTORIES)];

interface Manifest {
  format: number;
  createdAt: string;
  dataDir: string;
  config: string;
  entries: string[];
}

export async function backupCommand(args: CommandArgs, ctx: CliContext): Promise<number> {
  const { settings, path: configPath, issues } = await loadCliConnection(ctx, stringValue(args, 'config'));
  if (issues.length > 0) ctx.stderr.write(`warning: ${configPath} has problems; backing it up as it is (hearth validate lists them)\n`);
  const dataDir = settings.dataDir;
  if (!existsSync(join(dataDir, 'state.json')) && !existsSync(join(dataDir, 'state.wal'))) {
    throw new CliFailure(`no Hearth state in ${dataDir} (dataDir of ${configPath}); nothing to back up`);
  }
  const now = new Date(ctx.now?.() ?? Date.now());
  const file = resolve(ctx.cwd, args.positionals[0] ?? defaultName(now));
  if (existsSync(file)) throw new UsageError(`${file} exists; name another file (backups are never overwritten)`);

  const stage = await mkdtemp(join(dirname(file), '.hearth-backup-'));
  const partial = `${file}.partial`;
  try {
    await chmod(stage, 0o700);
    // 1. The state files, consistent among themselves (before any directory: see state-snapshot.ts).
    const stateFiles = await snapshotStateFiles(dataDir, stage);
    // 2. The config and the manifest.
    await mkdir(join(stage, META_DIR), { mode: 0o700 });
    await copyFile(configPath, join(stage, META_DIR, 'hearth.yaml'));
    await chmod(join(stage, META_DIR, 'hearth.yaml'), 0o600);
    const wanted = [
      ...DIRECTORIES,
      ...(booleanValue(args, 'knowledge') ? [OPTIONAL_DIRECTORIES.knowledge] : []),
      ...(booleanValue(args, 'logs') ? [OPTIONAL_DIRECTORIES.logs] : []),
    ];
    const directories = wanted.filter((name) => existsSync(join(dataDir, name)));
    // logs/ goes last, as a list in a safe order (see logsArchiveList).
    const withoutLogs = directories.filter((name) => name !== OPTIONAL_DIRECTORIES.logs);
    const logList = join(stage, 'logs.list');
    if (directories.includes(OPTIONAL_DIRECTORIES.logs)) await writeFile(logList, (await logsArchiveList(dataDir)).join('\n') + '\n', { mode: 0o600 });
    const manifest: Manifest = {
      format: FORMAT,
      createdAt: now.toISOString(),
      dataDir,
      config: configPath,
      entries: [...stateFiles, ...directories],
    };
    await writeFile(join(stage, META_DIR, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`, { mode: 0o600 });
    // 3. One archive: the staged files, then the directories straight from the data directory.
    const output = createWriteStream(partial, { mode: 0o600, flags: 'wx' });
    await runTar(
      [
        '-czf', '-', '-C', stage, META_DIR, ...stateFiles,
        ...(directories.length > 0 ? ['-C', dataDir, ...withoutLogs] : []),
        // A log file that a finishing run moves into its pack meanwhile is read from the pack instead.
        ...(withoutLogs.length < directories.length ? ['--ignore-failed-read', '--no-recursion', '--verbatim-files-from', '-T', logList] : []),
      ],
      { stdout: output, tolerateChangedFiles: true },
    );
    await rename(partial, file);
    const size = (await stat(file)).size;
    ctx.stdout.write(`backed up ${dataDir} and ${configPath} to ${file} (${formatSize(size)}: ${manifest.entries.join(', ')})\n`);
    return 0;
  } finally {
    await rm(stage, { recursive: true, force: true });
    await rm(partial, { force: true });
  }
}

export async function restoreCommand(args: CommandArgs, ctx: CliContext): Promise<number> {
  const file = resolve(ctx.cwd, args.positionals[0] ?? '');
  if (!existsSync(file)) throw new UsageError(`${file} not found`);
  const force = booleanValue(args, 'force');

  // Unpacked next to the file first: nothing is touched until the archive proves to be a Hearth backup.
  const stage = await mkdtemp(join(dirname(file), '.hearth-restore-'));
  try {
    await chmod(stage, 0o700);
    await runTar(['-xzf', file, '-C', stage, '--no-same-owner', '--same-permissions']);
    const manifest = await readManifest(stage, file);

    // The config goes back where this machine looks for it (--config, HEARTH_CONFIG, ./hearth.yaml), unless one is there.
    const stagedConfig = join(stage, META_DIR, 'hearth.yaml');
    const configPath = resolve(ctx.cwd, stringValue(args, 'config') ?? ctx.env.HEARTH_CONFIG ?? 'hearth.yaml');
    const configExists = existsSync(configPath);
    const { loadConnectionSettings } = await import('../config/load.js');
    // Relative paths in the backup's config mean the same next to where it goes.
    const { settings } = await loadConnectionSettings(configExists ? configPath : stagedConfig, { env: ctx.env, baseDir: dirname(configPath) });
    await refuseWhileRunning(ctx, settings.server);
    if (!configExists) {
      await placeConfig(stagedConfig, configPath);
      ctx.stdout.write(`restored the config to ${configPath}\n`);
    } else if ((await readFile(configPath, 'utf8')) !== (await readFile(stagedConfig, 'utf8'))) {
      try {
        await placeConfig(stagedConfig, `${configPath}.from-backup`);
        ctx.stdout.write(`kept ${configPath}; the backup's config differs: it is in ${configPath}.from-backup\n`);
      } catch (error) {
        // /etc/hearth may not be writable by the user Hearth runs as: the data matters more than the copy.
        ctx.stderr.write(`warning: kept ${configPath}; the backup's config differs but could not be written next to it (${(error as Error).message}): tar -xzf ${file} ${META_DIR}/hearth.yaml\n`);
      }
    }

    const dataDir = settings.dataDir;
    if (hasState(dataDir)) {
      if (!force) {
        throw new CliFailure(`${dataDir} already holds Hearth state; restore with --force to replace it (the old state is moved to ${join(dataDir, 'before-restore-…')})`);
      }
      // Moved inside the data directory: the user Hearth runs as may not write to its parent (/var/lib).
      const aside = join(dataDir, `before-restore-${stamp(new Date(ctx.now?.() ?? Date.now()))}`);
      await mkdir(aside, { mode: 0o700 });
      for (const entry of RESTORABLE) {
        if (existsSync(join(dataDir, entry))) await rename(join(dataDir, entry), join(aside, entry));
      }
      ctx.stdout.write(`moved the old state to ${aside}\n`);
    }
    await mkdir(dataDir, { recursive: true, mode: 0o700 });
    await chmod(dataDir, 0o700);
    for (const entry of manifest.entries) {
      const target = join(dataDir, entry);
      await rm(target, { recursive: true, force: true });
      await rename(join(stage, entry), target);
    }
    ctx.stdout.write(`restored ${manifest.entries.join(', ')} from the backup of ${manifest.createdAt} into ${dataDir}\n`);
    ctx.stdout.write(`start hearth to use it (sudo systemctl start hearth on the Pi)\n`);
    return 0;
  } finally {
    await rm(stage, { recursive: true, force: true });
  }
}

/** A running appliance would overwrite the restored state with its own: refuse while one answers. */
async function refuseWhileRunning(ctx: CliContext, server: { host: string; port: number }): Promise<void> {
  const url = localUrl(server);
  let answered = false;
  try {
    const response = await ctx.fetch(`${url}/api/health`, { signal: AbortSignal.timeout(2_000) });
    answered = response.status < 500;
  } catch {
    answered = false;
  }
  if (answered) {
    throw new CliFailure(`hearth is running (it answers at ${url}): stop it first (sudo systemctl stop hearth), then restore`);
  }
}

async function readManifest(stage: string, file: string): Promise<Manifest> {
  let manifest: Manifest;
  try {
    manifest = JSON.parse(await readFile(join(stage, META_DIR, 'manifest.json'), 'utf8')) as Manifest;
  } catch (error) {
    throw new CliFailure(`${file} is not a Hearth backup (no ${META_DIR}/manifest.json)`, { cause: error });
  }
  if (manifest.format !== FORMAT || !Array.isArray(manifest.entries)) {
    throw new CliFailure(`${file}: unknown backup format ${String(manifest.format)} (this hearth reads format ${FORMAT})`);
  }
  const allowed = new Set<string>(RESTORABLE);
  const present = new Set(await readdir(stage));
  for (const entry of manifest.entries) {
    if (!allowed.has(entry)) throw new CliFailure(`${file}: unexpected entry "${entry}" in the manifest`);
    if (!present.has(entry)) throw new CliFailure(`${file}: "${entry}" is listed but missing (a damaged or cut-short archive?)`);
  }
  return manifest;
}

async function placeConfig(from: string, to: string): Promise<void> {
  await mkdir(dirname(to), { recursive: true });
  const temp = `${to}.tmp`;
  await copyFile(from, temp);
  await chmod(temp, 0o600);
  await rename(temp, to);
}

function hasState(dataDir: string): boolean {
  return existsSync(join(dataDir, 'state.json')) || existsSync(join(dataDir, 'state.wal'));
}

/**
 * Runs the system tar. GNU tar exits 1 when a file changed while it was read
 * (a history file appended to during the backup): the archive is complete
 * up to that moment and a torn last line is skipped when read, so that is
 * accepted for a backup.
 */
async function runTar(
  argv: string[],
  options: { stdout?: NodeJS.WritableStream; tolerateChangedFiles?: boolean } = {},
): Promise<void> {
  const child = spawn('tar', argv, { stdio: ['ignore', options.stdout ? 'pipe' : 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (chunk: string) => {
    if (stderr.length < 8_192) stderr += chunk;
  });
  const exited = new Promise<number>((resolveExit, reject) => {
    child.once('error', (error: NodeJS.ErrnoException) =>
      reject(error.code === 'ENOENT' ? new CliFailure('the tar command is missing: apt-get install tar', { cause: error }) : error),
    );
    child.once('close', (code) => resolveExit(code ?? 1));
  });
  const piping = options.stdout ? pipeline(child.stdout!, options.stdout) : Promise.resolve();
  const [code] = await Promise.all([exited, piping]);
  if (code === 0) return;
  const onlyChanged = stderr
    .split('\n')
    .filter((line) => line.trim() !== '')
    .every((line) => /file changed as we read it/.test(line));
  if (code === 1 && options.tolerateChangedFiles && onlyChanged) return;
  throw new CliFailure(`tar failed (exit ${code}): ${stderr.trim() || 'no message'}`);
}

/**
 * The names under logs/ for tar's file list, in the order that keeps every
 * log while runs finish during the backup: each run's own file before the
 * packs (logs/packs/, see engine/log-packs.ts). A finished run's file is
 * removed only after its bytes and index line are in the pack, so a log
 * whose file was already gone when tar came to it is in the pack files tar
 * reads after. tar reads the list verbatim, without recursion; a file that
 * vanishes before tar reads it (packed, or a tail segment merged) is
 * skipped with a warning.
 */
export async function logsArchiveList(dataDir: string): Promise<string[]> {
  const names = await readdir(join(dataDir, 'logs'), { withFileTypes: true });
  const own = names.filter((entry) => entry.isFile()).map((entry) => `logs/${entry.name}`);
  const packs = (await readdir(join(dataDir, 'logs', 'packs')).catch(() => [] as string[])).sort().map((name) => `logs/packs/${name}`);
  const hasPacks = names.some((entry) => entry.isDirectory() && entry.name === 'packs');
  return ['logs', ...own, ...(hasPacks ? ['logs/packs'] : []), ...packs];
}

function defaultName(now: Date): string {
  return `hearth-backup-${stamp(now)}.tar.gz`;
}

function stamp(now: Date): string {
  return now.toISOString().replace(/[-:]/g, '').replace(/\..*$/, '').replace('T', '-');
}

function formatSize(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}
