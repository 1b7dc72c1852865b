import { readdir, readFile, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../core/atomic-file.js';
import { InputGoneError, UsageError } from '../core/errors.js';
import type { Run } from './model.js';

/**
 * A run's input: any JSON value (`POST /api/jobs/:name/run` with `{ input }`,
 * an event's `data`, a webhook's body).
 *
 * Small inputs (the usual doorbell press or sensor reading) are kept in the
 * run itself. An input whose JSON is over INLINE_INPUT_BYTES goes to
 * `<dataDir>/inputs/<run id>.json` (atomic, 0600 under Hearth's umask)
 * before the run is inserted, and the run only says `inputInFile`: the run
 * is written whole to state.wal at its insert and after each checkpoint, and
 * kept in state.json with its job's recent history, so a 60 KB webhook body
 * inline would be rewritten to the SD card at every checkpoint and 50 times
 * over in state.json.
 *
 * The same file is what shell tasks get as HEARTH_INPUT_FILE; for an inline
 * input it is written when the first shell task starts. Input files are
 * deleted with the run logs (`history.keepLogs`), never while the run is
 * active.
 */

/** The largest input a run accepts (its JSON text); the HTTP body limit is the same, so the API refuses bigger with 413. */
export const MAX_INPUT_BYTES = 64 * 1024;
/** Inputs up to this size stay in the run (state.json); bigger ones go to a file. */
export const INLINE_INPUT_BYTES = 4 * 1024;

export const INPUTS_DIR = 'inputs';

export function inputPath(dataDir: string, runId: string): string {
  return join(dataDir, INPUTS_DIR, `${runId}.json`);
}

export function hasInput(run: Pick<Run, 'inputBytes'>): boolean {
  return run.inputBytes !== undefined;
}

/** The input's JSON text, or a UsageError when it is not JSON or too large. */
export function inputJson(input: unknown): string {
  let text: string | undefined;
  try {
    text = JSON.stringify(input);
  } catch (error) {
    throw new UsageError(`input is not JSON-serialisable: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }
  if (text === undefined) throw new UsageError('input is not a JSON value');
  const bytes = Buffer.byteLength(text);
  if (bytes > MAX_INPUT_BYTES) throw new UsageError(`input is ${bytes} bytes of JSON; the limit is ${MAX_INPUT_BYTES / 1024} KB`);
  return text;
}

/**
 * Gives `run` its input: inline when small, else written to its file first
 * (durable before the caller inserts the run). `input === undefined` means none.
 */
export async function attachInput(run: Run, input: unknown, dataDir: string): Promise<void> {
  if (input === undefined) return;
  const text = inputJson(input);
  const bytes = Buffer.byteLength(text);
  run.inputBytes = bytes;
  if (bytes <= INLINE_INPUT_BYTES) {
    run.input = JSON.parse(text) as unknown;
    return;
  }
  await writeFileAtomic(inputPath(dataDir, run.id), text, 0o600);
  run.inputInFile = true;
}

/** The run's input (undefined when it has none). Throws when a file-kept input is gone. */
export async function readInput(run: Run, dataDir: string): Promise<unknown> {
  if (!hasInput(run)) return undefined;
  if (!run.inputInFile) return run.input;
  const text = await readFile(inputPath(dataDir, run.id), 'utf8').catch(() => undefined);
  if (text === undefined) throw new InputGoneError(run.id);
  return JSON.parse(text) as unknown;
}

/** The input's JSON text ('' when none), for HEARTH_INPUT. */
export async function readInputText(run: Run, dataDir: string): Promise<string> {
  if (!hasInput(run)) return '';
  if (!run.inputInFile) return JSON.stringify(run.input);
  const text = await readFile(inputPath(dataDir, run.id), 'utf8').catch(() => undefined);
  if (text === undefined) throw new InputGoneError(run.id);
  return text;
}

/** The path of the file holding the input ('' when none), writing it first for an inline input. */
export async function ensureInputFile(run: Run, dataDir: string): Promise<string> {
  if (!hasInput(run)) return '';
  const path = inputPath(dataDir, run.id);
  if (run.inputInFile) {
    if (!(await stat(path).catch(() => undefined))) throw new InputGoneError(run.id);
    return path;
  }
  // Written once per run (atomically, so a power cut never leaves half of it); later tasks reuse it.
  if (!(await stat(path).catch(() => undefined))) await writeFileAtomic(path, JSON.stringify(run.input), 0o600);
  return path;
}

/** Deletes input files older than the retention whose run is not active; returns how many. */
export async function pruneInputs(dataDir: string, options: { now: number; retentionMs: number; isActive(runId: string): boolean }): Promise<number> {
  const dir = join(dataDir, INPUTS_DIR);
  const cutoff = options.now - options.retentionMs;
  let removed = 0;
  for (const name of await readdir(dir).catch(() => [] as string[])) {
    // Leftover temp files of an interrupted atomic write are old too.
    const runId = name.endsWith('.json') ? name.slice(0, -'.json'.length) : undefined;
    if (runId !== undefined && options.isActive(runId)) continue;
    const path = join(dir, name);
    const info = await stat(path).catch(() => undefined);
    if (!info || info.mtimeMs >= cutoff) continue;
    await unlink(path).then(() => removed++, () => {});
  }
  return removed;
}
