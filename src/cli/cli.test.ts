import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ConfigError } from '../core/errors.js';
import { ensureApiToken } from '../http/token.js';
import type { FakeAppliance } from '../http/testing/fake-appliance.js';
import { cliHarness, TEST_TOKEN, TEST_URL } from './testing.js';
import type { CliHarness } from './testing.js';

const ESC = '\u001b[';

let cli: CliHarness;
let appliance: FakeAppliance;

beforeEach(() => {
  cli = cliHarness();
  appliance = cli.appliance;
  appliance.addJob({
    name: 'notes-backup',
    schedule: {
      kind: 'cron',
      expression: '0 3 * * *',
      description: 'every day at 03:00 (UTC)',
      timezone: 'UTC',
      catchup: 'latest',
      maxCatchup: 24,
      paused: false,
      nextRun: '2026-03-29T03:00:00+00:00',
    },
    lastRun: { id: 'r_00lnw5x2w000000001', status: 'failed', trigger: 'schedule', createdAt: '2026-03-28T03:00:00.000Z' },
  });
  appliance.addJob({ name: 'digest', overlap: 'allow', activeRuns: 1 });
});

describe('help, version and usage errors', () => {
  it('prints general help with --help and exits 0', async () => {
    const result = await cli.run(['--help']);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^usage: hearth <command>/);
    for (const command of ['start', 'validate', 'next', 'jobs', 'run', 'runs', 'logs', 'cancel']) {
      expect(result.stdout).toContain(`  ${command} `);
    }
  });

  it('prints one command\'s help with `help CMD` and `CMD --help`', async () => {
    const viaHelp = await cli.run(['help', 'runs']);
    const viaFlag = await cli.run(['runs', '--help']);
    expect(viaHelp.code).toBe(0);
    expect(viaHelp.stdout).toContain('usage: hearth runs [JOB] [--status S]');
    expect(viaFlag.stdout).toBe(viaHelp.stdout);
    expect((await cli.run(['run', '-h'])).code).toBe(0);
  });

  it('prints the version from package.json', async () => {
    const result = await cli.run(['--version']);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^\d+\.\d+\.\d+\S*\n$/);
  });

  it.each([
    [[], /missing command/],
    [['frobnicate'], /unknown command "frobnicate"/],
    [['help', 'frobnicate'], /unknown command "frobnicate"/],
    [['--json'], /expected a command before --json/],
    [['jobs', '--bogus'], /Unknown option '--bogus'/],
    [['run'], /missing argument JOB/],
    [['logs'], /missing argument RUN/],
    [['jobs', 'extra'], /unexpected argument "extra"/],
    [['runs', '--limit'], /argument missing/],
  ])('exits 2 with usage for %j', async (argv, message) => {
    const result = await cli.run(argv);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(message);
    expect(result.stderr).toContain('usage: hearth');
    expect(result.stdout).toBe('');
  });
});

