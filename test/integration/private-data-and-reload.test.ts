import { afterEach, describe, expect, it } from 'vitest';
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Run } from '../../src/runs/model.js';
import { baseConfig, freePort, startHearth, tempDir, type HearthProcess } from '../helpers/hearth-process.js';

/** Issue 9, defect 10: private data under `npm start`'s umask; a half-saved config on reload keeps the jobs. */

let running: HearthProcess | undefined;
let savedUmask: number | undefined;
afterEach(async () => {
  await running?.stop('SIGKILL');
  running = undefined;
  if (savedUmask !== undefined) process.umask(savedUmask);
  savedUmask = undefined;
});

const modeOf = (path: string) => statSync(path).mode & 0o777;

describe('under umask 022', () => {
  it('makes the data directory and its subdirectories 0700 and the run log 0600, while tasks keep umask 022', async () => {
    savedUmask = process.umask(0o022);
    const dir = tempDir();
    const port = await freePort();
    const hearth = (running = await startHearth({ dir, port, config: baseConfig(port, `
  report:
    run: umask > "${dir}/task-umask"; echo "private output"
`) }));
    const { body } = await hearth.api<{ runId: string }>('/api/jobs/report/run', { method: 'POST' });
    await hearth.waitFor('the run to succeed', async () => {
      const { body: run } = await hearth.api<Run>(`/api/runs/${body.runId}`);
      return run.status === 'succeeded' ? run : undefined;
    });
    const dataDir = join(dir, 'data');
    expect(modeOf(dataDir)).toBe(0o700);
    for (const sub of readdirSync(dataDir, { withFileTypes: true })) {
      if (sub.isDirectory()) expect(modeOf(join(dataDir, sub.name)), sub.name).toBe(0o700);
    }
    const logs = join(dataDir, 'logs');
    const logFiles = readdirSync(logs, { recursive: true, withFileTypes: true }).filter((entry) => entry.isFile());
    expect(logFiles.length).toBeGreaterThan(0);
    for (const file of logFiles) expect(modeOf(join(file.parentPath, file.name)), file.name).toBe(0o600);
    expect(readFileSync(join(dir, 'task-umask'), 'utf8').trim()).toBe('0022');
    const { body: health } = await hearth.api<{ disk?: { full: boolean; freeBytes: number } }>('/api/health');
    expect(health.disk).toMatchObject({ full: false });
    expect(health.disk!.freeBytes).toBeGreaterThan(0);
  });
});

describe('reloading an empty file', () => {
  it('is refused: the previous jobs keep running and health says why', async () => {
    const dir = tempDir();
    const port = await freePort();
    const hearth = (running = await startHearth({ dir, port, config: baseConfig(port, `
  hello:
    run: echo hello
`) }));
    writeFileSync(join(dir, 'hearth.yaml'), '# half-saved\n');
    const health = await hearth.waitFor('the reload to fail', async () => {
      const { body } = await hearth.api<{ config: { errors?: string[]; jobs: number } }>('/api/health');
      return body.config.errors ? body : undefined;
    });
    expect(health.config.errors).toEqual([
      `${join(dir, 'hearth.yaml')}: the file is empty or holds only comments (a half-saved file?); the previous jobs keep running. Write "jobs: {}" to remove every job`,
    ]);
    expect(health.config.jobs).toBe(1);
    const { status } = await hearth.api('/api/jobs/hello/run', { method: 'POST' });
    expect(status).toBe(202);
  });
});
