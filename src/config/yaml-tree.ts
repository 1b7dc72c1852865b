import { LineCounter, isAlias, isMap, isScalar, isSeq, parseDocument } from 'yaml';
import type { Alias, Document, Node, Scalar, YAMLMap } from 'yaml';
import { substituteEnv } from './env-substitution.js';
import type { EnvLookup } from './env-substitution.js';
import type { ConfigPath, IssueCollector, SourcePosition } from './issues.js';

/**
 * Turns YAML text into plain JSON-like values, recording where every key and
 * value starts in `issues.positions`. Environment substitution happens here,
 * on scalar values after parsing, so line numbers always match the file the
 * user wrote (substituting in the text first would shift them).
 *
 * Returns `undefined` when the YAML itself is broken: everything after a
 * syntax error is suspect, so shape checks would only add noise.
 */
export function readYamlTree(text: string, env: EnvLookup, issues: IssueCollector): { value: unknown } | undefined {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  let syntaxErrors = 0;
  for (const error of doc.errors) {
    // Duplicate keys are found by the walk below, which knows their path.
    if (error.code === 'DUPLICATE_KEY') continue;
    syntaxErrors += 1;
    issues.addAtPosition(lineCounter.linePos(error.pos[0]), [], yamlErrorMessage(error.code, error.message));
  }
  if (syntaxErrors > 0) return undefined;
  const walker = new TreeWalker(doc, lineCounter, env, issues);
  return { value: walker.toPlain(doc.contents, []) };
}

function yamlErrorMessage(code: string, message: string): string {
  if (code === 'MULTIPLE_DOCS') return 'a config file holds a single YAML document; remove the "---" separator';
  return `YAML syntax error: ${message}`;
}

class TreeWalker {
  /** Nodes being converted right now: an alias back to one of them would recurse forever. */
  private readonly inProgress = new Set<Node>();

  constructor(
    private readonly doc: Document,
    private readonly lineCounter: LineCounter,
    private readonly env: EnvLookup,
    private readonly issues: IssueCollector,
  ) {}

  toPlain(node: unknown, path: ConfigPath): unknown {
    if (node === null || node === undefined) return null;
    if (isAlias(node)) return this.aliasToPlain(node, path);
    if (isScalar(node)) return this.scalarToPlain(node, path);
    if (isMap(node)) return this.mapToPlain(node, path);
    if (isSeq(node)) {
      this.recordValue(node, path);
      return node.items.map((item, index) => this.toPlain(item, [...path, index]));
    }
    return (node as { toJSON?: () => unknown }).toJSON?.() ?? null;
  }

  private aliasToPlain(node: Alias, path: ConfigPath): unknown {
    const target = node.resolve(this.doc);
    if (!target || this.inProgress.has(target)) {
      this.recordValue(node, path);
      this.issues.add(path, `alias *${node.source} refers to itself or to nothing`);
      return null;
    }
    this.inProgress.add(target);
    const value = this.toPlain(target, path);
    this.inProgress.delete(target);
    // The alias, not the anchor it copies, is where this value sits.
    this.recordValue(node, path);
    return value;
  }

  private scalarToPlain(node: Scalar, path: ConfigPath): unknown {
    // `key:` with nothing after it: point at the key, not at the end of the line.
    if (!(node.value === null && node.source === '')) this.recordValue(node, path);
    if (typeof node.value !== 'string') return node.value;
    const result = substituteEnv(node.value, this.env);
    if (result.ok) return result.value;
    for (const problem of result.problems) this.issues.add(path, problem);
    this.issues.markBroken(path);
    return node.value;
  }

  private mapToPlain(node: YAMLMap, path: ConfigPath): Record<string, unknown> {
    this.recordValue(node, path);
    const out: Record<string, unknown> = {};
    for (const pair of node.items) {
      const key = this.keyText(pair.key, path);
      if (key === undefined) continue;
      const childPath = [...path, key];
      const keyPosition = this.positionOf(pair.key);
      if (Object.prototype.hasOwnProperty.call(out, key)) {
        if (keyPosition) this.issues.addAtPosition(keyPosition, childPath, `duplicate key "${key}" (a key may appear only once in a mapping)`);
        continue;
      }
      if (keyPosition) this.issues.positions.record(childPath, 'key', keyPosition);
      // defineProperty: a key named `__proto__` must stay data, never become a prototype.
      Object.defineProperty(out, key, {
        value: this.toPlain(pair.value, childPath),
        enumerable: true,
        writable: true,
        configurable: true,
      });
    }
    return out;
  }

  private keyText(key: unknown, parent: ConfigPath): string | undefined {
    if (isScalar(key)) return String(key.value);
    const position = this.positionOf(key);
    if (position) this.issues.addAtPosition(position, parent, 'mapping keys must be plain words, not lists or mappings');
    return undefined;
  }

  private recordValue(node: unknown, path: ConfigPath): void {
    const position = this.positionOf(node);
    if (position) this.issues.positions.record(path, 'value', position);
  }

  private positionOf(node: unknown): SourcePosition | undefined {
    const range = (node as { range?: [number, number, number] } | null)?.range;
    return range ? this.lineCounter.linePos(range[0]) : undefined;
  }
}
