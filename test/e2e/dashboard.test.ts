import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { baseConfig, freePort, tempDir, type HearthProcess } from '../helpers/hearth-process.js';
import { phoneContext, startDashboard } from './browser.js';

/**
 * The dashboard end to end: the real `hearth` binary, real headless
 * chromium. UPDATE_SCREENSHOTS=1 also writes docs/dashboard-phone.png,
 * docs/dashboard-job-phone.png, docs/dashboard-run-phone.png and
 * docs/dashboard-desktop.png (otherwise they go to a temp directory).
 */

const PASSWORD = 'correct horse battery';
const JOBS = `  hello:
    description: Say hello, slowly
    schedule: { cron: "0 3 * * *", catchup: latest }
    tasks:
      greet:
        run: for i in 1 2 3 4; do echo "hello $i"; sleep 0.4; done
      report:
        depends_on: [greet]
        run: echo "all greeted"
  long:
    description: Ticks for a minute
    run: for i in $(seq 1 60); do echo "tick $i"; sleep 0.5; done
  check-nas:
    description: Is the NAS awake?
    run: echo "nas.local did not answer" >&2; exit 1
  nightly-backup:
    description: Back up the notes folder
    schedule: { every: 6h, catchup: none }
    run: echo backed up
`;

const ZONE = 'Europe/Berlin';
let hearth: HearthProcess;
let configFile: string;
let config: string;
let browser: Browser;
let shots: string;

beforeAll(async () => {
  const port = await freePort();
  const dir = tempDir('hearth-e2e-');
  // A zone other than the machine's (UTC): every time on the pages, log lines too, must be in this one.
  config = baseConfig(port, JOBS).replace('timezone: UTC', `timezone: ${ZONE}`);
  configFile = join(dir, 'hearth.yaml');
  ({ hearth, browser, shots } = await startDashboard({ dir, port, config, password: PASSWORD }));
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await hearth?.stop();
});

async function logIn(context: BrowserContext): Promise<Page> {
  const page = await context.newPage();
  await page.goto(hearth.url + '/jobs');
  await expect.poll(() => new URL(page.url()).pathname).toBe('/login');
  await page.fill('#password', PASSWORD);
  await page.click('button[type=submit]');
  await page.waitForURL(hearth.url + '/jobs');
  return page;
}

