import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import type { AttentionView } from '../../src/engine/attention.js';
import { logInAt, phoneContext, startDashboard } from './browser.js';
import { baseConfig, freePort, tempDir, type HearthProcess } from '../helpers/hearth-process.js';

/**
 * The overview on a phone says what needs attention: two failing jobs with
 * their reasons, a question, a stuck run. UPDATE_SCREENSHOTS=1 writes
 * docs/attention-phone.png.
 */

const PASSWORD = 'correct horse battery';
let hearth: HearthProcess;
let browser: Browser;
let shots: string;

beforeAll(async () => {
  const port = await freePort();
  const dir = tempDir('hearth-e2e-attention-');
  writeFileSync(join(dir, 'ask.mjs'), `
export default async function ({ step }) {
  return (await step.waitForInput('confirm', { prompt: 'Delete 3 old files from Downloads?', choices: ['Delete', 'Keep'] })).value;
}
`);
  const jobs = `  backup:
    timeout: 1m
    tasks:
      archive: { run: echo archived }
      upload:
        depends_on: [archive]
        run: 'echo "connecting to nas.local"; echo "curl: (6) Could not resolve host: nas.local" >&2; exit 6'
  nas-check:
    timeout: 1m
    run: 'echo "checking /mnt/nas"; echo "mount point /mnt/nas is not mounted"; exit 1'
  hang:
    stuckAfter: 2s
    timeout: 2m
    run: sleep 90
  tidy:
    action: module
    with: { path: ./ask.mjs }
`;
  ({ hearth, browser, shots } = await startDashboard({ dir, port, config: baseConfig(port, jobs), password: PASSWORD }));
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await hearth?.stop();
});

describe('the overview in a browser', () => {
  it('says what needs attention at phone size, each failing job with its reason', async () => {
    for (const job of ['backup', 'nas-check', 'hang', 'tidy']) await hearth.api(`/api/jobs/${job}/run`, { method: 'POST' });
    const summary = '2 jobs failing: backup, nas-check · 1 question waiting · 1 run stuck';
    await hearth.waitFor('the attention summary', async () => ((await hearth.api<AttentionView>('/api/attention')).body.summary === summary ? true : undefined));

    const context = await phoneContext(browser);
    const page = await logInAt(context, hearth.url, '/', PASSWORD);
    expect((await page.textContent('#status-line'))!.trim()).toBe(`● ${summary}`);
    const reasons = await page.locator('ul.attention li.failing').allTextContents();
    expect(reasons).toEqual([
      'backup failingupload: exit code 6 · curl: (6) Could not resolve host: nas.local',
      'nas-check failingmain: exit code 1 · mount point /mnt/nas is not mounted',
    ]);
    // Nothing is wider than the phone.
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(360);
    await page.screenshot({ path: join(shots, 'attention-phone.png'), fullPage: true });
    await context.close();
  }, 60_000);
});
