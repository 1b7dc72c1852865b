/**
 * Debian's chromium driven by playwright-core: no browser download, ever.
 * .ci/run installs the `chromium` package.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { ROOT, startHearth, type HearthProcess } from '../helpers/hearth-process.js';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install chromium (.ci/run does this)`);
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

/** A phone held upright: 360×740 unless a size is given, touch, no zoom. */
export function phoneContext(browser: Browser, size: { width: number; height: number } = { width: 360, height: 740 }): Promise<BrowserContext> {
  return browser.newContext({ viewport: size, isMobile: true, hasTouch: true, deviceScaleFactor: 1 });
}

/** Opens `path`, answers the login page it is sent to, and waits until it is back on `path`. */
export async function logInAt(context: BrowserContext, baseUrl: string, path: string, password: string): Promise<Page> {
  const page = await context.newPage();
  await page.goto(baseUrl + path);
  await page.fill('#password', password);
  await page.click('button[type=submit]');
  await page.waitForURL(baseUrl + path);
  return page;
}

/**
 * Taps `selector` (a form's submit button) and waits until the page it leads to has loaded. `waitForURL` alone is
 * not enough when the form posts back to the page it is on: the URL already matches before the post is even sent,
 * and a `page.reload()` right after raced the form's navigation ("Not attached to an active page", CI under load).
 */
export async function tapAndLoad(page: Page, selector: string): Promise<void> {
  await Promise.all([page.waitForEvent('load'), page.tap(selector)]);
}

/** Where screenshots go: docs/ with UPDATE_SCREENSHOTS=1 (they are the README's pictures), else `<dir>/shots`. */
export function screenshotDir(dir: string): string {
  const shots = process.env.UPDATE_SCREENSHOTS ? join(ROOT, 'docs') : join(dir, 'shots');
  mkdirSync(shots, { recursive: true });
  return shots;
}

/** What every dashboard test starts with: hearth with the dashboard password set, Debian's chromium, the screenshot folder. */
export async function startDashboard(options: { dir: string; port: number; config: string; password: string }): Promise<{ hearth: HearthProcess; browser: Browser; shots: string }> {
  const hearth = await startHearth({ dir: options.dir, port: options.port, config: options.config, env: { HEARTH_PASSWORD: options.password } });
  try {
    return { hearth, browser: await launchChromium(), shots: screenshotDir(options.dir) };
  } catch (error) {
    await hearth.stop();
    throw error;
  }
}
