import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

/*
 * The import graph of src/ (every `import … from`, `export … from`,
 * `import type`, `import('…')` and `typeof import('…')`, read with the
 * TypeScript pre-processor so comments and strings are never mistaken for
 * imports), checked against the rules in DESIGN.md (../shared/DESIGN.md):
 *
 *   core ← config/runs ← schedule/pool/engine ← actions/knowledge/integrations ← http/cli ← main.ts
 *
 * A module may import from its own layer or an inner one, never an outer one,
 * and there are no cycles, neither between files nor between top-level modules.
 * Type-only imports count too: a type is a dependency of the design.
 */

const SRC = resolve(dirname(fileURLToPath(import.meta.url)), '..', 'src');

/** The top-level module of src/ a file belongs to: its first directory, or `(root)` for src/*.ts. */
const LAYERS: Record<string, number> = {
  core: 0,
  config: 1,
  runs: 1,
  // The secrets of named connections (tokens, refresh tokens) in <dataDir>/secrets/.
  secrets: 1,
  schedule: 2,
  pool: 2,
  engine: 2,
  // Durable workflow steps: the step journal, inbox and event log ports and the step runtime (core and runs only).
  steps: 2,
  // Notifications: what to tell the person, the outbox, quiet windows; channel adapters load vendor SDKs lazily.
  notify: 2,
  actions: 3,
  knowledge: 3,
  integrations: 3,
  // Not in DESIGN's list: adapters the outer layers use (Prometheus text, OS and disk readings, systemd).
  metrics: 3,
  system: 3,
  platform: 3,
  http: 4,
  cli: 4,
  // The composition root: main.ts and the config loader wiring it shares with the worker thread.
  '(root)': 5,
};

/**
 * Imports that point outward today, each with its reason. Every entry must
 * still occur (a fixed one is removed from here), and nothing else may.
 */
const EXCEPTIONS: Array<{ from: string; to: string; reason: string }> = [
  {
    from: 'engine/executor.ts',
    to: 'actions/types.ts',
    reason:
      'types only: the action port (ActionDefinition, ActionContext) is declared next to the SDK types users import; ' +
      'to remove it, the port moves to src/engine and actions/types.ts re-exports it (after the step API, which extends ActionContext, lands)',
  },
  {
    from: 'engine/testing.ts',
    to: 'actions/types.ts',
    reason: 'the same action port as engine/executor.ts, for the engine test factory (types only)',
  },
  {
    from: 'cli/local.ts',
    to: 'main.ts',
    reason: '`hearth start` boots the composition root; imported lazily so other commands do not load the engine',
  },
  {
    from: 'cli/config.ts',
    to: 'config-options.ts',
    reason: '`hearth validate` must check exactly what `hearth start` checks, so it uses the root\'s loader wiring (imported lazily)',
  },
];

/** Vendor packages only one module may import (DESIGN: domain code never imports Hono). */
const CONFINED_PACKAGES: Array<{ pattern: RegExp; allowedIn: string[] }> = [{ pattern: /^(hono|@hono\/)/, allowedIn: ['http'] }];

interface Graph {
  /** file (relative to src) → relative src files it imports */
  edges: Map<string, Set<string>>;
  /** file → bare package specifiers it imports */
  packages: Map<string, Set<string>>;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith('.ts') && !entry.name.endsWith('.test.ts') && !entry.name.endsWith('.d.ts') ? [path] : [];
  });
}

function readGraph(): Graph {
  const edges = new Map<string, Set<string>>();
  const packages = new Map<string, Set<string>>();
  for (const file of sourceFiles(SRC)) {
    const from = relative(SRC, file);
    const targets = new Set<string>();
    const bare = new Set<string>();
    for (const { fileName: spec } of ts.preProcessFile(readFileSync(file, 'utf8'), true, true).importedFiles) {
      if (!spec.startsWith('.')) {
        bare.add(spec);
        continue;
      }
      const absolute = resolve(dirname(file), spec);
      const target = [absolute.replace(/\.js$/, '.ts'), absolute, join(absolute, 'index.ts')].find((p) => p.endsWith('.ts') && existsSync(p));
      // Non-TypeScript targets (package.json) and files outside src are not part of the design's graph.
      if (target && target.startsWith(SRC + '/')) targets.add(relative(SRC, target));
    }
    edges.set(from, targets);
    packages.set(from, bare);
  }
  return { edges, packages };
}

function moduleOf(file: string): string {
  const slash = file.indexOf('/');
  return slash < 0 ? '(root)' : file.slice(0, slash);
}

/** Strongly connected components with more than one node (or a self-loop): Tarjan's algorithm. */
function findCycles(edges: Map<string, Set<string>>): string[][] {
  let counter = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const cycles: string[][] = [];
  const visit = (node: string): void => {
    index.set(node, counter);
    low.set(node, counter);
    counter++;
    stack.push(node);
    onStack.add(node);
    for (const next of edges.get(node) ?? []) {
      if (!index.has(next)) {
        visit(next);
        low.set(node, Math.min(low.get(node)!, low.get(next)!));
      } else if (onStack.has(next)) {
        low.set(node, Math.min(low.get(node)!, index.get(next)!));
      }
    }
    if (low.get(node) === index.get(node)) {
      const component: string[] = [];
      let member: string;
      do {
        member = stack.pop()!;
        onStack.delete(member);
        component.push(member);
      } while (member !== node);
      if (component.length > 1 || edges.get(node)?.has(node)) cycles.push(component.sort());
    }
  };
  for (const node of [...edges.keys()].sort()) if (!index.has(node)) visit(node);
  return cycles;
}

