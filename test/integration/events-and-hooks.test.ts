import { createHash } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import type { Run } from '../../src/runs/model.js';
import { baseConfig, freePort, startHearth, tempDir, type HearthProcess } from '../helpers/hearth-process.js';

/** Run input, events and webhooks against the real process (dist/): what the 202s promise survives kill -9. */

let running: HearthProcess | undefined;
afterEach(async () => {
  await running?.stop('SIGKILL');
  running = undefined;
});

const SECRET = 'doorbell-secret-4471-xyz';

function config(port: number): string {
  return `${baseConfig(port, `
  show:
    run: 'printf "input=%.200s\\n" "$HEARTH_INPUT"; printf "env-sha=%s\\n" "$(printf %s "$HEARTH_INPUT" | sha256sum | cut -c1-64)"; printf "file-sha=%s\\n" "$(sha256sum < "$HEARTH_INPUT_FILE" | cut -c1-64)"; printf "mode=%s trigger=%s\\n" "$(stat -c %a "$HEARTH_INPUT_FILE")" "$HEARTH_TRIGGER"'
    overlap: allow
    on: { event: doorbell }
  ring:
    run: 'printf "rang=%s\\n" "$HEARTH_INPUT"'
    overlap: allow
`)}hooks:
  doorbell: { job: ring, secret: \${DOORBELL_SECRET} }
`;
}

async function finished(hearth: HearthProcess, runId: string): Promise<Run> {
  return hearth.waitFor(`run ${runId} to finish`, async () => {
    const { body } = await hearth.api<Run>(`/api/runs/${runId}`);
    return body.finishedAt ? body : undefined;
  });
}

const json = (body: unknown): RequestInit => ({ method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });

describe('run input, events and webhooks (real process)', () => {
  it('a shell task sees HEARTH_INPUT and HEARTH_INPUT_FILE (0600), small and large', async () => {
    const dir = tempDir();
    const port = await freePort();
    const hearth = (running = await startHearth({ dir, port, config: config(port), env: { DOORBELL_SECRET: SECRET } }));
    const small = { door: 'front', n: 1 };
    const large = { blob: 'x'.repeat(20_000) };
    for (const input of [small, large]) {
      const { status, body } = await hearth.api<{ runId: string }>('/api/jobs/show/run', json({ input }));
      expect(status).toBe(202);
      const run = await finished(hearth, body.runId);
      expect(run.status).toBe('succeeded');
      const { body: log } = await hearth.api<string>(`/api/runs/${body.runId}/logs`);
      // Whole, in the environment and in the file (log lines are cut at 8 KB, so compare digests).
      const sha = createHash('sha256').update(JSON.stringify(input)).digest('hex');
      expect(log).toContain(`env-sha=${sha}`);
      expect(log).toContain(`file-sha=${sha}`);
      expect(log).toContain('mode=600 trigger=api');
    }
  });

  it('an event sent twice with the same id makes one run, also after kill -9 and a restart', async () => {
    const dir = tempDir();
    const port = await freePort();
    let hearth = (running = await startHearth({ dir, port, config: config(port), env: { DOORBELL_SECRET: SECRET } }));
    const event = { name: 'doorbell', data: { who: 'postman' }, id: 'press-0042' };
    const first = await hearth.api<{ eventId: string; runs: string[]; duplicate: boolean }>('/api/events', json(event));
    expect(first.status).toBe(202);
    expect(first.body).toMatchObject({ eventId: 'press-0042', duplicate: false });
    expect(first.body.runs).toHaveLength(1);
    const again = await hearth.api<{ runs: string[]; duplicate: boolean }>('/api/events', json(event));
    expect(again.status).toBe(202);
    expect(again.body).toMatchObject({ runs: first.body.runs, duplicate: true });

    const run = await finished(hearth, first.body.runs[0]!);
    expect(run).toMatchObject({ status: 'succeeded', trigger: 'event', input: { who: 'postman' } });
    const { body: log } = await hearth.api<string>(`/api/runs/${run.id}/logs`);
    expect(log).toContain('input={"who":"postman"}');
    expect(log).toContain('trigger=event');

    // A second event, acknowledged and then the power goes.
    const other = await hearth.api<{ runs: string[] }>('/api/events', json({ ...event, id: 'press-0043' }));
    expect(other.status).toBe(202);
    await hearth.stop('SIGKILL');
    hearth = running = await startHearth({ dir, port, config: config(port), env: { DOORBELL_SECRET: SECRET } });
    for (const id of ['press-0042', 'press-0043']) {
      const replay = await hearth.api<{ duplicate: boolean }>('/api/events', json({ ...event, id }));
      expect(replay.status).toBe(202);
      expect(replay.body.duplicate, id).toBe(true);
    }
    await finished(hearth, other.body.runs[0]!);
    const { body: page } = await hearth.api<{ runs: Run[] }>('/api/runs?job=show');
    expect(page.runs.map((r) => r.id).sort()).toEqual([...first.body.runs, ...other.body.runs].sort());
  });

  it('a webhook with a wrong secret is 401; with the right one it starts its job with the body as input', async () => {
    const dir = tempDir();
    const port = await freePort();
    const hearth = (running = await startHearth({ dir, port, config: config(port), env: { DOORBELL_SECRET: SECRET } }));
    const wrong = await fetch(`${hearth.url}/hooks/doorbell`, { ...json({ pressed: true }), headers: { 'Content-Type': 'application/json', Authorization: 'Bearer nope' } });
    expect(wrong.status).toBe(401);
    // The API token is not the hook's secret either.
    const withApiToken = await fetch(`${hearth.url}/hooks/doorbell`, { ...json({}), headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${hearth.token()}` } });
    expect(withApiToken.status).toBe(401);

    const right = await fetch(`${hearth.url}/hooks/doorbell?token=${SECRET}`, { ...json({ pressed: true }), headers: { 'Content-Type': 'application/json', Origin: 'http://sensor.lan' } });
    expect(right.status).toBe(202);
    const { runId } = (await right.json()) as { runId: string };
    const run = await finished(hearth, runId);
    expect(run).toMatchObject({ status: 'succeeded', trigger: 'hook', input: { pressed: true } });
    const { body: log } = await hearth.api<string>(`/api/runs/${runId}/logs`);
    expect(log).toContain('rang={"pressed":true}');

    const { body: jobs } = await hearth.api<unknown>('/api/jobs');
    expect(JSON.stringify(jobs)).toContain('"hooks":["doorbell"]');
    expect(JSON.stringify(jobs)).not.toContain(SECRET);
    expect(hearth.output()).toContain('webhook refused');
    expect(hearth.output()).not.toContain(SECRET);
  });
});
