/**
 * What an idle appliance carries (issue 13, item 7): `hearth start` must not load what only the web app needs
 * until the first request asks for it. Node's built-in undici is the large one (~12 MB of RSS: Hono's Node adapter
 * extends its Request and Response at import), so the test reads the list of Node's internal modules the process
 * has loaded (process.moduleLoadList, written on SIGUSR2 by a preload) before and after a first request.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ROOT, baseConfig, startHearth, type HearthProcess } from '../helpers/hearth-process.js';
import { askProbe, probeSetup } from '../helpers/preload-probe.js';

let running: HearthProcess | undefined;
afterEach(async () => {
  await running?.stop('SIGKILL');
  running = undefined;
});

// CommonJS and --require, like bin/hearth.js (test/helpers/preload-probe.ts).
const PROBE = `const { writeFileSync } = require('node:fs');
process.on('SIGUSR2', () => writeFileSync(process.env.HEARTH_TEST_MODULES_FILE, JSON.stringify(process.moduleLoadList)));
`;

/** A preload that counts zod schemas (see the test below); CommonJS like PROBE. */
const ZOD_CENSUS = `const { writeFileSync } = require('node:fs');
require('node:v8').setFlagsFromString('--expose-gc');
const gc = require('node:vm').runInNewContext('gc');
const made = [];
Object.defineProperty(Object.prototype, '_zod', {
  configurable: true,
  get() { made.push(new WeakRef(this)); return undefined; },
  set(value) { Object.defineProperty(this, '_zod', { value, writable: true, configurable: true, enumerable: true }); },
});
process.on('SIGUSR2', () => {
  gc();
  const live = made.map((ref) => ref.deref()).filter((o) => o !== undefined && Object.prototype.hasOwnProperty.call(o, '_zod'));
  writeFileSync(process.env.HEARTH_TEST_ZOD_FILE, JSON.stringify({ made: made.length, live: live.map((o) => String(o._zod.def?.type ?? o._zod.def?.check)) }));
});
`;

async function loadedModules(hearth: HearthProcess, file: string): Promise<string[]> {
  return askProbe<string[]>(hearth, file, 'the module list');
}

const UNDICI = 'NativeModule internal/deps/undici/undici';

