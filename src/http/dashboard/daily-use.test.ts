import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { dashboardHarness, logIn, type Harness } from './testing.js';

/** Issue 12, "Dashboard": what a newcomer tripped over, through app.request. */

let h: Harness;
let cookie: string;
const RUN = 'r_00mjv5x2w0a1b2c3d4';

beforeEach(async () => {
  h = await dashboardHarness();
  h.appliance.addJob({
    name: 'backup',
    tasks: [{ name: 'archive', dependsOn: [], kind: 'shell' }],
    schedule: { kind: 'cron', expression: '0 3 * * *', description: 'every day at 03:00 (America/New_York)', timezone: 'America/New_York', catchup: 'latest', maxCatchup: 24, paused: false, nextRun: '2026-05-02T03:00:00-04:00' },
  });
  cookie = await logIn(h);
});

const get = async (path: string) => (await h.app.request(path, { headers: { Cookie: cookie } })).text();

describe('the passwd command fits how the appliance was started', () => {
  it('the setup page shows the command it was given, with the directory to run it in', async () => {
    const fresh = await dashboardHarness({ password: false, passwd: { command: 'node bin/hearth.js passwd --config hearth.yaml', directory: '/home/ann/hearth' } });
    const text = await (await fresh.app.request('/setup')).text();
    expect(text).toContain('<pre class="mono wrap cmd">node bin/hearth.js passwd --config hearth.yaml</pre>');
    expect(text).toContain('<code class="path">/home/ann/hearth</code>');
    expect(text).not.toContain('sudo -u hearth');
  });

  it('the login page shows it too (the Pi image form by default)', async () => {
    const fresh = await dashboardHarness({ passwd: { command: 'node bin/hearth.js passwd --config hearth.yaml', directory: '/srv/h' } });
    expect(await (await fresh.app.request('/login')).text()).toContain('node bin/hearth.js passwd --config hearth.yaml');
    const pi = await dashboardHarness();
    expect(await (await pi.app.request('/login')).text()).toContain('sudo -u hearth hearth passwd --config /etc/hearth/hearth.yaml');
  });

  it('the command wraps at spaces on a phone rather than overflowing or breaking words', () => {
    const css = readFileSync(resolve(import.meta.dirname, '../../../web/app.css'), 'utf8');
    expect(css).toMatch(/pre\.cmd \{[^}]*white-space: pre-wrap;[^}]*word-break: normal;[^}]*overflow-wrap: anywhere/);
  });
});

describe('times', () => {
  it('every time on a page is in the config zone, named once per page', async () => {
    const text = await get('/jobs/backup');
    // 03:00 in New York is 08:00 in London (the config's zone in the harness).
    expect(text).toContain('data-abs="2026-05-02 08:00"');
    expect(text).not.toContain('2026-05-02 03:00');
    expect(text.match(/Times in Europe\/London/g)).toHaveLength(1);
    expect(text).toContain('data-tz="Europe/London"');
    const overview = await get('/');
    expect(overview).toContain('data-abs="2026-05-02 08:00"');
    expect(overview.match(/Times in Europe\/London/g)).toHaveLength(1);
  });

  it('the run page shows exact times without hover', async () => {
    h.appliance.addRun({ id: RUN, job: 'backup', status: 'succeeded', createdAt: '2026-05-01T09:00:00.000Z', startedAt: '2026-05-01T09:00:00.000Z', finishedAt: '2026-05-01T09:00:05.000Z', tasks: {}, taskOrder: [] });
    const text = await get(`/runs/${RUN}`);
    expect(text).toMatch(/<dt>Created<\/dt><dd><time datetime="2026-05-01T09:00:00.000Z" data-abs="2026-05-01 10:00" data-after>2026-05-01 10:00<\/time>/);
  });

  it('the script shows log lines in the page zone and toggles exact times on a tap', () => {
    const js = readFileSync(resolve(import.meta.dirname, '../../../web/app.js'), 'utf8');
    expect(js).toContain('timeZone: document.body.dataset.tz');
    expect(js).toContain("closest('time[data-rel]')");
  });
});