function outwardImports(graph: Graph): Array<{ from: string; to: string }> {
  const found: Array<{ from: string; to: string }> = [];
  for (const [from, targets] of graph.edges) {
    for (const to of targets) {
      if (LAYERS[moduleOf(to)]! > LAYERS[moduleOf(from)]!) found.push({ from, to });
    }
  }
  return found.sort((a, b) => `${a.from} ${a.to}`.localeCompare(`${b.from} ${b.to}`));
}

const graph = readGraph();

describe('architecture: the import graph of src/', () => {
  it('is read completely (the checks below are not vacuous)', () => {
    expect(graph.edges.size).toBeGreaterThan(100);
    expect(graph.edges.get('main.ts')).toContain('engine/engine.ts');
    // A multi-line `import type { … } from` and a lazy `import('…')` are both seen.
    expect(graph.edges.get('engine/engine.ts')).toContain('engine/port.ts');
    expect(graph.edges.get('cli/local.ts')).toContain('main.ts');
    expect(findCycles(new Map([['a', new Set(['b'])], ['b', new Set(['c'])], ['c', new Set(['a'])], ['d', new Set(['a'])]]))).toEqual([['a', 'b', 'c']]);
  });

  it('places every top-level module of src/ in a layer', () => {
    const unplaced = [...new Set([...graph.edges.keys()].map(moduleOf))].filter((module) => LAYERS[module] === undefined);
    expect(unplaced, 'add the new module to LAYERS in test/architecture.test.ts (and to DESIGN.md\'s layout)').toEqual([]);
  });

  it('has no import cycles between files', () => {
    expect(findCycles(graph.edges)).toEqual([]);
  });

  it('has no cycles between top-level modules (e.g. http ↔ cli), apart from the listed exceptions', () => {
    const modules = new Map<string, Set<string>>();
    const excepted = (from: string, to: string) => EXCEPTIONS.some((e) => e.from === from && e.to === to);
    for (const [from, targets] of graph.edges) {
      const set = modules.get(moduleOf(from)) ?? new Set<string>();
      for (const to of targets) if (moduleOf(to) !== moduleOf(from) && !excepted(from, to)) set.add(moduleOf(to));
      modules.set(moduleOf(from), set);
    }
    expect(findCycles(modules)).toEqual([]);
  });

  it('points inward (DESIGN.md), apart from the listed exceptions', () => {
    const allowed = EXCEPTIONS.map(({ from, to }) => ({ from, to }));
    const outward = outwardImports(graph);
    expect(outward.filter((edge) => !allowed.some((a) => a.from === edge.from && a.to === edge.to)), 'imports pointing outward').toEqual([]);
    expect(allowed.filter((a) => !outward.some((edge) => edge.from === a.from && edge.to === a.to)), 'exceptions that no longer occur: remove them').toEqual([]);
  });

  it('keeps errors that steer behaviour across modules in src/core/errors.ts', () => {
    // An error class matched with `instanceof` outside the module that defines it steers another
    // module's behaviour: it belongs with the other typed errors (DESIGN.md, "Typed errors").
    const definedIn = new Map<string, string>();
    const texts = new Map([...graph.edges.keys()].map((file) => [file, readFileSync(join(SRC, file), 'utf8')]));
    for (const [file, text] of texts) {
      for (const match of text.matchAll(/\bclass\s+(\w+)\s+extends\s+(\w*Error)\b/g)) definedIn.set(match[1]!, file);
    }
    expect(definedIn.get('ShutdownError')).toBe('core/errors.ts');
    const misplaced: string[] = [];
    for (const [file, text] of texts) {
      for (const match of text.matchAll(/\binstanceof\s+(\w+)/g)) {
        const home = definedIn.get(match[1]!);
        if (home && home !== 'core/errors.ts' && moduleOf(home) !== moduleOf(file)) misplaced.push(`${file} matches ${match[1]} from ${home}`);
      }
    }
    expect(misplaced).toEqual([]);
  });

  it('wraps errors with `cause`: a `throw new …` inside a catch block keeps the caught error', () => {
    const dropped: string[] = [];
    for (const file of graph.edges.keys()) {
      const source = ts.createSourceFile(file, readFileSync(join(SRC, file), 'utf8'), ts.ScriptTarget.Latest, true);
      const visit = (node: ts.Node, inCatch: boolean): void => {
        if (ts.isCatchClause(node)) inCatch = true;
        const thrown = ts.isThrowStatement(node) || ts.isReturnStatement(node) ? node.expression : undefined;
        if (inCatch && thrown && ts.isNewExpression(thrown) && /Error|Failure/.test(thrown.expression.getText(source)) && !/\bcause\b/.test(thrown.getText(source))) {
          dropped.push(`${file}:${source.getLineAndCharacterOfPosition(node.getStart(source)).line + 1}: ${thrown.getText(source).slice(0, 80)}`);
        }
        ts.forEachChild(node, (child) => visit(child, inCatch));
      };
      visit(source, false);
    }
    expect(dropped, 'pass the caught error on: new XError(message, { cause: error })').toEqual([]);
  });

  it('keeps vendor web frameworks out of domain code', () => {
    const misplaced: string[] = [];
    for (const [file, specs] of graph.packages) {
      for (const spec of specs) {
        const rule = CONFINED_PACKAGES.find((r) => r.pattern.test(spec));
        if (rule && !rule.allowedIn.includes(moduleOf(file))) misplaced.push(`${file} imports ${spec}`);
      }
    }
    expect(misplaced).toEqual([]);
  });
});
