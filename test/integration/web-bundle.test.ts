/**
 * The web app is a bundle of its own, dist/hearth-web.cjs (scripts/bundle.mjs), compiled by bin/hearth.js from its
 * own V8 code cache with the first HTTP request, so the idle appliance's main bundle (whose source V8 keeps alive)
 * does not hold it. One instance of each module: the web bundle imports what the main bundle has (the engine's
 * error classes for instanceof, stores, clock) from it instead of carrying copies.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { BIN, ROOT, baseConfig, startHearth, type HearthProcess } from '../helpers/hearth-process.js';
import { askProbe, probeSetup } from '../helpers/preload-probe.js';

let running: HearthProcess | undefined;
let child: ChildProcess | undefined;
afterEach(async () => {
  await running?.stop('SIGKILL');
  running = undefined;
  child?.kill('SIGKILL');
  child = undefined;
});

/** The files a bundle was built from (from its source map): `dist/...` or `node_modules/...`. */
function sources(bundle: string): string[] {
  const map = JSON.parse(readFileSync(join(ROOT, 'dist', `${bundle}.map`), 'utf8')) as { sources: string[] };
  return map.sources.map((source) => (source.includes('node_modules/') ? source.replace(/^.*node_modules\//, 'node_modules/') : `dist/${source}`));
}

// CommonJS and --require, like bin/hearth.js. On SIGUSR2: how bin/hearth.js compiled the web bundle (absent: not yet).
// The same for the YAML parser's bundle (dist/hearth-yaml.cjs), which only a parse of hearth.yaml loads.
const PROBE = `const { writeFileSync } = require('node:fs');
process.on('SIGUSR2', () => writeFileSync(process.env.HEARTH_TEST_WEB_FILE, JSON.stringify({
  web: globalThis[Symbol.for('hearth.webCodeCache')] ?? null,
  yaml: globalThis[Symbol.for('hearth.yamlCodeCache')] ?? null,
})));
`;

async function lazyStates(hearth: HearthProcess, file: string): Promise<{ web: string | null; yaml: string | null }> {
  return askProbe(hearth, file, 'the probe');
}

async function webState(hearth: HearthProcess, file: string): Promise<string | null> {
  return (await lazyStates(hearth, file)).web;
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
    // The YAML parser is a bundle of its own too.
    expect(main.some((file) => file.startsWith('node_modules/yaml/'))).toBe(false);
    expect(sources('hearth-yaml.cjs')).toContain('node_modules/yaml/dist/index.js');
    expect(main.some((file) => file.startsWith('node_modules/hono/'))).toBe(false);
    // One instance of each module: nothing is in both.
    expect(web.filter((file) => main.includes(file))).toEqual([]);
    // ...because what both need comes from the main bundle (core/errors.js: the classes src/http/errors.ts tests).
    const text = readFileSync(join(ROOT, 'dist/hearth-web.cjs'), 'latin1');
    expect(text).toContain('require("hearth-shared:core/errors.js")');
    expect(/[^\x00-\x7f]/.exec(text)?.index).toBeUndefined();
    expect(text).not.toMatch(/(?<![\w$.])import\(/);
  });

  it('is not loaded by an idle appliance (nor the YAML parser after a restart); the first request loads it, from its code cache after a restart', async () => {
    const { dir, port, nodeOptions } = await probeSetup('probe.cjs', PROBE);
    const stateFile = join(dir, 'web.json');
    const config = baseConfig(port, `
  nightly: { run: "true", schedule: { cron: "0 3 * * *" } }
`);
    const env = { NODE_OPTIONS: nodeOptions, HEARTH_TEST_WEB_FILE: stateFile };
    let hearth = (running = await startHearth({ dir, port, config, env, readyWhen: 'log' }));
    // A first start parses hearth.yaml: the YAML parser's bundle is loaded (and its code cache written 3 s later).
    expect(await lazyStates(hearth, stateFile)).toEqual({ web: null, yaml: 'missing' });

    // An error the engine throws (its NotFoundError: the route hands the name straight to triggerJob) is recognised
    // by the web app's error mapping (instanceof): with a second copy of core/errors.js in the web bundle it is a 500.
    const missing = await hearth.api<{ error: { code: string } }>('/api/jobs/no-such-job/run', { method: 'POST' });
    expect(missing.status).toBe(404);
    expect(missing.body.error.code).toBe('not_found');
    expect(await webState(hearth, stateFile)).toBe('missing');
    await hearth.waitFor('the web code cache', () => existsSync(join(dir, 'code-cache', 'code-cache-web.bin')) || undefined, 15_000);
    expect(hearth.output()).toMatch(/"msg":"web app loaded".*"codeCache":"missing"/);
    await hearth.stop();

    expect(existsSync(join(dir, 'code-cache', 'code-cache-yaml.bin'))).toBe(true);

    // A restart with the same hearth.yaml reads the config tree cache: no YAML parser, no web app until a request.
    hearth = running = await startHearth({ dir, port, config, env, readyWhen: 'log' });
    expect(hearth.output()).toMatch(/"configFromCache":true/);
    expect(await lazyStates(hearth, stateFile)).toEqual({ web: null, yaml: null });
    expect((await hearth.api('/api/health')).status).toBe(200);
    expect(await webState(hearth, stateFile)).toBe('used');
    expect((await hearth.api('/api/jobs/no-such-job/run', { method: 'POST' })).status).toBe(404);
  }, 60_000);

  it("loads Node's built-in modules from the node binary's code cache despite its V8 flags: at start, and undici with the first request", async () => {
    // Which built-in modules Node compiled with and without its code cache (an internal binding: node
    // --expose-internals, which NODE_OPTIONS does not take, so this test spawns node itself).
    const { dir, port, probe } = await probeSetup('cache-usage.cjs', (dir) => `const { writeFileSync } = require('node:fs');
process.on('SIGUSR2', () => {
  const { internalBinding } = require('internal/test/binding');
  const { compiledWithCache, compiledWithoutCache } = internalBinding('builtins').getCacheUsage();
  writeFileSync(${JSON.stringify(join(dir, 'usage.json'))}, JSON.stringify({ compiledWithCache: [...compiledWithCache], compiledWithoutCache: [...compiledWithoutCache] }));
});
`);
    const usageFile = join(dir, 'usage.json');
    writeFileSync(join(dir, 'hearth.yaml'), baseConfig(port, `
  nightly: { run: "true", schedule: { cron: "0 3 * * *" } }
`));
    let output = '';
    const started = spawn(process.execPath, ['--expose-internals', '--require', probe, BIN, 'start', '--config', join(dir, 'hearth.yaml')], {
      env: { ...process.env, HEARTH_LOG_FORMAT: 'json', HEARTH_CODE_CACHE: join(dir, 'code-cache'), NOTIFY_SOCKET: '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child = started;
    started.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    started.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const until = async <T>(what: string, probeOnce: () => T | undefined): Promise<T> => {
      for (const deadline = Date.now() + 20_000; ; ) {
        const value = probeOnce();
        if (value !== undefined) return value;
        if (started.exitCode !== null || Date.now() > deadline) throw new Error(`no ${what}\n${output}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    };
    const usage = async () => {
      rmSync(usageFile, { force: true });
      started.kill('SIGUSR2');
      return until('cache usage', () =>
        existsSync(usageFile) ? (JSON.parse(readFileSync(usageFile, 'utf8')) as { compiledWithCache: string[]; compiledWithoutCache: string[] }) : undefined);
    };
    await until('"hearth started"', () => (output.includes('"hearth started"') ? true : undefined));

    const idle = await usage();
    for (const name of ['child_process', 'http', 'net', 'perf_hooks']) {
      expect(idle.compiledWithoutCache).not.toContain(name);
      expect(idle.compiledWithCache).toContain(name);
    }
    const answer = await fetch(`http://127.0.0.1:${port}/api/health`, { headers: { connection: 'close' } });
    expect(answer.status).toBe(200);
    const used = await usage();
    expect(used.compiledWithoutCache).not.toContain('internal/deps/undici/undici');
    expect(used.compiledWithCache).toContain('internal/deps/undici/undici');
  }, 60_000);
});
