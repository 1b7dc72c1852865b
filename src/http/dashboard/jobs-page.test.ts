import { describe, expect, it } from 'vitest';
import { dashboardHarness, logIn, type Harness } from './testing.js';
import { JOBS_PAGE_SIZE } from './pages.js';

/** 1,000 scheduled jobs with a last run each: the /jobs page's worst realistic case. */
async function thousandJobs(): Promise<{ h: Harness; get: (path: string) => Promise<string> }> {
  const h = await dashboardHarness();
  for (let i = 0; i < 1000; i++) {
    const name = `job-${String(i).padStart(4, '0')}`;
    h.appliance.addJob({
      name,
      description: i % 100 === 7 ? `Back up the photo share number ${i}` : `Job number ${i} of many`,
      schedule: {
        kind: 'cron', expression: '0 3 * * *', description: 'every day at 03:00 (Europe/London)', timezone: 'Europe/London',
        catchup: 'latest', maxCatchup: 24, paused: false, nextRun: '2026-05-02T03:00:00.000+01:00',
      },
      lastRun: { id: h.appliance.addRun({ job: name, status: 'succeeded' }).id, status: 'succeeded', trigger: 'schedule', createdAt: '2026-05-01T02:00:00.000Z', startedAt: '2026-05-01T02:00:01.000Z', finishedAt: '2026-05-01T02:00:09.000Z' },
    });
  }
  const cookie = await logIn(h);
  const get = async (path: string) => {
    const response = await h.app.request(path, { headers: { Cookie: cookie } });
    expect(response.status).toBe(200);
    return response.text();
  };
  return { h, get };
}

const cards = (body: string) => body.match(/<li class="card job"/g)?.length ?? 0;

describe('/jobs at 1,000 jobs', () => {
  it('is one page of at most 100 KB, with a filter box and a way to the other pages', async () => {
    const { get } = await thousandJobs();
    const body = await get('/jobs');
    expect(Buffer.byteLength(body)).toBeLessThanOrEqual(100 * 1024);
    expect(cards(body)).toBe(JOBS_PAGE_SIZE);
    expect(body).toContain('job-0000');
    expect(body).not.toContain(`job-${String(JOBS_PAGE_SIZE).padStart(4, '0')}"`);
    expect(body).toMatch(/<form method="get" action="\/jobs"[^>]*role="search"/);
    expect(body).toContain('<input id="jobs-q" type="search" name="q"');
    expect(body).toContain('href="/jobs?page=2"');
    expect(body).toContain('Jobs 1–50 of 1000');

    const last = await get('/jobs?page=20');
    expect(cards(last)).toBe(JOBS_PAGE_SIZE);
    expect(last).toContain('job-0999');
    expect(last).toContain('href="/jobs?page=19"');
    expect(last).not.toContain('Next ›');
    // Out of range or nonsense: the nearest page, never an error.
    expect(cards(await get('/jobs?page=999'))).toBe(JOBS_PAGE_SIZE);
    expect(await get('/jobs?page=x')).toContain('job-0000');
  });

  it('filters by name and description words without JavaScript (?q=), keeping the filter in the page links', async () => {
    const { get } = await thousandJobs();
    const photos = await get('/jobs?q=photo+BACK');
    expect(cards(photos)).toBe(10);
    expect(photos).toContain('10 of 1000 jobs match “photo BACK”');
    expect(photos).toContain('value="photo BACK"');
    expect(photos).toContain('job-0107');

    const byName = await get('/jobs?q=job-01');
    expect(cards(byName)).toBe(JOBS_PAGE_SIZE);
    expect(byName).toContain('href="/jobs?q=job-01&amp;page=2"');
    expect(await get('/jobs?q=job-01&page=2')).toContain('job-0199');

    const none = await get('/jobs?q=%3Cscript%3E');
    expect(none).toContain('No job matches “&lt;script&gt;”');
    expect(none).not.toContain('<script>');
  });

  it('formats its 100 times with one reused formatter per zone, not a new Intl.DateTimeFormat each', async () => {
    const { get } = await thousandJobs();
    const original = Intl.DateTimeFormat;
    let constructed = 0;
    Intl.DateTimeFormat = new Proxy(original, {
      construct(target, args: ConstructorParameters<typeof Intl.DateTimeFormat>) {
        constructed++;
        return new target(...args);
      },
    });
    try {
      const body = await get('/jobs?page=3');
      expect(body.match(/<time /g)?.length).toBe(2 * JOBS_PAGE_SIZE);
      await get('/jobs?page=4');
    } finally {
      Intl.DateTimeFormat = original;
    }
    expect(constructed).toBeLessThanOrEqual(2);
  });

  it('keeps a small catalog on one page without a filter box', async () => {
    const h = await dashboardHarness();
    for (let i = 0; i < 3; i++) h.appliance.addJob({ name: `small-${i}` });
    const cookie = await logIn(h);
    const body = await (await h.app.request('/jobs', { headers: { Cookie: cookie } })).text();
    expect(cards(body)).toBe(3);
    expect(body).not.toContain('jobs-q');
    expect(body).not.toContain('class="pager"');
  });
});
