/**
 * The web app is a bundle of its own, dist/hearth-web.cjs (scripts/bundle.mjs), compiled by bin/hearth.js from its
 * own V8 code cache with the first HTTP request, so the idle appliance's main bundle (whose source V8 keeps alive)
 * does not hold it. One instance of each module: the web bundle imports what the main bundle has (the engine's
 * error classes for instanceof, stores, clock) from it instead of carrying copies.
 */
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ROOT, baseConfig, freePort, startHearth, tempDir, type HearthProcess } from '../helpers/hearth-process.js';

let running: HearthProcess | undefined;
afterEach(async () => {
  await running?.stop('SIGKILL');
  running = undefined;
});

/** The files a bundle was built from (from its source map): `dist/...` or `node_modules/...`. */
function sources(bundle: string): string[] {
  const map = JSON.parse(readFileSync(join(ROOT, 'dist', `${bundle}.map`), 'utf8')) as { sources: string[] };
  return map.sources.map((source) => (source.includes('node_modules/') ? source.replace(/^.*node_modules\//, 'node_modules/') : `dist/${source}`));
}

// CommonJS and --require, like bin/hearth.js. On SIGUSR2: how bin/hearth.js compiled the web bundle (absent: not yet).
const PROBE = `const { writeFileSync } = require('node:fs');
process.on('SIGUSR2', () => writeFileSync(process.env.HEARTH_TEST_WEB_FILE, JSON.stringify({ web: globalThis[Symbol.for('hearth.webCodeCache')] ?? null })));
`;

async function webState(hearth: HearthProcess, file: string): Promise<string | null> {
  rmSync(file, { force: true });
  hearth.child.kill('SIGUSR2');
  return hearth.waitFor('the probe', () => (existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as { web: string | null }).web : undefined), 10_000);
}

describe('the web bundle', () => {
  it('holds the web app, and no file that is also in the main bundle', () => {
    const main = sources('hearth.cjs');
    const web = sources('hearth-web.cjs');
    const webOnly = ['dist/http/dashboard/http-app.js', 'dist/http/dashboard/assets.js', 'dist/http/dashboard/pages.js', 'dist/http/app.js', 'node_modules/@hono/node-server/dist/index.mjs'];
    for (const file of webOnly) {
      expect(web).toContain(file);
      expect(main).not.toContain(file);
    }
    expect(main.some((file) => file.startsWith('node_modules/hono/'))).toBe(false);
    // One instance of each module: nothing is in both.
    expect(web.filter((file) => main.includes(file))).toEqual([]);
    // ...because what both need comes from the main bundle (core/errors.js: the classes src/http/errors.ts tests).
    const text = readFileSync(join(ROOT, 'dist/hearth-web.cjs'), 'latin1');
    expect(text).toContain('require("hearth-shared:core/errors.js")');
    expect(/[^\x00-\x7f]/.exec(text)?.index).toBeUndefined();
    expect(text).not.toMatch(/(?<![\w$.])import\(/);
  });

  it('is not loaded by an idle appliance; the first request loads it, from its code cache after a restart', async () => {
    const dir = tempDir();
    const port = await freePort();
    const probe = join(dir, 'probe.cjs');
    writeFileSync(probe, PROBE);
    const stateFile = join(dir, 'web.json');
    const config = baseConfig(port, `
  nightly: { run: "true", schedule: { cron: "0 3 * * *" } }
`);
    const env = { NODE_OPTIONS: `--require ${probe}`, HEARTH_TEST_WEB_FILE: stateFile };
    let hearth = (running = await startHearth({ dir, port, config, env, readyWhen: 'log' }));
    expect(await webState(hearth, stateFile)).toBeNull();

    // An error the engine throws (its NotFoundError: the route hands the name straight to triggerJob) is recognised
    // by the web app's error mapping (instanceof): with a second copy of core/errors.js in the web bundle it is a 500.
    const missing = await hearth.api<{ error: { code: string } }>('/api/jobs/no-such-job/run', { method: 'POST' });
    expect(missing.status).toBe(404);
    expect(missing.body.error.code).toBe('not_found');
    expect(await webState(hearth, stateFile)).toBe('missing');
    await hearth.waitFor('the web code cache', () => existsSync(join(dir, 'code-cache', 'code-cache-web.bin')) || undefined, 15_000);
    expect(hearth.output()).toMatch(/"msg":"web app loaded".*"codeCache":"missing"/);
    await hearth.stop();

    hearth = running = await startHearth({ dir, port, config, env, readyWhen: 'log' });
    expect(await webState(hearth, stateFile)).toBeNull();
    expect((await hearth.api('/api/health')).status).toBe(200);
    expect(await webState(hearth, stateFile)).toBe('used');
    expect((await hearth.api('/api/jobs/no-such-job/run', { method: 'POST' })).status).toBe(404);
  }, 60_000);
});
