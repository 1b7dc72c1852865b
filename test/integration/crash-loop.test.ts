import { afterEach, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import type { Run } from '../../src/runs/model.js';
import { baseConfig, fileLines, freePort, startHearth, tempDir, type HearthProcess } from '../helpers/hearth-process.js';

let running: HearthProcess | undefined;
afterEach(async () => {
  await running?.stop('SIGKILL');
  running = undefined;
});

describe('a task that keeps killing the appliance', () => {
  it('is resumed after one kill -9, and failed as "interrupted repeatedly" after the second in a row', async () => {
    const dir = tempDir();
    const port = await freePort();
    const marks = join(dir, 'marks');
    // Stands for a task that fills the disk: each attempt ends with the appliance dying.
    const config = baseConfig(port, `
  crashy:
    run: echo "attempt $HEARTH_ATTEMPT" >> "${marks}"; sleep 60
`);
    let hearth = (running = await startHearth({ dir, port, config }));
    const { body } = await hearth.api<{ runId: string }>('/api/jobs/crashy/run', { method: 'POST' });
    await hearth.waitFor('attempt 1', () => (fileLines(marks).includes('attempt 1') ? true : undefined));
    await hearth.stop('SIGKILL');

    hearth = running = await startHearth({ dir, port, config });
    await hearth.waitFor('attempt 2', () => (fileLines(marks).includes('attempt 2') ? true : undefined));
    await hearth.stop('SIGKILL');

    hearth = running = await startHearth({ dir, port, config });
    const done = await hearth.waitFor('the run to fail', async () => {
      const { body: run } = await hearth.api<Run>(`/api/runs/${body.runId}`);
      return run.status === 'failed' ? run : undefined;
    });
    expect(done.error).toMatch(/^interrupted repeatedly: task main was running when Hearth stopped unexpectedly 2 times in a row/);
    expect(fileLines(marks)).toEqual(['attempt 1', 'attempt 2']);
    const { body: log } = await hearth.api<string>(`/api/runs/${body.runId}/logs`);
    expect(log).toContain('appliance restarted; run failed: interrupted repeatedly');
    expect(hearth.output()).toMatch(/run failed.*interrupted repeatedly/);
  });
});
