import { describe, expect, it } from 'vitest';
import { ConfigError } from '../core/errors.js';
import { parseConfigText } from './load.js';
import type { ScheduleSpec } from './types.js';
import { problemsOf, yamlLines } from './testing.js';

/** Every kind of problem, with its exact `file:line:col: path: message`. */

describe('YAML itself', () => {
  it('reports a syntax error at its position and nothing else', () => {
    const text = yamlLines('jobs:', '  a:', '    run: [echo', 'server: { port: nope }');
    expect(problemsOf(text)).toEqual([
      'hearth.yaml:4:1: YAML syntax error: Flow sequence in block collection must be sufficiently indented and end with a ]',
    ]);
  });

  it('hints to quote a cron expression that YAML read as aliases, once per line', () => {
    expect(problemsOf(yamlLines('jobs:', '  a:', '    schedule:', '      cron: */5 * * * *', '    run: echo'))).toEqual([
      'hearth.yaml:4:17: YAML syntax error: Unexpected alias at node end; a value starting with "*" is read as a YAML alias: quote cron expressions, e.g. cron: "*/5 * * * *"',
    ]);
    const [flow] = problemsOf(yamlLines('jobs:', '  a: { schedule: { cron: * * * * * }, run: echo }'));
    expect(flow).toMatch(/^hearth\.yaml:2:\d+: .*quote cron expressions, e\.g\. cron: "\*\/5 \* \* \* \*"$/);
  });

  it('reports a duplicate key at the second occurrence, with its path', () => {
    const text = yamlLines('jobs:', '  a:', '    run: one', '    run: two');
    expect(problemsOf(text)).toEqual(['hearth.yaml:4:5: jobs.a.run: duplicate key "run" (a key may appear only once in a mapping)']);
  });

  it('rejects several documents in one file', () => {
    expect(problemsOf(yamlLines('jobs: {}', '---', 'jobs: {}'))).toEqual([
      'hearth.yaml:2:1: a config file holds a single YAML document; remove the "---" separator',
    ]);
  });

  it('needs a mapping at the top', () => {
    expect(problemsOf(yamlLines('- a', '- b'))).toEqual([
      'hearth.yaml:1:1: expected a mapping of settings (timezone, dataDir, server, pools, jobs, ...), got a list',
    ]);
  });

  it('throws a ConfigError that carries the issues', () => {
    let caught: unknown;
    try {
      parseConfigText('bogus: 1\n', 'conf/h.yaml', { env: {} });
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(ConfigError);
    expect((caught as ConfigError).issues).toEqual([
      {
        file: 'conf/h.yaml',
        line: 1,
        col: 1,
        path: 'bogus',
        message: 'unknown key "bogus" (allowed: timezone, dataDir, server, pools, history, logs, killGrace, defaultTimeout, jobs, knowledge, hooks, connections, notify)',
      },
    ]);
    expect((caught as ConfigError).message).toBe(
      'conf/h.yaml:1:1: bogus: unknown key "bogus" (allowed: timezone, dataDir, server, pools, history, logs, killGrace, defaultTimeout, jobs, knowledge, hooks, connections, notify)',
    );
  });
});

describe('unknown keys', () => {
  it('suggests the closest allowed key for a typo', () => {
    const text = yamlLines('jobs:', '  flow:', '    tasks:', '      a: { run: x }', '      b:', '        run: y', '        dependson: [a]');
    expect(problemsOf(text)).toEqual([
      'hearth.yaml:7:9: jobs.flow.tasks.b.dependson: unknown key "dependson", did you mean "depends_on"? (allowed: run, action, with, depends_on, env, cwd, timeout, retries, continue_on_error)',
    ]);
  });

  it('finds typos at the top level, in schedules, retries and server', () => {
    const text = yamlLines(
      'job: {}',
      'server: { prot: 80 }',
      'jobs:',
      '  a:',
      '    run: x',
      '    schedule: { cron: "* * * * *", catchUp: all }',
      '    retries: { max: 1, backof: fixed }',
      '    sechdule: {}',
    );
    expect(problemsOf(text)).toEqual([
      'hearth.yaml:1:1: job: unknown key "job", did you mean "jobs"? (allowed: timezone, dataDir, server, pools, history, logs, killGrace, defaultTimeout, jobs, knowledge, hooks, connections, notify)',
      'hearth.yaml:2:11: server.prot: unknown key "prot", did you mean "port"? (allowed: host, port)',
      'hearth.yaml:6:36: jobs.a.schedule.catchUp: unknown key "catchUp", did you mean "catchup"? (allowed: cron, every, rrule, timezone, catchup, maxCatchup, anchor)',
      'hearth.yaml:7:24: jobs.a.retries.backof: unknown key "backof", did you mean "backoff"? (allowed: max, delay, backoff, maxDelay, jitter)',
      'hearth.yaml:8:5: jobs.a.sechdule: unknown key "sechdule", did you mean "schedule"? (allowed: description, schedule, pool, overlap, stuckAfter, expect, timeout, retries, env, cwd, tasks, run, action, with, on, notify)',
    ]);
  });
});

describe('types and values', () => {
  it('names the expected type and what it got', () => {
    const text = yamlLines(
      'server:',
      '  port: eighty',
      'jobs:',
      '  a:',
      '    description: 5',
      '    overlap: sikp',
      '    env: [A]',
      '    tasks:',
      '      t:',
      '        run: x',
      '        continue_on_error: maybe',
      '        depends_on: { a: 1 }',
    );
    expect(problemsOf(text)).toEqual([
      'hearth.yaml:2:9: server.port: expected a number, got "eighty"',
      'hearth.yaml:5:18: jobs.a.description: expected a string, got 5',
      'hearth.yaml:6:14: jobs.a.overlap: must be one of skip, queue, allow, got "sikp", did you mean "skip"?',
      'hearth.yaml:7:10: jobs.a.env: expected a mapping of NAME: value, got a list',
      'hearth.yaml:11:28: jobs.a.tasks.t.continue_on_error: expected true or false, got "maybe"',
      'hearth.yaml:12:21: jobs.a.tasks.t.depends_on: expected a task name or a list of task names, got a mapping',
    ]);
  });

  it('checks number ranges', () => {
    const text = yamlLines(
      'server: { port: 70000 }',
      'pools:',
      '  io: { concurrency: 0 }',
      'history: { keepPerJob: 1.5 }',
      'jobs:',
      '  a:',
      '    run: x',
      '    retries: { max: -1, jitter: 2 }',
      '    schedule: { every: 1m, maxCatchup: 0 }',
    );
    expect(problemsOf(text)).toEqual([
      'hearth.yaml:1:17: server.port: must be at most 65535',
      'hearth.yaml:3:22: pools.io.concurrency: must be at least 1',
      'hearth.yaml:4:24: history.keepPerJob: expected a whole number, got 1.5',
      'hearth.yaml:8:21: jobs.a.retries.max: must be at least 0',
      'hearth.yaml:8:33: jobs.a.retries.jitter: must be at most 1',
      'hearth.yaml:9:40: jobs.a.schedule.maxCatchup: must be at least 1',
    ]);
  });

  it('reports a missing required key at its parent', () => {
    expect(problemsOf(yamlLines('pools:', '  io: {}'))).toEqual(['hearth.yaml:2:3: pools.io.concurrency: is required']);
  });

  it('reports a job with no settings at its key', () => {
    expect(problemsOf(yamlLines('jobs:', '  a:'))).toEqual([
      'hearth.yaml:2:3: jobs.a: expected a mapping of job settings (schedule, run, tasks, ...), got nothing',
    ]);
  });

  it('rejects bad durations', () => {
    const text = yamlLines(
      'killGrace: soon',
      'jobs:',
      '  a:',
      '    run: x',
      '    timeout: 10x',
      '    schedule: { every: 0s }',
      '    retries: { delay: true }',
    );
    expect(problemsOf(text)).toEqual([
      'hearth.yaml:1:12: killGrace: invalid duration "soon" (use e.g. 500ms, 30s, 15m, 1h30m, 2d)',
      'hearth.yaml:5:14: jobs.a.timeout: invalid duration "10x" (use e.g. 500ms, 30s, 15m, 1h30m, 2d)',
      'hearth.yaml:6:24: jobs.a.schedule.every: must be longer than 0',
      'hearth.yaml:7:23: jobs.a.retries.delay: expected a duration such as 30s, 15m or 1h30m, got true',
    ]);
  });

  it('rejects maxDelay shorter than delay', () => {
    expect(problemsOf(yamlLines('jobs:', '  a:', '    run: x', '    retries: { delay: 1m, maxDelay: 30s }'))).toEqual([
      'hearth.yaml:4:37: jobs.a.retries.maxDelay: must not be shorter than delay (1m)',
    ]);
  });

  it('rejects a retries value that is neither a number nor a mapping', () => {
    expect(problemsOf(yamlLines('jobs:', '  a:', '    run: x', '    retries: often'))).toEqual([
      'hearth.yaml:4:14: jobs.a.retries: expected a number of retries or a mapping { max, delay, backoff, maxDelay, jitter }, got "often"',
    ]);
  });

  it('rejects bad environment variable names', () => {
    expect(problemsOf(yamlLines('jobs:', '  a:', '    run: x', '    env:', '      MY-VAR: 1'))).toEqual([
      'hearth.yaml:5:7: jobs.a.env.MY-VAR: invalid environment variable name "MY-VAR": use letters, digits and _, not starting with a digit',
    ]);
  });
});

describe('names', () => {
  it('explains the rule for job, task and pool names', () => {
    const rule = 'use 1 to 63 letters, digits, "-" or "_", starting with a letter or digit (names appear in URLs and environment variables)';
    const text = yamlLines(
      'pools:',
      '  "big pool": { concurrency: 1 }',
      'jobs:',
      '  "my job":',
      '    run: x',
      '  flow:',
      '    tasks:',
      '      _hidden: { run: x }',
      `  ${'x'.repeat(64)}:`,
      '    run: x',
    );
    expect(problemsOf(text)).toEqual([
      `hearth.yaml:2:3: pools.big pool: invalid pool name "big pool": ${rule}`,
      `hearth.yaml:4:3: jobs.my job: invalid job name "my job": ${rule}`,
      `hearth.yaml:8:7: jobs.flow.tasks._hidden: invalid task name "_hidden": ${rule}`,
      `hearth.yaml:9:3: jobs.${'x'.repeat(64)}: invalid job name "${'x'.repeat(64)}": ${rule}`,
    ]);
  });
});

describe('run, action and tasks', () => {
  it('requires exactly one of run and action', () => {
    const text = yamlLines(
      'jobs:',
      '  both:',
      '    run: x',
      '    action: http',
      '  neither:',
      '    description: nothing to do',
      '  flow:',
      '    tasks:',
      '      a: { run: x, action: http }',
      '      b: { env: { A: 1 } }',
    );
    expect(problemsOf(text)).toEqual([
      'hearth.yaml:4:5: jobs.both.action: run and action are exclusive: a task either runs a shell command or calls an action',
      'hearth.yaml:5:3: jobs.neither: needs a run command, an action, or a tasks mapping',
      'hearth.yaml:9:20: jobs.flow.tasks.a.action: run and action are exclusive: a task either runs a shell command or calls an action',
      'hearth.yaml:10:7: jobs.flow.tasks.b: needs either run (a shell command) or action (a built-in action)',
    ]);
  });

  it('rejects job-level run, action or with next to tasks', () => {
    const text = yamlLines('jobs:', '  a:', '    run: x', '    tasks:', '      t: { run: y }');
    expect(problemsOf(text)).toEqual(['hearth.yaml:3:5: jobs.a.run: cannot be combined with tasks: move run into one of the tasks']);
  });

  it('rejects with: on a shell task and an empty tasks map', () => {
    const text = yamlLines('jobs:', '  a:', '    run: x', '    with: { url: y }', '  b:', '    tasks: {}');
    expect(problemsOf(text)).toEqual([
      "hearth.yaml:4:5: jobs.a.with: with is only used with action (it holds the action's parameters)",
      'hearth.yaml:6:5: jobs.b.tasks: needs at least one task',
    ]);
  });

  it('rejects unknown actions when the known ones are given', () => {
    const text = yamlLines('jobs:', '  a:', '    action: htp');
    expect(problemsOf(text, { knownActions: ['http', 'module'] })).toEqual([
      'hearth.yaml:3:13: jobs.a.action: unknown action "htp", did you mean "http"? (known actions: http, module)',
    ]);
  });

  it('maps validateAction problems to the lines inside with:', () => {
    const text = yamlLines(
      'jobs:',
      '  a:',
      '    tasks:',
      '      call:',
      '        action: http',
      '        with:',
      '          url: ftp://x',
      '          expect: [200, ok]',
      '          bogus: 1',
      '  b:',
      '    action: http',
    );
    const seen: Array<[string, Record<string, unknown>]> = [];
    const validateAction = (action: string, params: Record<string, unknown>) => {
      seen.push([action, params]);
      if (!('url' in params)) return [{ path: '', message: 'needs a url' }];
      return [
        { path: 'url', message: 'must be an http:// or https:// URL' },
        { path: 'expect.1', message: 'must be a status code' },
        { path: 'bogus', message: 'unknown field' },
      ];
    };
    expect(problemsOf(text, { validateAction, knownActions: ['http'] })).toEqual([
      'hearth.yaml:7:16: jobs.a.tasks.call.with.url: must be an http:// or https:// URL',
      'hearth.yaml:8:25: jobs.a.tasks.call.with.expect[1]: must be a status code',
      'hearth.yaml:9:18: jobs.a.tasks.call.with.bogus: unknown field',
      'hearth.yaml:10:3: jobs.b.with: needs a url',
    ]);
    expect(seen).toEqual([
      ['http', { url: 'ftp://x', expect: [200, 'ok'], bogus: 1 }],
      ['http', {}],
    ]);
  });
});

describe('schedules', () => {
  const validateSchedule = (spec: ScheduleSpec, timezone: string) => {
    if (spec.kind === 'cron' && spec.expr.split(' ').length !== 5) return `cron needs 5 fields, got "${spec.expr}" (${timezone})`;
    if (spec.kind === 'rrule' && !spec.rule.includes('FREQ=')) return 'rrule needs FREQ';
    return undefined;
  };

  it('passes specs to validateSchedule and reports its message at the expression', () => {
    const text = yamlLines(
      'timezone: Europe/Paris',
      'jobs:',
      '  a:',
      '    run: x',
      '    schedule:',
      '      cron: "0 3 * *"',
      '  b:',
      '    run: x',
      '    schedule: { rrule: "BYDAY=MO", timezone: America/New_York }',
    );
    expect(problemsOf(text, { validateSchedule })).toEqual([
      'hearth.yaml:6:13: jobs.a.schedule.cron: cron needs 5 fields, got "0 3 * *" (Europe/Paris)',
      'hearth.yaml:9:24: jobs.b.schedule.rrule: rrule needs FREQ',
    ]);
  });

  it('requires exactly one of cron, every and rrule', () => {
    const text = yamlLines(
      'jobs:',
      '  none:',
      '    run: x',
      '    schedule: { catchup: all }',
      '  many:',
      '    run: x',
      '    schedule:',
      '      cron: "* * * * *"',
      '      every: 5m',
      '      rrule: FREQ=DAILY',
    );
    expect(problemsOf(text)).toEqual([
      'hearth.yaml:4:5: jobs.none.schedule: needs one of cron, every or rrule (leave out schedule for a job that only runs when triggered)',
      'hearth.yaml:9:7: jobs.many.schedule.every: cron and every cannot be combined: a schedule has exactly one of cron, every or rrule',
      'hearth.yaml:10:7: jobs.many.schedule.rrule: cron and rrule cannot be combined: a schedule has exactly one of cron, every or rrule',
    ]);
  });

  it('rejects unknown time zones, suggesting a close one', () => {
    const text = yamlLines('timezone: Mars/Olympus', 'jobs:', '  a:', '    run: x', '    schedule: { every: 1h, timezone: Europe/Londn }');
    expect(problemsOf(text)).toEqual([
      'hearth.yaml:1:11: timezone: unknown timezone "Mars/Olympus": use an IANA name such as Europe/London or UTC',
      'hearth.yaml:5:38: jobs.a.schedule.timezone: unknown timezone "Europe/Londn": did you mean "Europe/London"?',
    ]);
  });

  it('allows anchor only with every, and only as an ISO time', () => {
    const text = yamlLines(
      'jobs:',
      '  a:',
      '    run: x',
      '    schedule: { cron: "0 * * * *", anchor: "2026-01-01T00:00:00Z" }',
      '  b:',
      '    run: x',
      '    schedule: { every: 1d, anchor: "next tuesday" }',
      '  c:',
      '    run: x',
      '    schedule: { every: 1d, anchor: "2026-02-30" }',
    );
    expect(problemsOf(text)).toEqual([
      'hearth.yaml:4:36: jobs.a.schedule.anchor: anchor only applies to every: schedules',
      'hearth.yaml:7:36: jobs.b.schedule.anchor: invalid anchor "next tuesday": use an ISO 8601 time such as 2026-01-05T06:00 or 2026-01-05T06:00:00Z',
      'hearth.yaml:10:36: jobs.c.schedule.anchor: invalid anchor "2026-02-30": use an ISO 8601 time such as 2026-01-05T06:00 or 2026-01-05T06:00:00Z',
    ]);
  });
});

describe('pools', () => {
  it('rejects a job in an undefined pool, listing the defined ones', () => {
    const text = yamlLines('pools:', '  io: { concurrency: 1 }', 'jobs:', '  a:', '    run: x', '    pool: oi');
    expect(problemsOf(text)).toEqual(['hearth.yaml:6:11: jobs.a.pool: unknown pool "oi", did you mean "io"? (defined pools: default, io)']);
  });

  it('does not call a pool with a broken body unknown', () => {
    const text = yamlLines('pools:', '  io: { concurrency: many }', 'jobs:', '  a:', '    run: x', '    pool: io');
    expect(problemsOf(text)).toEqual(['hearth.yaml:2:22: pools.io.concurrency: expected a number, got "many"']);
  });
});

describe('dependencies', () => {
  it('rejects unknown dependencies, suggesting a close name', () => {
    const text = yamlLines('jobs:', '  j:', '    tasks:', '      fetch: { run: x }', '      store:', '        run: y', '        depends_on: [fetch, fecth, nothing]');
    expect(problemsOf(text)).toEqual([
      'hearth.yaml:7:29: jobs.j.tasks.store.depends_on[1]: unknown task "fecth", did you mean "fetch"? (tasks in this job: fetch, store)',
      'hearth.yaml:7:36: jobs.j.tasks.store.depends_on[2]: unknown task "nothing" (tasks in this job: fetch, store)',
    ]);
  });

  it('points at a single-string depends_on value', () => {
    const text = yamlLines('jobs:', '  j:', '    tasks:', '      a:', '        run: x', '        depends_on: b');
    expect(problemsOf(text)).toEqual(['hearth.yaml:6:21: jobs.j.tasks.a.depends_on: unknown task "b" (tasks in this job: a)']);
  });

  it('rejects a task that depends on itself', () => {
    const text = yamlLines('jobs:', '  j:', '    tasks:', '      a: { run: x, depends_on: [a] }');
    expect(problemsOf(text)).toEqual(['hearth.yaml:4:33: jobs.j.tasks.a.depends_on[0]: task "a" depends on itself']);
  });

  it('names the members of a cycle in order, starting from the first declared', () => {
    const text = yamlLines(
      'jobs:',
      '  j:',
      '    tasks:',
      '      ok: { run: x }',
      '      a: { run: x, depends_on: [ok, b] }',
      '      b: { run: x, depends_on: c }',
      '      c: { run: x, depends_on: [a] }',
    );
    expect(problemsOf(text)).toEqual(['hearth.yaml:5:32: jobs.j.tasks.a.depends_on: dependency cycle: a → b → c → a']);
  });

  it('reports one cycle per group of tasks caught in it', () => {
    const text = yamlLines(
      'jobs:',
      '  j:',
      '    tasks:',
      '      a: { run: x, depends_on: b }',
      '      b: { run: x, depends_on: a }',
      '      c: { run: x, depends_on: d }',
      '      d: { run: x, depends_on: c }',
    );
    expect(problemsOf(text)).toEqual([
      'hearth.yaml:4:32: jobs.j.tasks.a.depends_on: dependency cycle: a → b → a',
      'hearth.yaml:6:32: jobs.j.tasks.c.depends_on: dependency cycle: c → d → c',
    ]);
  });

  it('still checks the dependencies of a task that has other problems', () => {
    const text = yamlLines('jobs:', '  j:', '    tasks:', '      a:', '        depends_on: [missing]');
    expect(problemsOf(text)).toEqual([
      'hearth.yaml:4:7: jobs.j.tasks.a: needs either run (a shell command) or action (a built-in action)',
      'hearth.yaml:5:22: jobs.j.tasks.a.depends_on[0]: unknown task "missing" (tasks in this job: a)',
    ]);
  });
});

describe('environment substitution errors', () => {
  it('names an unset variable and where it is used', () => {
    const text = yamlLines('server:', '  port: ${PORT}', 'jobs:', '  a:', '    run: echo ${GREETING} ${NAME}');
    expect(problemsOf(text, { env: { NAME: 'x' } })).toEqual([
      'hearth.yaml:2:9: server.port: environment variable PORT is not set (write ${PORT:default} to give a default)',
      'hearth.yaml:5:10: jobs.a.run: environment variable GREETING is not set (write ${GREETING:default} to give a default)',
    ]);
  });

  it('explains malformed references and the escape', () => {
    const text = yamlLines('jobs:', '  a:', '    run: echo ${x#y}', '  b:', '    run: echo ${oops');
    expect(problemsOf(text)).toEqual([
      'hearth.yaml:3:10: jobs.a.run: invalid variable reference "${x#y}" (use ${NAME} or ${NAME:default}; write "$${" for a literal "${")',
      'hearth.yaml:5:10: jobs.b.run: unterminated "${" (write "$${" for a literal "${")',
    ]);
  });
});

describe('many problems at once', () => {
  it('collects every problem in the file, sorted by position', () => {
    const text = yamlLines(
      'timezone: Nowhere/Special',
      'server: { port: "${PORT}" }',
      'jobs:',
      '  backup:',
      '    schedule: { cron: "0 3 * * *", catchup: sometimes }',
      '    pool: gpu',
      '    timeout: forever',
      '    tasks:',
      '      archive: { run: tar, dependson: [] }',
      '      upload: { action: http, depends_on: [archive, cleanup] }',
      '  other:',
      '    run: x',
      '    retries: { backoff: linear }',
    );
    expect(problemsOf(text)).toEqual([
      'hearth.yaml:1:11: timezone: unknown timezone "Nowhere/Special": use an IANA name such as Europe/London or UTC',
      'hearth.yaml:2:17: server.port: environment variable PORT is not set (write ${PORT:default} to give a default)',
      'hearth.yaml:5:45: jobs.backup.schedule.catchup: must be one of none, latest, all, got "sometimes"',
      'hearth.yaml:6:11: jobs.backup.pool: unknown pool "gpu" (defined pools: default)',
      'hearth.yaml:7:14: jobs.backup.timeout: invalid duration "forever" (use e.g. 500ms, 30s, 15m, 1h30m, 2d)',
      'hearth.yaml:9:28: jobs.backup.tasks.archive.dependson: unknown key "dependson", did you mean "depends_on"? (allowed: run, action, with, depends_on, env, cwd, timeout, retries, continue_on_error)',
      'hearth.yaml:10:53: jobs.backup.tasks.upload.depends_on[1]: unknown task "cleanup" (tasks in this job: archive, upload)',
      'hearth.yaml:13:25: jobs.other.retries.backoff: must be one of fixed, exponential, got "linear"',
    ]);
  });
});
