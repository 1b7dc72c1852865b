import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadText, problemsOf, yamlLines } from './testing.js';
import { DEFAULT_RETRY } from './types.js';

describe('defaults', () => {
  it('fills in every default for a minimal file', () => {
    const config = loadText(yamlLines('jobs:', '  hello:', '    run: echo hello'));
    expect(config).toEqual({
      file: resolve('hearth.yaml'),
      timezone: 'UTC',
      dataDir: resolve('.hearth'),
      server: { host: '0.0.0.0', port: 8080 },
      pools: { default: { name: 'default', concurrency: 2 } },
      historyPerJob: 50,
      logRetentionMs: 30 * 86_400_000,
      logMaxRunBytes: 16 * 1024 * 1024,
      historyRetentionMs: 365 * 86_400_000,
      killGraceMs: 10_000,
      knowledge: { embedder: { type: 'hashing', dim: 256 } },
      hooks: {},
      connections: {},
      jobs: {
        hello: {
          name: 'hello',
          pool: 'default',
          overlap: 'skip',
          retries: DEFAULT_RETRY,
          env: {},
          source: { file: 'hearth.yaml', line: 2 },
          tasks: [{ name: 'main', dependsOn: [], run: 'echo hello', with: {}, env: {}, continueOnError: false }],
        },
      },
    });
  });

  it('accepts an empty file and an empty jobs map', () => {
    expect(loadText('').jobs).toEqual({});
    expect(loadText('jobs:\n').jobs).toEqual({});
    expect(loadText('jobs: {}\n').jobs).toEqual({});
  });

  it('uses the system zone unless the file names one', () => {
    expect(loadText('jobs: {}\n', { systemTimezone: 'Asia/Tokyo' }).timezone).toBe('Asia/Tokyo');
    expect(loadText('timezone: Europe/London\n', { systemTimezone: 'Asia/Tokyo' }).timezone).toBe('Europe/London');
  });

  it('fills schedule defaults and inherits the global zone', () => {
    const config = loadText(yamlLines('timezone: Europe/London', 'jobs:', '  a:', '    run: x', '    schedule: { cron: " 0 3 * * * " }'));
    expect(config.jobs.a!.schedule).toEqual({
      spec: { kind: 'cron', expr: '0 3 * * *' },
      timezone: 'Europe/London',
      catchup: 'latest',
      maxCatchup: 24,
    });
  });
});

describe('the DESIGN.md example', () => {
  it('loads into the documented shape', () => {
    const text = yamlLines(
      'timezone: Europe/London',
      'dataDir: ./.hearth',
      'server: { host: 0.0.0.0, port: 8080 }',
      'pools:',
      '  default: { concurrency: 2 }',
      'jobs:',
      '  notes-backup:',
      '    description: Back up my notes folder',
      '    schedule:',
      '      cron: "0 3 * * *"',
      '      timezone: Europe/London',
      '      catchup: latest',
      '      maxCatchup: 24',
      '    pool: default',
      '    overlap: skip',
      '    timeout: 30m',
      '    retries: { max: 3, delay: 30s, backoff: exponential, maxDelay: 10m }',
      '    tasks:',
      '      archive:',
      '        run: tar czf "$HEARTH_DATA_DIR/notes.tgz" ~/notes',
      '      upload:',
      '        depends_on: [archive]',
      '        action: http',
      '        with: { url: "http://nas.local/upload", method: POST }',
    );
    const job = loadText(text, { knownActions: ['http'] }).jobs['notes-backup']!;
    expect(job).toEqual({
      name: 'notes-backup',
      description: 'Back up my notes folder',
      schedule: { spec: { kind: 'cron', expr: '0 3 * * *' }, timezone: 'Europe/London', catchup: 'latest', maxCatchup: 24 },
      pool: 'default',
      overlap: 'skip',
      timeoutMs: 30 * 60_000,
      retries: { max: 3, delayMs: 30_000, backoff: 'exponential', maxDelayMs: 600_000, jitter: 0.1 },
      env: {},
      source: { file: 'hearth.yaml', line: 7 },
      tasks: [
        { name: 'archive', dependsOn: [], run: 'tar czf "$HEARTH_DATA_DIR/notes.tgz" ~/notes', with: {}, env: {}, continueOnError: false },
        {
          name: 'upload',
          dependsOn: ['archive'],
          action: 'http',
          with: { url: 'http://nas.local/upload', method: 'POST' },
          env: {},
          continueOnError: false,
        },
      ],
    });
  });
});

