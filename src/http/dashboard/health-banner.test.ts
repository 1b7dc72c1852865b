import { beforeEach, describe, expect, it } from 'vitest';
import { CLI_TOKEN, dashboardHarness, logIn, type Harness } from './testing.js';

/** Issue 9: a full disk is on every page; config error lines are for logged-in eyes only. */

let h: Harness;
let cookie: string;

beforeEach(async () => {
  h = await dashboardHarness();
  cookie = await logIn(h);
});

describe('the disk banner', () => {
  it('shows a full disk on every page and marks the overview as needing attention', async () => {
    h.appliance.healthOverrides = {
      disk: { freeBytes: 10 * 1024 ** 2, totalBytes: 8 * 1024 ** 3, full: true, message: "The data directory's disk is full (10 MB free of 8192 MB): runs may fail and their logs may be cut. Free some space." },
    };
    for (const path of ['/', '/jobs', '/runs']) {
      const text = await (await h.app.request(path, { headers: { Cookie: cookie } })).text();
      expect(text, path).toContain('<p class="banner error" role="alert"><strong>Disk full.</strong> The data directory&#39;s disk is full (10 MB free of 8192 MB)');
    }
    expect(await (await h.app.request('/', { headers: { Cookie: cookie } })).text()).toContain('<span class="bad">● disk full</span>');
  });

  it('warns of a nearly full disk, and says nothing when there is room', async () => {
    h.appliance.healthOverrides = { disk: { freeBytes: 300 * 1024 ** 2, totalBytes: 8 * 1024 ** 3, full: false, message: "The data directory's disk is nearly full (300 MB free of 8192 MB)." } };
    expect(await (await h.app.request('/', { headers: { Cookie: cookie } })).text()).toContain('<p class="banner warn" role="alert"><strong>Disk nearly full.</strong>');
    h.appliance.healthOverrides = { disk: { freeBytes: 4 * 1024 ** 3, totalBytes: 8 * 1024 ** 3, full: false } };
    const text = await (await h.app.request('/', { headers: { Cookie: cookie } })).text();
    expect(text).not.toContain('Disk');
    expect(text).toContain('All good');
  });
});

describe('/api/health through the whole surface', () => {
  it('keeps config error lines from an anonymous caller but gives them to a session and to the CLI token', async () => {
    h.appliance.healthOverrides = { config: { errors: ['/srv/hearth.yaml:3:5: jobs.a.env.SECRET: "s3cret"'], failedAt: '2026-01-01T00:02:00.000Z' } };
    const anonymous = await (await h.app.request('/api/health')).text();
    expect(anonymous).not.toContain('s3cret');
    expect(JSON.parse(anonymous).config).toMatchObject({ ok: false, errors: 1 });
    for (const headers of [{ Cookie: cookie }, { Authorization: `Bearer ${CLI_TOKEN}` }] as Array<Record<string, string>>) {
      const body = (await (await h.app.request('/api/health', { headers })).json()) as { config: { errors: string[] } };
      expect(body.config.errors).toEqual(['/srv/hearth.yaml:3:5: jobs.a.env.SECRET: "s3cret"']);
    }
  });
});
