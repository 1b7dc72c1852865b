import { open, readFile } from 'node:fs/promises';
import { writeFileAtomic } from '../core/atomic-file.js';

/**
 * Recent events, for workflows' step.waitForEvent: an event that arrived
 * after a run began but before its wait started is found here, so it is not
 * lost. Event ids deduplicate (step.sendEvent uses a stable id, so a replay
 * never sends twice). Bounded: the newest MAX_EVENTS are kept.
 */
export interface EventRecord {
  id: string;
  name: string;
  data?: unknown;
  /** When it arrived (ISO). */
  at: string;
}

export interface EventLog {
  /** Records the event unless one with its id exists; durable when resolved. Returns false for a duplicate. */
  append(event: EventRecord): Promise<boolean>;
  /** Events called `name` that arrived at or after `since` (epoch ms), oldest first. */
  since(name: string, since: number): Promise<EventRecord[]>;
}

export const MAX_EVENTS = 1000;

export class MemoryEventLog implements EventLog {
  protected events: EventRecord[] = [];
  protected readonly ids = new Set<string>();

  async append(event: EventRecord): Promise<boolean> {
    if (this.ids.has(event.id)) return false;
    this.events.push(structuredClone(event));
    this.ids.add(event.id);
    await this.persist(event);
    if (this.events.length > MAX_EVENTS) {
      for (const old of this.events.splice(0, this.events.length - MAX_EVENTS)) this.ids.delete(old.id);
    }
    return true;
  }

  async since(name: string, since: number): Promise<EventRecord[]> {
    return this.events.filter((event) => event.name === name && Date.parse(event.at) >= since).map((event) => structuredClone(event));
  }

  protected async persist(_event: EventRecord): Promise<void> {}
}

/** `<dataDir>/events.jsonl` (0600): one line per event, fdatasynced; compacted to the newest MAX_EVENTS when it doubles. */
export class FileEventLog extends MemoryEventLog {
  private lines = 0;
  /** Appends and compactions one at a time. */
  private writing: Promise<void> = Promise.resolve();

  constructor(private readonly file: string) {
    super();
  }

  async init(): Promise<void> {
    let text = '';
    try {
      text = await readFile(this.file, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
    for (const line of text.split('\n')) {
      if (!line) continue;
      try {
        const event = JSON.parse(line) as EventRecord;
        if (this.ids.has(event.id)) continue;
        this.events.push(event);
        this.ids.add(event.id);
      } catch {
        // A torn last line after a power cut: that event was never acknowledged.
      }
    }
    this.events = this.events.slice(-MAX_EVENTS);
    this.ids.clear();
    for (const event of this.events) this.ids.add(event.id);
    await this.compact();
  }

  protected override async persist(event: EventRecord): Promise<void> {
    const write = this.writing.then(() => this.write(event));
    this.writing = write.catch(() => {});
    await write;
  }

  private async write(event: EventRecord): Promise<void> {
    // The event is already in memory: a compaction writes it with the others.
    if (this.lines >= 2 * MAX_EVENTS) return this.compact();
    const handle = await open(this.file, 'a', 0o600);
    try {
      await handle.write(`${JSON.stringify(event)}\n`);
      await handle.datasync();
    } finally {
      await handle.close();
    }
    this.lines++;
  }

  private async compact(): Promise<void> {
    const keep = this.events.slice(-MAX_EVENTS);
    await writeFileAtomic(this.file, keep.map((event) => `${JSON.stringify(event)}\n`).join(''), 0o600);
    this.lines = keep.length;
  }
}
