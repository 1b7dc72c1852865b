import { describe, expect, it } from 'vitest';
import { loadText, problemsOf, yamlLines } from './testing.js';

/** `expect`, `stuckAfter`, `defaultTimeout` and the warning for scheduled jobs nobody would notice hanging. */

describe('expect, stuckAfter and defaultTimeout', () => {
  it('reads expect.every and stuckAfter as durations, and a top-level defaultTimeout', () => {
    const config = loadText(
      yamlLines('defaultTimeout: 2h', 'jobs:', '  backup:', '    run: ./backup.sh', '    expect: { every: 26h }', '    stuckAfter: 90m'),
    );
    expect(config.jobs.backup!.expectEveryMs).toBe(26 * 3_600_000);
    expect(config.jobs.backup!.stuckAfterMs).toBe(90 * 60_000);
    expect(config.defaultTimeoutMs).toBe(2 * 3_600_000);
    const plain = loadText(yamlLines('jobs:', '  a:', '    run: x'));
    expect(plain.jobs.a!.expectEveryMs).toBeUndefined();
    expect(plain.jobs.a!.stuckAfterMs).toBeUndefined();
    expect(plain.defaultTimeoutMs).toBeUndefined();
  });

  it('reports an expect without every, an unknown key and a bad duration at their lines', () => {
    expect(problemsOf(yamlLines('jobs:', '  a:', '    run: x', '    expect: {}'))).toEqual([
      'hearth.yaml:4:5: jobs.a.expect: needs every (such as { every: 26h })',
    ]);
    expect(problemsOf(yamlLines('jobs:', '  a:', '    run: x', '    expect: { evry: 1d }'))).toEqual([
      'hearth.yaml:4:5: jobs.a.expect: needs every (such as { every: 26h })',
      'hearth.yaml:4:15: jobs.a.expect.evry: unknown key "evry", did you mean "every"? (allowed: every)',
    ]);
    const [problem] = problemsOf(yamlLines('jobs:', '  a:', '    run: x', '    stuckAfter: soon'));
    expect(problem).toMatch(/^hearth\.yaml:4:17: jobs\.a\.stuckAfter: /);
  });
});

describe('the warning for scheduled jobs with neither timeout nor expect', () => {
  it('warns (does not fail) for a scheduled job with no timeout and no expect, at its line', () => {
    const config = loadText(yamlLines('jobs:', '  hangs:', '    schedule: { every: 1h }', '    run: ./x.sh'));
    expect(config.warnings).toEqual([expect.stringMatching(/^hearth\.yaml:2:3: jobs\.hangs: scheduled job has neither a timeout nor expect: /)]);
  });

  it('does not warn when the job has a timeout, an expect, every task has a timeout, or it has no schedule', () => {
    const config = loadText(
      yamlLines(
        'jobs:',
        '  timed:',
        '    schedule: { every: 1h }',
        '    timeout: 5m',
        '    run: x',
        '  watched:',
        '    schedule: { every: 1h }',
        '    expect: { every: 26h }',
        '    run: x',
        '  tasks-timed:',
        '    schedule: { every: 1h }',
        '    tasks:',
        '      one: { run: x, timeout: 1m }',
        '  manual:',
        '    run: x',
      ),
    );
    expect(config.warnings).toBeUndefined();
  });
});

describe('start-up warnings in the log', () => {
  it('logs at most ten warnings one by one and sums up the rest, pointing at hearth validate', async () => {
    const { warningsToLog } = await import('./load.js');
    const jobs = Array.from({ length: 25 }, (_, i) => [`  job${i}:`, '    run: x', '    schedule: { every: 1h }']).flat();
    const config = loadText(yamlLines('jobs:', ...jobs));
    expect(config.warnings).toHaveLength(25);
    const logged = warningsToLog(config);
    expect(logged).toHaveLength(11);
    expect(logged.slice(0, 10)).toEqual(config.warnings!.slice(0, 10));
    expect(logged[10]).toBe(`${config.file}: 15 more warnings like these; \`hearth validate\` lists them all`);
    const few = loadText(yamlLines('jobs:', ...jobs.slice(0, 9)));
    expect(warningsToLog(few)).toEqual(few.warnings);
  });
});