describe('single-task shorthand', () => {
  it('turns a job-level action and with into one task named main', () => {
    const text = yamlLines('jobs:', '  ping:', '    action: http', '    with: { url: "http://127.0.0.1/", expect: 200 }', '    env: { A: b }', '    timeout: 1m');
    const job = loadText(text).jobs.ping!;
    expect(job.tasks).toEqual([
      { name: 'main', dependsOn: [], action: 'http', with: { url: 'http://127.0.0.1/', expect: 200 }, env: {}, continueOnError: false },
    ]);
    // env and timeout stay on the job: they are job settings, not the task's.
    expect(job.env).toEqual({ A: 'b' });
    expect(job.timeoutMs).toBe(60_000);
  });
});

describe('tasks', () => {
  it('returns tasks in topological order, ties in declaration order', () => {
    const text = yamlLines(
      'jobs:',
      '  report:',
      '    tasks:',
      '      publish: { run: p, depends_on: [summarise, notify-start] }',
      '      summarise: { run: s, depends_on: collect }',
      '      notify-start: { run: n }',
      '      collect: { run: c }',
      '      "2": { run: two }',
      '      "1": { run: one }',
    );
    const tasks = loadText(text).jobs.report!.tasks;
    expect(tasks.map((task) => task.name)).toEqual(['notify-start', 'collect', 'summarise', 'publish', '2', '1']);
    expect(tasks.find((task) => task.name === 'publish')!.dependsOn).toEqual(['summarise', 'notify-start']);
    expect(tasks.find((task) => task.name === 'summarise')!.dependsOn).toEqual(['collect']);
  });

  it('reads task settings', () => {
    const text = yamlLines(
      'jobs:',
      '  a:',
      '    retries: { max: 2, delay: 10s, backoff: exponential }',
      '    tasks:',
      '      t:',
      '        run: x',
      '        env: { COUNT: 3, DEBUG: true, NAME: n }',
      '        timeout: 1h30m',
      '        retries: 5',
      '        continue_on_error: true',
      '        depends_on: [u, u]',
      '      u: { run: y, continue_on_error: "false" }',
    );
    const [u, t] = loadText(text).jobs.a!.tasks;
    expect(u).toMatchObject({ name: 'u', continueOnError: false });
    expect(u!.retries).toBeUndefined();
    expect(t).toEqual({
      name: 't',
      dependsOn: ['u'],
      run: 'x',
      with: {},
      env: { COUNT: '3', DEBUG: 'true', NAME: 'n' },
      timeoutMs: 5_400_000,
      // A task's own retries start from the job's: only max changes here.
      retries: { max: 5, delayMs: 10_000, backoff: 'exponential', maxDelayMs: 600_000, jitter: 0.1 },
      continueOnError: true,
    });
  });

  it('resolves cwd: job cwd for every task, a task cwd relative to it', () => {
    const text = yamlLines(
      'jobs:',
      '  a:',
      '    cwd: work',
      '    tasks:',
      '      inherit: { run: x }',
      '      nested: { run: x, cwd: sub }',
      '      absolute: { run: x, cwd: /tmp }',
      '      home: { run: x, cwd: ~/notes }',
    );
    const tasks = loadText(text, { baseDir: '/srv/hearth', env: { HOME: '/home/pi' } }).jobs.a!.tasks;
    expect(tasks.map((task) => task.cwd)).toEqual(['/srv/hearth/work', '/srv/hearth/work/sub', '/tmp', '/home/pi/notes']);
  });
});

describe('retries', () => {
  it('accepts a bare number as max', () => {
    expect(loadText(yamlLines('jobs:', '  a:', '    run: x', '    retries: 3')).jobs.a!.retries).toEqual({ ...DEFAULT_RETRY, max: 3 });
  });

  it('raises the default cap to a longer delay', () => {
    const retries = loadText(yamlLines('jobs:', '  a:', '    run: x', '    retries: { max: 1, delay: 1h, jitter: 0 }')).jobs.a!.retries;
    expect(retries).toEqual({ max: 1, delayMs: 3_600_000, backoff: 'fixed', maxDelayMs: 3_600_000, jitter: 0 });
  });
});

