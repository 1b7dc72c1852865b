import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import * as yaml from 'yaml';
import { loadConfig, loadConfigCached } from './load.js';
import type { LoadOptions } from './options.js';
import type { ScheduleSpec } from './types.js';
import { configIssuesOf } from './testing.js';
import { guessDataDir, treeCacheFile } from './tree-cache.js';

// Counts the YAML parses: a cache hit must not parse at all.
vi.mock('yaml', async (importOriginal) => {
  const original = await importOriginal<typeof import('yaml')>();
  return { ...original, parseDocument: vi.fn(original.parseDocument) };
});
const parses = () => vi.mocked(yaml.parseDocument).mock.calls.length;

let dir: string;
let file: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'hearth-tree-cache-'));
  file = join(dir, 'hearth.yaml');
  vi.mocked(yaml.parseDocument).mockClear();
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const CONFIG = [
  'timezone: UTC',
  'server: { host: "${HOST:127.0.0.1}", port: 8181 }',
  'jobs:',
  '  greet:',
  '    run: echo "${GREETING}"',
  '    env: { TOKEN: "${API_TOKEN}" }',
  '    schedule: { cron: "*/5 * * * * *" }',
  '  steps:',
  '    tasks:',
  '      "10": { run: "echo ten" }',
  '      "2": { run: "echo two" }',
  '      b: { run: "echo b" }',
  '  "__proto__": { run: "true" }',
  '',
].join('\n');

const ENV = { GREETING: 'hello', API_TOKEN: 'tok-9f3c1d2e-secret', HOME: '/home/pi' };

function options(env: Record<string, string> = ENV, version = '1.0.0'): LoadOptions & { version: string } {
  return {
    env,
    systemTimezone: 'UTC',
    version,
    scheduleWarning: (spec) => (spec.kind === 'cron' && spec.expr.split(' ').length === 6 ? 'fires every few seconds' : undefined),
  };
}

/** Loads once (a parse) and writes the cache, as a first start does. */
async function firstStart(env: Record<string, string> = ENV) {
  const first = await loadConfigCached(file, options(env));
  expect(first.fromCache).toBe(false);
  expect(await first.saveCache!()).toBe(true);
  return first;
}


