import { LineCounter, isAlias, isMap, isScalar, isSeq, parseDocument, visit } from 'yaml';
import type { Alias, Document, Node, Scalar, YAMLMap } from 'yaml';
import { referencesEnv, substituteEnv } from './env-substitution.js';
import type { EnvLookup } from './env-substitution.js';
import type { ConfigPath, IssueCollector, SourcePosition } from './issues.js';
import { readSimpleYaml } from './simple-yaml.js';

/**
 * Turns YAML text into plain JSON-like values, recording where every key and
 * value starts in `issues.positions`. Environment substitution happens here,
 * on scalar values after parsing, so line numbers always match the file the
 * user wrote (substituting in the text first would shift them).
 *
 * Returns `undefined` when the YAML itself is broken: everything after a
 * syntax error is suspect, so shape checks would only add noise.
 */
/**
 * Limits on what aliases may expand to. The walk below copies an alias's
 * target wherever the alias appears, so nine anchors that each repeat the
 * previous one nine times ("billion laughs") make 9^9 values from a few
 * hundred bytes. The budget counts every value the walk produces, plus the
 * characters of every string it reads (a long string repeated by aliases
 * costs its length each time, in `${VAR}` substitution and later checks).
 * A real hearth.yaml uses a few thousand units; a file at maxBytes with no
 * aliases stays under the budget, so only aliases can exceed it. Loading is
 * synchronous: these limits keep an alias bomb to tens of milliseconds, and
 * hot reloads run on a worker thread (config-off-thread.ts) so even a dense
 * file at maxBytes does not hold the event loop (node scripts/bench-config.mjs).
 */
export const YAML_LIMITS = {
  /** A config file larger than this is refused before it is parsed. */
  maxBytes: 128 * 1024,
  /** Values plus string characters the walk may produce, aliases expanded. */
  maxExpandedSize: 1_000_000,
  /**
   * Alias uses while expanding, nested ones included (the yaml package's own
   * `maxAliasCount`, 100 by default, applies only to its toJS(), which the
   * walk below replaces to keep line numbers).
   */
  maxAliases: 1_000,
} as const;

class ExpansionLimit extends Error {}

export function readYamlTree(text: string, env: EnvLookup, issues: IssueCollector): { value: unknown } | undefined {
  const written = readWrittenTree(text, issues);
  return written && { value: substituteTree(written.value, env, issues) };
}

/**
 * The tree as written: the same walk without `${VAR}` substitution (strings
 * keep their references), positions recorded in `issues`. What the config
 * tree cache stores (tree-cache.ts), so it never holds a substituted value;
 * `substituteTree` finishes it, on a cache hit exactly as after a parse.
 */
export function readWrittenTree(text: string, issues: IssueCollector): { value: unknown } | undefined {
  const bytes = Buffer.byteLength(text, 'utf8');
  if (bytes > YAML_LIMITS.maxBytes) {
    issues.addAtPosition(
      { line: 0, col: 0 },
      [],
      `the config file is larger than the limit of ${YAML_LIMITS.maxBytes} bytes (128 KiB)`,
    );
    return undefined;
  }
  // The common shape (one-line jobs in flow mappings) without the yaml package's Document; anything else below.
  return readSimpleYaml(text, issues) ?? readYamlDocument(text, issues);
}

