import { afterAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { cpSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BIN, ROOT, baseConfig, freePort, startHearth, tempDir, type HearthProcess } from '../helpers/hearth-process.js';

function hearth(args: string[], env: Record<string, string> = {}) {
  const result = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', env: { ...process.env, TZ: 'UTC', ...env } });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe('hearth next', () => {
  it('prints one ISO 8601 timestamp with offset per line, across a DST gap', () => {
    const out = hearth(['next', '--cron', '30 2 * * *', '--tz', 'America/New_York', '--from', '2026-03-07T12:00:00Z', '--count', '3']);
    expect(out.code).toBe(0);
    expect(out.stdout).toBe('2026-03-08T03:00:00-04:00\n2026-03-09T02:30:00-04:00\n2026-03-10T02:30:00-04:00\n');
  });

  it('anchors every: to the epoch so restarts never drift', () => {
    const out = hearth(['next', '--every', '15m', '--tz', 'UTC', '--from', '2026-01-01T00:07:00Z', '--count', '2']);
    expect(out.stdout).toBe('2026-01-01T00:15:00+00:00\n2026-01-01T00:30:00+00:00\n');
  });

  it('reads RRULEs with DTSTART and a zone', () => {
    const out = hearth(['next', '--rrule', 'FREQ=WEEKLY;BYDAY=MO;BYHOUR=9;BYMINUTE=0', '--tz', 'Europe/London', '--from', '2026-03-25T00:00:00Z', '--count', '2']);
    expect(out.code).toBe(0);
    expect(out.stdout).toBe('2026-03-30T09:00:00+01:00\n2026-04-06T09:00:00+01:00\n');
  });

  it('exits 2 on usage errors', () => {
    expect(hearth(['next', '--cron', '61 * * * *']).code).toBe(2);
    expect(hearth(['next']).code).toBe(2);
    expect(hearth(['frobnicate']).code).toBe(2);
  });
});

describe('hearth validate', () => {
  it('reports every problem as file:line:col and exits 1', () => {
    const dir = tempDir();
    const file = join(dir, 'hearth.yaml');
    writeFileSync(file, `jobs:
  a:
    schedule: { cron: "0 3 * * *", timezone: Mars/Olympus }
    run: echo a
  b:
    depends_on: [a]
    tasks:
      x: { run: echo x, depends_on: [y] }
      y: { run: echo y, depends_on: [x] }
`);
    const out = hearth(['validate', '--config', file]);
    expect(out.code).toBe(1);
    expect(out.stderr).toContain(`${file}:3:`);
    expect(out.stderr).toMatch(/jobs\.a\.schedule\.timezone: .*Mars\/Olympus/);
    expect(out.stderr).toMatch(/:6:5: jobs\.b\.depends_on: unknown key "depends_on"/);
    expect(out.stderr).toMatch(/jobs\.b\.tasks\.x\.depends_on: dependency cycle: x → y → x/);
  });

  it('accepts the bundled example config', () => {
    const out = hearth(['validate'], { HEARTH_CONFIG: join(BIN, '../../examples/hearth.yaml') });
    expect(out.code).toBe(0);
    expect(out.stdout).toMatch(/^ok: \d+ jobs/);
  });
});

