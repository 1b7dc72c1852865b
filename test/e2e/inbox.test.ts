import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import type { Run } from '../../src/runs/model.js';
import type { InboxItem } from '../../src/steps/inbox.js';
import { logInAt, phoneContext, startDashboard, tapAndLoad } from './browser.js';
import { baseConfig, freePort, tempDir, type HearthProcess } from '../helpers/hearth-process.js';

/**
 * The Inbox on a phone: a workflow asks, the person taps an answer, the run
 * goes on. UPDATE_SCREENSHOTS=1 writes docs/inbox-phone.png.
 */

const PASSWORD = 'correct horse battery';
let hearth: HearthProcess;
let browser: Browser;
let shots: string;

beforeAll(async () => {
  const port = await freePort();
  const dir = tempDir('hearth-e2e-inbox-');
  writeFileSync(join(dir, 'ask.mjs'), `
export default async function ({ step }) {
  const files = await step.run('list', () => ['old-invoice.pdf', 'setup.exe', 'IMG_2041.heic']);
  const answer = await step.waitForInput('confirm', { prompt: 'Delete these ' + files.length + ' files from Downloads?', choices: ['Delete', 'Keep'], timeout: '1d' });
  return answer.value;
}
`);
  writeFileSync(join(dir, 'plan.mjs'), `
export default async function ({ step }) {
  const answer = await step.waitForInput('plan', {
    prompt: 'Tidy which folder, and files older than how many days?',
    schema: { type: 'object', properties: { folder: { type: 'string' }, days: { type: 'integer', minimum: 1 }, dryRun: { type: 'boolean' } }, required: ['folder', 'days'] },
  });
  const lights = await step.waitForInput('lights', { prompt: 'Turn the hall lights off?', schema: { type: 'boolean' } });
  return [answer.value, lights.value];
}
`);
  const jobs = `  tidy-downloads:
    action: module
    with: { path: ./ask.mjs }
  plan:
    action: module
    with: { path: ./plan.mjs }
`;
  ({ hearth, browser, shots } = await startDashboard({ dir, port, config: baseConfig(port, jobs), password: PASSWORD }));
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await hearth?.stop();
});

describe('inbox in a browser', () => {
  it('shows the questions with a badge and answers one with a tap on a phone', async () => {
    const tidy = (await hearth.api<{ runId: string }>('/api/jobs/tidy-downloads/run', { method: 'POST' })).body.runId;
    // One after the other, so the questions are always asked (and listed) in the same order, however loaded the machine.
    await hearth.waitFor('the first question', async () => ((await hearth.api<{ questions: InboxItem[] }>('/api/inbox')).body.questions.length === 1 ? true : undefined));
    await hearth.api('/api/jobs/plan/run', { method: 'POST' });
    await hearth.waitFor('two questions', async () => ((await hearth.api<{ questions: InboxItem[] }>('/api/inbox')).body.questions.length === 2 ? true : undefined));

    const context = await phoneContext(browser);
    const page = await logInAt(context, hearth.url, '/inbox', PASSWORD);
    expect(await page.textContent('.tabs a[href="/inbox"] .count')).toBe('2');
    expect(await page.textContent('main')).toContain('Delete these 3 files from Downloads?');
    await page.screenshot({ path: join(shots, 'inbox-phone.png'), fullPage: true });

    await tapAndLoad(page, 'button:has-text("Delete")');
    await page.waitForURL(hearth.url + '/inbox');
    const done = await hearth.waitFor('the tidy run to finish', async () => {
      const run = (await hearth.api<Run>(`/api/runs/${tidy}`)).body;
      return run.status === 'succeeded' ? run : undefined;
    });
    expect(done.tasks.main!.output).toBe('Delete');
    await page.reload();
    expect(await page.textContent('.tabs a[href="/inbox"] .count')).toBe('1');

    // The object question: a small form.
    await page.fill('input[name="field.folder"]', 'Downloads');
    await page.fill('input[name="field.days"]', '30');
    await tapAndLoad(page, 'button:has-text("Send")');
    await page.waitForURL(hearth.url + '/inbox');
    await expect.poll(async () => page.reload().then(() => page.textContent('main'))).toContain('Turn the hall lights off?');
    await context.close();
  }, 60_000);
});
