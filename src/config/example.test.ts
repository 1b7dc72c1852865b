import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { bundledConfigPath, loadConfig } from './load.js';
import type { HearthConfig, JobDef, TaskDef } from './types.js';

/**
 * The bundled examples/hearth.yaml is what `npm start` runs on a fresh
 * machine, so it must load, and its shell tasks must really work with only
 * /bin/sh, coreutils and tar. These tests run them (as the engine would, with
 * the HEARTH_* variables) in a throwaway HOME and data directory.
 */

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'hearth-example-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

function loadExample(env: Record<string, string> = {}): Promise<HearthConfig> {
  return loadConfig(bundledConfigPath(), { env, baseDir: dir, knownActions: ['http', 'ingest.files', 'knowledge.optimize', 'module'] });
}

describe('examples/hearth.yaml', () => {
  it('loads with an empty environment, relative to the base directory', async () => {
    const config = await loadExample();
    expect(config.dataDir).toBe(join(dir, '.hearth'));
    expect(config.server).toEqual({ host: '0.0.0.0', port: 8080 });
    expect(Object.keys(config.jobs)).toEqual(['notes-backup', 'system-snapshot', 'http-check', 'daily-report', 'flaky-demo', 'jot', 'tidy-downloads', 'tidy-report', 'notes-index', 'knowledge-maintenance']);

    const { jobs } = config;
    expect(jobs['notes-backup']!.schedule).toMatchObject({ spec: { kind: 'cron', expr: '0 3 * * *' }, catchup: 'latest' });
    expect(jobs['system-snapshot']!.schedule).toMatchObject({ spec: { kind: 'every', everyMs: 60_000 }, catchup: 'none' });
    expect(jobs['http-check']!.schedule!.spec).toMatchObject({ kind: 'every', everyMs: 300_000 });
    expect(jobs['http-check']!.tasks[0]).toMatchObject({ action: 'http', with: { url: 'http://127.0.0.1:8080/api/health', expect: 200 } });
    expect(jobs['daily-report']!.schedule).toMatchObject({ spec: { kind: 'cron', expr: '30 7 * * *' }, catchup: 'latest' });
    expect(jobs['daily-report']!.retries).toMatchObject({ max: 2, delayMs: 10_000, backoff: 'exponential' });
    expect(jobs['daily-report']!.tasks.map((task) => [task.name, task.dependsOn])).toEqual([
      ['collect', []],
      ['summarise', ['collect']],
      ['publish', ['summarise']],
    ]);
    expect(jobs['flaky-demo']!.schedule).toBeUndefined();
    expect(jobs['flaky-demo']!.retries.max).toBeGreaterThanOrEqual(1);
  });

  it('takes the port, data directory and notes folder from the environment', async () => {
    const config = await loadExample({ HEARTH_PORT: '9191', HEARTH_DATA_DIR: '/var/lib/hearth', HEARTH_NOTES_DIR: '/srv/notes' });
    expect(config.server.port).toBe(9191);
    expect(config.dataDir).toBe('/var/lib/hearth');
    expect(config.jobs['http-check']!.tasks[0]!.with.url).toBe('http://127.0.0.1:9191/api/health');
    expect(config.jobs['notes-backup']!.env.NOTES_DIR).toBe('/srv/notes');
  });

  describe('shell tasks', () => {
    const home = () => join(dir, 'home');
    const dataDir = () => join(dir, 'data');

    function runTask(job: JobDef, task: TaskDef, extra: Record<string, string> = {}) {
      const env = {
        PATH: process.env.PATH ?? '/usr/bin:/bin',
        HOME: home(),
        ...job.env,
        ...task.env,
        HEARTH_RUN_ID: 'r_0000000000deadbeef',
        HEARTH_JOB: job.name,
        HEARTH_TASK: task.name,
        HEARTH_TRIGGER: 'manual',
        HEARTH_SCHEDULED_FOR: '',
        HEARTH_LAST_SUCCESS: '',
        HEARTH_SINCE_SECONDS: '',
        HEARTH_ATTEMPT: '1',
        HEARTH_DATA_DIR: dataDir(),
        ...extra,
      };
      const result = spawnSync('/bin/sh', ['-c', task.run!], { env, cwd: dir, encoding: 'utf8', timeout: 10_000 });
      return { status: result.status, stdout: result.stdout, stderr: result.stderr };
    }

    function expectSuccess(result: ReturnType<typeof runTask>) {
      expect(result.stderr).toBe('');
      expect(result.status).toBe(0);
    }

    beforeEach(async () => {
      await mkdir(home());
    });

    it('notes-backup creates the folder, archives it and keeps the newest 7', async () => {
      const job = (await loadExample()).jobs['notes-backup']!;
      const backups = join(dataDir(), 'backups');
      await mkdir(backups, { recursive: true });
      for (let day = 1; day <= 8; day++) await writeFile(join(backups, `notes-2020-01-0${day}.tgz`), 'old');

      const result = runTask(job, job.tasks[0]!);
      expectSuccess(result);
      expect(existsSync(join(home(), 'notes'))).toBe(true);
      const kept = readdirSync(backups).sort();
      // Today's archive plus the six newest old ones.
      expect(kept).toHaveLength(7);
      expect(kept.some((name) => /^notes-\d{4}-\d{2}-\d{2}\.tgz$/.test(name) && !name.startsWith('notes-2020'))).toBe(true);
      expect(kept.filter((name) => name.startsWith('notes-2020'))).toEqual(
        ['notes-2020-01-03.tgz', 'notes-2020-01-04.tgz', 'notes-2020-01-05.tgz', 'notes-2020-01-06.tgz', 'notes-2020-01-07.tgz', 'notes-2020-01-08.tgz'],
      );
      expect(result.stdout).toContain('archived');
    });

    it('notes-backup archives the folder named by NOTES_DIR', async () => {
      const notes = join(dir, 'my notes');
      await mkdir(notes);
      await writeFile(join(notes, 'todo.md'), '- water the plants\n');
      const job = (await loadExample({ HEARTH_NOTES_DIR: notes })).jobs['notes-backup']!;
      expectSuccess(runTask(job, job.tasks[0]!));
      const [archive] = readdirSync(join(dataDir(), 'backups'));
      const listing = spawnSync('tar', ['-tzf', join(dataDir(), 'backups', archive!)], { encoding: 'utf8' });
      expect(listing.stdout.split('\n')).toContain('./todo.md');
    });

    it('system-snapshot prints uptime, load, memory and disk use', async () => {
      const job = (await loadExample()).jobs['system-snapshot']!;
      const result = runTask(job, job.tasks[0]!);
      expectSuccess(result);
      expect(result.stdout).toMatch(/^uptime: \d+d \d+h \d+m$/m);
      expect(result.stdout).toMatch(/^load: +[\d.]+ [\d.]+ [\d.]+$/m);
      expect(result.stdout).toMatch(/^memory: MemAvailable: \d+ MiB$/m);
      expect(result.stdout).toContain(`in ${dataDir()}`);
    });

    it('daily-report collects, summarises and publishes in order', async () => {
      const job = (await loadExample()).jobs['daily-report']!;
      for (const task of job.tasks) expectSuccess(runTask(job, task, { HEARTH_SINCE_SECONDS: '3600' }));
      const reports = readdirSync(join(dataDir(), 'reports'));
      expect(reports).toHaveLength(1);
      expect(reports[0]).toMatch(/^daily-\d{4}-\d{2}-\d{2}\.txt$/);
      const report = readFileSync(join(dataDir(), 'reports', reports[0]!), 'utf8');
      expect(report).toContain('window:  last 3600 seconds');
      expect(report).toContain('host:');
    });

    it('daily-report covers one day when there was no earlier success', async () => {
      const job = (await loadExample()).jobs['daily-report']!;
      const results = job.tasks.map((task) => runTask(job, task));
      results.forEach(expectSuccess);
      expect(results[2]!.stdout).toContain('window:  last 86400 seconds');
    });

    it('jot appends the input from HEARTH_INPUT_FILE, and says what to do without one', async () => {
      const config = await loadExample();
      const job = config.jobs.jot!;
      expect(job.on).toEqual({ events: ['jot'] });
      const file = join(dir, 'input.json');
      await writeFile(file, '"buy milk"');
      const result = runTask(job, job.tasks[0]!, { HEARTH_INPUT: '"buy milk"', HEARTH_INPUT_FILE: file, HEARTH_TRIGGER: 'event' });
      expectSuccess(result);
      const inbox = readFileSync(join(dataDir(), 'notes', 'jottings.md'), 'utf8');
      expect(inbox).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2} \(event\) "buy milk"\n$/);
      const none = runTask(job, job.tasks[0]!, { HEARTH_INPUT: '', HEARTH_INPUT_FILE: '' });
      expectSuccess(none);
      expect(none.stdout).toContain('nothing to note');
    });

    it('flaky-demo fails its first attempt and succeeds on the retry', async () => {
      const job = (await loadExample()).jobs['flaky-demo']!;
      const first = runTask(job, job.tasks[0]!, { HEARTH_ATTEMPT: '1' });
      expect(first.status).toBe(1);
      expect(first.stderr).toContain('attempt 1: failing on purpose');
      const second = runTask(job, job.tasks[0]!, { HEARTH_ATTEMPT: '2' });
      expectSuccess(second);
      expect(second.stdout).toContain('attempt 2: succeeded');
    });
  });
});