describe('hearth jobs', () => {
  it('prints an aligned table without colour when stdout is not a terminal', async () => {
    const result = await cli.run(['jobs']);
    expect(result.code).toBe(0);
    expect(result.stdout).toBe(
      [
        'NAME          SCHEDULE                  NEXT RUN                 LAST    LAST RUN             ACTIVE',
        'notes-backup  every day at 03:00 (UTC)  2026-03-29 03:00:00 UTC  failed  2026-03-28 03:00:00  0',
        'digest        -                         -                        -       -                    1',
        '',
      ].join('\n'),
    );
    expect(result.stdout).not.toContain(ESC);
  });

  it('shows the last run in the TZ zone', async () => {
    appliance.jobs.get('notes-backup')!.lastRun!.createdAt = '2026-03-29T03:00:00.000Z';
    const result = await cli.run(['jobs'], { env: { HEARTH_URL: TEST_URL, HEARTH_TOKEN: TEST_TOKEN, TZ: 'Europe/London' } });
    // 29 March 2026 is the first day of British Summer Time.
    expect(result.stdout).toContain('failed  2026-03-29 04:00:00');
  });

  it("shows the next run in the schedule's zone, named as in its description, whatever TZ is", async () => {
    appliance.addJob({
      name: 'london',
      schedule: {
        kind: 'cron',
        expression: '0 3 * * *',
        description: 'every day at 03:00 (Europe/London)',
        timezone: 'Europe/London',
        catchup: 'latest',
        maxCatchup: 24,
        paused: false,
        nextRun: '2026-03-29T03:00:00+01:00',
      },
    });
    for (const TZ of ['UTC', 'America/New_York']) {
      const result = await cli.run(['jobs'], { env: { HEARTH_URL: TEST_URL, HEARTH_TOKEN: TEST_TOKEN, TZ } });
      const line = result.stdout.split('\n').find((text) => text.startsWith('london')) ?? '';
      expect(line).toContain('every day at 03:00 (Europe/London)  2026-03-29 03:00:00 Europe/London');
      expect(result.stdout).toContain('2026-03-29 03:00:00 UTC');
    }
  });

  it('colours the status on a terminal, unless NO_COLOR is set', async () => {
    const tty = cliHarness({ tty: true });
    tty.appliance.jobs.set('notes-backup', appliance.jobs.get('notes-backup')!);
    const coloured = await tty.run(['jobs']);
    expect(coloured.stdout).toContain(`${ESC}31mfailed${ESC}0m`);

    const plain = cliHarness({ tty: true, env: { NO_COLOR: '1' } });
    plain.appliance.jobs.set('notes-backup', appliance.jobs.get('notes-backup')!);
    expect((await plain.run(['jobs'])).stdout).not.toContain(ESC);
  });

  it('prints the raw API JSON with --json', async () => {
    const result = await cli.run(['jobs', '--json']);
    expect(result.code).toBe(0);
    const body = JSON.parse(result.stdout) as { jobs: Array<{ name: string }> };
    expect(body.jobs.map((job) => job.name)).toEqual(['notes-backup', 'digest']);
  });

  it('says so when there are no jobs', async () => {
    appliance.jobs.clear();
    expect((await cli.run(['jobs'])).stdout).toBe('no jobs configured\n');
  });
});