describe('nits', () => {
  const addRun = (status: 'succeeded' | 'failed' | 'cancelled') =>
    h.appliance.addRun({ id: RUN, job: 'backup', status, tasks: { archive: { name: 'archive', status: status === 'succeeded' ? 'succeeded' : 'failed', attempts: 1, ...(status === 'failed' ? { error: 'exit code 1', exitCode: 1 } : {}) } }, taskOrder: ['archive'] });

  it('no Retry on a succeeded run; failed and cancelled runs keep it', async () => {
    addRun('succeeded');
    expect(await get(`/runs/${RUN}`)).not.toContain(`/runs/${RUN}/retry`);
    h.appliance.runs.clear();
    addRun('failed');
    expect(await get(`/runs/${RUN}`)).toContain(`/runs/${RUN}/retry`);
    h.appliance.runs.clear();
    addRun('cancelled');
    expect(await get(`/runs/${RUN}`)).toContain(`/runs/${RUN}/retry`);
  });

  it('says "exit code 1" once', async () => {
    addRun('failed');
    const text = await get(`/runs/${RUN}`);
    expect(text).toContain('exit code 1');
    expect(text).not.toContain('(exit 1)');
  });

  it('a finished run marks its log finished, so "Follow the log" never shows', async () => {
    addRun('succeeded');
    expect(await get(`/runs/${RUN}`)).toContain('data-finished="1"');
    const js = readFileSync(resolve(import.meta.dirname, '../../../web/app.js'), 'utf8');
    expect(js).toContain('follow.hidden = following || ended;');
  });

  it('waiting and paused are drawn with CSS, not the pause emoji', async () => {
    h.appliance.addRun({ id: RUN, job: 'backup', status: 'waiting', tasks: {}, taskOrder: [] });
    const text = await get(`/runs/${RUN}`);
    expect(text).toContain('<span class="badge s-waiting"><i class="bars" aria-hidden="true"></i> waiting</span>');
    expect(text).not.toContain('⏸');
  });

  it('the config-error list wraps long lines, and the banner links to the details, not to itself', async () => {
    h.appliance.healthOverrides = { config: { errors: ['hearth.yaml:3:5 jobs.a-very-long-job-name-without-spaces.schedule.cron: bad'], failedAt: '2026-05-01T09:00:00Z' } };
    const overview = await get('/');
    expect(overview).toContain('<a href="#config-errors">Details</a>');
    expect(overview).toContain('id="config-errors"');
    expect(overview).toContain('<ul class="mono errors">');
    expect(await get('/jobs')).toContain('<a href="/#config-errors">Details</a>');
    const css = readFileSync(resolve(import.meta.dirname, '../../../web/app.css'), 'utf8');
    expect(css).toMatch(/\.note ul\.errors li \{[^}]*overflow-wrap: anywhere/);
  });
});

describe('the job page says what the job does', () => {
  it('shows each task command or action with its with:, timeout, retries, pool, env names and depends_on', async () => {
    h.appliance.addJob({
      name: 'upload',
      pool: 'net',
      settings: { timeoutMs: 30 * 60_000, retries: { max: 0, delayMs: 0, backoff: 'fixed', maxDelayMs: 0 }, env: ['NAS_USER'] },
      tasks: [
        { name: 'pack', dependsOn: [], kind: 'shell', run: 'tar czf out.tgz "${NOTES_DIR}"', timeoutMs: 5 * 60_000, env: ['NAS_PASSWORD'], continueOnError: false },
        {
          name: 'send', dependsOn: ['pack'], kind: 'action', action: 'http', env: [], continueOnError: true,
          retries: { max: 3, delayMs: 30_000, backoff: 'exponential', maxDelayMs: 600_000 },
          with: { url: '${NAS_URL}/upload', method: 'POST', headers: { Authorization: '•••' } },
        },
      ],
    });
    const text = await get('/jobs/upload');
    const pack = text.slice(text.indexOf('data-task="pack"'), text.indexOf('data-task="send"'));
    const send = text.slice(text.indexOf('data-task="send"'));
    expect(pack).toContain('<pre class="mono wrap cmd">tar czf out.tgz &quot;${NOTES_DIR}&quot;</pre>');
    expect(pack).toContain('<dt>Timeout</dt><dd>5m</dd>');
    expect(pack).toContain('<dt>Pool</dt><dd>net</dd>');
    expect(pack).toContain('<dt>Env</dt><dd class="mono">NAS_USER NAS_PASSWORD</dd>');
    expect(send).toContain('action: http');
    expect(send).toContain('<div><dt>url:</dt><dd>${NAS_URL}/upload</dd></div>');
    expect(send).toContain('<div><dt>headers:</dt><dd>{&quot;Authorization&quot;:&quot;•••&quot;}</dd></div>');
    expect(send).toContain('<span class="small after">after pack</span>');
    expect(send).toContain('<dt>Timeout</dt><dd>30m <span class="muted">(job)</span></dd>');
    expect(send).toContain('<dt>Retries</dt><dd>3× after 30s, doubling up to 10m</dd>');
    expect(send).toContain('the job goes on');
  });
});

