import type { Run, TaskState } from './model.js';

/**
 * Copies of runs and the differences between two versions of a run, for the
 * file store: it keeps a private copy of every run it is given (copyRun) and
 * writes a run's later changes to state.wal as a delta against the version
 * its previous line carried (runDelta / applyRunDelta), instead of the whole
 * run at every transition.
 */

/** What changed between two versions of a run: fields set (new values), fields removed, and the same per task. */
export interface RunDelta {
  set?: Record<string, unknown>;
  del?: string[];
  /** Per task: its changes, or null when the task is gone. */
  tasks?: Record<string, FieldDelta | null>;
}

export interface FieldDelta {
  set?: Record<string, unknown>;
  del?: string[];
}

/**
 * A private copy of `run`, equal to JSON.parse(JSON.stringify(run)) (fields
 * that JSON leaves out are left out, non-finite numbers become null, dates
 * their ISO text, class instances what their JSON says), without going
 * through text: a no-op run is saved five times, and the text round trip was
 * the dearest part of each save.
 */
export function copyRun(run: Run): Run {
  return copyValue(run, 0) as Run;
}

/** Below this depth plain objects and arrays are copied field by field; deeper (or anything unusual) goes through JSON. */
const MAX_DEPTH = 32;

/** `value` as JSON would carry it as a property: undefined when JSON leaves the property out. */
function copyValue(value: unknown, depth: number): unknown {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return value;
    case 'number':
      // JSON writes -0 as 0.
      return Number.isFinite(value) ? (value === 0 ? 0 : value) : null;
    case 'undefined':
    case 'function':
    case 'symbol':
      return undefined;
    case 'object':
      if (value === null) return null;
      if (depth < MAX_DEPTH && typeof (value as { toJSON?: unknown }).toJSON !== 'function') {
        if (Array.isArray(value)) return copyArray(value, depth + 1);
        const proto = Object.getPrototypeOf(value) as unknown;
        if (proto === Object.prototype || proto === null) return copyObject(value as Record<string, unknown>, depth + 1);
      }
      break;
  }
  // bigint (JSON throws), toJSON, Map, class instances, very deep values: exactly what JSON makes of them.
  const text = JSON.stringify(value);
  return text === undefined ? undefined : (JSON.parse(text) as unknown);
}

function copyArray(values: unknown[], depth: number): unknown[] {
  const copy = new Array<unknown>(values.length);
  for (let i = 0; i < values.length; i++) copy[i] = copyValue(values[i], depth) ?? null;
  return copy;
}

function copyObject(value: Record<string, unknown>, depth: number): Record<string, unknown> {
  const copy: Record<string, unknown> = {};
  for (const key of Object.keys(value)) {
    const field = copyValue(value[key], depth);
    if (field !== undefined) setField(copy, key, field);
  }
  return copy;
}

/** Sets an own field, `__proto__` included (as JSON.parse does), never the prototype. */
function setField(target: Record<string, unknown>, key: string, value: unknown): void {
  if (key === '__proto__') Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
  else target[key] = value;
}

/** Equality of two JSON values (as copyRun makes them). */
export function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!jsonEqual(a[i], b[i])) return false;
    return true;
  }
  if (Array.isArray(b)) return false;
  const left = a as Record<string, unknown>;
  const right = b as Record<string, unknown>;
  const keys = Object.keys(left);
  if (keys.length !== Object.keys(right).length) return false;
  for (const key of keys) if (!Object.hasOwn(right, key) || !jsonEqual(left[key], right[key])) return false;
  return true;
}

/** The changes from `base` to `next` (both copies made by copyRun), or undefined when there are none. */
export function runDelta(base: Run, next: Run): RunDelta | undefined {
  const delta: RunDelta = fieldDelta(base as unknown as Record<string, unknown>, next as unknown as Record<string, unknown>, 'tasks');
  const before = base.tasks;
  const after = next.tasks;
  if (isRecord(before) && isRecord(after)) {
    let tasks: Record<string, FieldDelta | null> | undefined;
    for (const name of Object.keys(after)) {
      const was = Object.hasOwn(before, name) ? before[name] : undefined;
      const is = after[name]!;
      const change = isRecord(was) && isRecord(is) ? fieldDelta(was, is) : jsonEqual(was, is) ? {} : { set: whole(is) };
      if (change.set || change.del) setField((tasks ??= {}), name, change);
    }
    for (const name of Object.keys(before)) if (!Object.hasOwn(after, name)) setField((tasks ??= {}), name, null);
    if (tasks) delta.tasks = tasks;
  } else if (!jsonEqual(before, after)) {
    setField((delta.set ??= {}), 'tasks', after);
  }
  return delta.set || delta.del || delta.tasks ? delta : undefined;
}

/** A task that replaces a missing (or unreadable) one: all of its fields set. */
function whole(task: TaskState): Record<string, unknown> {
  return task as unknown as Record<string, unknown>;
}

function fieldDelta(base: Record<string, unknown>, next: Record<string, unknown>, skip?: string): FieldDelta {
  const delta: FieldDelta = {};
  for (const key of Object.keys(next)) {
    if (key === skip) continue;
    if (!Object.hasOwn(base, key) || !jsonEqual(base[key], next[key])) setField((delta.set ??= {}), key, next[key]);
  }
  for (const key of Object.keys(base)) {
    if (key !== skip && !Object.hasOwn(next, key)) (delta.del ??= []).push(key);
  }
  return delta;
}

/** `base` with `delta` applied, as a new run (base is not changed; unchanged fields are shared with it). */
export function applyRunDelta(base: Run, delta: RunDelta): Run {
  const run = applyFields(base as unknown as Record<string, unknown>, delta);
  if (delta.tasks) {
    const tasks: Record<string, unknown> = { ...(isRecord(run.tasks) ? run.tasks : {}) };
    for (const name of Object.keys(delta.tasks)) {
      const change = delta.tasks[name];
      if (change === null || change === undefined) delete tasks[name];
      else setField(tasks, name, applyFields(isRecord(tasks[name]) ? tasks[name] : {}, change));
    }
    run.tasks = tasks;
  }
  return run as unknown as Run;
}

function applyFields(base: Record<string, unknown>, delta: FieldDelta): Record<string, unknown> {
  const copy: Record<string, unknown> = {};
  for (const key of Object.keys(base)) setField(copy, key, base[key]);
  if (delta.set) for (const key of Object.keys(delta.set)) setField(copy, key, delta.set[key]);
  if (delta.del) for (const key of delta.del) delete copy[key];
  return copy;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Whether `value` has the shape of a RunDelta (a WAL line is checked before it is applied). */
export function isRunDelta(value: unknown): value is RunDelta {
  if (!isRecord(value)) return false;
  if (!isFieldDelta(value)) return false;
  if (value.tasks === undefined) return true;
  if (!isRecord(value.tasks)) return false;
  return Object.values(value.tasks).every((task) => task === null || (isRecord(task) && isFieldDelta(task)));
}

function isFieldDelta(value: Record<string, unknown>): boolean {
  if (value.set !== undefined && !isRecord(value.set)) return false;
  return value.del === undefined || (Array.isArray(value.del) && value.del.every((key) => typeof key === 'string'));
}