describe('hearth run', () => {
  it('starts a run as a manual trigger and prints its id for scripts', async () => {
    const result = await cli.run(['run', 'digest']);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^r_[0-9a-z]{10}[0-9a-f]{8}\n$/);
    expect(appliance.triggers).toEqual([{ job: 'digest', trigger: 'manual' }]);
    expect(cli.requests[0]?.headers.get('x-hearth-trigger')).toBe('manual');
    expect(cli.requests[0]?.headers.get('authorization')).toBe(`Bearer ${TEST_TOKEN}`);
  });

  it('prints a friendlier line on a terminal and JSON with --json', async () => {
    const tty = cliHarness({ tty: true });
    tty.appliance.addJob({ name: 'digest' });
    expect((await tty.run(['run', 'digest'])).stdout).toMatch(/^started digest: run r_\w+\nfollow it with: hearth logs r_\w+ -f\n$/);

    const result = await cli.run(['run', 'digest', '--json']);
    const body = JSON.parse(result.stdout) as { runId: string; run: { id: string } };
    expect(body.run.id).toBe(body.runId);
  });

  it('exits 1 with the API message for an unknown job, 2 for an invalid name', async () => {
    const missing = await cli.run(['run', 'nope']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toBe('hearth: job "nope" not found\n');

    const invalid = await cli.run(['run', '../etc']);
    expect(invalid.code).toBe(2);
    expect(invalid.stderr).toMatch(/invalid job name/);
    expect(cli.requests).toHaveLength(1);
  });

  it('exits 1 when the job is already running (overlap: skip)', async () => {
    appliance.addRun({ job: 'notes-backup', status: 'running' });
    const result = await cli.run(['run', 'notes-backup']);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/already has an active run/);
  });

  it('--wait streams the log and exits 0 when the run succeeds', async () => {
    appliance.onTrigger = (run) => {
      appliance.appendLog(run.id, 'archiving');
      appliance.appendLog(run.id, 'done');
      appliance.runs.set(run.id, { ...run, status: 'succeeded', startedAt: '2026-03-28T12:00:00.000Z', finishedAt: '2026-03-28T12:00:04.000Z' });
    };
    const result = await cli.run(['run', 'digest', '--wait']);
    expect(result.code).toBe(0);
    expect(result.stdout).toBe('archiving\ndone\n');
    expect(result.stderr).toMatch(/^started digest: run (r_\w+)\nrun \1 succeeded in 4s\n$/);
  });

  it('--wait follows a live run and exits 1 when it fails', async () => {
    appliance.onTrigger = (run) => {
      appliance.appendLog(run.id, 'starting');
      // Finish only once the CLI is following, so the lines arrive live.
      const finishWhenFollowed = () => {
        if (appliance.followers.size === 0) return void setImmediate(finishWhenFollowed);
        appliance.appendLog(run.id, 'boom');
        appliance.runs.set(run.id, { ...appliance.runs.get(run.id)!, error: 'task main exited with 2' });
        appliance.finishRun(run.id, 'failed');
      };
      setImmediate(finishWhenFollowed);
    };
    const result = await cli.run(['run', 'digest', '--wait']);
    expect(result.code).toBe(1);
    expect(result.stdout).toBe('starting\nboom\n');
    expect(result.stderr).toMatch(/run r_\w+ failed: task main exited with 2\n$/);
  });

  it('--wait --json prints only the finished run', async () => {
    appliance.onTrigger = (run) => {
      appliance.appendLog(run.id, 'noise');
      appliance.runs.set(run.id, { ...run, status: 'cancelled' });
    };
    const result = await cli.run(['run', 'digest', '--wait', '--json']);
    expect(result.code).toBe(1);
    expect(JSON.parse(result.stdout)).toMatchObject({ job: 'digest', status: 'cancelled' });
    expect(result.stderr).toBe('');
  });

  it('--wait reconnects when the stream drops, without repeating lines', async () => {
    let runId = '';
    appliance.onTrigger = (run) => {
      runId = run.id;
      appliance.appendLog(run.id, 'one');
      appliance.appendLog(run.id, 'two');
    };
    let streams = 0;
    const result = await cli.run(['run', 'digest', '--wait'], {
      fetch: async (url, init) => {
        const isStream = new Headers(init?.headers).get('accept')?.includes('text/event-stream') ?? false;
        if (isStream && ++streams === 2) {
          appliance.appendLog(runId, 'three');
          appliance.runs.set(runId, { ...appliance.runs.get(runId)!, status: 'succeeded' });
        }
        const response = await cli.fetch(url, init);
        return isStream && streams === 1 ? truncatedAfterFirstEvent(response) : response;
      },
    });
    expect(streams).toBe(2);
    expect(result.stdout).toBe('one\ntwo\nthree\n');
    expect(result.code).toBe(0);
  });
});

