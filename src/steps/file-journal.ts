import { createHash } from 'node:crypto';
import { mkdir, open, readFile, readdir, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { fsyncDirectory, writeFileAtomic } from '../core/atomic-file.js';
import { LARGE_RESULT_BYTES, type StepEntry, type StepJournal } from './journal.js';

const SAFE_RUN_ID = /^[A-Za-z0-9_-]{1,64}$/;

/**
 * Step journals on disk: `<dataDir>/steps/<runId>.jsonl`, one JSON line per
 * entry, appended and fdatasynced before the step's result is used (so a
 * step that completed is never run again after a crash). A result over
 * LARGE_RESULT_BYTES goes to `<runId>.<n>-<task hash>.json` beside it
 * (written atomically first), and the line only names it. Files are 0600.
 *
 * A power cut can leave the last line half written: `load` drops it and
 * truncates the file to the last whole line, so that step runs again (its
 * body is at-least-once exactly in that window: it finished, but the power
 * went before its entry was on disk).
 */
export class FileStepJournal implements StepJournal {
  constructor(private readonly dir: string) {}

  get directory(): string {
    return this.dir;
  }

  async init(): Promise<void> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
  }

  private fileOf(runId: string): string {
    if (!SAFE_RUN_ID.test(runId)) throw new Error(`invalid run id for a step journal: ${JSON.stringify(runId)}`);
    return join(this.dir, `${runId}.jsonl`);
  }

  async load(runId: string): Promise<StepEntry[]> {
    const file = this.fileOf(runId);
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw error;
    }
    const end = text.lastIndexOf('\n') + 1;
    if (end < text.length) await truncateTo(file, Buffer.byteLength(text.slice(0, end)));
    const entries: StepEntry[] = [];
    const lines = text.slice(0, end).split('\n');
    for (let i = 0; i < lines.length; i++) {
      const line = lines[i]!;
      if (line === '') continue;
      try {
        entries.push(JSON.parse(line) as StepEntry);
      } catch (error) {
        throw new Error(`${file}:${i + 1}: unreadable step journal entry (the file is damaged)`, { cause: error });
      }
    }
    return entries;
  }

  async append(runId: string, entry: StepEntry): Promise<void> {
    const file = this.fileOf(runId);
    let line = entry;
    if (entry.result !== undefined) {
      const json = JSON.stringify(entry.result);
      if (Buffer.byteLength(json) > LARGE_RESULT_BYTES) {
        const ref = `${runId}.${entry.n}-${createHash('sha256').update(entry.task).digest('hex').slice(0, 8)}.json`;
        await writeFileAtomic(join(this.dir, ref), json, 0o600);
        const { result: _inline, ...rest } = entry;
        line = { ...rest, ref };
      }
    }
    const handle = await open(file, 'a', 0o600);
    let created = false;
    try {
      created = (await handle.stat()).size === 0;
      await handle.write(`${JSON.stringify(line)}\n`);
      await handle.datasync();
    } finally {
      await handle.close();
    }
    // A new file's directory entry must be durable too, or a power cut can lose the whole journal.
    if (created) await fsyncDirectory(this.dir);
  }

  async readResult(runId: string, ref: string): Promise<unknown> {
    if (!ref.startsWith(`${runId}.`) || ref.includes('/') || ref.includes('\\')) throw new Error(`invalid step result reference ${ref}`);
    return JSON.parse(await readFile(join(this.dir, ref), 'utf8')) as unknown;
  }

  async prune(input: { before: number; isActive(runId: string): boolean }): Promise<number> {
    const names = await readdir(this.dir).catch(() => [] as string[]);
    let removed = 0;
    for (const name of names) {
      if (!name.endsWith('.jsonl')) continue;
      const runId = name.slice(0, -'.jsonl'.length);
      if (input.isActive(runId)) continue;
      const info = await stat(join(this.dir, name)).catch(() => undefined);
      if (!info || info.mtimeMs >= input.before) continue;
      // Results first: a journal never names a file that is gone.
      for (const other of names) if (other.startsWith(`${runId}.`) && other.endsWith('.json')) await unlink(join(this.dir, other)).catch(() => {});
      await unlink(join(this.dir, name)).then(() => removed++, () => {});
    }
    return removed;
  }
}

async function truncateTo(file: string, bytes: number): Promise<void> {
  const handle = await open(file, 'r+');
  try {
    await handle.truncate(bytes);
    await handle.sync();
  } finally {
    await handle.close();
  }
}