describe('hearth against a running appliance', () => {
  let running: HearthProcess | undefined;
  afterAll(async () => {
    await running?.stop('SIGKILL');
  });

  it('lists jobs, runs one and waits for it, and exits 1 when a run fails', async () => {
    const dir = tempDir();
    const port = await freePort();
    running = await startHearth({
      dir,
      port,
      config: baseConfig(port, `
  greet:
    description: Say hello
    run: echo "hello from $HEARTH_JOB"
  broken:
    run: echo "about to fail" >&2; exit 7
`),
    });
    const config = ['--config', join(dir, 'hearth.yaml')];
    const jobs = hearth(['jobs', '--json', ...config]);
    expect(jobs.code).toBe(0);
    expect(JSON.parse(jobs.stdout).jobs.map((j: { name: string }) => j.name)).toEqual(['greet', 'broken']);

    const ok = hearth(['run', 'greet', '--wait', ...config]);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toContain('hello from greet');

    const failed = hearth(['run', 'broken', '--wait', ...config]);
    expect(failed.code).toBe(1);
    expect(failed.stdout + failed.stderr).toContain('about to fail');

    const runs = hearth(['runs', 'greet', '--json', ...config]);
    const [run] = JSON.parse(runs.stdout).runs;
    expect(run).toMatchObject({ job: 'greet', status: 'succeeded', trigger: 'manual' });
    const logs = hearth(['logs', run.id, ...config]);
    expect(logs.stdout).toMatch(/\[main\] hello from greet/);
    expect(hearth(['logs', 'r_nonsense', ...config]).code).toBe(2);
  });
});

describe('./hearth in a checkout', () => {
  it('runs the CLI from any working directory, without npx', () => {
    const result = spawnSync(join(ROOT, 'hearth'), ['--version'], { encoding: 'utf8', cwd: tempDir() });
    expect(result.status).toBe(0);
    expect(result.stdout.trim()).toBe(JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).version);
  });
});

