import { afterAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BIN, baseConfig, freePort, startHearth, tempDir, type HearthProcess } from '../helpers/hearth-process.js';

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
