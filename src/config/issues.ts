import { EnvSubstitutions } from './env-substitution.js';
import type { ConfigIssue } from '../core/errors.js';

/** A path into the config document: map keys and list indexes. */
export type ConfigPath = ReadonlyArray<string | number>;

/** 1-based, as editors show them. Line 0 means "the file as a whole". */
export interface SourcePosition {
  line: number;
  col: number;
}

/** One PositionIndex entry in plain form (PositionIndex.snapshot). */
export type PositionEntry = [id: string, keyLine: number, keyCol: number, valueLine: number, valueCol: number];

/** Whether a problem is about a key (unknown key, bad name) or about its value. */
export type IssueTarget = 'key' | 'value';

/** `['jobs', 'backup', 'tasks', 'a', 'depends_on', 0]` → `jobs.backup.tasks.a.depends_on[0]`. */
export function formatPath(path: ConfigPath): string {
  let out = '';
  for (const segment of path) {
    if (typeof segment === 'number') out += `[${segment}]`;
    else out += out ? `.${segment}` : segment;
  }
  return out;
}

/**
 * Where every key and value of the YAML document starts. Problems found later
 * (by zod or by hand) carry only a path; this turns the path back into a
 * line and column. A path that has no node of its own (a missing key, or a
 * value a shorthand expanded) is reported at its nearest ancestor's key.
 */
export class PositionIndex {
  private readonly entries = new Map<string, { key?: SourcePosition; value?: SourcePosition }>();

  record(path: ConfigPath, target: IssueTarget, position: SourcePosition): void {
    const id = pathId(path);
    const entry = this.entries.get(id) ?? {};
    entry[target] = position;
    this.entries.set(id, entry);
  }

  locate(path: ConfigPath, target: IssueTarget): SourcePosition {
    const entry = this.entries.get(pathId(path));
    const exact = entry?.[target] ?? entry?.value ?? entry?.key;
    if (exact) return exact;
    if (path.length === 0) return { line: 0, col: 0 };
    return this.locate(path.slice(0, -1), 'key');
  }

  /** Every recorded position as `[path id, key line, key col, value line, value col]` (-1 where absent): for the tree cache. */
  snapshot(): PositionEntry[] {
    const out: PositionEntry[] = [];
    for (const [id, { key, value }] of this.entries) out.push([id, key?.line ?? -1, key?.col ?? -1, value?.line ?? -1, value?.col ?? -1]);
    return out;
  }

  /** Restores what `snapshot` returned (the tree cache checked its shape). */
  restore(entries: readonly PositionEntry[]): void {
    // Plain assignments, not spreads: a cache hit at 1,000 jobs restores ~10,000 entries before the API answers.
    for (const [id, keyLine, keyCol, valueLine, valueCol] of entries) {
      const entry: { key?: SourcePosition; value?: SourcePosition } = {};
      if (keyLine >= 0) entry.key = { line: keyLine, col: keyCol };
      if (valueLine >= 0) entry.value = { line: valueLine, col: valueCol };
      this.entries.set(id, entry);
    }
  }

  /** Orders sibling keys as they appear in the file (objects reorder integer-like keys). */
  compareKeys(parent: ConfigPath, a: string, b: string): number {
    const pa = this.locate([...parent, a], 'key');
    const pb = this.locate([...parent, b], 'key');
    return pa.line - pb.line || pa.col - pb.col;
  }
}

function pathId(path: ConfigPath): string {
  return JSON.stringify(path);
}

/** Collects every problem so the user sees them all at once, sorted by position. */
export class IssueCollector {
  readonly positions = new PositionIndex();
  /** Values that came from `${VAR}`: kept so views can redact them (see EnvSubstitutions). */
  readonly fromEnv = new EnvSubstitutions();
  private readonly found: ConfigIssue[] = [];
  /** Paths whose value is already known to be broken; later complaints about them would only repeat it. */
  private readonly broken = new Set<string>();

  constructor(readonly file: string) {}

  add(path: ConfigPath, message: string, target: IssueTarget = 'value'): void {
    if (this.broken.has(pathId(path))) return;
    const { line, col } = this.positions.locate(path, target);
    this.found.push({ file: this.file, line, col, path: formatPath(path), message });
  }

  addAtPosition(position: SourcePosition, path: ConfigPath, message: string): void {
    this.found.push({ file: this.file, line: position.line, col: position.col, path: formatPath(path), message });
  }

  /** Suppresses further problems about a value already reported as broken. */
  markBroken(path: ConfigPath): void {
    this.broken.add(pathId(path));
  }

  get count(): number {
    return this.found.length;
  }

  sorted(): ConfigIssue[] {
    return [...this.found].sort((a, b) => a.line - b.line || a.col - b.col);
  }
}