describe('hearth runs', () => {
  beforeEach(() => {
    appliance.addRun({ job: 'notes-backup', status: 'succeeded', trigger: 'schedule', createdAt: '2026-03-28T03:00:00.000Z', startedAt: '2026-03-28T03:00:01.000Z', finishedAt: '2026-03-28T03:01:31.000Z' });
    appliance.addRun({ job: 'digest', status: 'running', trigger: 'manual', createdAt: '2026-03-28T11:59:00.000Z', startedAt: '2026-03-28T11:59:00.000Z' });
  });

  it('prints runs newest first in a table', async () => {
    const result = await cli.run(['runs']);
    expect(result.code).toBe(0);
    const lines = result.stdout.split('\n');
    expect(lines[0]).toBe('ID                    JOB           STATUS     TRIGGER   CREATED              DURATION');
    expect(lines[1]).toMatch(/^r_\w{18} {2}digest {8}running {4}manual {4}2026-03-28 11:59:00  -$/);
    expect(lines[2]).toMatch(/^r_\w{18} {2}notes-backup {2}succeeded {2}schedule {2}2026-03-28 03:00:00  1m30s$/);
    expect(result.stderr).toBe('');
  });

  it('passes the job, status and limit to the API and hints at the next page', async () => {
    appliance.addRun({ job: 'digest', status: 'failed' });
    const result = await cli.run(['runs', 'digest', '--status', 'running', '--limit', '1']);
    expect(result.code).toBe(0);
    expect(cli.requests[0]?.url).toBe(`${TEST_URL}/api/runs?job=digest&status=running&limit=1`);
    expect(result.stdout.split('\n')).toHaveLength(3);
    const all = await cli.run(['runs', '--limit', '1']);
    expect(all.stderr).toMatch(/^more: hearth runs --before r_\w+\n$/);
  });

  it('prints the page as JSON with --json', async () => {
    const result = await cli.run(['runs', '--json']);
    const body = JSON.parse(result.stdout) as { runs: unknown[]; nextBefore: null };
    expect(body.runs).toHaveLength(2);
    expect(body.nextBefore).toBeNull();
  });

  it.each([
    [['runs', '--status', 'done'], /invalid status "done"/],
    [['runs', '--limit', '0'], /invalid limit "0"/],
    [['runs', '--before', 'yesterday'], /invalid run id "yesterday"/],
    [['runs', 'Bad Name'], /invalid job name/],
  ])('exits 2 for %j without calling the API', async (argv, message) => {
    const result = await cli.run(argv);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(message);
    expect(cli.requests).toEqual([]);
  });

  it('says so when there are none', async () => {
    expect((await cli.run(['runs', 'nothing-here'])).stdout).toBe('no runs\n');
  });
});

