import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { IssueCollector } from './issues.js';
import { readSimpleYaml } from './simple-yaml.js';
import { readYamlDocument } from './yaml-tree.js';

/** What a read leaves behind: the tree, every position recorded (in order) and any issue. */
function read(reader: typeof readSimpleYaml, text: string) {
  const issues = new IssueCollector('/etc/hearth/hearth.yaml');
  const result = reader(text, issues);
  return { result, positions: issues.positions.snapshot(), issues: issues.sorted() };
}

/** The fast path either declines or gives exactly what the yaml package's Document and walk give. */
function expectSameAsYaml(text: string): boolean {
  const fast = read(readSimpleYaml, text);
  if (fast.result === undefined) {
    expect(fast.positions).toEqual([]);
    return false;
  }
  const slow = read(readYamlDocument, text);
  expect(fast).toEqual(slow);
  return true;
}

const catalog = [
  '# Hearth',
  'timezone: Europe/London',
  'server: { host: "${HEARTH_HOST}", port: "${HEARTH_PORT}" }',
  'pools: { default: { concurrency: 2 } }',
  '',
  'jobs:',
  '  backup: { run: "true", schedule: { cron: "0 3 * * *" } }',
  '  # a comment line',
  '  poll: { run: "curl -s http://hub/state", schedule: { every: 5m }, timeout: 30s }',
  '  weekly:',
  "    run: 'echo hi'",
  '    retries: 3',
  '    enabled: false',
  '    schedule: { rrule: "FREQ=WEEKLY;BYDAY=MO;BYHOUR=6" }',
  '  empty: {}',
  'data_dir: /var/lib/hearth',
  '',
].join('\n');

describe('readSimpleYaml', () => {
  it('reads a typical catalog, with the same tree and positions as the yaml package', () => {
    expect(expectSameAsYaml(catalog)).toBe(true);
    const { result } = read(readSimpleYaml, catalog);
    expect(result?.value).toMatchObject({ jobs: { weekly: { retries: 3, enabled: false }, poll: { schedule: { every: '5m' } } } });
  });

  it('declines what it does not read, recording nothing', () => {
    for (const text of [
      '',
      '# only a comment\n',
      'jobs:\n',
      'jobs:\n  - a\n',
      'a: 1\na: 2\n',
      'a: { b: 1, b: 2 }\n',
      'a: 1.5\n',
      'a: 010\n',
      'a: null\n',
      'a: ~\n',
      'a: True\n',
      'a: 0x1f\n',
      'a: .inf\n',
      'a: b # comment\n',
      'a: "x\\ty"\n',
      "a: 'it''s'\n",
      'a: &anchor 1\nb: *anchor\n',
      'a: { b: 1, }\n',
      'a: { b: 1\n',
      'a:b\n',
      'a: |\n  text\n',
      'a: b\n  c: d\n',
      'a:\n    b: 1\n  c: 2\n',
      '---\na: 1\n',
      ' a: 1\n',
      'a: 1\r\n',
      'a:\tb\n',
      'null: 1\n',
      'a: { b: [1, 2] }\n',
      'a: "${X}" extra\n',
    ]) {
      const issues = new IssueCollector('/f.yaml');
      expect(readSimpleYaml(text, issues), text).toBeUndefined();
      expect(issues.positions.snapshot(), text).toEqual([]);
    }
  });

  it('matches the yaml package on generated files', () => {
    const word = fc.stringMatching(/^[a-z_][a-z0-9_]{0,6}$/);
    const scalar = fc.oneof(
      fc.stringMatching(/^[A-Za-z0-9_/][A-Za-z0-9_. -]{0,8}$/),
      fc.integer({ min: 0, max: 10_000 }).map(String),
      fc.constantFrom('true', 'false', '1.5', '007', 'null', '~', '5m', '-3', 'a  b', 'x ', '0o7'),
      fc.stringMatching(/^[a-z *${}:#,]{0,8}$/).map((s) => `"${s}"`),
      fc.stringMatching(/^[a-z *${}:#,"]{0,8}$/).map((s) => `'${s}'`),
    );
    const flow: fc.Memo<string> = fc.memo((depth) =>
      depth <= 1
        ? scalar
        : fc.oneof(
            scalar,
            fc.array(fc.tuple(word, flow(depth - 1)), { maxLength: 3 }).map((pairs) => `{${pairs.map(([k, v]) => ` ${k}: ${v}`).join(',')} }`),
          ),
    );
    const line = fc.tuple(fc.integer({ min: 0, max: 3 }), word, fc.option(flow(3), { nil: undefined }), fc.boolean());
    let taken = 0;
    fc.assert(
      fc.property(fc.array(line, { minLength: 1, maxLength: 12 }), (lines) => {
        // Mostly well-indented (a line one level under a `key:` with no value, or back out), sometimes not.
        let open = 0;
        const text = lines
          .map(([level, key, value, comment], index) => {
            const indent = index % 5 === 4 ? level : Math.min(level, open);
            if (comment) return `${'  '.repeat(level)}# note`;
            open = value === undefined ? indent + 1 : indent;
            return `${'  '.repeat(indent)}${key}:${value === undefined ? '' : ` ${value}`}`;
          })
          .join('\n');
        if (expectSameAsYaml(text + '\n')) taken++;
      }),
      { numRuns: 2000 },
    );
    // The generator must reach the fast path often enough for the comparison to mean something.
    expect(taken).toBeGreaterThan(100);
  });

  it('reads 1,000 one-line jobs', () => {
    const lines = ['timezone: Europe/London', 'jobs:'];
    for (let i = 0; i < 1000; i++) lines.push(`  j${i}: { run: "true", schedule: { every: ${5 + (i % 55)}m } }`);
    expect(expectSameAsYaml(lines.join('\n') + '\n')).toBe(true);
  });
});