describe('schedules', () => {
  it('reads every with an anchor as wall time in the schedule zone, or as an instant', () => {
    const text = yamlLines(
      'jobs:',
      '  wall:',
      '    run: x',
      '    schedule: { every: 2d, anchor: "2026-07-01T06:00", timezone: Europe/London, catchup: all, maxCatchup: 5 }',
      '  instant:',
      '    run: x',
      '    schedule: { every: 90m, anchor: "2026-01-01T00:00:00+02:00", catchup: none }',
      '  plain:',
      '    run: x',
      '    schedule: { every: 15m }',
    );
    const { jobs } = loadText(text);
    expect(jobs.wall!.schedule).toEqual({
      spec: { kind: 'every', everyMs: 2 * 86_400_000, anchor: Date.parse('2026-07-01T05:00:00Z') },
      timezone: 'Europe/London',
      catchup: 'all',
      maxCatchup: 5,
    });
    expect(jobs.instant!.schedule!.spec).toEqual({ kind: 'every', everyMs: 5_400_000, anchor: Date.parse('2025-12-31T22:00:00Z') });
    expect(jobs.plain!.schedule!.spec).toEqual({ kind: 'every', everyMs: 900_000, anchor: 0 });
  });

  it('reads rrule and hands validateSchedule the spec and zone', () => {
    const seen: unknown[] = [];
    const text = yamlLines('timezone: Europe/Berlin', 'jobs:', '  a:', '    run: x', '    schedule: { rrule: "FREQ=WEEKLY;BYDAY=MO;BYHOUR=9" }');
    const job = loadText(text, { validateSchedule: (spec, zone) => void seen.push([spec, zone]) }).jobs.a!;
    expect(job.schedule!.spec).toEqual({ kind: 'rrule', rule: 'FREQ=WEEKLY;BYDAY=MO;BYHOUR=9' });
    expect(seen).toEqual([[{ kind: 'rrule', rule: 'FREQ=WEEKLY;BYDAY=MO;BYHOUR=9' }, 'Europe/Berlin']]);
  });

  it('leaves a job without schedule manual-only', () => {
    expect(loadText(yamlLines('jobs:', '  a:', '    run: x')).jobs.a!.schedule).toBeUndefined();
  });
});

describe('pools, server, paths', () => {
  it('keeps the default pool unless redefined', () => {
    expect(loadText(yamlLines('pools:', '  io: { concurrency: 1 }')).pools).toEqual({
      default: { name: 'default', concurrency: 2 },
      io: { name: 'io', concurrency: 1 },
    });
    expect(loadText(yamlLines('pools:', '  default: { concurrency: 4 }')).pools).toEqual({ default: { name: 'default', concurrency: 4 } });
  });

  it('resolves dataDir against the config file directory, baseDir, or home', () => {
    expect(loadText('dataDir: data\n', {}).dataDir).toBe(resolve('data'));
    expect(loadText('dataDir: data\n', { baseDir: '/srv' }).dataDir).toBe('/srv/data');
    expect(loadText('dataDir: /var/lib/hearth\n', { baseDir: '/srv' }).dataDir).toBe('/var/lib/hearth');
    expect(loadText('dataDir: ~/hearth\n', { env: { HOME: '/home/pi' } }).dataDir).toBe('/home/pi/hearth');
  });

  it('reads server, history and killGrace', () => {
    const config = loadText(yamlLines('server: { host: 127.0.0.1, port: 0 }', 'history: { keepPerJob: 5 }', 'killGrace: 2s'));
    expect(config.server).toEqual({ host: '127.0.0.1', port: 0 });
    expect(config.historyPerJob).toBe(5);
    expect(config.killGraceMs).toBe(2000);
  });

  it('reads the per-run log cap as a size', () => {
    expect(loadText('logs: { maxRunSize: 512KB }\n').logMaxRunBytes).toBe(512 * 1024);
    expect(loadText('logs: { maxRunSize: 2mb }\n').logMaxRunBytes).toBe(2 * 1024 * 1024);
    expect(loadText('logs: { maxRunSize: 1GB }\n').logMaxRunBytes).toBe(1024 ** 3);
    expect(loadText('logs: { maxRunSize: 1048576 }\n').logMaxRunBytes).toBe(1024 * 1024);
  });

  it('refuses a log cap that is not a size or out of bounds, naming the line', () => {
    expect(problemsOf('logs:\n  maxRunSize: lots\n')).toEqual([
      'hearth.yaml:2:15: logs.maxRunSize: expected a size such as 512KB, 16MB or 1GB, got "lots"',
    ]);
    expect(problemsOf('logs: { maxRunSize: 1KB }\n')).toEqual([
      'hearth.yaml:1:21: logs.maxRunSize: must be from 64KB to 1GB, got "1KB"',
    ]);
    expect(problemsOf('logs: { maxRunSize: 2GB }\n')).toEqual([
      'hearth.yaml:1:21: logs.maxRunSize: must be from 64KB to 1GB, got "2GB"',
    ]);
  });
});

