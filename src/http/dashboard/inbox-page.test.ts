import { beforeEach, describe, expect, it } from 'vitest';
import { dashboardHarness, formPost, logIn, type Harness } from './testing.js';

let h: Harness;
let cookie: string;

beforeEach(async () => {
  h = await dashboardHarness();
  cookie = await logIn(h);
  const base = { runId: 'r_00mjv5x2w0a1b2c3d4', job: 'tidy', askedAt: '2026-03-01T12:00:00.000Z' };
  await h.appliance.inbox.ask({ ...base, id: 'q_000000000001', stepId: 'confirm', prompt: 'Delete 3 files <b>now</b>?', choices: ['delete', 'keep'] });
  await h.appliance.inbox.ask({ ...base, id: 'q_000000000002', stepId: 'ok', prompt: 'Lights off?', schema: { type: 'boolean' } });
  await h.appliance.inbox.ask({
    ...base, id: 'q_000000000003', stepId: 'plan', prompt: 'Which folder?',
    schema: { type: 'object', properties: { folder: { type: 'string' }, days: { type: 'integer', minimum: 1 }, dryRun: { type: 'boolean' } }, required: ['folder', 'days'] },
  });
});

const get = async (path: string) => (await h.app.request(path, { headers: { Cookie: cookie } })).text();
const post = (path: string, fields: Record<string, string>) => h.app.request(path, formPost(fields, { Cookie: cookie }));

describe('dashboard inbox', () => {
  it('every page shows the Inbox tab with a count of open questions', async () => {
    expect(await get('/jobs')).toMatch(/<a href="\/inbox"><span aria-hidden="true">✉<\/span>Inbox <b class="count" aria-label="3 open">3<\/b><\/a>/);
  });

  it('renders choices as buttons, a boolean as yes/no, an object schema as a form; the prompt is escaped', async () => {
    const text = await get('/inbox');
    expect(text).toContain('Delete 3 files &lt;b&gt;now&lt;/b&gt;?');
    expect(text).not.toContain('<b>now</b>');
    expect(text).toContain('<input type="hidden" name="json" value="&quot;delete&quot;"><button type="submit" class="btn primary">delete</button>');
    expect(text).toContain('<input type="hidden" name="json" value="true"><button type="submit" class="btn primary">Yes</button>');
    expect(text).toContain('<input type="hidden" name="json" value="false"><button type="submit" class="btn plain">No</button>');
    expect(text).toMatch(/<input type="text" name="field\.folder" required>/);
    expect(text).toMatch(/<input type="number" name="field\.days" step="1" inputmode="decimal" required>/);
    expect(text).toMatch(/<input type="checkbox" name="field\.dryRun" value="true">/);
  });

  it('a tap answers and goes back to the inbox; an object form is read with its schema', async () => {
    const tapped = await post('/inbox/q_000000000001', { json: '"keep"' });
    expect(tapped.status).toBe(303);
    expect(tapped.headers.get('location')).toBe('/inbox');
    expect(await h.appliance.inbox.get('q_000000000001')).toMatchObject({ status: 'answered', value: 'keep' });
    const form = await post('/inbox/q_000000000003', { form: 'object', 'field.folder': 'Downloads', 'field.days': '30' });
    expect(form.status).toBe(303);
    expect((await h.appliance.inbox.get('q_000000000003'))?.value).toEqual({ folder: 'Downloads', days: 30, dryRun: false });
    expect(await get('/jobs')).toContain('aria-label="1 open">1</b>');
  });

  it('a second answer is refused (409), a bad value is 400 naming the field', async () => {
    await post('/inbox/q_000000000002', { json: 'true' });
    expect((await post('/inbox/q_000000000002', { json: 'false' })).status).toBe(409);
    const bad = await post('/inbox/q_000000000003', { form: 'object', 'field.folder': 'x', 'field.days': '0' });
    expect(bad.status).toBe(400);
    expect(await bad.text()).toContain('value.days');
    expect((await post('/inbox/q_000000000009', { json: '1' })).status).toBe(404);
  });
});

describe('run page', () => {
  it('shows a workflow\'s steps as a timeline with what a waiting step waits for', async () => {
    const run = h.appliance.addRun({ id: 'r_00mjv5x2w0a1b2c3d4', job: 'tidy', status: 'waiting' });
    h.appliance.steps.set(run.id, [
      { task: 'main', id: 'list-old-files', kind: 'run', status: 'succeeded', startedAt: '2026-03-01T12:00:00.000Z', finishedAt: '2026-03-01T12:00:01.000Z' },
      { task: 'main', id: 'confirm', kind: 'input', status: 'waiting', startedAt: '2026-03-01T12:00:01.000Z', wait: { kind: 'input', id: 'q_000000000001' } },
    ]);
    const text = await get(`/runs/${run.id}`);
    expect(text).toContain('<h2>Steps</h2>');
    expect(text).toMatch(/list-old-files <span class="muted small">run<\/span>/);
    expect(text).toContain('waits for <a href="/inbox#q_000000000001">an answer in the inbox</a>');
  });
});
