import { beforeEach, describe, expect, it } from 'vitest';
import { FakeClock } from '../core/clock.js';
import { silentLogger } from '../core/logger.js';
import { createApiApp } from './app.js';
import { createTokenCheck } from './token.js';
import { FakeAppliance } from './testing/fake-appliance.js';

const TOKEN = 'test-token-0123456789';
const AUTH = { Authorization: `Bearer ${TOKEN}` };

let appliance: FakeAppliance;
let app: ReturnType<typeof createApiApp>;

beforeEach(async () => {
  appliance = new FakeAppliance();
  app = createApiApp({ appliance, auth: createTokenCheck([TOKEN]), logger: silentLogger, clock: new FakeClock() });
  await appliance.inbox.ask({
    id: 'q_000000000001', runId: 'r_00mjv5x2w0a1b2c3d4', job: 'tidy', stepId: 'confirm', prompt: 'Delete 3 files?',
    choices: ['delete', 'keep'], askedAt: '2026-03-01T12:00:00.000Z', expiresAt: '2026-03-02T12:00:00.000Z',
  });
  await appliance.inbox.ask({
    id: 'q_000000000002', runId: 'r_00mjv5x2w0a1b2c3d5', job: 'plan', stepId: 'settings', prompt: 'Settings?',
    schema: { type: 'object', properties: { days: { type: 'integer', minimum: 1 } }, required: ['days'] }, askedAt: '2026-03-01T12:01:00.000Z',
  });
});

const answer = (id: string, body: string) =>
  app.request(`/api/inbox/${id}`, { method: 'POST', headers: { ...AUTH, 'Content-Type': 'application/json' }, body });

async function errorOf(response: Response) {
  return ((await response.json()) as { error: { code: string; message: string } }).error;
}

describe('GET /api/inbox', () => {
  it('lists open questions with run, job, prompt, schema, choices, asked and expiry; needs a token', async () => {
    expect((await app.request('/api/inbox')).status).toBe(401);
    const response = await app.request('/api/inbox', { headers: AUTH });
    expect(response.status).toBe(200);
    const { questions } = (await response.json()) as { questions: Array<Record<string, unknown>> };
    expect(questions.map((q) => q.id)).toEqual(['q_000000000001', 'q_000000000002']);
    expect(questions[0]).toMatchObject({ runId: 'r_00mjv5x2w0a1b2c3d4', job: 'tidy', prompt: 'Delete 3 files?', choices: ['delete', 'keep'], askedAt: '2026-03-01T12:00:00.000Z', expiresAt: '2026-03-02T12:00:00.000Z', status: 'open' });
    expect(questions[1]).toMatchObject({ schema: { type: 'object' } });
  });
});

describe('POST /api/inbox/:id', () => {
  it('answers once (200), then 409; the question leaves the open list', async () => {
    const first = await answer('q_000000000001', '{"value":"keep"}');
    expect(first.status).toBe(200);
    expect(await first.json()).toMatchObject({ id: 'q_000000000001', status: 'answered', value: 'keep' });
    const second = await answer('q_000000000001', '{"value":"delete"}');
    expect(second.status).toBe(409);
    expect(await errorOf(second)).toMatchObject({ code: 'conflict', message: 'question q_000000000001 is already answered' });
    const { questions } = (await (await app.request('/api/inbox', { headers: AUTH })).json()) as { questions: unknown[] };
    expect(questions).toHaveLength(1);
  });

  it('400 naming the field for a value that fails the schema or the choices, and for a bad body', async () => {
    const wrongType = await answer('q_000000000002', '{"value":{"days":"three"}}');
    expect(wrongType.status).toBe(400);
    expect((await errorOf(wrongType)).message).toMatch(/^value\.days: /);
    const notAChoice = await answer('q_000000000001', '{"value":"burn"}');
    expect(notAChoice.status).toBe(400);
    expect((await errorOf(notAChoice)).message).toBe('value must be one of "delete", "keep"');
    const noValue = await answer('q_000000000001', '{"answer":"keep"}');
    expect(noValue.status).toBe(400);
    expect((await errorOf(noValue)).message).toContain('"value"');
    expect((await answer('q_000000000001', '{nope')).status).toBe(400);
    // Nothing was recorded by the refused answers.
    expect((await answer('q_000000000001', '{"value":"keep"}')).status).toBe(200);
  });

  it('404 for an unknown question', async () => {
    const unknown = await answer('q_999999999999', '{"value":1}');
    expect(unknown.status).toBe(404);
    expect(await errorOf(unknown)).toMatchObject({ code: 'not_found', message: 'question "q_999999999999" not found' });
    expect((await answer('garbage', '{"value":1}')).status).toBe(404);
  });
});

describe('GET /api/runs/:id', () => {
  it('includes a workflow\'s steps', async () => {
    const run = appliance.addRun({ job: 'tidy', status: 'waiting' });
    appliance.steps.set(run.id, [{ task: 'main', id: 'nap', kind: 'sleep', status: 'waiting', startedAt: '2026-03-01T12:00:00.000Z', wait: { kind: 'timer', at: '2026-03-01T13:00:00.000Z' } }]);
    const body = (await (await app.request(`/api/runs/${run.id}`, { headers: AUTH })).json()) as { id: string; steps: unknown[] };
    expect(body.id).toBe(run.id);
    expect(body.steps).toEqual([{ task: 'main', id: 'nap', kind: 'sleep', status: 'waiting', startedAt: '2026-03-01T12:00:00.000Z', wait: { kind: 'timer', at: '2026-03-01T13:00:00.000Z' } }]);
  });
});

describe('GET /api/attention', () => {
  it('says what needs attention, the same answer the dashboard shows; needs a token', async () => {
    expect((await app.request('/api/attention')).status).toBe(401);
    appliance.attentionFacts = {
      failing: [{ job: 'backup', runId: 'r_00mjv5x2w0a1b2c3d6', reason: 'upload: exit code 1 · host down', since: '2026-03-01T03:00:00.000Z', failures: 2 }],
    };
    const response = await app.request('/api/attention', { headers: AUTH });
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({
      ok: false,
      summary: '1 job failing: backup · 2 questions waiting',
      failing: [{ job: 'backup', reason: 'upload: exit code 1 · host down' }],
      questions: 2,
    });
  });
});
