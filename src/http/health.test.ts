import { beforeEach, describe, expect, it } from 'vitest';
import { FakeClock } from '../core/clock.js';
import { silentLogger } from '../core/logger.js';
import { createApiApp } from './app.js';
import { createTokenCheck } from './token.js';
import { FakeAppliance } from './testing/fake-appliance.js';

/** Issue 9: the open health route says a config is broken or a disk full, never what the file says. */

const TOKEN = 'test-token-0123456789';
const ERRORS = ['/etc/hearth/hearth.yaml:12:10: jobs.backup.env.DB_PASSWORD: unknown key "hunter2"', '/etc/hearth/hearth.yaml:20:3: jobs.x: bad'];

let appliance: FakeAppliance;
let app: ReturnType<typeof createApiApp>;

async function json(response: Response): Promise<any> {
  return response.json();
}

beforeEach(() => {
  appliance = new FakeAppliance();
  appliance.addJob({ name: 'backup' });
  appliance.healthOverrides = { config: { errors: ERRORS, failedAt: '2026-01-01T00:02:00.000Z' } };
  app = createApiApp({ appliance, auth: createTokenCheck([TOKEN]), logger: silentLogger, clock: new FakeClock(), session: (c) => c.req.header('cookie') === 'session=ok' });
});

describe('GET /api/health', () => {
  it('tells an anonymous caller that the config failed and how many errors, but not the errors or the file', async () => {
    const response = await app.request('/api/health');
    expect(response.status).toBe(200);
    const body = await response.text();
    expect(JSON.parse(body).config).toEqual({ ok: false, errors: 2, jobs: 1, loadedAt: '2026-01-01T00:00:00.000Z', failedAt: '2026-01-01T00:02:00.000Z' });
    expect(body).not.toContain('hunter2');
    expect(body).not.toContain('/etc/hearth');
  });

  it('treats a wrong token like no token: the open view, no 401', async () => {
    const response = await app.request('/api/health', { headers: { Authorization: 'Bearer wrong-token-000000' } });
    expect(response.status).toBe(200);
    expect((await json(response)).config.errors).toBe(2);
  });

  it('gives the details with a valid token or a session (what the CLI and the dashboard read)', async () => {
    for (const headers of [{ Authorization: `Bearer ${TOKEN}` }, { cookie: 'session=ok' }] as Array<Record<string, string>>) {
      const response = await app.request('/api/health', { headers });
      expect((await json(response)).config).toEqual({
        file: '/etc/hearth/hearth.yaml',
        loadedAt: '2026-01-01T00:00:00.000Z',
        jobs: 1,
        errors: ERRORS,
        failedAt: '2026-01-01T00:02:00.000Z',
      });
    }
  });

  it('says ok with 0 errors when the config is fine', async () => {
    appliance.healthOverrides = {};
    expect((await json(await app.request('/api/health'))).config).toMatchObject({ ok: true, errors: 0 });
  });

  it('reports a full disk to anyone', async () => {
    appliance.healthOverrides = { disk: { freeBytes: 1024, totalBytes: 8 * 1024 ** 3, full: true, message: 'The data directory\'s disk is full' } };
    expect((await json(await app.request('/api/health'))).disk).toEqual({ freeBytes: 1024, totalBytes: 8 * 1024 ** 3, full: true, message: 'The data directory\'s disk is full' });
  });
});
