import { afterEach, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Run } from '../../src/runs/model.js';
import { isProcessRunning } from '../../src/pool/process/group.js';
import { baseConfig, fileLines, freePort, startHearth, tempDir, type HearthProcess } from '../helpers/hearth-process.js';

let running: HearthProcess | undefined;
afterEach(async () => {
  await running?.stop('SIGKILL');
  running = undefined;
});

describe('crash recovery', () => {
  it('resumes a three-task flow after kill -9 without re-running finished tasks', async () => {
    const dir = tempDir();
    const port = await freePort();
    const marks = join(dir, 'marks');
    const config = baseConfig(port, `
  flow:
    tasks:
      first:
        run: echo "first $HEARTH_ATTEMPT" >> "${marks}"
      second:
        depends_on: [first]
        run: |
          echo "second $HEARTH_ATTEMPT" >> "${marks}"
          echo $$ > "${dir}/second.pid"
          if [ "$HEARTH_ATTEMPT" = 1 ]; then sleep 60; fi
      third:
        depends_on: [second]
        run: echo "third $HEARTH_ATTEMPT" >> "${marks}"
`);
    let hearth = await startHearth({ dir, port, config });
    running = hearth;
    const { status, body } = await hearth.api<{ runId: string }>('/api/jobs/flow/run', { method: 'POST' });
    expect(status).toBe(202);
    await hearth.waitFor('the second task to start', () => (fileLines(marks).includes('second 1') ? true : undefined));
    const orphan = Number(readFileSync(join(dir, 'second.pid'), 'utf8'));
    expect(await hearth.stop('SIGKILL')).toBe(null);
    // kill -9 leaves the task's process group behind; the restart must deal with it.
    expect(isProcessRunning(orphan)).toBe(true);

    hearth = await startHearth({ dir, port, config });
    running = hearth;
    const done = await hearth.waitFor('the run to finish', async () => {
      const { body: run } = await hearth.api<Run>(`/api/runs/${body.runId}`);
      return run.status === 'succeeded' || run.status === 'failed' ? run : undefined;
    });
    expect(done.status).toBe('succeeded');
    expect(fileLines(marks)).toEqual(['first 1', 'second 1', 'second 2', 'third 1']);
    expect(done.tasks.first!.attempts).toBe(1);
    expect(done.tasks.second).toMatchObject({ attempts: 2, interruptions: 1, status: 'succeeded' });
    expect(isProcessRunning(orphan)).toBe(false);
    const { body: log } = await hearth.api<string>(`/api/runs/${body.runId}/logs`);
    expect(log).toMatch(/appliance restarted; resuming \(second will run again\)/);
  });

  it('keeps a queued run queued across a restart and runs it', async () => {
    const dir = tempDir();
    const port = await freePort();
    const config = baseConfig(port, `
  slow:
    overlap: queue
    run: sleep 2; echo done >> "${dir}/slow.txt"
`);
    let hearth = await startHearth({ dir, port, config });
    running = hearth;
    await hearth.api('/api/jobs/slow/run', { method: 'POST' });
    const second = await hearth.api<{ runId: string }>('/api/jobs/slow/run', { method: 'POST' });
    const { body: queued } = await hearth.api<Run>(`/api/runs/${second.body.runId}`);
    expect(queued.status).toBe('queued');
    await hearth.stop('SIGKILL');
    hearth = await startHearth({ dir, port, config });
    running = hearth;
    await hearth.waitFor('both runs to finish', () => (fileLines(join(dir, 'slow.txt')).length === 2 ? true : undefined), 30_000);
  });

  it('keeps a cancel answered 202 across a kill -9 right after it: the run ends cancelled and is not resumed', async () => {
    const dir = tempDir();
    const port = await freePort();
    const marks = join(dir, 'marks');
    // The task ignores SIGTERM, so it is still stopping (and the run still running) when the kill comes.
    const config = baseConfig(port, `
  long:
    run: |
      trap '' TERM
      echo "started $HEARTH_ATTEMPT" >> "${marks}"
      sleep 30
`);
    let hearth = await startHearth({ dir, port, config });
    running = hearth;
    const { body } = await hearth.api<{ runId: string }>('/api/jobs/long/run', { method: 'POST' });
    await hearth.waitFor('the task to start', () => (fileLines(marks).includes('started 1') ? true : undefined));
    const cancel = await hearth.api(`/api/runs/${body.runId}/cancel`, { method: 'POST' });
    expect(cancel.status).toBe(202);
    expect(await hearth.stop('SIGKILL')).toBe(null);

    hearth = await startHearth({ dir, port, config });
    running = hearth;
    const done = await hearth.waitFor('the run to end', async () => {
      const { body: run } = await hearth.api<Run>(`/api/runs/${body.runId}`);
      return run.status === 'queued' || run.status === 'running' ? undefined : run;
    });
    expect(done.status).toBe('cancelled');
    // Give a wrongly resumed task time to show itself.
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    expect(fileLines(marks)).toEqual(['started 1']);
  });
});
