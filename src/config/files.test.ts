import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConfigError } from '../core/errors.js';
import { configIssuesOf } from './testing.js';
import { bundledConfigPath, loadConfig, resolveConfigPath } from './load.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'hearth-config-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});


describe('resolveConfigPath', () => {
  it('prefers --config, then HEARTH_CONFIG, resolved against cwd', async () => {
    await writeFile(join(dir, 'a.yaml'), 'jobs: {}\n');
    await writeFile(join(dir, 'b.yaml'), 'jobs: {}\n');
    await writeFile(join(dir, 'hearth.yaml'), 'jobs: {}\n');
    const env = { HEARTH_CONFIG: 'b.yaml' };
    expect(resolveConfigPath({ flag: 'a.yaml', env, cwd: dir })).toEqual({ path: join(dir, 'a.yaml'), embedded: false });
    expect(resolveConfigPath({ env, cwd: dir })).toEqual({ path: join(dir, 'b.yaml'), embedded: false });
    expect(resolveConfigPath({ env: {}, cwd: dir })).toEqual({ path: join(dir, 'hearth.yaml'), embedded: false });
  });

  it('falls back to the bundled example, which exists', () => {
    const resolved = resolveConfigPath({ env: { HEARTH_CONFIG: '' }, cwd: dir });
    expect(resolved).toEqual({ path: bundledConfigPath(), embedded: true });
    expect(resolved.path.endsWith(join('examples', 'hearth.yaml'))).toBe(true);
    expect(existsSync(resolved.path)).toBe(true);
  });

  it('rejects an explicitly named file that does not exist, naming it', async () => {
    expect(await configIssuesOf(() => resolveConfigPath({ flag: 'nope.yaml', cwd: dir }))).toEqual([
      `${join(dir, 'nope.yaml')}: config file not found (named by --config)`,
    ]);
    expect(await configIssuesOf(() => resolveConfigPath({ env: { HEARTH_CONFIG: '/etc/none.yaml' }, cwd: dir }))).toEqual([
      '/etc/none.yaml: config file not found (named by HEARTH_CONFIG)',
    ]);
  });
});

describe('loadConfig', () => {
  it('reads a file and resolves relative paths from its directory', async () => {
    await mkdir(join(dir, 'etc'));
    const file = join(dir, 'etc', 'hearth.yaml');
    await writeFile(file, 'dataDir: ../state\njobs:\n  a:\n    run: "true"\n');
    const config = await loadConfig(file, { env: {} });
    expect(config.file).toBe(file);
    expect(config.dataDir).toBe(join(dir, 'state'));
    expect(Object.keys(config.jobs)).toEqual(['a']);
  });

  it('reports problems with the file name as given', async () => {
    const file = join(dir, 'bad.yaml');
    await writeFile(file, 'jobs:\n  a:\n    rnu: x\n');
    expect(await configIssuesOf(() => loadConfig(file, { env: {} }))).toEqual([
      `${file}:2:3: jobs.a: needs a run command, an action, or a tasks mapping`,
      `${file}:3:5: jobs.a.rnu: unknown key "rnu", did you mean "run"? (allowed: description, schedule, pool, overlap, stuckAfter, expect, timeout, retries, env, cwd, tasks, run, action, with, on, notify)`,
    ]);
  });

  it('turns a missing or unreadable file into a ConfigError', async () => {
    expect(await configIssuesOf(() => loadConfig(join(dir, 'missing.yaml')))).toEqual([`${join(dir, 'missing.yaml')}: config file not found`]);
    expect(await configIssuesOf(() => loadConfig(dir))).toEqual([`${dir}: is a directory, not a config file`]);
  });

  it('keeps the read failure as the ConfigError\'s cause', async () => {
    const error = await loadConfig(join(dir, 'missing.yaml')).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigError);
    expect(((error as Error).cause as NodeJS.ErrnoException).code).toBe('ENOENT');
  });
});