describe('history at a glance', () => {
  // The harness clock: 2026-05-01T10:00:00Z.
  const at = (daysAgo: number, seconds = 10) => {
    const created = Date.parse('2026-05-01T10:00:00Z') - daysAgo * 86_400_000;
    return { createdAt: new Date(created).toISOString(), startedAt: new Date(created).toISOString(), finishedAt: new Date(created + seconds * 1000).toISOString() };
  };

  it('the job page charts the last runs by duration and status, each bar a link to its run', async () => {
    const a = h.appliance.addRun({ job: 'backup', status: 'succeeded', ...at(3, 10) });
    const b = h.appliance.addRun({ job: 'backup', status: 'failed', ...at(2, 40) });
    const c = h.appliance.addRun({ job: 'backup', status: 'succeeded', ...at(1, 20) });
    const text = await get('/jobs/backup');
    const svg = text.slice(text.indexOf('<svg class="chart"'), text.indexOf('</svg>'));
    const bars = [...svg.matchAll(/<a href="\/runs\/([^"]+)"><rect class="b-(\w+)" x="[\d.]+" y="\d+" width="7" height="(\d+)">/g)].map((m) => [m[1], m[2], Number(m[3])]);
    // Oldest on the left; the longest run (40 s) fills the chart (58 units), the others in proportion.
    expect(bars).toEqual([[a.id, 'succeeded', Math.round((10 / 40) * 58)], [b.id, 'failed', 58], [c.id, 'succeeded', Math.round((20 / 40) * 58)]]);
    expect(svg).toContain('aria-label="Durations of the last 3 runs: 2 succeeded, 1 failed"');
    expect(text).toContain('longest 40s');
  });

  it('shows at most the last 50 runs', async () => {
    for (let i = 60; i > 0; i--) h.appliance.addRun({ job: 'backup', status: 'succeeded', ...at(i / 10) });
    const text = await get('/jobs/backup');
    const svg = text.slice(text.indexOf('<svg class="chart"'), text.indexOf('</svg>'));
    expect(svg.match(/<rect /g)).toHaveLength(50);
  });

  it('gives the success rate over 7 and 30 days (cancelled and unfinished runs not counted)', async () => {
    h.appliance.addRun({ job: 'backup', status: 'succeeded', ...at(40) });
    h.appliance.addRun({ job: 'backup', status: 'failed', ...at(20) });
    h.appliance.addRun({ job: 'backup', status: 'failed', ...at(5) });
    h.appliance.addRun({ job: 'backup', status: 'cancelled', ...at(4) });
    h.appliance.addRun({ job: 'backup', status: 'succeeded', ...at(3) });
    h.appliance.addRun({ job: 'backup', status: 'succeeded', ...at(1) });
    h.appliance.addRun({ job: 'backup', status: 'running', createdAt: at(0).createdAt, startedAt: at(0).startedAt });
    const text = await get('/jobs/backup');
    expect(text).toContain('<dt>Succeeded, 7 days</dt><dd><strong class="bad">67%</strong> <span class="muted small">2 of 3</span></dd>');
    expect(text).toContain('<dt>Succeeded, 30 days</dt><dd><strong class="bad">50%</strong> <span class="muted small">2 of 4</span></dd>');
  });

  it('the overview shows a strip of the last runs per job, oldest first', async () => {
    h.appliance.addJob({ name: 'quiet', tasks: [] });
    h.appliance.addRun({ job: 'backup', status: 'failed', ...at(2) });
    h.appliance.addRun({ job: 'backup', status: 'succeeded', ...at(1) });
    for (let i = 25; i > 0; i--) h.appliance.addRun({ job: 'quiet', status: 'succeeded', ...at(i) });
    const text = await get('/');
    const strips = text.slice(text.indexOf('<ul class="list strips">'), text.indexOf('</ul>', text.indexOf('<ul class="list strips">')));
    const backup = strips.slice(strips.indexOf('href="/jobs/backup"'), strips.indexOf('href="/jobs/quiet"'));
    expect([...backup.matchAll(/<rect class="b-(\w+)"/g)].map((m) => m[1])).toEqual(['failed', 'succeeded']);
    const quiet = strips.slice(strips.indexOf('href="/jobs/quiet"'));
    expect(quiet.match(/<rect /g)).toHaveLength(20);
  });

  it('the overview draws strips for the 50 jobs that ran last, not for every one of many jobs', async () => {
    // job-0 ran longest ago, job-59 last; the harness's own jobs ran before all of them or never.
    for (let i = 0; i < 60; i++) {
      const run = h.appliance.addRun({ job: `job-${i}`, status: 'succeeded', ...at(0.5 - i / 1000) });
      h.appliance.addJob({ name: `job-${i}`, tasks: [], lastRun: { id: run.id, status: run.status, trigger: run.trigger, createdAt: run.createdAt } });
    }
    const total = (await h.appliance.listJobs()).length;
    const text = await get('/');
    const strips = text.slice(text.indexOf('<ul class="list strips">'), text.indexOf('</ul>', text.indexOf('<ul class="list strips">')));
    const named = [...strips.matchAll(/<li><a href="\/jobs\/([\w-]+)"/g)].map((m) => m[1]);
    expect(named).toHaveLength(50);
    expect(new Set(named)).toEqual(new Set(Array.from({ length: 50 }, (_, i) => `job-${i + 10}`)));
    expect(text).toContain(`The 50 jobs that ran last; all ${total} are on <a href="/jobs">Jobs</a>.`);
  });

  it('with many jobs of which few or none have run, the overview says so instead of "the 0 jobs that ran last"', async () => {
    for (let i = 0; i < 60; i++) h.appliance.addJob({ name: `never-${i}`, tasks: [] });
    const total = (await h.appliance.listJobs()).length;
    const ran = (await h.appliance.listJobs()).filter((job) => job.lastRun).length;
    const text = await get('/');
    expect(text).not.toMatch(/The \d+ jobs that ran last/);
    expect(text).toContain(ran === 0 ? `None of the ${total} jobs has run yet` : `The ${ran === 1 ? 'one job' : `${ran} jobs`} that ran so far; all ${total} are on <a href="/jobs">Jobs</a>.`);
  });
});