describe('config tree cache', () => {
  it('a restart with an unchanged file does not parse YAML and builds the same config (lines, warnings, task order)', async () => {
    await writeFile(file, CONFIG);
    const first = await firstStart();
    const parsesAfterFirst = parses();
    expect(parsesAfterFirst).toBeGreaterThan(0);

    const second = await loadConfigCached(file, options());
    expect(second.fromCache).toBe(true);
    expect(second.saveCache).toBeUndefined();
    expect(parses()).toBe(parsesAfterFirst);
    expect(second.config).toEqual(first.config);
    expect(second.config).toEqual(await loadConfig(file, options()));
    // What needs the cached positions: job source lines, warnings at file:line, tasks in file order.
    expect(second.config.jobs.greet!.source?.line).toBe(4);
    expect(second.config.warnings).toContain(`${file}:7:23: jobs.greet.schedule.cron: fires every few seconds`);
    expect(second.config.warnings?.some((warning) => warning.startsWith(`${file}:4:3: jobs.greet: scheduled job has neither a timeout`))).toBe(true);
    expect(second.config.jobs.steps!.tasks.map((task) => task.name)).toEqual(['10', '2', 'b']);
    expect(Object.getPrototypeOf(second.config.jobs)).toBe(Object.prototype);
  });

  it('never holds a substituted value: the environment is read again on every start', async () => {
    await writeFile(file, CONFIG);
    await firstStart();
    const cacheText = await readFile(treeCacheFile(join(dir, '.hearth')), 'utf8');
    expect(cacheText).not.toContain(ENV.API_TOKEN);
    expect(cacheText).not.toContain('hello');
    expect(cacheText).toContain('${API_TOKEN}');
    expect((await stat(treeCacheFile(join(dir, '.hearth')))).mode & 0o777).toBe(0o600);

    const parsed = parses();
    const changed = await loadConfigCached(file, options({ ...ENV, GREETING: 'bonjour', HOST: '10.0.0.2' }));
    expect(changed.fromCache).toBe(true);
    expect(parses()).toBe(parsed);
    expect(changed.config.jobs.greet!.tasks[0]!.run).toBe('echo "bonjour"');
    expect(changed.config.server.host).toBe('10.0.0.2');
    // The dashboard still knows which values came from the environment.
    expect(changed.config.jobs.greet!.tasks[0]!.fromEnv).toEqual([
      { path: ['run'], written: 'echo "${GREETING}"' },
      { path: ['env', 'TOKEN'], written: '${API_TOKEN}' },
    ]);
  });

  it('an edited file is parsed again', async () => {
    await writeFile(file, CONFIG);
    await firstStart();
    await writeFile(file, CONFIG.replace('echo ten', 'echo TEN'));
    const parsed = parses();
    const edited = await loadConfigCached(file, options());
    expect(edited.fromCache).toBe(false);
    expect(parses()).toBeGreaterThan(parsed);
    expect(edited.config.jobs.steps!.tasks[0]!.run).toBe('echo TEN');
  });

  it('an unset variable on a cache hit is reported at file:line:key, as a parse reports it', async () => {
    await writeFile(file, CONFIG);
    await firstStart();
    const { GREETING: _unset, ...withoutGreeting } = ENV;
    const found = await configIssuesOf(() => loadConfigCached(file, options(withoutGreeting)));
    expect(found).toEqual(await configIssuesOf(() => loadConfig(file, options(withoutGreeting))));
    expect(found).toEqual([`${file}:5:10: jobs.greet.run: environment variable GREETING is not set (write \${GREETING:default} to give a default)`]);
  });

  it('a corrupt, foreign or stale cache is ignored, and the next save repairs it', async () => {
    await writeFile(file, CONFIG);
    const cacheFile = treeCacheFile(join(dir, '.hearth'));
    await firstStart();
    const good = await readFile(cacheFile, 'utf8');
    const expected = await loadConfig(file, options());
    const bad = [
      '{"format":1,"key":',
      'null',
      good.replace('"positions":[', '"positions":[["x",1],'),
      good.replace('"cron":"*/5 * * * * *"', '"cron":"0 3 * * *"').replace(/"key":"[0-9a-f]+"/, '"key":"0000"'),
    ];
    for (const text of bad) {
      await writeFile(cacheFile, text);
      const load = await loadConfigCached(file, options());
      expect(load.fromCache).toBe(false);
      expect(load.config).toEqual(expected);
      expect(await load.saveCache!()).toBe(true);
      expect((await loadConfigCached(file, options())).fromCache).toBe(true);
    }
    // Another Hearth version never reads it.
    expect((await loadConfigCached(file, options(ENV, '1.0.1'))).fromCache).toBe(false);
  });

  it('is looked for in the data dir the file names, and not written for values JSON would change', async () => {
    const data = join(dir, 'state');
    await writeFile(file, `dataDir: \${DATA:./state} # where runs live\nlimit: .inf\njobs: {}\n`);
    expect(guessDataDir(await readFile(file, 'utf8'), dir, {})).toBe(data);
    expect(guessDataDir(await readFile(file, 'utf8'), dir, { DATA: '/var/lib/hearth' })).toBe('/var/lib/hearth');
    // `limit` is not a setting: the load fails, nothing to cache. A valid file with .inf somewhere:
    await writeFile(file, `dataDir: \${DATA:./state} # where runs live\njobs:\n  a: { action: noop, with: { x: .inf } }\n`);
    const load = await loadConfigCached(file, options());
    expect(load.config.dataDir).toBe(data);
    expect(await load.saveCache!()).toBe(false);
    await writeFile(file, `dataDir: "./state"\njobs:\n  a: { run: "true" }\n`);
    await (await loadConfigCached(file, options())).saveCache!();
    expect((await loadConfigCached(file, options())).fromCache).toBe(true);
    expect(guessDataDir('jobs: {}\n', dir, {})).toBe(join(dir, '.hearth'));
    expect(guessDataDir('dataDir: { a: 1 }\n', dir, {})).toBeUndefined();
  });

  it('a restart does not check again the schedules and zones the parse found valid, unless a spec or the runtime changed', async () => {
    await writeFile(file, ['timezone: Europe/Paris', 'jobs:', '  a: { run: "true", schedule: { cron: "0 3 * * *" } }', '  b: { run: "true", schedule: { cron: "${WHEN}", timezone: America/New_York } }', '  c: { run: "true", schedule: { cron: "*/5 * * * * *" } }', ''].join('\n'));
    const checked: string[] = [];
    const counting = (env: Record<string, string>) => ({
      ...options(env),
      validateSchedule: (spec: ScheduleSpec, timezone: string) => {
        checked.push(`${spec.kind === 'cron' ? spec.expr : spec.kind} ${timezone}`);
        return undefined;
      },
    });
    const first = await loadConfigCached(file, counting({ WHEN: '0 4 * * *' }));
    await first.saveCache!();
    expect(checked).toEqual(['0 3 * * * Europe/Paris', '0 4 * * * America/New_York', '*/5 * * * * * Europe/Paris']);
    const cache = JSON.parse(await readFile(treeCacheFile(join(dir, '.hearth')), 'utf8'));
    expect(cache.checks.zones).toEqual(expect.arrayContaining([['Europe/Paris', 'Europe/Paris'], ['America/New_York', 'America/New_York']]));

    checked.length = 0;
    const again = await loadConfigCached(file, counting({ WHEN: '0 4 * * *' }));
    expect(again.fromCache).toBe(true);
    expect(checked).toEqual([]);
    expect(again.config).toEqual(first.config); // the warning for c's 6-field cron included
    expect(again.config.warnings?.some((w) => w.includes('jobs.c.schedule.cron: fires every few seconds'))).toBe(true);

    // b's spec comes out different from the environment: only it is checked.
    const changed = await loadConfigCached(file, counting({ WHEN: '30 4 * * *' }));
    expect(changed.fromCache).toBe(true);
    expect(checked).toEqual(['30 4 * * * America/New_York']);

    // Checks recorded under another Node or time-zone database are not trusted.
    checked.length = 0;
    await writeFile(treeCacheFile(join(dir, '.hearth')), JSON.stringify({ ...cache, checks: { ...cache.checks, runtime: 'v0.0.0' } }));
    expect((await loadConfigCached(file, counting({ WHEN: '0 4 * * *' }))).fromCache).toBe(true);
    expect(checked).toHaveLength(3);
  });
});