describe('hearth logs and cancel', () => {
  it('prints the log text', async () => {
    const run = appliance.addRun({ job: 'digest', status: 'succeeded' });
    appliance.appendLog(run.id, 'hello');
    appliance.appendLog(run.id, 'world');
    const result = await cli.run(['logs', run.id]);
    expect(result).toEqual({ code: 0, stdout: 'hello\nworld\n', stderr: '' });
  });

  it('prints the last lines with --tail, also when following', async () => {
    const run = appliance.addRun({ job: 'digest', status: 'succeeded' });
    for (const line of ['one', 'two', 'three']) appliance.appendLog(run.id, line);
    expect(await cli.run(['logs', run.id, '--tail', '2'])).toEqual({ code: 0, stdout: 'two\nthree\n', stderr: '' });
    expect(await cli.run(['logs', run.id, '-f', '--tail', '1'])).toEqual({ code: 0, stdout: 'three\n', stderr: '' });
    expect((await cli.run(['logs', run.id, '--tail', 'none'])).code).toBe(2);
  });

  it('-f follows until the run ends', async () => {
    const run = appliance.addRun({ job: 'digest', status: 'running' });
    appliance.appendLog(run.id, 'first');
    const following = cli.run(['logs', run.id, '-f']);
    while (appliance.followers.size === 0) await new Promise((resolve) => setImmediate(resolve));
    appliance.appendLog(run.id, 'second');
    appliance.finishRun(run.id, 'succeeded');
    expect(await following).toEqual({ code: 0, stdout: 'first\nsecond\n', stderr: '' });
  });

  it('exits 1 for an unknown run and 2 for a malformed id', async () => {
    const missing = await cli.run(['logs', 'r_000000000000000000']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toBe('hearth: run "r_000000000000000000" not found\n');
    expect((await cli.run(['logs', 'latest', '-f'])).code).toBe(2);
  });

  it('cancels a run, and exits 1 when it already finished', async () => {
    const active = appliance.addRun({ job: 'digest', status: 'running' });
    const result = await cli.run(['cancel', active.id]);
    expect(result).toEqual({ code: 0, stdout: `cancelling run ${active.id} (digest)\n`, stderr: '' });
    expect(appliance.runs.get(active.id)?.cancelRequested).toBe(true);

    const done = appliance.addRun({ job: 'digest', status: 'succeeded' });
    const conflict = await cli.run(['cancel', done.id, '--json']);
    expect(conflict.code).toBe(1);
    expect(conflict.stderr).toMatch(/already succeeded/);
  });
});

describe('hearth logs JOB, pause, resume, retry', () => {
  it("logs JOB prints the job's latest run, --failed its latest failure; which run goes to stderr", async () => {
    const failedRun = appliance.addRun({ job: 'digest', status: 'failed', createdAt: '2026-03-28T10:00:00.000Z' });
    appliance.appendLog(failedRun.id, 'it broke');
    const latest = appliance.addRun({ job: 'digest', status: 'succeeded', createdAt: '2026-03-28T11:00:00.000Z' });
    appliance.appendLog(latest.id, 'all good');
    appliance.addRun({ job: 'notes-backup', status: 'failed' });

    const last = await cli.run(['logs', 'digest']);
    expect(last).toEqual({ code: 0, stdout: 'all good\n', stderr: `run ${latest.id} of digest: succeeded, 2026-03-28 11:00:00\n` });
    const failed = await cli.run(['logs', 'digest', '--failed', '--tail', '5']);
    expect(failed).toEqual({ code: 0, stdout: 'it broke\n', stderr: `run ${failedRun.id} of digest: failed, 2026-03-28 10:00:00\n` });
    expect(cli.requests.map((r) => r.url)).toContain(`${TEST_URL}/api/runs?job=digest&limit=1&status=failed`);
  });

  it('logs JOB says so when the job has no (failed) run, and exits 2 for an unknown job or --failed with a run id', async () => {
    appliance.addRun({ job: 'notes-backup', status: 'succeeded' });
    const none = await cli.run(['logs', 'digest']);
    expect(none).toMatchObject({ code: 1, stderr: 'hearth: digest has not run yet\n' });
    expect(await cli.run(['logs', 'notes-backup', '--failed'])).toMatchObject({ code: 1, stderr: 'hearth: notes-backup has no failed run in its history\n' });
    const unknown = await cli.run(['logs', 'nope']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/no job named "nope", and it is not a run id/);
    expect((await cli.run(['logs', 'r_000000000000000000', '--failed'])).code).toBe(2);
  });

  it('pause and resume a job through the API', async () => {
    const paused = await cli.run(['pause', 'notes-backup']);
    expect(paused).toEqual({ code: 0, stdout: 'paused notes-backup: no scheduled runs until hearth resume notes-backup\n', stderr: '' });
    expect(appliance.jobs.get('notes-backup')?.schedule?.paused).toBe(true);
    const resumed = await cli.run(['resume', 'notes-backup']);
    expect(resumed).toEqual({ code: 0, stdout: 'resumed notes-backup: next run 2026-03-29 03:00:00 UTC\n', stderr: '' });
    expect(appliance.pauses).toEqual([{ job: 'notes-backup', paused: true }, { job: 'notes-backup', paused: false }]);
    expect(cli.requests.map((r) => `${r.method} ${r.url}`)).toEqual([
      `POST ${TEST_URL}/api/jobs/notes-backup/pause`,
      `POST ${TEST_URL}/api/jobs/notes-backup/resume`,
    ]);
    expect((await cli.run(['pause', 'nope'])).code).toBe(1);
    expect((await cli.run(['pause'])).code).toBe(2);
  });

  it('retry starts a new run of a finished one; exits 1 while it is still active', async () => {
    const done = appliance.addRun({ job: 'digest', status: 'failed' });
    const result = await cli.run(['retry', done.id]);
    expect(result.code).toBe(0);
    const newId = result.stdout.trim();
    expect(appliance.runs.get(newId)).toMatchObject({ job: 'digest', trigger: 'retry', retryOf: done.id });
    const active = appliance.addRun({ job: 'digest', status: 'running' });
    const conflict = await cli.run(['retry', active.id]);
    expect(conflict.code).toBe(1);
    expect(conflict.stderr).toMatch(/still running/);
    expect((await cli.run(['retry', 'digest'])).code).toBe(2);
  });

  it('lists the new commands in the help', async () => {
    const help = (await cli.run(['help'])).stdout;
    for (const name of ['pause', 'resume', 'retry', 'backup', 'restore']) expect(help).toMatch(new RegExp(`^  ${name} +\\S`, 'm'));
    expect((await cli.run(['help', 'logs'])).stdout).toContain('usage: hearth logs RUN|JOB [--failed] [-f] [--tail N]');
  });
});

describe('hearth backup and restore (the rest: test/integration/cli.test.ts)', () => {
  it('refuses a file that is not a Hearth backup, a missing file, and a data directory without state', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'hearth-cli-'));
    try {
      await writeFile(join(dir, 'notes.txt'), 'hello');
      const { spawnSync } = await import('node:child_process');
      expect(spawnSync('tar', ['-czf', join(dir, 'other.tar.gz'), '-C', dir, 'notes.txt']).status).toBe(0);
      const other = await cli.run(['restore', join(dir, 'other.tar.gz')], { cwd: dir });
      expect(other).toMatchObject({ code: 1, stderr: `hearth: ${join(dir, 'other.tar.gz')} is not a Hearth backup (no .hearth-backup/manifest.json)\n` });
      expect((await cli.run(['restore', 'nope.tar.gz'], { cwd: dir })).code).toBe(2);
      expect((await cli.run(['restore'], { cwd: dir })).code).toBe(2);
      await writeFile(join(dir, 'hearth.yaml'), 'dataDir: ./data\njobs: {}\n');
      const empty = await cli.run(['backup'], { cwd: dir, env: {} });
      expect(empty).toMatchObject({ code: 1, stderr: `hearth: no Hearth state in ${join(dir, 'data')} (dataDir of ${join(dir, 'hearth.yaml')}); nothing to back up\n` });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('reaching the appliance', () => {
  it('explains an unreachable appliance and exits 1', async () => {
    const result = await cli.run(['jobs'], {
      fetch: async () => {
        throw new TypeError('fetch failed');
      },
    });
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(`hearth: cannot reach the appliance: is hearth running? (tried ${TEST_URL})\n`);
  });

  it('names the token source (never the token) when it is rejected', async () => {
    const result = await cli.run(['jobs'], { env: { HEARTH_URL: TEST_URL, HEARTH_TOKEN: 'stale-token' } });
    expect(result.code).toBe(1);
    expect(result.stderr).toBe('hearth: invalid API token (token from HEARTH_TOKEN)\n');
  });

  it('prefers --url over HEARTH_URL and rejects a malformed URL with exit 2', async () => {
    await cli.run(['jobs', '--url', 'http://other.local:9000/']);
    expect(cli.requests[0]?.url).toBe('http://other.local:9000/api/jobs');
    const bad = await cli.run(['jobs', '--url', 'not a url']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/invalid URL "not a url"/);
  });

  it('without HEARTH_URL and HEARTH_TOKEN, reads the port and the token file via hearth.yaml', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'hearth-cli-'));
    try {
      await writeFile(join(dir, 'hearth.yaml'), 'dataDir: ./data\nserver: { host: 0.0.0.0, port: 9123 }\njobs: {}\n');
      const token = await ensureApiToken(join(dir, 'data'));
      const seen: Array<{ url: string; auth: string | null }> = [];
      const result = await cli.run(['jobs', '--json'], {
        env: { TZ: 'UTC' },
        cwd: dir,
        fetch: async (url, init) => {
          seen.push({ url, auth: new Headers(init?.headers).get('authorization') });
          return Response.json({ jobs: [] });
        },
      });
      expect(result.stderr).toBe('');
      expect(result.code).toBe(0);
      expect(seen).toEqual([{ url: 'http://127.0.0.1:9123/api/jobs', auth: `Bearer ${token}` }]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it.each([
    ['a schema error', 'dataDir: ./data\nserver: { host: 0.0.0.0, port: 9123 }\njobs:\n  x: { runn: echo }\n', /hearth\.yaml:4:\d+: jobs\.x\.runn: unknown key/],
    ['a YAML syntax error', 'dataDir: ./data\nserver: { host: 0.0.0.0, port: 9123 }\njobs:\n  x: { run: echo\n', /hearth\.yaml:\d+:\d+: YAML syntax error/],
  ])('keeps working while hearth.yaml has %s: the problems are a warning above the normal output', async (_kind, text, issue) => {
    const dir = await mkdtemp(join(tmpdir(), 'hearth-cli-'));
    try {
      await writeFile(join(dir, 'hearth.yaml'), text);
      const token = await ensureApiToken(join(dir, 'data'));
      const run = appliance.addRun({ job: 'digest', status: 'succeeded' });
      appliance.appendLog(run.id, '[main] still readable');
      for (const argv of [['jobs'], ['runs'], ['logs', run.id]]) {
        const seen: string[] = [];
        const result = await cli.run(argv, {
          env: { TZ: 'UTC' },
          cwd: dir,
          fetch: async (url, init) => {
            seen.push(url);
            expect(new Headers(init?.headers).get('authorization')).toBe(`Bearer ${token}`);
            return await cli.fetch(url.replace('http://127.0.0.1:9123', TEST_URL), { ...init, headers: { authorization: `Bearer ${TEST_TOKEN}` } });
          },
        });
        expect(result.code, `${argv.join(' ')}: ${result.stderr}`).toBe(0);
        expect(seen[0]).toMatch(/^http:\/\/127\.0\.0\.1:9123\/api\//);
        expect(result.stderr).toMatch(/^warning: .*hearth\.yaml has \d+ problems? \(the appliance keeps running its last valid jobs/);
        expect(result.stderr).toMatch(issue);
        if (argv[0] === 'jobs') expect(result.stdout).toContain('notes-backup');
        if (argv[0] === 'runs') expect(result.stdout).toMatch(/^ID .*\n.*digest/);
        if (argv[0] === 'logs') expect(result.stdout).toContain('[main] still readable');
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('validate still exits 1 on the same broken file', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'hearth-cli-'));
    try {
      await writeFile(join(dir, 'hearth.yaml'), 'jobs:\n  x: { schedule: { cron: "61 * * * *" }, run: echo }\n');
      expect((await cli.run(['validate'], { env: {}, cwd: dir })).code).toBe(1);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('says how to get a token when the token file does not exist', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'hearth-cli-'));
    try {
      await writeFile(join(dir, 'hearth.yaml'), 'dataDir: ./data\njobs: {}\n');
      const result = await cli.run(['jobs'], { env: { HEARTH_URL: TEST_URL }, cwd: dir });
      expect(result.code).toBe(1);
      expect(result.stderr).toMatch(/no API token at .*data\/secrets\/api-token: start hearth once to create it, or set HEARTH_TOKEN/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('hearth validate', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'hearth-validate-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('prints ok with the number of jobs and the file', async () => {
    const file = join(dir, 'hearth.yaml');
    await writeFile(file, 'jobs:\n  a:\n    run: echo a\n  b:\n    run: echo b\n    schedule: { every: 15m }\n    timeout: 5m\n');
    const result = await cli.run(['validate', '--config', file]);
    expect(result).toEqual({ code: 0, stdout: `ok: 2 jobs (${file})\n`, stderr: '' });
  });

  it('warns (exit 0) about a scheduled job with neither a timeout nor expect', async () => {
    const file = join(dir, 'hearth.yaml');
    await writeFile(file, 'jobs:\n  manual:\n    run: echo a\n  nightly:\n    run: echo b\n    schedule: { every: 1d }\n');
    const result = await cli.run(['validate', '--config', file]);
    expect(result.code).toBe(0);
    expect(result.stdout).toBe(`ok: 2 jobs (${file})\n`);
    expect(result.stderr).toBe(
      `warning: ${file}:4:3: jobs.nightly: scheduled job has neither a timeout nor expect: a hung run is only stopped by the default task timeout (6h), and runs that stop happening go unnoticed; add e.g. timeout: 30m or expect: { every: 26h }\n`,
    );
  });

  it('prints every issue on its own line and exits 1', async () => {
    const file = join(dir, 'broken.yaml');
    await writeFile(file, 'jobs:\n  a:\n    run: echo a\n    schedule: { cron: "99 * * * *" }\n  b:\n    action: nosuchaction\n');
    const result = await cli.run(['validate', '--config', file]);
    expect(result.code).toBe(1);
    expect(result.stdout).toBe('');
    const lines = result.stderr.trimEnd().split('\n');
    expect(lines.at(-1)).toBe('hearth: 2 problems in the config');
    expect(lines[0]).toMatch(new RegExp(`^${file}:4:\\d+: jobs\\.a\\.schedule`));
    expect(lines[1]).toMatch(new RegExp(`^${file}:6:\\d+: jobs\\.b\\.action: unknown action "nosuchaction"`));
  });

  it('warns (exit 0) when a 6-field cron fires more often than once a minute', async () => {
    const file = join(dir, 'hearth.yaml');
    await writeFile(file, 'jobs:\n  a:\n    run: echo a\n    schedule: { cron: "*/5 * * * * *" }\n    timeout: 1m\n  b:\n    run: echo b\n    schedule: { cron: "0 */5 * * * *" }\n    timeout: 1m\n');
    const result = await cli.run(['validate', '--config', file]);
    expect(result.code).toBe(0);
    expect(result.stdout).toBe(`ok: 2 jobs (${file})\n`);
    expect(result.stderr).toBe(
      `warning: ${file}:4:23: jobs.a.schedule.cron: "*/5 * * * * *" has 6 fields, so the first is seconds: it fires 12 times a minute. If that is not meant, write 5 fields (e.g. "*/5 * * * *")\n`,
    );
  });

  it('exits 1 for a missing file', async () => {
    const result = await cli.run(['validate', '--config', join(dir, 'nope.yaml')]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/nope\.yaml: config file not found/);
  });
});

describe('hearth start', () => {
  it('starts the appliance with the config flag and signal handling', async () => {
    const startAppliance = vi.fn(async () => ({ stop: async () => {} }));
    const result = await cli.run(['start', '--config', '/etc/hearth/hearth.yaml'], { startAppliance, cwd: '/srv' });
    expect(result.code).toBe(0);
    expect(startAppliance).toHaveBeenCalledWith(
      expect.objectContaining({ configFlag: '/etc/hearth/hearth.yaml', cwd: '/srv', handleSignals: true }),
    );
  });

  it('exits 1 with the config issues when the config is broken', async () => {
    const startAppliance = async () => {
      throw new ConfigError([{ file: 'hearth.yaml', line: 2, col: 3, path: 'jobs.x', message: 'bad' }]);
    };
    const result = await cli.run(['start'], { startAppliance });
    expect(result.code).toBe(1);
    expect(result.stderr).toBe('hearth.yaml:2:3: jobs.x: bad\nhearth: 1 problem in the config\n');
  });

  it('exits 1 with the message (no stack) when start-up fails otherwise', async () => {
    const startAppliance = async () => {
      throw new Error('port 8080 is in use; set server.port in hearth.yaml');
    };
    const result = await cli.run(['start'], { startAppliance });
    expect(result).toEqual({ code: 1, stdout: '', stderr: 'hearth: port 8080 is in use; set server.port in hearth.yaml\n' });
  });
});

/** A copy of an SSE response that ends right after its first event, as a dropped connection would. */
function truncatedAfterFirstEvent(response: Response): Response {
  const reader = response.body!.getReader();
  const body = new ReadableStream<Uint8Array>({
    async pull(controller) {
      const { value } = await reader.read();
      if (value) controller.enqueue(value);
      await reader.cancel();
      controller.error(new TypeError('terminated'));
    },
  });
  return new Response(body, { headers: response.headers });
}
