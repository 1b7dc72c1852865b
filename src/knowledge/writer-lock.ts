import { open, readFile, unlink, mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { ConflictError } from '../core/errors.js';

/**
 * One writer at a time. Inside the process writers queue behind each other
 * (two ingest jobs at once just take turns); across processes a lock file
 * holding the owner's pid keeps `hearth knowledge rebuild` from writing while
 * the appliance ingests. A lock left by a dead process (kill -9, power cut)
 * is taken over.
 */
export class WriterLock {
  private tail: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly file: string,
    private readonly pid: number = process.pid,
  ) {}

  async run<T>(work: () => Promise<T>): Promise<T> {
    const previous = this.tail;
    let release!: () => void;
    this.tail = new Promise<void>((resolve) => (release = resolve));
    try {
      await previous.catch(() => {});
      await this.acquireFile();
      try {
        return await work();
      } finally {
        await unlink(this.file).catch(() => {});
      }
    } finally {
      release();
    }
  }

  private async acquireFile(): Promise<void> {
    await mkdir(dirname(this.file), { recursive: true });
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        const handle = await open(this.file, 'wx', 0o644);
        await handle.writeFile(`${this.pid}\n`);
        await handle.close();
        return;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      }
      const owner = await readOwner(this.file);
      if (owner !== undefined && owner !== this.pid && processAlive(owner)) {
        throw new ConflictError(`the knowledge store is being written by another process (pid ${owner}); try again when it finishes`);
      }
      // Stale: its owner is gone (or it is ours from before a crash).
      await unlink(this.file).catch(() => {});
    }
    throw new ConflictError(`cannot take the knowledge store's writer lock ${this.file}`);
  }
}

async function readOwner(file: string): Promise<number | undefined> {
  try {
    const pid = Number.parseInt(await readFile(file, 'utf8'), 10);
    return Number.isSafeInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/** Whether a process with this pid exists (EPERM: it does, under another user). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
