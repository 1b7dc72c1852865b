import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { Run } from '../../src/runs/model.js';
import { baseConfig, freePort, startHearth, tempDir, type HearthProcess } from '../helpers/hearth-process.js';

let running: HearthProcess | undefined;
afterEach(async () => {
  await running?.stop('SIGKILL');
  running = undefined;
});

describe("a task's environment", () => {
  it("never carries Hearth's own secrets into a task, its run log or the logs API", async () => {
    const dir = tempDir();
    const port = await freePort();
    const password = 'correct-horse-battery-staple-7731';
    const apiToken = 'hearth-cli-token-5519';
    // A module action runs inside Hearth's own process: it must not find the secrets in process.env either.
    writeFileSync(
      join(dir, 'peek.mjs'),
      "export default () => ({ password: process.env.HEARTH_PASSWORD ?? null, token: process.env.HEARTH_TOKEN ?? null });\n",
    );
    const hearth = (running = await startHearth({
      dir,
      port,
      config: baseConfig(port, `
  printenv:
    run: env
  peek:
    action: module
    with: { path: ./peek.mjs }
`),
      env: { HEARTH_PASSWORD: password, HEARTH_TOKEN: apiToken, MY_OWN_SETTING: 'users-own-value' },
    }));
    const { body } = await hearth.api<{ runId: string }>('/api/jobs/printenv/run', { method: 'POST' });
    await hearth.waitFor('the run to succeed', async () => {
      const { body: r } = await hearth.api<Run>(`/api/runs/${body.runId}`);
      return r.status === 'succeeded' ? r : undefined;
    });
    const { body: log } = await hearth.api<string>(`/api/runs/${body.runId}/logs`);
    // The task did print its environment: the user's own variables are there.
    expect(log).toContain(`HEARTH_RUN_ID=${body.runId}`);
    expect(log).toContain('MY_OWN_SETTING=users-own-value');
    expect(log).not.toContain(password);
    expect(log).not.toContain(apiToken);
    expect(log).not.toMatch(/HEARTH_PASSWORD=|HEARTH_TOKEN=/);

    const { body: peek } = await hearth.api<{ runId: string }>('/api/jobs/peek/run', { method: 'POST' });
    const peeked = await hearth.waitFor('the module run to finish', async () => {
      const { body: r } = await hearth.api<Run>(`/api/runs/${peek.runId}`);
      return r.status === 'succeeded' || r.status === 'failed' ? r : undefined;
    });
    expect(peeked.status).toBe('succeeded');
    expect(Object.values(peeked.tasks)[0]?.output).toEqual({ password: null, token: null });
  });
});
