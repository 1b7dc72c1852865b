import type { ConfigPath, IssueCollector, IssueTarget, SourcePosition } from './issues.js';

/**
 * A fast path for the common shape of hearth.yaml: block mappings of plain
 * word keys whose values are one-line flow mappings (`{ run: "true",
 * schedule: { cron: "0 6 * * *" } }`), quoted strings without escapes, or
 * plain words and small integers. For such a file it returns exactly what
 * the yaml package's Document and the walk in yaml-tree.ts produce (the same
 * tree and the same key and value positions, in the same order); for
 * anything else (lists, block scalars, anchors, tags, comments after a value,
 * escapes, tabs, duplicate keys, a value YAML would read as null, a float or
 * an octal, any syntax error) it returns `undefined` and records nothing, and
 * the file goes through the yaml package, which also words every error.
 *
 * Why: at 1,000 jobs the yaml package builds a token stream, a CST and a
 * Document for the file (~120 ms of CPU and ~10 MB of short-lived objects
 * that make up most of a first start's RSS peak); this reads it in one pass.
 * simple-yaml.test.ts checks it against the yaml package on generated files.
 */
export function readSimpleYaml(text: string, issues: IssueCollector): { value: unknown } | undefined {
  if (text.includes('\t') || text.includes('\r')) return undefined;
  const records: Array<[ConfigPath, IssueTarget, SourcePosition]> = [];
  const lines = text.split('\n');
  let root: Record<string, unknown> | undefined;
  const stack: Array<{ indent: number; map: Record<string, unknown>; path: ConfigPath }> = [];
  // A `key:` with nothing after it: its value is the block mapping on the next lines.
  let pending: { indent: number; map: Record<string, unknown>; key: string; path: ConfigPath } | undefined;
  for (let index = 0; index < lines.length; index++) {
    const line = lines[index]!;
    const lineNo = index + 1;
    let indent = 0;
    while (line.charCodeAt(indent) === 32) indent++;
    if (indent === line.length || line.charCodeAt(indent) === 35 /* # */) continue;
    const keyMatch = KEY.exec(line.slice(indent));
    if (!keyMatch) return undefined;
    const key = keyMatch[1]!;
    if (RESERVED_KEY.test(key)) return undefined;
    const keyPosition = { line: lineNo, col: indent + 1 };
    let map: Record<string, unknown>;
    let path: ConfigPath;
    if (pending) {
      if (indent <= pending.indent) return undefined;
      map = {};
      path = pending.path;
      records.push([path, 'value', keyPosition]);
      define(pending.map, pending.key, map);
      stack.push({ indent, map, path });
      pending = undefined;
    } else if (!root) {
      if (indent !== 0) return undefined;
      map = root = {};
      path = [];
      records.push([path, 'value', keyPosition]);
      stack.push({ indent, map, path });
    } else {
      while (stack.length > 0 && stack[stack.length - 1]!.indent > indent) stack.pop();
      const top = stack[stack.length - 1];
      if (!top || top.indent !== indent) return undefined;
      ({ map, path } = top);
    }
    if (Object.prototype.hasOwnProperty.call(map, key)) return undefined;
    const childPath = [...path, key];
    records.push([childPath, 'key', keyPosition]);
    let at = indent + key.length + 1;
    while (line.charCodeAt(at) === 32) at++;
    if (at === line.length) {
      pending = { indent, map, key, path: childPath };
      continue;
    }
    // `key:value` is one plain scalar in YAML, not a pair.
    if (at === indent + key.length + 1) return undefined;
    const reader = new LineReader(line, lineNo, at, records);
    const value = reader.value(childPath, false);
    if (value === undefined || !reader.atEnd()) return undefined;
    define(map, key, value.value);
  }
  if (pending || !root) return undefined;
  for (const [path, target, position] of records) issues.positions.record(path, target, position);
  return { value: root };
}

