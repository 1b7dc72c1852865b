import { afterEach, describe, expect, it } from 'vitest';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Run } from '../../src/runs/model.js';
import { isProcessRunning } from '../../src/pool/process/group.js';
import { BIN, baseConfig, freePort, startHearth, tempDir, type HearthProcess } from '../helpers/hearth-process.js';
import { spawnSync } from 'node:child_process';

let running: HearthProcess | undefined;
afterEach(async () => {
  await running?.stop('SIGKILL');
  running = undefined;
});

describe('timeouts', () => {
  it("kills a timed-out shell task's whole process group, grandchildren included", async () => {
    const dir = tempDir();
    const port = await freePort();
    const hearth = (running = await startHearth({
      dir,
      port,
      config: baseConfig(port, `
  stuck:
    timeout: 1s
    run: |
      sh -c 'trap "" TERM; sleep 120' &
      echo $! > "${dir}/grandchild.pid"
      sleep 120
`),
    }));
    const { body } = await hearth.api<{ runId: string }>('/api/jobs/stuck/run', { method: 'POST' });
    const run = await hearth.waitFor('the run to fail', async () => {
      const { body: r } = await hearth.api<Run>(`/api/runs/${body.runId}`);
      return r.status === 'failed' ? r : undefined;
    });
    expect(run.error).toMatch(/timed out after 1s/);
    const grandchild = Number(readFileSync(join(dir, 'grandchild.pid'), 'utf8'));
    // It ignores SIGTERM, so only the SIGKILL after killGrace (1 s) gets it.
    await hearth.waitFor('the grandchild to be gone', () => (isProcessRunning(grandchild) ? undefined : true), 5_000);
  });
});

describe('config reload', () => {
  it('an edit saved while hearth is still starting is not missed: it is reloaded once the start is done', async () => {
    const dir = tempDir();
    const port = await freePort();
    const edited = baseConfig(port, '  before: { run: "true" }\n  added-while-starting: { run: "true" }\n');
    let saved = false;
    const hearth = (running = await startHearth({
      dir,
      port,
      config: baseConfig(port, '  before: { run: "true" }\n'),
      // The file has been read (the run store opens after it), the engine and the API are not up yet.
      onOutput: (output) => {
        if (saved || !output.includes('"run store open"')) return;
        saved = true;
        writeFileSync(join(dir, 'hearth.yaml'), edited);
      },
    }));
    expect(saved).toBe(true);
    await hearth.waitFor('the edit to be in force', async () => {
      const { body } = await hearth.api<{ jobs: Array<{ name: string }> }>('/api/jobs');
      return body.jobs.some((job) => job.name === 'added-while-starting') || undefined;
    });
  });

  it('keeps the old jobs running when the new file is broken, and reports file:line', async () => {
    const dir = tempDir();
    const port = await freePort();
    const good = baseConfig(port, `
  hello:
    run: echo hello
`);
    const hearth = (running = await startHearth({ dir, port, config: good }));
    const configPath = join(dir, 'hearth.yaml');
    writeFileSync(configPath, good + `  broken:
    schedule: { cron: "61 * * * *" }
    run: echo never
`);
    const health = await hearth.waitFor('the reload to fail', async () => {
      const { body } = await hearth.api<{ config: { errors?: string[] } }>('/api/health');
      return body.config.errors ? body : undefined;
    });
    expect(health.config.errors![0]).toMatch(new RegExp(`^${configPath}:10:\\d+: jobs\\.broken\\.schedule\\.cron: .*61`));
    const { body: jobs } = await hearth.api<{ jobs: Array<{ name: string }> }>('/api/jobs');
    expect(jobs.jobs.map((j) => j.name)).toEqual(['hello']);
    const { status } = await hearth.api('/api/jobs/hello/run', { method: 'POST' });
    expect(status).toBe(202);
    const cli = spawnSync(process.execPath, [BIN, 'jobs', '--config', configPath], { encoding: 'utf8' });
    expect(cli.status).toBe(0);
    expect(cli.stdout).toMatch(/^hello\b/m);
    expect(cli.stderr).toContain('config reload failed');
    expect(cli.stderr).toContain(`${configPath}:10:`);

    // A fixed file, applied by SIGHUP as well as by the watcher.
    writeFileSync(configPath, good + `  second:
    run: echo second
`);
    hearth.child.kill('SIGHUP');
    await hearth.waitFor('the new job', async () => {
      const { body } = await hearth.api<{ jobs: Array<{ name: string }> }>('/api/jobs');
      return body.jobs.some((j) => j.name === 'second') ? true : undefined;
    });
    const { body: after } = await hearth.api<{ config: { errors?: string[] } }>('/api/health');
    expect(after.config.errors).toBeUndefined();
  });
});

describe('killGrace on reload', () => {
  it('a reload that shortens killGrace applies to the next stop, even of a task that is already running', async () => {
    const dir = tempDir();
    const port = await freePort();
    const jobs = `
  stubborn:
    run: |
      trap "" TERM
      echo $$ > "${dir}/stubborn.pid"
      sleep 120
`;
    // Started with a grace far longer than the test waits; the reload brings it down to 300 ms.
    const slow = baseConfig(port, jobs).replace('killGrace: 1s', 'killGrace: 60s');
    const hearth = (running = await startHearth({ dir, port, config: slow }));
    const { body } = await hearth.api<{ runId: string }>('/api/jobs/stubborn/run', { method: 'POST' });
    const pidFile = join(dir, 'stubborn.pid');
    const pid = await hearth.waitFor('the task to start', () => {
      try {
        return Number(readFileSync(pidFile, 'utf8')) || undefined;
      } catch {
        return undefined;
      }
    });

    const { body: before } = await hearth.api<{ config: { loadedAt: string } }>('/api/health');
    writeFileSync(join(dir, 'hearth.yaml'), slow.replace('killGrace: 60s', 'killGrace: 300ms'));
    hearth.child.kill('SIGHUP');
    await hearth.waitFor('the reload', async () => {
      const { body: health } = await hearth.api<{ config: { loadedAt: string } }>('/api/health');
      return health.config.loadedAt !== before.config.loadedAt ? true : undefined;
    });

    const cancelledAt = Date.now();
    expect((await hearth.api(`/api/runs/${body.runId}/cancel`, { method: 'POST' })).status).toBe(202);
    const run = await hearth.waitFor('the run to be cancelled', async () => {
      const { body: r } = await hearth.api<Run>(`/api/runs/${body.runId}`);
      return r.status === 'cancelled' ? r : undefined;
    }, 20_000);
    expect(run.tasks.main!.status).toBe('cancelled');
    // It ignores SIGTERM, so only the SIGKILL after the new grace ends it: well before the old 60 s.
    expect(Date.now() - cancelledAt).toBeLessThan(10_000);
    expect(isProcessRunning(pid)).toBe(false);
  });
});