describe('environment substitution', () => {
  const text = yamlLines(
    'dataDir: ${DATA:/var/lib/hearth}',
    'server:',
    '  port: ${PORT:8080}',
    'jobs:',
    '  a:',
    '    env: { GREETING: "${GREETING:hello} ${WHO}" }',
    '    tasks:',
    '      t:',
    '        run: echo "$${HOME}" ${WHO}',
    '        retries: ${RETRIES:2}',
    '      call:',
    '        action: http',
    '        with: { url: "http://127.0.0.1:${PORT:8080}/api/health" }',
  );

  it('uses values from the environment, defaults, and keeps $${ literal', () => {
    const config = loadText(text, { env: { WHO: 'world', PORT: '9000', RETRIES: '' } });
    expect(config.dataDir).toBe('/var/lib/hearth');
    expect(config.server.port).toBe(9000);
    const [t, call] = config.jobs.a!.tasks;
    expect(config.jobs.a!.env).toEqual({ GREETING: 'hello world' });
    expect(t!.run).toBe('echo "${HOME}" world');
    // An empty variable counts as unset when there is a default.
    expect(t!.retries!.max).toBe(2);
    expect(call!.with).toEqual({ url: 'http://127.0.0.1:9000/api/health' });
  });

  it('reports a substituted value of the wrong type at its line', () => {
    expect(problemsOf(text, { env: { WHO: 'w', PORT: 'high' } })).toEqual(['hearth.yaml:3:9: server.port: expected a number, got "high"']);
  });

  it('leaves keys and comments alone', () => {
    const config = loadText(yamlLines('# ${NOT_SET}', 'jobs:', '  a:', '    action: http', '    with: { "${NOT_SET}": z }'));
    expect(config.jobs.a!.tasks[0]!.with).toEqual({ '${NOT_SET}': 'z' });
  });

  it('follows YAML aliases', () => {
    const config = loadText(
      yamlLines('jobs:', '  a:', '    run: x', '    retries: &quick { max: 1, delay: 1s }', '  b:', '    run: y', '    retries: *quick'),
    );
    expect(config.jobs.b!.retries).toEqual(config.jobs.a!.retries);
  });
});

describe('history settings', () => {
  it('reads keepPerJob, keepLogs and keepRuns, and rejects a bad duration with its position', () => {
    const config = loadText(yamlLines('history: { keepPerJob: 10, keepLogs: 7d, keepRuns: 90d }', 'jobs: {}'));
    expect(config.historyPerJob).toBe(10);
    expect(config.logRetentionMs).toBe(7 * 86_400_000);
    expect(config.historyRetentionMs).toBe(90 * 86_400_000);
    expect(() => loadText(yamlLines('history:', '  keepRuns: 0s'))).toThrow(/hearth\.yaml:2:13: history\.keepRuns/);
    expect(() => loadText(yamlLines('history:', '  keepLogs: forever'))).toThrow(/hearth\.yaml:2:13: history\.keepLogs: invalid duration "forever"/);
  });
});