describe('the idle appliance', () => {
  it('starts without loading the web app (undici, http2) and loads it with the first request', async () => {
    const { dir, port, nodeOptions } = await probeSetup('probe.cjs', PROBE);
    const modulesFile = join(dir, 'modules.json');
    // Jobs that wait: nothing is due while the test looks (the example config's jobs run at once, and its
    // http-check job calls the API, which is exactly what loads the web app).
    const hearth = (running = await startHearth({
      dir,
      port,
      config: baseConfig(port, `
  nightly: { run: "true", schedule: { cron: "0 3 * * *" } }
  weekly: { run: "true", schedule: { rrule: "FREQ=WEEKLY;BYDAY=MO;BYHOUR=4" } }
  by-hand: { run: "true" }
`),
      env: { NODE_OPTIONS: nodeOptions, HEARTH_TEST_MODULES_FILE: modulesFile },
      readyWhen: 'log',
    }));

    const idle = await loadedModules(hearth, modulesFile);
    expect(idle).toContain('NativeModule http'); // the socket listens
    expect(idle).not.toContain(UNDICI);
    expect(idle).not.toContain('NativeModule http2');
    // Reloads (a config worker) and line readers (ingest, Gmail's index) load theirs when they first run.
    expect(idle).not.toContain('NativeModule worker_threads');
    expect(idle).not.toContain('NativeModule readline');
    // bin/hearth.js is CommonJS: Node's ES module loader (its resolver, translators, module jobs) is not loaded.
    expect(idle).not.toContain('NativeModule internal/modules/esm/translators');

    // Several first requests at once all wait for the same load and are answered.
    const answers = await Promise.all(Array.from({ length: 5 }, () => fetch(`${hearth.url}/api/health`, { headers: { connection: 'close' } })));
    expect(answers.map((answer) => answer.status)).toEqual([200, 200, 200, 200, 200]);
    const page = await fetch(`${hearth.url}/login`, { headers: { connection: 'close' } });
    expect(page.status).toBeLessThan(500);

    const used = await loadedModules(hearth, modulesFile);
    expect(used).toContain(UNDICI);
    expect(used).toContain('NativeModule http2');
  });

  it('runs no function through TurboFan while it starts, so the optimizing compiler is not resident at idle', async () => {
    // V8 prints what it tiers up (--trace-opt, set from a preload: NODE_OPTIONS takes no V8 flags) to stdout.
    const { dir, port, nodeOptions } = await probeSetup('trace-opt.cjs', "require('node:v8').setFlagsFromString('--trace-opt');\n");
    const config = baseConfig(port, `
  nightly: { run: "true", schedule: { cron: "0 3 * * *" } }
  weekly: { run: "true", schedule: { rrule: "FREQ=WEEKLY;BYDAY=MO;BYHOUR=4" } }
`);
    const env = { NODE_OPTIONS: nodeOptions };
    // The first start writes the code cache (3 s in) and the config tree cache; the restart is what is measured.
    let hearth = (running = await startHearth({ dir, port, config, env, readyWhen: 'log' }));
    await hearth.waitFor('the code cache', () => existsSync(join(dir, 'code-cache', 'code-cache.bin')) || undefined);
    await hearth.stop();
    hearth = running = await startHearth({ dir, port, config, env, readyWhen: 'log' });
    const started = hearth.output();
    expect(started).toMatch(/"codeCache":"used"/);
    expect(started.split('\n').filter((line) => /for optimization to TURBOFAN/.test(line))).toEqual([]);
  });

  it('keeps no zod schema alive at idle after a restart from the config tree cache, and builds none for actions it does not use', async () => {
    // Counts zod schemas as they are made (each reads its own \`_zod\` before defining it: a getter on Object.prototype
    // sees that) and, on SIGUSR2, after a full GC, how many are still alive.
    const { dir, port, nodeOptions } = await probeSetup('zod-census.cjs', ZOD_CENSUS);
    const census = join(dir, 'zod-census.json');
    const config = baseConfig(port, `
  nightly: { run: "true", schedule: { cron: "0 3 * * *" } }
  weekly: { run: "true", schedule: { rrule: "FREQ=WEEKLY;BYDAY=MO;BYHOUR=4" } }
  steps:
    schedule: { every: 30d }
    tasks:
      a: { run: "true", retries: 2, timeout: 1m }
      b: { run: "true", depends_on: a }
`);
    const env = { NODE_OPTIONS: nodeOptions, HEARTH_TEST_ZOD_FILE: census };
    let hearth = (running = await startHearth({ dir, port, config, env, readyWhen: 'log' }));
    await hearth.waitFor('the config tree cache', () => existsSync(join(dir, 'data', 'cache', 'config-tree.json')) || undefined);
    await hearth.stop();
    hearth = running = await startHearth({ dir, port, config, env, readyWhen: 'log' });
    expect(hearth.output()).toMatch(/"configFromCache":true/);

    const counted = await askProbe<{ made: number; live: string[] }>(hearth, census, 'the zod census');
    // The config's schemas were built to check the file (a cached tree is still checked: \${VAR}s may have changed)...
    expect(counted.made).toBeGreaterThan(100);
    // ...and are garbage once it is built; the actions' schemas are built only for a config that uses them. What
    // stays is the handful zod's prototypes hold (src/config/schema.ts, primeZod): 595 schemas stayed before.
    expect(counted.live.length, counted.live.join(' ')).toBeLessThanOrEqual(20);
  });

  it('starts from a bundle that V8 can keep one byte per character, without http2 or zod locales it never uses', () => {
    const bundle = readFileSync(join(ROOT, 'dist/hearth.cjs'), 'latin1');
    // One character above U+00FF makes V8 store the whole 1 MB source as UTF-16 (scripts/bundle.mjs).
    expect(/[^\x00-\x7f]/.exec(bundle)?.index).toBeUndefined();
    // A builtin imported anywhere in the bundle is imported at start: Hono's Node adapter is bundled without http2.
    expect(bundle).not.toMatch(/from\s*"node:http2"|require\("node:http2"\)/);
    // ...and is bundled (in the web app's bundle, which the first request loads; test/integration/web-bundle.test.ts),
    // not imported through Node's ES module loader with the first request.
    const web = readFileSync(join(ROOT, 'dist/hearth-web.cjs'), 'latin1');
    expect(web).toContain('getRequestListener');
    expect(web).not.toMatch(/from\s*"node:http2"|require\("node:http2"\)/);
    expect(bundle + web).not.toMatch(/__hearthImport\(\s*"@hono\/node-server"\s*\)/);
    // zod's Spanish messages stand for its ~40 other locales: English is the only one Hearth uses.
    expect(bundle).not.toContain('Demasiado grande');
    // No esbuild keepNames helper (a call per function and class at load, ~1 MB of idle RSS).
    expect(bundle).not.toMatch(/=\([\w$]+,[\w$]+\)=>[\w$]+\([\w$]+,"name",\{value:[\w$]+,configurable:!0\}\)/);
  });
});