/** readWrittenTree through the yaml package's Document (every file the fast path in simple-yaml.ts declines). */
export function readYamlDocument(text: string, issues: IssueCollector): { value: unknown } | undefined {
  let { doc, lineCounter } = parseYaml(text);
  if (countSyntaxErrors(doc) > 0 && text.includes('${')) {
    // `{ job: ring, secret: ${DOORBELL_SECRET} }` (as DESIGN.md writes it) is not YAML: in a flow
    // mapping `{` is an indicator. A file that fails only for that is read as if each such
    // reference were quoted. Files that parse as they are never change meaning.
    const quoted = quoteFlowReferences(text);
    if (quoted !== text) {
      const retry = parseYaml(quoted);
      if (countSyntaxErrors(retry.doc) === 0) ({ doc, lineCounter } = retry);
    }
  }
  let syntaxErrors = 0;
  const aliasLines = new Set<number>();
  for (const error of doc.errors) {
    // Duplicate keys are found by the walk below, which knows their path.
    if (error.code === 'DUPLICATE_KEY') continue;
    syntaxErrors += 1;
    const position = lineCounter.linePos(error.pos[0]);
    if (isAliasError(error.code, error.message)) {
      // An unquoted `cron: */5 * * * *` is one alias error per `*`: one line, with the fix, says it.
      if (aliasLines.has(position.line)) continue;
      aliasLines.add(position.line);
      issues.addAtPosition(position, [], `${yamlErrorMessage(error.code, error.message)}; ${ALIAS_HINT}`);
      continue;
    }
    issues.addAtPosition(position, [], yamlErrorMessage(error.code, error.message));
  }
  if (syntaxErrors > 0) return undefined;
  const walker = new TreeWalker(doc, lineCounter, issues);
  try {
    return { value: walker.toPlain(doc.contents, []) };
  } catch (error) {
    // Already reported at the alias that crossed the limit; the rest of the tree is not worth checking.
    if (error instanceof ExpansionLimit) return undefined;
    throw error;
  }
}

function parseYaml(text: string): { doc: ReturnType<typeof parseDocument>; lineCounter: LineCounter } {
  const lineCounter = new LineCounter();
  // uniqueKeys off: the walk below finds duplicate keys itself, with their path,
  // and yaml's own check compares every key of a mapping with every other one.
  return { doc: parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: false }), lineCounter };
}

function countSyntaxErrors(doc: ReturnType<typeof parseDocument>): number {
  return doc.errors.filter((error) => error.code !== 'DUPLICATE_KEY').length;
}

/**
 * A `${VAR}` or `${VAR:default}` that is a whole value inside a flow
 * collection (after `:`, `,`, `[` or `{`, before `,`, `}` or `]`), quoted.
 * Positions after it on its line move by two columns.
 */