/** A key and its colon at the start of a line (after the indent). */
const KEY = /^([A-Za-z_][A-Za-z0-9_-]{0,199}):/;
/** Words YAML reads as null or a boolean: as keys they would become "null", "true"... with other spellings. */
const RESERVED_KEY = /^(?:[Nn]ull|NULL|[Tt]rue|TRUE|[Ff]alse|FALSE)$/;
/** What a plain scalar may hold here: no indicator, quote, colon, comment or flow character. */
const PLAIN = /^[A-Za-z0-9_/][A-Za-z0-9_./ -]*$/;
/** The core schema's tags for plain scalars other than strings (yaml 2.x, schema/core and schema/common/null). */
const CORE_TAGS = [
  /^(?:~|[Nn]ull|NULL)?$/,
  /^(?:[Tt]rue|TRUE|[Ff]alse|FALSE)$/,
  /^0o[0-7]+$/,
  /^[-+]?[0-9]+$/,
  /^0x[0-9a-fA-F]+$/,
  /^(?:[-+]?\.(?:inf|Inf|INF)|\.nan|\.NaN|\.NAN)$/,
  /^[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)[eE][-+]?[0-9]+$/,
  /^[-+]?(?:\.[0-9]+|[0-9]+\.[0-9]*)$/,
];
const SMALL_INT = /^(?:0|[1-9][0-9]{0,14})$/;

class LineReader {
  constructor(
    private readonly line: string,
    private readonly lineNo: number,
    private at: number,
    private readonly records: Array<[ConfigPath, IssueTarget, SourcePosition]>,
  ) {}

  atEnd(): boolean {
    this.spaces();
    return this.at === this.line.length;
  }

  private spaces(): void {
    while (this.line.charCodeAt(this.at) === 32) this.at++;
  }

  private position(): SourcePosition {
    return { line: this.lineNo, col: this.at + 1 };
  }

  /** A value starting here; `inFlow` inside `{ }`. `undefined`: not something this reader takes. */
  value(path: ConfigPath, inFlow: boolean): { value: unknown } | undefined {
    const c = this.line[this.at];
    if (c === '{') return this.flowMap(path);
    if (c === '"' || c === "'") {
      const end = this.line.indexOf(c, this.at + 1);
      if (end < 0) return undefined;
      const content = this.line.slice(this.at + 1, end);
      if (c === '"' && content.includes('\\')) return undefined;
      // `'it''s'` is an escaped quote.
      if (c === "'" && this.line[end + 1] === "'") return undefined;
      this.records.push([path, 'value', this.position()]);
      this.at = end + 1;
      return { value: content };
    }
    const start = this.at;
    let end = start;
    if (inFlow) {
      while (end < this.line.length && this.line[end] !== ',' && this.line[end] !== '}') end++;
    } else {
      end = this.line.length;
    }
    const raw = this.line.slice(start, end).trimEnd();
    if (!PLAIN.test(raw) || raw.includes('  ')) return undefined;
    let value: unknown = raw;
    if (raw === 'true' || raw === 'false') value = raw === 'true';
    else if (SMALL_INT.test(raw)) value = Number(raw);
    else if (CORE_TAGS.some((tag) => tag.test(raw))) return undefined;
    this.records.push([path, 'value', this.position()]);
    this.at = start + raw.length;
    return { value };
  }

  private flowMap(path: ConfigPath): { value: unknown } | undefined {
    this.records.push([path, 'value', this.position()]);
    this.at++;
    const map: Record<string, unknown> = {};
    this.spaces();
    if (this.line[this.at] === '}') {
      this.at++;
      return { value: map };
    }
    for (;;) {
      const keyMatch = KEY.exec(this.line.slice(this.at));
      if (!keyMatch) return undefined;
      const key = keyMatch[1]!;
      if (RESERVED_KEY.test(key) || Object.prototype.hasOwnProperty.call(map, key)) return undefined;
      const childPath = [...path, key];
      this.records.push([childPath, 'key', this.position()]);
      this.at += key.length + 1;
      if (this.line.charCodeAt(this.at) !== 32) return undefined;
      this.spaces();
      const value = this.value(childPath, true);
      if (value === undefined) return undefined;
      define(map, key, value.value);
      this.spaces();
      const c = this.line[this.at];
      this.at++;
      if (c === '}') return { value: map };
      if (c !== ',') return undefined;
      this.spaces();
      // A trailing comma, or an empty entry: left to the yaml package.
      if (this.line[this.at] === '}' || this.line[this.at] === ',') return undefined;
    }
  }
}

/** defineProperty: a key named `__proto__` must stay data, never become a prototype (as in yaml-tree.ts). */
function define(map: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(map, key, { value, enumerable: true, writable: true, configurable: true });
}
