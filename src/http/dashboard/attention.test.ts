import { beforeEach, describe, expect, it } from 'vitest';
import { dashboardHarness, logIn, type Harness } from './testing.js';

/** Issue 11: the overview says what needs attention instead of "All good", each failing job with its reason. */

let h: Harness;
let cookie: string;
const RUN_A = 'r_00mjv5x2w0a1b2c3d4';
const RUN_B = 'r_00mjv5x2w0a1b2c3d5';

beforeEach(async () => {
  h = await dashboardHarness();
  const schedule = { kind: 'cron' as const, expression: '*/15 * * * *', description: 'every 15 minutes', timezone: 'UTC', catchup: 'latest' as const, maxCatchup: 24, paused: false, nextRun: '2026-05-01T09:45:00+00:00' };
  h.appliance.addJob({ name: 'backup', tasks: [{ name: 'upload', dependsOn: [], kind: 'shell' }], schedule });
  h.appliance.addJob({ name: 'nas-check', tasks: [{ name: 'main', dependsOn: [], kind: 'shell' }] });
  cookie = await logIn(h);
});

const get = async (path: string) => (await h.app.request(path, { headers: { Cookie: cookie } })).text();
const statusOf = (page: string) => page.match(/<dd id="status-line">(.*?)<\/dd>/)![1];

const failing = [
  { job: 'backup', runId: RUN_A, reason: 'upload: exit code 6 · curl: (6) Could not resolve host: nas.local', since: '2026-05-01T03:00:00.000Z', failures: 3 },
  { job: 'nas-check', runId: RUN_B, reason: 'main: timed out after 10m', since: '2026-05-01T08:00:00.000Z', failures: 1 },
];

describe('the overview status line', () => {
  it('says All good when nothing needs attention', async () => {
    expect(statusOf(await get('/'))).toBe('<span class="ok">● All good</span>');
  });

  it('names the failing jobs, and each shows its reason in one line linked to its run', async () => {
    h.appliance.attentionFacts = { failing };
    const page = await get('/');
    expect(statusOf(page)).toBe('<span class="bad">● 2 jobs failing: backup, nas-check</span>');
    expect(page).toContain(`<li class="failing"><a href="/runs/${RUN_A}"><strong>backup</strong> failing (3 runs)</a><span class="reason mono">upload: exit code 6 · curl: (6) Could not resolve host: nas.local</span></li>`);
    expect(page).toContain(`<li class="failing"><a href="/runs/${RUN_B}"><strong>nas-check</strong> failing</a><span class="reason mono">main: timed out after 10m</span></li>`);
  });

  it('counts waiting questions', async () => {
    await h.appliance.inbox.ask({ id: 'q_000000000001', runId: RUN_A, job: 'backup', stepId: 'ok', prompt: 'Go?', askedAt: '2026-05-01T09:00:00.000Z' });
    const page = await get('/');
    expect(statusOf(page)).toBe('<span class="bad">● 1 question waiting</span>');
    expect(page).toContain('<a href="/inbox"><strong>1 question</strong> waiting in the inbox</a>');
  });

  it('counts stuck runs, with why', async () => {
    h.appliance.attentionFacts = {
      stuck: [{ job: 'backup', runId: RUN_A, runningSince: '2026-05-01T06:00:00.000Z', stuckAfterMs: 1_800_000, skipped: { occurrences: 12, since: '2026-05-01T06:15:00.000Z' }, reason: 'running for 4h (stuck after 30m); 12 occurrences skipped while it runs' }],
    };
    const page = await get('/');
    expect(statusOf(page)).toBe('<span class="bad">● 1 run stuck</span>');
    expect(page).toContain(`<li class="stuck"><a href="/runs/${RUN_A}"><strong>backup</strong> stuck</a><span class="reason">running for 4h (stuck after 30m); 12 occurrences skipped while it runs</span></li>`);
  });

  it('names overdue jobs (expect) and appliance problems', async () => {
    h.appliance.attentionFacts = {
      overdue: [{ job: 'backup', everyMs: 26 * 3_600_000, lastSuccessAt: '2026-04-29T03:00:00.000Z', dueAt: '2026-04-30T05:00:00.000Z' }],
      appliance: [{ key: 'appliance:disk', message: 'data disk 93% full' }],
    };
    const page = await get('/');
    expect(statusOf(page)).toBe('<span class="bad">● data disk 93% full · 1 job overdue: backup</span>');
    expect(page).toContain('<a href="/jobs/backup"><strong>backup</strong> overdue</a><span class="reason">no success since');
  });

  it('joins everything in one line', async () => {
    h.appliance.attentionFacts = { failing, stuck: [{ job: 'backup', runId: RUN_A, runningSince: '2026-05-01T06:00:00.000Z', stuckAfterMs: 600_000, reason: 'running for 4h' }] };
    await h.appliance.inbox.ask({ id: 'q_000000000001', runId: RUN_A, job: 'backup', stepId: 'ok', prompt: 'Go?', askedAt: '2026-05-01T09:00:00.000Z' });
    expect(statusOf(await get('/'))).toBe('<span class="bad">● 2 jobs failing: backup, nas-check · 1 question waiting · 1 run stuck</span>');
  });

  it('an untrusted clock or a failed reload counts at once, before the engine reports it', async () => {
    h.appliance.healthOverrides = { config: { errors: ['hearth.yaml:3:5: jobs.a.rnu: unknown key'], failedAt: '2026-05-01T09:00:00.000Z' } };
    expect(statusOf(await get('/'))).toBe('<span class="bad">● config reload failed</span>');
    h.appliance.attentionFacts = { appliance: [{ key: 'appliance:config', message: 'config reload failed (1 problem)' }] };
    expect(statusOf(await get('/'))).toBe('<span class="bad">● config reload failed (1 problem)</span>');
  });
});

describe('the job pages', () => {
  it('a failing job shows its reason on the jobs list and its page', async () => {
    h.appliance.jobs.get('backup')!.attention = { failing: { runId: RUN_A, reason: failing[0]!.reason, failures: 3 } };
    for (const path of ['/jobs', '/jobs/backup']) {
      expect(await get(path), path).toContain(`<li class="failing"><a href="/runs/${RUN_A}">failing (3 runs)</a><span class="reason mono">upload: exit code 6 · curl: (6) Could not resolve host: nas.local</span></li>`);
    }
  });

  it('does not promise the next run while an active run makes it be skipped', async () => {
    const job = h.appliance.jobs.get('backup')!;
    job.overlap = 'skip';
    expect(await get('/jobs/backup')).toContain('<dt>Next run</dt><dd><time');
    job.activeRuns = 1;
    job.attention = { stuck: { runId: RUN_A, reason: 'running for 4h; 12 occurrences skipped while it runs', skipped: 12 } };
    const page = await get('/jobs/backup');
    expect(page).toContain('<dt>Next run</dt><dd><span class="warn-text">skipped while a run is active (12 skipped so far)</span></dd>');
    expect(page).toContain(`<li class="stuck"><a href="/runs/${RUN_A}">stuck</a><span class="reason">running for 4h; 12 occurrences skipped while it runs</span></li>`);
    expect(await get('/jobs')).toContain('<dt>Next</dt><dd><span class="warn-text">skipped while a run is active (12 skipped so far)</span></dd>');
  });
});
