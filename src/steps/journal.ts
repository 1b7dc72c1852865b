/**
 * The step journal: what a workflow's steps have done, kept apart from the
 * run record so a step costs one small append, not a rewrite of the run
 * (a run's record is kept whole in state.json and its first line in each
 * state.wal; 500 steps in it would write O(n²) bytes).
 *
 * A journal is a sequence of entries per run. Each entry describes one step
 * of one task (`task`, `id`, `kind`, its call position `n`); later entries
 * for the same step complete it (`done`, `result` or `error`). Folding the
 * entries (foldJournal) gives each step's latest state, ordered by position.
 *
 * The port has a file implementation (file-journal.ts: one append-only JSON
 * lines file per run, fsynced per entry) and a memory one (tests); a
 * PostgreSQL one can implement the same four methods (an append is an
 * INSERT, load a SELECT … ORDER BY seq).
 */

export type StepKind = 'run' | 'sleep' | 'input' | 'invoke' | 'event' | 'send';

export interface StepEntry {
  /** The task whose module function called the step. */
  task: string;
  id: string;
  kind: StepKind;
  /** 0-based call position within the task's function: replay checks id and kind per position. */
  n: number;
  /** When the entry was written (ISO). */
  t: string;
  /** sleep: when it ends; input / invoke: the timeout, if any (ISO). */
  at?: string;
  /** input: the inbox question's id. */
  inbox?: string;
  /** invoke: the child run's id. */
  child?: string;
  /** event: the event's name and the fields it must match. */
  event?: string;
  match?: Record<string, unknown>;
  /** The step completed: `result` (or `ref`) holds its value, or `error` when it completed by failing (invoke). */
  done?: boolean;
  result?: unknown;
  /** The result is in a file beside the journal (results over LARGE_RESULT_BYTES). */
  ref?: string;
  /** step.run threw (the attempt failed; the step runs again on retry), or a child run failed. */
  error?: string;
}

/** A step's folded state: its first entry with every later entry's fields applied. */
export type StepState = StepEntry;

export interface StepJournal {
  /** Every entry of the run, in the order written. A torn last entry (power cut) is dropped. */
  load(runId: string): Promise<StepEntry[]>;
  /** Appends one entry; durable when the promise resolves. */
  append(runId: string, entry: StepEntry): Promise<void>;
  /**
   * A result stored apart (`ref`): an implementation may store a large
   * `result` of an appended entry elsewhere and load it back with `ref` set.
   */
  readResult(runId: string, ref: string): Promise<unknown>;
  /** Deletes the journals of runs that are not active and were last written before `before` (epoch ms). */
  prune(input: { before: number; isActive(runId: string): boolean }): Promise<number>;
}

/** A step result larger than this (bytes of JSON) is stored in its own file. */
export const LARGE_RESULT_BYTES = 64 * 1024;
/** A step result larger than this is refused. */
export const MAX_RESULT_BYTES = 4 * 1024 * 1024;
/** Steps a run may journal. */
export const MAX_STEPS_PER_RUN = 1000;

/** Folds entries into per-step states, keyed by `task` then position. */
export function foldJournal(entries: readonly StepEntry[]): Map<string, Map<number, StepState>> {
  const tasks = new Map<string, Map<number, StepState>>();
  for (const entry of entries) {
    let steps = tasks.get(entry.task);
    if (!steps) tasks.set(entry.task, (steps = new Map()));
    const previous = steps.get(entry.n);
    if (!previous || previous.id !== entry.id || previous.kind !== entry.kind) {
      steps.set(entry.n, { ...entry });
      continue;
    }
    // A completed step stays as it completed; later entries (none are written) change nothing.
    if (previous.done) continue;
    const merged: StepState = { ...previous, ...entry };
    if (entry.done && entry.error === undefined) delete merged.error;
    steps.set(entry.n, merged);
  }
  return tasks;
}

/** Journals in memory: for tests, and the shape every backend must keep. */
export class MemoryStepJournal implements StepJournal {
  readonly entries = new Map<string, StepEntry[]>();
  readonly results = new Map<string, unknown>();
  appends = 0;

