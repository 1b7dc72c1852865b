import { describe, expect, it } from 'vitest';
import { loadText } from '../config/testing.js';
import { testEngine } from './testing.js';

describe('the job view says what a job does, without its secrets', () => {
  it('gives each task its command or action with `with:`, timeout, retries and env names; ${VAR} values as written', async () => {
    const config = loadText(
      `jobs:
  upload:
    timeout: 30m
    retries: { max: 2, delay: 30s, backoff: exponential, maxDelay: 10m }
    env: { NAS_USER: pi }
    tasks:
      pack:
        run: 'tar czf out.tgz "\${NOTES_DIR}"'
        timeout: 5m
        env: { NAS_PASSWORD: "\${NAS_PASSWORD}" }
      send:
        depends_on: [pack]
        action: http
        with: { url: "\${NAS_URL}/upload", method: POST, headers: { Authorization: "Bearer \${NAS_TOKEN}" } }
`,
      { env: { NOTES_DIR: '/home/pi/private-notes', NAS_PASSWORD: 'pw-4242', NAS_URL: 'https://nas.local:8443', NAS_TOKEN: 'tok-777' } },
    );
    const t = await testEngine({ jobs: Object.values(config.jobs), start: false });
    const view = t.engine.getJob('upload')!;
    expect(view.settings).toEqual({ timeoutMs: 30 * 60_000, retries: { max: 2, delayMs: 30_000, backoff: 'exponential', maxDelayMs: 10 * 60_000 }, env: ['NAS_USER'] });
    expect(view.tasks).toEqual([
      { name: 'pack', dependsOn: [], kind: 'shell', run: 'tar czf out.tgz "${NOTES_DIR}"', timeoutMs: 5 * 60_000, env: ['NAS_PASSWORD'], continueOnError: false },
      {
        name: 'send', dependsOn: ['pack'], kind: 'action', action: 'http', env: [], continueOnError: false,
        with: { url: '${NAS_URL}/upload', method: 'POST', headers: { Authorization: 'Bearer ${NAS_TOKEN}' } },
      },
    ]);
    const text = JSON.stringify(t.engine.listJobs());
    for (const secret of ['private-notes', 'pw-4242', 'nas.local:8443', 'tok-777']) expect(text).not.toContain(secret);
  });
});



describe('listJobNames', () => {
  it('lists every job name and description in catalog order, like listJobs', async () => {
    const config = loadText(`jobs:
  b-second: { description: Back up the photos, run: "true" }
  a-first: { run: "true" }
`);
    const t = await testEngine({ jobs: Object.values(config.jobs), start: false });
    expect(t.engine.listJobNames()).toEqual([{ name: 'b-second', description: 'Back up the photos' }, { name: 'a-first' }]);
    expect(t.engine.listJobNames().map((job) => job.name)).toEqual(t.engine.listJobs().map((job) => job.name));
  });
});
