import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { isDeepStrictEqual } from 'node:util';
import { z } from 'zod';
import { writeFileAtomic } from '../core/atomic-file.js';
import { ConflictError, NotFoundError, UsageError } from '../core/errors.js';

/**
 * The inbox: questions workflows ask a person (step.waitForInput). An item
 * is created before its run parks and answered at most once; both are on
 * disk before they are acknowledged.
 */
export interface InboxItem {
  id: string;
  runId: string;
  job: string;
  stepId: string;
  prompt: string;
  /** JSON schema the answer must satisfy (see validateAnswer for the supported keywords). */
  schema?: Record<string, unknown>;
  /** Allowed answers, shown as buttons. */
  choices?: unknown[];
  askedAt: string;
  expiresAt?: string;
  /**
   * Not a step waiting for its answer but a request to the person (e.g. "Reconnect Gmail" from a run that then
   * failed): it stays open after its run ended, until answered.
   */
  outlivesRun?: boolean;
  status: 'open' | 'answered' | 'expired';
  answeredAt?: string;
  value?: unknown;
}

export interface InboxStore {
  /** Creates the question unless one with its id exists (a replay); returns the stored item. Durable when resolved. */
  ask(item: Omit<InboxItem, 'status'>): Promise<InboxItem>;
  get(id: string): Promise<InboxItem | undefined>;
  /** Open questions, oldest first. */
  listOpen(): Promise<InboxItem[]>;
  /**
   * Records the answer (validated by the caller); durable when resolved.
   * NotFoundError for an unknown id, ConflictError if already answered or expired.
   */
  answer(id: string, value: unknown, now: number): Promise<InboxItem>;
  /** Closes an open question whose time ran out; an answered one stays answered. Returns the stored item. */
  expire(id: string, now: number): Promise<InboxItem | undefined>;
}

/**
 * Answers a question, the one way answers are taken (engine and test fakes):
 * NotFoundError for an unknown id, ConflictError once answered or expired,
 * UsageError naming the field when the value fails the choices or schema;
 * on disk when this resolves.
 */
export async function answerQuestion(inbox: InboxStore, id: string, value: unknown, now: number): Promise<InboxItem> {
  const item = await inbox.get(id);
  if (!item) throw new NotFoundError('question', id);
  if (item.status !== 'open') throw new ConflictError(`question ${id} is already ${item.status}`);
  validateAnswer(item, value);
  return inbox.answer(id, value, now);
}

/** The store, telling `onAsked` about each question it did not hold before (a replay's ask tells nothing). */
export function observeQuestions(inbox: InboxStore, onAsked: (item: InboxItem) => void): InboxStore {
  return {
    ask: async (item) => {
      const before = await inbox.get(item.id);
      const stored = await inbox.ask(item);
      if (!before) onAsked(stored);
      return stored;
    },
    get: (id) => inbox.get(id),
    listOpen: () => inbox.listOpen(),
    answer: (id, value, now) => inbox.answer(id, value, now),
    expire: (id, now) => inbox.expire(id, now),
  };
}

/** The inbox id of a run's question: derived from run and step, so a replay finds the same one. */
export function inboxItemId(runId: string, stepId: string): string {
  return `q_${createHash('sha256').update(`${runId}\0${stepId}`).digest('hex').slice(0, 12)}`;
}

/** Closed questions kept (for the dashboard and replays of finished steps); the oldest go first. */
const KEEP_CLOSED = 200;

/** In memory, for tests; FileInboxStore adds durability. */
export class MemoryInboxStore implements InboxStore {
  protected items = new Map<string, InboxItem>();

  async ask(item: Omit<InboxItem, 'status'>): Promise<InboxItem> {
    const existing = this.items.get(item.id);
    if (existing) return structuredClone(existing);
    const stored: InboxItem = { ...structuredClone(item), status: 'open' };
    this.items.set(item.id, stored);
    await this.persist();
    return structuredClone(stored);
  }

  async get(id: string): Promise<InboxItem | undefined> {
    const item = this.items.get(id);
    return item && structuredClone(item);
  }