describe('daily use against a running appliance', () => {
  let running: HearthProcess | undefined;
  let restored: HearthProcess | undefined;
  afterAll(async () => {
    await running?.stop('SIGKILL');
    await restored?.stop('SIGKILL');
  });

  it('jobs, runs and logs keep working while hearth.yaml is broken; logs JOB [--failed], pause, resume, retry', async () => {
    const dir = tempDir();
    const port = await freePort();
    const jobs = `
  greet:
    schedule: { cron: "0 3 * * *", timezone: Europe/London }
    run: echo "hello from $HEARTH_JOB"
  flaky:
    run: echo "attempt failed" >&2; exit 3
`;
    running = await startHearth({ dir, port, config: baseConfig(port, jobs) });
    const config = ['--config', join(dir, 'hearth.yaml')];
    expect(hearth(['run', 'greet', '--wait', ...config]).code).toBe(0);
    expect(hearth(['run', 'flaky', '--wait', ...config]).code).toBe(1);
    expect(hearth(['run', 'greet', '--wait', ...config]).code).toBe(0);

    const table = hearth(['jobs', ...config]);
    expect(table.stdout).toMatch(/greet .*\(Europe\/London\) +\d{4}-\d\d-\d\d 03:00:00 Europe\/London/);

    // Break the file: the appliance keeps its jobs, the CLI still reaches it and warns.
    writeFileSync(join(dir, 'hearth.yaml'), `${baseConfig(port, jobs)}  broken:\n    runn: oops\n`);
    await running.waitFor('the failed reload', async () => (await running!.api<{ config: { errors?: string[] } }>('/api/health')).body.config.errors);
    for (const argv of [['jobs'], ['runs'], ['logs', 'greet']]) {
      const out = hearth([...argv, ...config]);
      expect(out.code, `${argv.join(' ')}: ${out.stderr}`).toBe(0);
      expect(out.stderr).toMatch(/^warning: .*hearth\.yaml has 2 problems \(/);
      expect(out.stderr).toMatch(/\n {2}.*hearth\.yaml:\d+:\d+: jobs\.broken\.runn: unknown key/);
    }
    expect(hearth(['jobs', ...config]).stdout).toContain('greet');
    expect(hearth(['runs', ...config]).stdout).toMatch(/flaky +failed/);
    expect(hearth(['logs', 'greet', ...config]).stdout).toMatch(/\[main\] hello from greet/);
    const failedLog = hearth(['logs', 'flaky', '--failed', ...config]);
    expect(failedLog.stdout).toContain('attempt failed');
    expect(failedLog.stderr).toMatch(/run r_\w+ of flaky: failed/);
    expect(hearth(['validate', ...config]).code).toBe(1);
    writeFileSync(join(dir, 'hearth.yaml'), baseConfig(port, jobs));
    await running.waitFor('the good reload', async () => ((await running!.api<{ config: { errors?: string[] } }>('/api/health')).body.config.errors ? undefined : true));

    expect(hearth(['pause', 'greet', ...config]).stdout).toBe('paused greet: no scheduled runs until hearth resume greet\n');
    expect((await running.api<{ schedule: { paused: boolean } }>('/api/jobs/greet')).body.schedule.paused).toBe(true);
    expect(hearth(['resume', 'greet', ...config]).stdout).toMatch(/^resumed greet: next run \d{4}-\d\d-\d\d 03:00:00 Europe\/London\n$/);
    const failedRun = JSON.parse(hearth(['runs', 'flaky', '--json', ...config]).stdout).runs[0];
    const retry = hearth(['retry', failedRun.id, '--wait', ...config]);
    expect(retry.code).toBe(1);
    expect(retry.stdout).toContain('attempt failed');
    const [latest] = JSON.parse(hearth(['runs', 'flaky', '--json', ...config]).stdout).runs;
    expect(latest).toMatchObject({ trigger: 'retry', retryOf: failedRun.id });
  });

  it('backs up while running, refuses to restore while running, and restores into a fresh directory', async () => {
    const dir = tempDir();
    const port = await freePort();
    const config = ['--config', join(dir, 'hearth.yaml')];
    running?.child.kill('SIGKILL');
    // A workflow waiting for an answer: its question (inbox.json) and step journal (steps/) must come back too.
    writeFileSync(
      join(dir, 'ask.mjs'),
      "export default async ({ step }) => { const seen = await step.run('seen', () => 'before'); const a = await step.waitForInput('go', { prompt: 'Go on?', schema: { type: 'boolean' } }); return { seen, a }; };\n",
    );
    running = await startHearth({ dir, port, config: baseConfig(port, `
  greet:
    schedule: { cron: "0 3 * * *" }
    run: echo "hello before the backup"
  ask:
    action: module
    with: { path: ./ask.mjs }
`) });
    expect(hearth(['run', 'greet', '--wait', ...config]).code).toBe(0);
    const asked = (await running.api<{ runId: string }>('/api/jobs/ask/run', { method: 'POST' })).body.runId;
    const question = await running.waitFor('the question', async () =>
      (await running!.api<{ questions: Array<{ id: string; runId: string }> }>('/api/inbox')).body.questions.find((q) => q.runId === asked));
    expect(hearth(['pause', 'greet', ...config]).code).toBe(0);
    // Runs started during the backup must not break it.
    const busy = spawnSync('sh', ['-c', `for i in 1 2 3 4 5; do node ${BIN} run greet ${config.join(' ')} >/dev/null & done; wait`]);
    expect(busy.status).toBe(0);
    const archive = join(dir, 'backup.tar.gz');
    const backup = hearth(['backup', archive, ...config]);
    expect(backup.code, backup.stderr).toBe(0);
    expect(backup.stdout).toMatch(/backed up .* \(.*state\.json.*history.*secrets/);
    expect(statSync(archive).mode & 0o777).toBe(0o600);
    expect(hearth(['backup', archive, ...config]).code).toBe(2); // never overwritten

    const refused = hearth(['restore', archive, ...config]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/hearth is running .*stop it first/);
    const token = running.token();
    const runsBefore = (await running.api<{ runs: Array<{ id: string; status: string }> }>('/api/runs?job=greet')).body.runs;
    await running.stop();
    running = undefined;
    // Whatever finished during the backup is in it or not; the runs it had at the time are the ones that must come back.
    const fresh = tempDir();
    const restore = hearth(['restore', archive, '--config', join(fresh, 'hearth.yaml')]);
    expect(restore.code, restore.stderr).toBe(0);
    expect(restore.stdout).toContain(`restored the config to ${join(fresh, 'hearth.yaml')}`);
    expect(statSync(join(fresh, 'data')).mode & 0o777).toBe(0o700);
    expect(statSync(join(fresh, 'data/secrets/api-token')).mode & 0o777).toBe(0o600);
    expect(statSync(join(fresh, 'data/state.json')).mode & 0o777).toBe(0o600);
    // A second restore over restored state needs --force.
    expect(hearth(['restore', archive, '--config', join(fresh, 'hearth.yaml')]).code).toBe(1);
    writeFileSync(join(fresh, 'data/state.json.bak'), 'left from before');
    const forced = hearth(['restore', archive, '--force', '--config', join(fresh, 'hearth.yaml')]);
    expect(forced.code, forced.stderr).toBe(0);
    const aside = /moved the old state to (\S+)/.exec(forced.stdout)?.[1] ?? '';
    expect(aside.startsWith(join(fresh, 'data/before-restore-'))).toBe(true);
    expect(readFileSync(join(aside, 'state.json.bak'), 'utf8')).toBe('left from before');
    expect(forced.stdout).not.toContain('from-backup'); // the config there is the backup's own

    cpSync(join(dir, 'ask.mjs'), join(fresh, 'ask.mjs'));
    restored = await startHearth({ dir: fresh, port, config: readFileSync(join(fresh, 'hearth.yaml'), 'utf8') });
    expect(restored.token()).toBe(token);
    // The workflow's question is still open, and answering it finishes the run with the journaled step.
    expect((await restored.api<{ questions: Array<{ id: string }> }>('/api/inbox')).body.questions.map((q) => q.id)).toContain(question.id);
    expect((await restored.api(`/api/inbox/${question.id}`, { method: 'POST', body: JSON.stringify({ value: true }), headers: { 'Content-Type': 'application/json' } })).status).toBe(200);
    const answered = await restored.waitFor('the workflow to finish', async () => {
      const { body } = await restored!.api<{ status: string; tasks: Record<string, { output?: unknown }> }>(`/api/runs/${asked}`);
      return body.status === 'succeeded' ? body : undefined;
    });
    expect(Object.values(answered.tasks)[0]?.output).toMatchObject({ seen: 'before', a: { timedOut: false, value: true } });
    const job = await restored.api<{ schedule: { paused: boolean } }>('/api/jobs/greet');
    expect(job.body.schedule.paused).toBe(true);
    const runsAfter = (await restored.api<{ runs: Array<{ id: string }> }>('/api/runs?job=greet')).body.runs.map((run) => run.id);
    const first = runsBefore.at(-1)!.id;
    expect(runsAfter).toContain(first);
    const log = hearth(['logs', first, '--config', join(fresh, 'hearth.yaml')]);
    expect(log.code).toBe(0);
  });
});

describe('6-field cron in the reload log', () => {
  let running: HearthProcess | undefined;
  afterAll(async () => {
    await running?.stop('SIGKILL');
  });

  it('warns, with file and line, when a reload brings a 6-field expression that fires every few seconds', async () => {
    const dir = tempDir();
    const port = await freePort();
    running = await startHearth({ dir, port, config: baseConfig(port, `
  tick:
    schedule: { cron: "0 3 * * *" }
    run: "true"
`) });
    writeFileSync(join(dir, 'hearth.yaml'), baseConfig(port, `
  tick:
    schedule: { cron: "*/5 * * * * *", catchup: none }
    run: "true"
`));
    const line = await running.waitFor('the warning', () =>
      running!.output().split('\n').find((text) => text.includes('fires 12 times a minute')),
    );
    expect(line).toMatch(/"level":"warn"/);
    const { msg } = JSON.parse(line) as { msg: string };
    expect(msg).toBe(`${join(dir, 'hearth.yaml')}:8:23: jobs.tick.schedule.cron: "*/5 * * * * *" has 6 fields, so the first is seconds: it fires 12 times a minute. If that is not meant, write 5 fields (e.g. "*/5 * * * *")`);
  });
});
