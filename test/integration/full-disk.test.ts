import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { fillDisk, mountSmallDisk } from '../../src/core/testing/small-disk.js';
import type { Run, RunPage } from '../../src/runs/model.js';
import { baseConfig, freePort, startHearth, type HearthProcess } from '../helpers/hearth-process.js';

/**
 * The real hearth with its data directory on a 4 MB tmpfs that fills up.
 * Mounting needs root (CI runs as root); elsewhere the test is skipped and says why.
 */
const disk = mountSmallDisk('4m', 'hearth-full-disk-');
const mountError = 'error' in disk ? disk.error : undefined;
if (mountError) console.warn(`skipping the full-disk integration test: cannot mount a tmpfs (${mountError})`);
const dir = 'dir' in disk ? disk.dir : '';

let running: HearthProcess | undefined;
afterEach(async () => {
  await running?.stop('SIGKILL');
  running = undefined;
});
afterAll(() => {
  if ('remove' in disk) disk.remove();
});

describe.skipIf(mountError !== undefined)('a full disk', () => {
  it('hearth starts on it, refuses new runs (which never run later), and loses nothing it acknowledged', async () => {
    const port = await freePort();
    const config = baseConfig(port, `
  quick:
    overlap: allow
    run: "true"
  long:
    run: sleep 30
`);
    let hearth = await startHearth({ dir, port, config });
    running = hearth;
    // Enough in state.wal that folding it into state.json needs more space than the checkpoint frees.
    for (let i = 0; i < 150; i++) expect((await hearth.api('/api/jobs/quick/run', { method: 'POST' })).status).toBe(202);
    const { body: long } = await hearth.api<{ runId: string }>('/api/jobs/long/run', { method: 'POST' });
    await hearth.waitFor('the long run to start', async () => ((await hearth.api<Run>(`/api/runs/${long.runId}`)).body.status === 'running' ? true : undefined));
    expect(await hearth.stop('SIGKILL')).toBe(null);

    const freeDisk = fillDisk(dir);
    hearth = await startHearth({ dir, port, config });
    running = hearth;
    expect(hearth.output()).toContain('could not write the run state while opening');
    // Recovered, waiting for its recovery to be on disk before it runs again.
    expect((await hearth.api<Run>(`/api/runs/${long.runId}`)).body.status).toBe('queued');
    const refused = await hearth.api<{ error: { code: string } }>('/api/jobs/quick/run', { method: 'POST' });
    expect(refused.status).toBe(507);
    expect(refused.body.error.code).toBe('disk_full');
    const quickRuns = async () => (await hearth.api<RunPage>('/api/runs?job=quick&limit=500')).body.runs.length;
    expect(await quickRuns()).toBe(150);

    freeDisk();
    expect((await hearth.api('/api/jobs/quick/run', { method: 'POST' })).status).toBe(202);
    expect(await hearth.stop('SIGKILL')).toBe(null);

    hearth = await startHearth({ dir, port, config });
    running = hearth;
    expect(await quickRuns()).toBe(151);
    const resumed = await hearth.waitFor('the interrupted run to run again', async () => {
      const { body: run } = await hearth.api<Run>(`/api/runs/${long.runId}`);
      return run.status === 'running' && run.tasks.main!.attempts === 2 ? run : undefined;
    });
    expect(resumed.tasks.main!.interruptions).toBe(1);
  }, 60_000);
});