const FLOW_REFERENCE = /([:,[{][ \t]*)(\$\{[A-Za-z_][A-Za-z0-9_]*(?::[^{}"\\\n]*)?\})(?=[ \t]*[,}\]])/g;

export function quoteFlowReferences(text: string): string {
  return text.replace(FLOW_REFERENCE, '$1"$2"');
}

const ALIAS_HINT = 'a value starting with "*" is read as a YAML alias: quote cron expressions, e.g. cron: "*/5 * * * *"';

function isAliasError(code: string, message: string): boolean {
  return code === 'BAD_ALIAS' || /\balias\b/i.test(message);
}

function yamlErrorMessage(code: string, message: string): string {
  if (code === 'MULTIPLE_DOCS') return 'a config file holds a single YAML document; remove the "---" separator';
  return `YAML syntax error: ${message}`;
}

class TreeWalker {
  /** Nodes being converted right now: an alias back to one of them would recurse forever. */
  private readonly inProgress = new Set<Node>();
  /**
   * What each alias refers to, found in one pass. `Alias.resolve` searches
   * the whole document on every call, which made a file of many aliases
   * quadratic (20,000 aliases: 15 s). Built when the walk meets its first
   * alias: most files have none, and the pass cost ~10% of loading 1,000 jobs.
   */
  private aliasTargets: Map<Alias, Node> | undefined;
  /** Values and string characters produced so far (see YAML_LIMITS). */
  private expandedSize = 0;
  private aliasUses = 0;
  /** The outermost alias being expanded: where an expansion limit is reported. */
  private expandingAlias: { node: Alias; path: ConfigPath } | undefined;

  constructor(
    private readonly doc: Document,
    private readonly lineCounter: LineCounter,
    private readonly issues: IssueCollector,
  ) {}

  private targets(): Map<Alias, Node> {
    if (this.aliasTargets) return this.aliasTargets;
    const targets = new Map<Alias, Node>();
    // Pre-order, so an anchor is seen before any alias after it; a later anchor of the same name replaces it (YAML's rule).
    const anchors = new Map<string, Node>();
    visit(this.doc, {
      Node: (_key, node) => {
        if (isAlias(node)) {
          const target = anchors.get(node.source);
          if (target) targets.set(node, target);
        } else if (node.anchor) {
          anchors.set(node.anchor, node);
        }
      },
    });
    this.aliasTargets = targets;
    return targets;
  }

  toPlain(node: unknown, path: ConfigPath): unknown {
    this.spend(1 + (isScalar(node) && typeof node.value === 'string' ? node.value.length : 0));
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
    const target = this.targets().get(node);
    if (!target || this.inProgress.has(target)) {
      this.recordValue(node, path);
      this.issues.add(path, `alias *${node.source} refers to itself or to nothing`);
      return null;
    }
    this.aliasUses += 1;
    if (this.aliasUses > YAML_LIMITS.maxAliases) {
      this.stop(this.expandingAlias?.node ?? node, this.expandingAlias?.path ?? path, `more than ${YAML_LIMITS.maxAliases.toLocaleString('en-US')} alias uses in one file`);
    }
    const outermost = this.expandingAlias === undefined;
    if (outermost) this.expandingAlias = { node, path };
    this.inProgress.add(target);
    let value: unknown;
    try {
      value = this.toPlain(target, path);
    } finally {
      this.inProgress.delete(target);
      if (outermost) this.expandingAlias = undefined;
    }
    // The alias, not the anchor it copies, is where this value sits.
    this.recordValue(node, path);
    return value;
  }

  /** Counts what the walk produced; past the budget, reports the alias responsible and stops. */
  private spend(units: number): void {
    this.expandedSize += units;
    if (this.expandedSize <= YAML_LIMITS.maxExpandedSize) return;
    const alias = this.expandingAlias;
    // Without aliases a file under maxBytes cannot get here; report at the top just in case.
    if (!alias) {
      this.issues.addAtPosition({ line: 0, col: 0 }, [], 'the config expands to too many values');
      throw new ExpansionLimit();
    }
    this.stop(
      alias.node,
      alias.path,
      `expands the config past ${YAML_LIMITS.maxExpandedSize.toLocaleString('en-US')} values and characters (aliases that repeat other aliases grow exponentially)`,
    );
  }

  private stop(alias: Alias, path: ConfigPath, reason: string): never {
    const position = this.positionOf(alias) ?? { line: 0, col: 0 };
    this.issues.addAtPosition(position, path, `alias *${alias.source}: ${reason}; the file was not loaded`);
    throw new ExpansionLimit();
  }

  private scalarToPlain(node: Scalar, path: ConfigPath): unknown {
    // `key:` with nothing after it: point at the key, not at the end of the line.
    if (!(node.value === null && node.source === '')) this.recordValue(node, path);
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

/**
 * Fills `${VAR}` references in the string values of a written tree from
 * `env`, remembering which values came from the environment
 * (`issues.fromEnv`) and reporting unset variables at their value's position.
 * Returns a new tree where something changed; the written tree is left as it
 * was (the cache keeps it), unchanged branches are shared.
 */
export function substituteTree(tree: unknown, env: EnvLookup, issues: IssueCollector): unknown {
  const path: Array<string | number> = [];
  const visitValue = (value: unknown): unknown => {
    if (typeof value === 'string') {
      if (!value.includes('${')) return value;
      const result = substituteEnv(value, env);
      if (result.ok) {
        if (referencesEnv(value)) issues.fromEnv.record([...path], value);
        return result.value;
      }
      for (const problem of result.problems) issues.add([...path], problem);
      issues.markBroken([...path]);
      return value;
    }
    if (Array.isArray(value)) {
      let out: unknown[] | undefined;
      for (let index = 0; index < value.length; index++) {
        path.push(index);
        const item = visitValue(value[index]);
        path.pop();
        if (item !== value[index]) (out ??= value.slice())[index] = item;
      }
      return out ?? value;
    }
    if (value !== null && typeof value === 'object') {
      const record = value as Record<string, unknown>;
      let out: Record<string, unknown> | undefined;
      for (const key of Object.keys(record)) {
        path.push(key);
        const item = visitValue(record[key]);
        path.pop();
        if (item === record[key]) continue;
        out ??= copyRecord(record);
        Object.defineProperty(out, key, { value: item, enumerable: true, writable: true, configurable: true });
      }
      return out ?? value;
    }
    return value;
  };
  return visitValue(tree);
}

/** A copy that keeps a key named `__proto__` as data (assignment would set the prototype). */
function copyRecord(record: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(record)) Object.defineProperty(out, key, { value: record[key], enumerable: true, writable: true, configurable: true });
  return out;
}
