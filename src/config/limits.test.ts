import { describe, expect, it } from 'vitest';
import { TEST_OPTIONS, loadText, problemsOf, yamlLines } from './testing.js';
import { YAML_LIMITS } from './yaml-tree.js';
import { mkdtempSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, formatConfigIssue } from '../core/errors.js';
import { configWarnings, loadConfig } from './load.js';

/** Issue 9: bounds on durations, catch-up, aliases, file size and text that reaches the OS. */

function laughs(depth: number, fan: number): string {
  const lines = ['x0: &a0 "lol"'];
  for (let i = 1; i <= depth; i++) lines.push(`x${i}: &a${i} [${Array(fan).fill(`*a${i - 1}`).join(', ')}]`);
  return yamlLines(...lines, 'jobs: {}');
}

describe('YAML aliases', () => {
  it('rejects a billion-laughs file at the alias that crossed the limit', () => {
    expect(problemsOf(laughs(9, 9))).toEqual([
      'hearth.yaml:5:10: x4[0]: alias *a3: more than 1,000 alias uses in one file; the file was not loaded',
    ]);
  });

  it('rejects a long string repeated by aliases, naming the alias', () => {
    const text = yamlLines(`s: &s "${'x'.repeat(100_000)}"`, `l: [${Array(20).fill('*s').join(', ')}]`, 'jobs: {}');
    expect(problemsOf(text)).toEqual([
      'hearth.yaml:2:37: l[8]: alias *s: expands the config past 1,000,000 values and characters (aliases that repeat other aliases grow exponentially); the file was not loaded',
    ]);
  });

  it('still expands ordinary aliases', () => {
    const config = loadText(
      yamlLines('jobs:', '  a: &base', '    run: echo hi', '    timeout: 5m', '  b: *base', '  c: *base'),
    );
    expect(Object.keys(config.jobs)).toEqual(['a', 'b', 'c']);
    expect(config.jobs.c!.timeoutMs).toBe(300_000);
  });

  it('refuses a file over the size limit before parsing it', () => {
    const text = `x: "${'y'.repeat(YAML_LIMITS.maxBytes)}"\n`;
    expect(problemsOf(text)).toEqual(['hearth.yaml: the config file is larger than the limit of 131072 bytes (128 KiB)']);
  });

  it('reads no more of a huge file than the limit', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hearth-big-'));
    const file = join(dir, 'hearth.yaml');
    // Sparse: 4 GB on paper, nothing on disk.
    writeFileSync(file, 'jobs: {}\n');
    truncateSync(file, 4 * 1024 ** 3);
    const issues = await loadConfig(file, TEST_OPTIONS).then(
      () => [],
      (error: ConfigError) => error.issues.map(formatConfigIssue),
    );
    expect(issues).toEqual([`${file}: the config file is larger than the limit of 131072 bytes (128 KiB)`]);
  });
});

describe('duration bounds', () => {
  it('accepts a 30-day timeout and retry delay, and up to 10 years', () => {
    const config = loadText(
      yamlLines('jobs:', '  a:', '    run: x', '    timeout: 30d', '    retries: { max: 1, delay: 30d, maxDelay: 3650d }'),
    );
    expect(config.jobs.a!.timeoutMs).toBe(30 * 86_400_000);
    expect(config.jobs.a!.retries).toMatchObject({ delayMs: 30 * 86_400_000, maxDelayMs: 3650 * 86_400_000 });
  });

  it('rejects durations over 10 years and numbers too large to be finite', () => {
    const text = yamlLines(
      'killGrace: 3651d',
      'jobs:',
      '  a:',
      '    run: x',
      `    timeout: ${'9'.repeat(400)}`,
      '    retries: { delay: 1000000w }',
    );
    expect(problemsOf(text)).toEqual([
      'hearth.yaml:1:12: killGrace: must be at most 3650d (10 years), got "3651d"',
      'hearth.yaml:5:14: jobs.a.timeout: must be at most 3650d (10 years), got Infinity',
      'hearth.yaml:6:23: jobs.a.retries.delay: must be at most 3650d (10 years), got "1000000w"',
    ]);
  });
});

describe('maxCatchup', () => {
  it('is capped at 1000', () => {
    expect(loadText(yamlLines('jobs:', '  a:', '    run: x', '    schedule: { every: 1m, catchup: all, maxCatchup: 1000 }')).jobs.a!.schedule!.maxCatchup).toBe(1000);
    expect(problemsOf(yamlLines('jobs:', '  a:', '    run: x', '    schedule: { every: 1m, catchup: all, maxCatchup: 10000 }'))).toEqual([
      'hearth.yaml:4:54: jobs.a.schedule.maxCatchup: must be at most 1000 (catch-up creates every missed run in one pass)',
    ]);
  });
});

describe('NUL bytes', () => {
  it('rejects a NUL byte in run, cwd and env values at its line', () => {
    const text = yamlLines(
      'jobs:',
      '  a:',
      '    run: "echo a\\0b"',
      '  b:',
      '    tasks:',
      '      t:',
      '        run: ok',
      '        cwd: "/tmp\\0x"',
      '        env: { X: "1\\02" }',
    );
    const message = 'must not contain a NUL byte (\\0): the operating system cannot pass one to a task';
    expect(problemsOf(text)).toEqual([
      `hearth.yaml:3:10: jobs.a.run: ${message}`,
      `hearth.yaml:8:14: jobs.b.tasks.t.cwd: ${message}`,
      `hearth.yaml:9:19: jobs.b.tasks.t.env.X: ${message}`,
    ]);
  });
});

describe('an empty file', () => {
  it('loads at start as a config with 0 jobs, with a warning', () => {
    const config = loadText('# nothing here yet\n');
    expect(config.jobs).toEqual({});
    expect(configWarnings(config)).toEqual([`${config.file}: 0 jobs defined: Hearth will run nothing until jobs are added`]);
  });

  it('is an error on reload, so a half-saved file keeps the old jobs; an explicit jobs: {} still loads', () => {
    const message = 'hearth.yaml: the file is empty or holds only comments (a half-saved file?); the previous jobs keep running. Write "jobs: {}" to remove every job';
    expect(problemsOf('', { rejectEmpty: true })).toEqual([message]);
    expect(problemsOf('# a comment\n\n', { rejectEmpty: true })).toEqual([message]);
    expect(loadText('jobs: {}\n', { rejectEmpty: true }).jobs).toEqual({});
  });
});
