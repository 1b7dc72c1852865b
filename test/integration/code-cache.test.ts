import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { baseConfig, freePort, startHearth, tempDir, type HearthProcess } from '../helpers/hearth-process.js';

// bin/hearth.js compiles the start-up bundle from a V8 code cache it writes a few seconds after `hearth start`;
// a restart with an unchanged hearth.yaml reads the config tree cache the first start wrote into the data dir.
let running: HearthProcess | undefined;
afterEach(async () => {
  await running?.stop();
  running = undefined;
});

// A `module` action: the bundle's import() of a file outside it must work from a cached compile too.
const JOBS = `  a: { run: "true" }
  mod:
    action: module
    with: { path: ./act.mjs }
`;

let port: number | undefined;

async function start(dir: string, cacheDir: string): Promise<HearthProcess> {
  // One port for every start: the file must stay the same for its tree cache to be used.
  port ??= await freePort();
  writeFileSync(join(dir, 'act.mjs'), 'export default async () => ({ answer: 42 });\n');
  running = await startHearth({ dir, port, config: baseConfig(port, JOBS), env: { HEARTH_CODE_CACHE: cacheDir } });
  return running;
}

async function runModuleAction(hearth: HearthProcess): Promise<string> {
  const { body } = await hearth.api<{ runId: string }>('/api/jobs/mod/run', { method: 'POST' });
  return hearth.waitFor('the module action', async () => {
    const run = (await hearth.api<{ status: string }>(`/api/runs/${body.runId}`)).body;
    return ['succeeded', 'failed'].includes(run.status) ? run.status : undefined;
  });
}

async function codeCacheState(hearth: HearthProcess): Promise<string> {
  return hearth.waitFor('the start-up log line', () => /"msg":"hearth started".*"codeCache":"(\w+)"/.exec(hearth.output())?.[1]);
}

async function configFromCache(hearth: HearthProcess): Promise<boolean> {
  return (await hearth.waitFor('the start-up log line', () => /"msg":"hearth started".*"configFromCache":(true|false)/.exec(hearth.output())?.[1])) === 'true';
}

describe('code cache', () => {
  it('is written by the first start, used by the next, and rebuilt when V8 rejects it', async () => {
    const dir = tempDir();
    const cacheDir = join(dir, 'code-cache');
    const file = join(cacheDir, 'code-cache.bin');

    let hearth = await start(dir, cacheDir);
    expect(await codeCacheState(hearth)).toBe('missing');
    expect(await configFromCache(hearth)).toBe(false);
    await hearth.waitFor('the code cache', () => existsSync(file) || undefined);
    await hearth.stop();
    const written = readFileSync(file);
    const key = written.subarray(0, written.indexOf(10)).toString();
    expect(key).toContain(process.version);
    expect(key).toContain(process.arch);

    hearth = await start(dir, cacheDir);
    expect(await codeCacheState(hearth)).toBe('used');
    // The config tree cache too (written by the first start: the same data dir, an unchanged hearth.yaml).
    expect(await configFromCache(hearth)).toBe(true);
    expect(await runModuleAction(hearth)).toBe('succeeded');
    await hearth.stop();

    // The right key over data V8 will not take (another V8, a torn file): compiled from source, then written again.
    const garbage = Buffer.concat([Buffer.from(`${key}\n`), Buffer.alloc(written.length - key.length - 1, 7)]);
    writeFileSync(file, garbage);
    hearth = await start(dir, cacheDir);
    expect(await codeCacheState(hearth)).toBe('rejected');
    expect((await hearth.api<{ status: string }>('/api/health')).status).toBe(200);
    await hearth.waitFor('the rebuilt code cache', () => !readFileSync(file).equals(garbage) || undefined);
    await hearth.stop();

    hearth = await start(dir, cacheDir);
    expect(await codeCacheState(hearth)).toBe('used');
  }, 60_000);
});