  async load(runId: string): Promise<StepEntry[]> {
    return structuredClone(this.entries.get(runId) ?? []);
  }

  async append(runId: string, entry: StepEntry): Promise<void> {
    this.appends++;
    const list = this.entries.get(runId) ?? [];
    list.push(structuredClone(entry));
    this.entries.set(runId, list);
  }

  async readResult(runId: string, ref: string): Promise<unknown> {
    const key = `${runId}/${ref}`;
    if (!this.results.has(key)) throw new Error(`step result ${ref} of run ${runId} is missing`);
    return structuredClone(this.results.get(key));
  }

  /** Memory journals keep large results inline. */
  async prune(input: { before: number; isActive(runId: string): boolean }): Promise<number> {
    let removed = 0;
    for (const [runId, entries] of this.entries) {
      const last = entries.at(-1);
      if (input.isActive(runId) || (last && Date.parse(last.t) >= input.before)) continue;
      this.entries.delete(runId);
      removed++;
    }
    return removed;
  }
}

/** Ids of the events that completed a run's waitForEvent steps: each event satisfies one wait of a run. */
export function takenEventIds(entries: readonly StepEntry[]): Set<string> {
  const taken = new Set<string>();
  for (const steps of foldJournal(entries).values()) {
    for (const state of steps.values()) {
      const result = state.kind === 'event' && state.done ? (state.result as { event?: { id?: string } } | undefined) : undefined;
      if (result?.event?.id) taken.add(result.event.id);
    }
  }
  return taken;
}

/** One step as the run page and `GET /api/runs/:id` show it (results are left out: they can be 4 MB). */
export interface StepView {
  task: string;
  id: string;
  kind: StepKind;
  status: 'running' | 'waiting' | 'succeeded' | 'failed' | 'cancelled';
  /** When the step was first journaled, and when it completed. */
  startedAt: string;
  finishedAt?: string;
  /** What a waiting step waits for: `timer`, `input` (an inbox question) or `children` (a child run). */
  wait?:
    | { kind: 'timer'; at: string }
    | { kind: 'input'; id: string; until?: string }
    | { kind: 'event'; name: string; match?: Record<string, unknown>; until?: string }
    | { kind: 'children'; runIds: string[] };
  error?: string;
}

/** The steps of a run in call order (per task, in the order tasks first journaled). `finished`: the run is over. */
export function stepTimeline(entries: readonly StepEntry[], finished = false): StepView[] {
  const firstAt = new Map<string, string>();
  for (const entry of entries) {
    const key = `${entry.task}\0${entry.n}`;
    if (!firstAt.has(key)) firstAt.set(key, entry.t);
  }
  const views: StepView[] = [];
  for (const [task, steps] of foldJournal(entries)) {
    for (const state of [...steps.values()].sort((a, b) => a.n - b.n)) {
      const view: StepView = { task, id: state.id, kind: state.kind, status: 'running', startedAt: firstAt.get(`${task}\0${state.n}`) ?? state.t };
      if (state.done) {
        view.status = state.error !== undefined ? 'failed' : 'succeeded';
        view.finishedAt = state.t;
      } else if (state.error !== undefined) {
        view.status = 'failed';
      } else if (finished) {
        view.status = 'cancelled';
      } else if (state.kind === 'sleep' && state.at) {
        view.status = 'waiting';
        view.wait = { kind: 'timer', at: state.at };
      } else if (state.kind === 'input' && state.inbox) {
        view.status = 'waiting';
        view.wait = { kind: 'input', id: state.inbox, ...(state.at ? { until: state.at } : {}) };
      } else if (state.kind === 'event' && state.event) {
        view.status = 'waiting';
        view.wait = { kind: 'event', name: state.event, ...(state.match ? { match: state.match } : {}), ...(state.at ? { until: state.at } : {}) };
      } else if (state.kind === 'invoke' && state.child) {
        view.status = 'waiting';
        view.wait = { kind: 'children', runIds: [state.child] };
      }
      if (state.error !== undefined) view.error = state.error;
      views.push(view);
    }
  }
  return views;
}