describe('page budget', () => {
  it('the first load of the overview and of a job page with a full chart stays under 60 KB gzip', async () => {
    const { gzipSync } = await import('node:zlib');
    for (let i = 0; i < 60; i++) {
      const created = Date.parse('2026-05-01T09:00:00Z') - i * 3_600_000;
      h.appliance.addRun({ job: 'backup', status: i % 7 === 0 ? 'failed' : 'succeeded', createdAt: new Date(created).toISOString(), startedAt: new Date(created).toISOString(), finishedAt: new Date(created + (i % 13) * 1000).toISOString() });
    }
    for (const path of ['/', '/jobs/backup']) {
      const text = await get(path);
      let total = gzipSync(text).length;
      const assets = new Set([...text.matchAll(/(?:href|src)="(\/(?:assets\/[^"]+|manifest\.webmanifest[^"]*))"/g)].map((m) => m[1]!.replace(/&amp;/g, '&')));
      const manifest = [...assets].find((a) => a.startsWith('/manifest'));
      if (manifest) for (const icon of JSON.parse(await (await h.app.request(manifest)).text()).icons as Array<{ src: string }>) assets.add(icon.src);
      for (const asset of assets) total += gzipSync(Buffer.from(await (await h.app.request(asset, { headers: { Cookie: cookie } })).arrayBuffer())).length;
      expect(total, path).toBeLessThan(60 * 1024);
    }
  });
});