describe('dashboard in a browser', () => {
  it('logs in, shows the jobs, runs one with a live log, cancels a long run and logs out', async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 860 } });
    const page = await context.newPage();

    // A wrong password is refused; the right one lands on the page asked for.
    await page.goto(hearth.url + '/jobs');
    await page.waitForURL(/\/login\?next=%2Fjobs$/);
    await page.fill('#password', 'not the password');
    await page.click('button[type=submit]');
    await expect.poll(() => page.textContent('[role=alert]')).toContain('Wrong password');
    await page.fill('#password', PASSWORD);
    await page.click('button[type=submit]');
    await page.waitForURL(hearth.url + '/jobs');

    // The jobs, with their schedules in words.
    const cards = page.locator('[data-job]');
    await expect.poll(() => cards.count()).toBe(4);
    expect(await page.textContent('[data-job=hello]')).toContain('every day at 03:00');
    expect(await page.textContent('[data-job=long]')).toContain('manual only');

    // Run now: the run page streams the log while the run is still going.
    await page.click('[data-job=hello] button:has-text("Run now")');
    await page.waitForURL(/\/runs\/r_[0-9a-z]+$/);
    await page.evaluate(() => ((window as unknown as { sameDocument: boolean }).sameDocument = true));
    await expect.poll(() => page.textContent('#log'), { timeout: 10_000 }).toContain('hello 1');
    const early = (await page.textContent('#log')) ?? '';
    expect(early).not.toContain('all greeted');
    await expect.poll(() => page.textContent('#log'), { timeout: 10_000 }).toContain('all greeted');
    // The status changed to succeeded without a reload.
    await expect.poll(() => page.textContent('[data-live-part] h1 + .badge'), { timeout: 10_000 }).toContain('succeeded');
    expect(await page.evaluate(() => (window as unknown as { sameDocument?: boolean }).sameDocument)).toBe(true);
    expect(await page.textContent('table.tasks')).toMatch(/greet[\s\S]*succeeded[\s\S]*report[\s\S]*succeeded/);

    // A long run: watch it tick live, then cancel it.
    await page.goto(hearth.url + '/jobs');
    await page.click('[data-job=long] button:has-text("Run now")');
    await page.waitForURL(/\/runs\/r_/);
    await expect.poll(() => page.textContent('#log'), { timeout: 10_000 }).toContain('tick 2');
    await expect.poll(() => page.textContent('#log'), { timeout: 10_000 }).toContain('tick 12');
    await page.screenshot({ path: join(shots, 'dashboard-desktop.png') });
    await page.click('button:has-text("Cancel")');
    await expect.poll(() => page.textContent('[data-live-part] h1 + .badge'), { timeout: 15_000 }).toContain('cancelled');
    const runId = new URL(page.url()).pathname.split('/').pop()!;
    const run = await hearth.api<{ status: string }>(`/api/runs/${runId}`);
    expect(run.body.status).toBe('cancelled');

    // Log out: the session is gone, pages send you back to the login.
    await page.goto(hearth.url + '/settings');
    await page.click('button:has-text("Log out")');
    await page.waitForURL(hearth.url + '/login');
    await page.goto(hearth.url + '/');
    await page.waitForURL(/\/login/);
    await context.close();
  }, 60_000);

  it('fits a 360×740 phone: no sideways scrolling, 44 px tap targets, two taps to run', async () => {
    const context = await phoneContext(browser);
    const page = await logIn(context);
    for (const path of ['/', '/jobs', '/jobs/hello', '/runs', '/system', '/settings']) {
      await page.goto(hearth.url + path);
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      expect(overflow, `${path} scrolls sideways`).toBeLessThanOrEqual(0);
      // A phone zooms out to fit a page that is too wide, which widens innerWidth: it must stay the screen's.
      expect(await page.evaluate(() => window.innerWidth), `${path} is zoomed out to fit something too wide`).toBe(360);
      const small = await page.evaluate(() =>
        [...document.querySelectorAll<HTMLElement>('button, .btn, .tabs a, .chips a')]
          .filter((el) => el.offsetParent !== null)
          .map((el) => ({ text: el.textContent?.trim(), h: el.getBoundingClientRect().height, w: el.getBoundingClientRect().width }))
          .filter((box) => box.h < 44 || box.w < 44),
      );
      expect(small, `${path} has small tap targets`).toEqual([]);
    }

    // Run now asks for a second tap on a phone.
    await page.goto(hearth.url + '/jobs');
    const button = page.locator('[data-job=nightly-backup] button:has-text("Run now")');
    await button.tap();
    await expect.poll(() => button.textContent()).toContain('Tap again');
    expect(new URL(page.url()).pathname).toBe('/jobs');
    await button.tap();
    await page.waitForURL(/\/runs\/r_/);
    await expect.poll(() => page.textContent('#log'), { timeout: 10_000 }).toContain('backed up');

    // Something failed recently, as on a real appliance.
    const failed = await hearth.api<{ runId: string }>('/api/jobs/check-nas/run', { method: 'POST' });
    await hearth.waitFor('check-nas to fail', async () => (await hearth.api<{ status: string }>(`/api/runs/${failed.body.runId}`)).body.status === 'failed');
    await page.goto(hearth.url + '/');
    await expect.poll(() => page.textContent('main')).toContain('check-nas');
    await context.close();
  }, 60_000);

  it('on a phone: the job page says what the job does and charts its runs; the overview strips; times in one zone', async () => {
    const context = await phoneContext(browser);
    const page = await logIn(context);
    // Some history: hello succeeds twice, check-nas fails once.
    for (const job of ['hello', 'check-nas', 'hello']) {
      const started = await hearth.api<{ runId: string }>(`/api/jobs/${job}/run`, { method: 'POST' });
      await hearth.waitFor(`${job} to finish`, async () => ['succeeded', 'failed'].includes((await hearth.api<{ status: string }>(`/api/runs/${started.body.runId}`)).body.status), 15_000);
    }

    await page.goto(hearth.url + '/jobs/hello');
    expect(await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth), 'the job page scrolls sideways').toBeLessThanOrEqual(0);
    expect(await page.evaluate(() => window.innerWidth), 'the job page is zoomed out').toBe(360);
    // What the job does: each task's command, in order.
    expect(await page.textContent('[data-task=greet] pre.cmd')).toContain('for i in 1 2 3 4; do echo "hello $i"');
    expect(await page.textContent('[data-task=report]')).toContain('after greet');
    // The chart: drawn across the card, one bar per run, coloured by status by the stylesheet.
    const chart = await page.evaluate(() => {
      const svg = document.querySelector('svg.chart')!;
      const bars = [...svg.querySelectorAll('rect')];
      return {
        width: svg.getBoundingClientRect().width,
        bars: bars.map((bar) => ({ h: bar.getBoundingClientRect().height, fill: getComputedStyle(bar).fill, status: bar.getAttribute('class') })),
      };
    });
    expect(chart.width).toBeGreaterThan(280);
    expect(chart.bars.length).toBeGreaterThanOrEqual(2);
    for (const bar of chart.bars) {
      expect(bar.h, 'every bar is visible').toBeGreaterThan(0);
      expect(bar.fill, `${bar.status} has its colour`).not.toMatch(/^(none|rgb\(0, 0, 0\))$/);
    }
    expect(await page.textContent('.rates')).toMatch(/Succeeded, 7 days\s*100%/);
    await page.screenshot({ path: join(shots, 'dashboard-job-phone.png') });
    // The whole page, to look at (not kept in docs/).
    await page.screenshot({ path: join(tmpdir(), 'hearth-dashboard-job-full.png'), fullPage: true });

    // The overview: a strip per job, coloured; one zone named once.
    await page.goto(hearth.url + '/');
    const strips = await page.evaluate(() =>
      [...document.querySelectorAll('.strips li')].map((li) => ({ job: li.querySelector('a')!.textContent, bars: [...li.querySelectorAll('rect')].map((r) => getComputedStyle(r).fill) })),
    );
    expect(strips.find((s) => s.job === 'check-nas')!.bars.length).toBeGreaterThanOrEqual(1);
    expect(new Set(strips.find((s) => s.job === 'hello')!.bars).size).toBeGreaterThanOrEqual(1);
    expect(await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth)).toBeLessThanOrEqual(0);
    expect(await page.evaluate(() => window.innerWidth), 'the overview is zoomed out').toBe(360);
    const bodyText = (await page.textContent("body"))!;
    expect(bodyText.match(new RegExp(`Times in ${ZONE}`, "g")), bodyText.slice(-400)).toHaveLength(1);
    // A tap on a time shows the exact one (a phone has no hover).
    const time = page.locator('main time[data-rel]').first();
    const exact = (await time.getAttribute('data-abs'))!;
    expect(await time.textContent()).not.toBe(exact);
    await time.tap();
    await expect.poll(() => time.textContent()).toBe(exact);
    await time.tap();
    await expect.poll(() => time.textContent()).not.toBe(exact);
    await page.screenshot({ path: join(shots, 'dashboard-phone.png') });

    // A finished run: its log lines are in the page's zone, no Retry on success, no "Follow the log".
    const runs = await hearth.api<{ runs: Array<{ id: string; status: string }> }>('/api/runs?job=hello&status=succeeded&limit=1');
    const runId = runs.body.runs[0]!.id;
    await page.goto(hearth.url + `/runs/${runId}`);
    await expect.poll(() => page.textContent('#log'), { timeout: 10_000 }).toContain('all greeted');
    const raw = await (await fetch(hearth.url + `/api/runs/${runId}/logs`, { headers: { Authorization: `Bearer ${hearth.token()}` } })).text();
    const stamp = raw.split('\n')[0]!.split(' ')[0]!;
    const expected = new Intl.DateTimeFormat('en-GB', { timeZone: ZONE, hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23' }).format(new Date(stamp));
    expect((await page.textContent('#log .t'))!.trim()).toBe(expected);
    expect(await page.locator('button:has-text("Retry")').count()).toBe(0);
    await page.evaluate(() => document.getElementById('log')!.scrollTo(0, 0));
    await page.locator('#log').dispatchEvent('scroll');
    expect(await page.locator('#follow').isVisible()).toBe(false);
    await page.screenshot({ path: join(shots, 'dashboard-run-phone.png') });

    // Paused: the two bars are drawn (the pause emoji was an empty box in Debian's fonts).
    await hearth.api('/api/jobs/hello/pause', { method: 'POST' });
    await page.goto(hearth.url + '/jobs/hello');
    const bars = await page.locator('.badge.s-paused .bars').first().boundingBox();
    expect(bars!.width).toBeGreaterThanOrEqual(6);
    expect(bars!.height).toBeGreaterThanOrEqual(6);
    await hearth.api('/api/jobs/hello/resume', { method: 'POST' });
    await context.close();
  }, 90_000);

  it('a failed reload: the config errors fit a 390 px phone and the banner links to them', async () => {
    type Health = { config: { errors?: string[] } };
    // An unbroken 120-character value, quoted back in the error message.
    writeFileSync(configFile, config.replace('cron: "0 3 * * *"', `cron: "${'x'.repeat(120)}"`));
    await hearth.waitFor('the reload to fail', async () => ((await hearth.api<Health>('/api/health')).body.config.errors ? true : undefined), 15_000);
    const context = await phoneContext(browser, { width: 390, height: 844 });
    const page = await logIn(context);
    await page.goto(hearth.url + '/');
    expect(await page.textContent('#config-errors')).toContain('xxxxxxxxxx');
    expect(await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth), 'the error list scrolls sideways').toBeLessThanOrEqual(0);
    // A phone zooms out to fit overflowing text, so look at the text itself: no line wider than its box, nor than the screen.
    expect(await page.evaluate(() => window.innerWidth)).toBe(390);
    const lines = await page.evaluate(() => [...document.querySelectorAll('#config-errors li')].map((li) => ({ scroll: li.scrollWidth, client: li.clientWidth, right: li.getBoundingClientRect().right })));
    for (const line of lines) {
      expect(line.scroll, 'an error line overflows its box').toBeLessThanOrEqual(line.client);
      expect(line.right).toBeLessThanOrEqual(390);
    }
    expect(await page.getAttribute('.banner.error a', 'href')).toBe('#config-errors');
    await page.goto(hearth.url + '/jobs');
    expect(await page.getAttribute('.banner.error a', 'href')).toBe('/#config-errors');
    await context.close();
    writeFileSync(configFile, config);
    await hearth.waitFor('the reload to succeed', async () => ((await hearth.api<Health>('/api/health')).body.config.errors ? undefined : true), 15_000);
  }, 60_000);

  it('serves a web app manifest with PNG icons for the home screen', async () => {
    const response = await fetch(hearth.url + '/manifest.webmanifest');
    expect(response.status).toBe(200);
    const manifest = (await response.json()) as { display: string; icons: Array<{ src: string; sizes: string }> };
    expect(manifest.display).toBe('standalone');
    for (const icon of manifest.icons) {
      const image = await fetch(hearth.url + icon.src);
      expect(image.status, icon.src).toBe(200);
    }
    expect(manifest.icons.map((icon) => icon.sizes)).toEqual(expect.arrayContaining(['192x192', '512x512']));
  });
});