  async listOpen(): Promise<InboxItem[]> {
    return [...this.items.values()].filter((item) => item.status === 'open').map((item) => structuredClone(item));
  }

  async answer(id: string, value: unknown, now: number): Promise<InboxItem> {
    const item = this.items.get(id);
    if (!item) throw new NotFoundError('question', id);
    if (item.status !== 'open') throw new ConflictError(`question ${id} is already ${item.status}`);
    const before = structuredClone(item);
    Object.assign(item, { status: 'answered', answeredAt: new Date(now).toISOString(), value: structuredClone(value) });
    try {
      await this.persist();
    } catch (error) {
      this.items.set(id, before);
      throw error;
    }
    return structuredClone(item);
  }

  async expire(id: string, now: number): Promise<InboxItem | undefined> {
    const item = this.items.get(id);
    if (!item || item.status !== 'open') return item && structuredClone(item);
    Object.assign(item, { status: 'expired', answeredAt: new Date(now).toISOString() });
    await this.persist();
    return structuredClone(item);
  }

  protected async persist(): Promise<void> {
    const closed = [...this.items.values()].filter((item) => item.status !== 'open');
    for (const item of closed.slice(0, Math.max(0, closed.length - KEEP_CLOSED))) this.items.delete(item.id);
  }
}

/**
 * The inbox in `<dataDir>/inbox.json` (0600), rewritten atomically on every
 * change: questions are few (one per waiting workflow), so a whole-file
 * write is small, and a power cut leaves the old or the new file.
 */
export class FileInboxStore extends MemoryInboxStore {
  /** Writes one at a time, each of the state as it is when it starts: a slow older write never lands last. */
  private writing: Promise<void> = Promise.resolve();

  constructor(
    private readonly file: string,
    /** How the file is written (tests slow it down); atomic: temp file, fsync, rename. */
    private readonly writeFile: (path: string, data: string, mode: number) => Promise<void> = writeFileAtomic,
  ) {
    super();
  }

  async init(): Promise<void> {
    let text: string;
    try {
      text = await readFile(this.file, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw error;
    }
    let items: InboxItem[];
    try {
      items = (JSON.parse(text) as { items: InboxItem[] }).items;
    } catch (error) {
      throw new Error(`${this.file}: unreadable inbox file`, { cause: error });
    }
    this.items = new Map(items.map((item) => [item.id, item]));
  }

  protected override async persist(): Promise<void> {
    await super.persist();
    const write = this.writing.then(() => this.writeFile(this.file, `${JSON.stringify({ items: [...this.items.values()] })}\n`, 0o600));
    this.writing = write.catch(() => {});
    await write;
  }
}

/**
 * Checks an answer against a question's choices and JSON schema. The schema
 * is read with zod's `z.fromJSONSchema` (JSON Schema draft 2020-12: type,
 * properties, required, enum, const, items, minimum/maximum, minLength/
 * maxLength, pattern, minItems/maxItems, anyOf/oneOf…). Throws UsageError
 * naming the field that fails.
 */
export function validateAnswer(item: Pick<InboxItem, 'id' | 'schema' | 'choices'>, value: unknown): void {
  if (value === undefined) throw new UsageError('body must be a JSON object with a "value" field');
  if (item.choices && item.choices.length > 0 && !item.choices.some((choice) => isDeepStrictEqual(choice, value))) {
    throw new UsageError(`value must be one of ${item.choices.map((choice) => JSON.stringify(choice)).join(', ')}`);
  }
  if (!item.schema) return;
  const result = compileAnswerSchema(item.schema).safeParse(value);
  if (result.success) return;
  const issue = result.error.issues[0]!;
  const field = ['value', ...issue.path.map(String)].join('.');
  throw new UsageError(`${field}: ${issue.message}`);
}

/** The zod schema for a JSON schema; throws a plain Error saying why the schema cannot be used. */
export function compileAnswerSchema(schema: Record<string, unknown>): z.ZodType {
  try {
    return z.fromJSONSchema(schema as Parameters<typeof z.fromJSONSchema>[0]);
  } catch (error) {
    throw new Error(`unsupported answer schema: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }
}
