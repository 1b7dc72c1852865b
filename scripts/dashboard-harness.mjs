/**
 * Shared by the dashboard measurement scripts: starts the built `hearth`
 * binary on a free loopback port in a temp directory, with a password set.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { freePort } from './bench-lib.mjs';

export const ROOT = resolve(import.meta.dirname, '..');
export const PASSWORD = 'measure me please';

export { freePort };

/**
 * `prepare(dataDir)` may fill the data directory (history, state) before hearth starts;
 * `nodeArgs` go to node before bin/hearth.js (e.g. V8 flags to measure); `env` is added to this process's.
 */
export async function startHearth(jobs, { prepare, nodeArgs = [], startTimeoutMs = 10_000, stdout = 'ignore', env = {} } = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'hearth-measure-'));
  if (prepare) await prepare(join(dir, 'data'));
  const port = await freePort();
  writeFileSync(join(dir, 'hearth.yaml'), `timezone: Europe/London\ndataDir: ./data\nserver: { host: 127.0.0.1, port: ${port} }\njobs:\n${jobs}`);
  const child = spawn(process.execPath, [...nodeArgs, join(ROOT, 'bin/hearth.js'), 'start', '--config', join(dir, 'hearth.yaml')], {
    env: { ...process.env, ...env, HEARTH_PASSWORD: PASSWORD, HEARTH_LOG_FORMAT: 'json' },
    stdio: ['ignore', stdout, 'inherit'],
  });
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    try {
      if ((await fetch(url + '/api/health')).ok) break;
    } catch {
      if (i > startTimeoutMs / 100) throw new Error('hearth did not start');
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  const token = readFileSync(join(dir, 'data/secrets/api-token'), 'utf8').trim();
  const login = await fetch(url + '/login', {
    method: 'POST',
    redirect: 'manual',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded', Origin: url },
    body: new URLSearchParams({ password: PASSWORD }).toString(),
  });
  const cookie = login.headers.get('set-cookie').split(';')[0];
  return { child, dir, url, port, token, cookie, stop: () => new Promise((r) => { child.once('exit', r); child.kill('SIGTERM'); }) };
}

/**
 * The malloc settings the systemd unit gives Hearth on the Pi (`Environment=MALLOC_…` in systemd/hearth.service),
 * so a memory figure measures the process as the appliance runs it.
 */
export function unitMallocEnv() {
  const env = {};
  for (const line of readFileSync(join(ROOT, 'systemd/hearth.service'), 'utf8').split('\n')) {
    if (!line.startsWith('Environment=')) continue;
    for (const pair of line.slice('Environment='.length).split(/\s+/)) {
      const [name, value] = pair.split('=');
      if (name?.startsWith('MALLOC_') && value !== undefined) env[name] = value;
    }
  }
  return env;
}
