/**
 * Issue 13, item 7: a restart whose hearth.yaml is unchanged builds its config from the tree cache and never
 * parses YAML, so the yaml package is not loaded at all (src/config/yaml-lib.ts requires it on first use). The test
 * reads the files Node's CommonJS loader has loaded (require.cache, written on SIGUSR2 by a preload) after a first
 * start, which parses the file, and after a restart, which must not.
 */
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { baseConfig, freePort, startHearth, tempDir, type HearthProcess } from '../helpers/hearth-process.js';

let running: HearthProcess | undefined;
afterEach(async () => {
  await running?.stop('SIGKILL');
  running = undefined;
});

const PROBE = `const { writeFileSync } = require('node:fs');
process.on('SIGUSR2', () => writeFileSync(process.env.HEARTH_TEST_REQUIRED_FILE, JSON.stringify(Object.keys(require.cache))));
`;

async function requiredFiles(hearth: HearthProcess, file: string): Promise<string[]> {
  rmSync(file, { force: true });
  hearth.child.kill('SIGUSR2');
  return hearth.waitFor('the required files', () => (existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as string[]) : undefined), 10_000);
}

const isYaml = (path: string) => /[\\/]node_modules[\\/]yaml[\\/]/.test(path);

describe('yaml at idle', () => {
  it('is loaded by a start that parses hearth.yaml and not by a restart that reads the config tree cache', async () => {
    const dir = tempDir();
    const port = await freePort();
    const probe = join(dir, 'probe.cjs');
    writeFileSync(probe, PROBE);
    const listFile = join(dir, 'required.json');
    const options = {
      dir,
      port,
      config: baseConfig(port, '  nightly: { run: "true", schedule: { cron: "0 3 * * *" } }\n'),
      env: { NODE_OPTIONS: `--require ${probe}`, HEARTH_TEST_REQUIRED_FILE: listFile },
      readyWhen: 'log' as const,
    };
    const configFromCache = (hearth: HearthProcess) =>
      hearth.waitFor('the start-up log line', () => /"msg":"hearth started".*"configFromCache":(true|false)/.exec(hearth.output())?.[1]);

    running = await startHearth(options);
    expect(await configFromCache(running)).toBe('false');
    expect((await requiredFiles(running, listFile)).filter(isYaml)).not.toEqual([]);
    await running.stop();

    running = await startHearth(options);
    expect(await configFromCache(running)).toBe('true');
    const required = await requiredFiles(running, listFile);
    expect(required.some((path) => path.endsWith('hearth.js'))).toBe(true);
    expect(required.filter(isYaml)).toEqual([]);
  });
});
