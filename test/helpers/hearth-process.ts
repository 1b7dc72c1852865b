/**
 * Drives the real `hearth` binary (bin/hearth.js → dist/) as a child process,
 * optionally under libfaketime so its wall clock can be moved.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

export const ROOT = resolve(import.meta.dirname, '../..');
export const BIN = join(ROOT, 'bin/hearth.js');

const FAKETIME_LIBS = ['/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1', '/usr/lib/aarch64-linux-gnu/faketime/libfaketime.so.1'];

export function faketimeLib(): string {
  const lib = FAKETIME_LIBS.find((path) => existsSync(path));
  if (!lib) throw new Error('libfaketime is missing: apt-get install faketime (.ci/run does this)');
  return lib;
}

export async function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolvePort(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

export function tempDir(prefix = 'hearth-it-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export interface HearthProcess {
  child: ChildProcess;
  output(): string;
  url: string;
  token(): string;
  api<T = unknown>(path: string, init?: RequestInit): Promise<{ status: number; body: T }>;
  waitFor<T>(what: string, probe: () => Promise<T | undefined> | T | undefined, timeoutMs?: number): Promise<T>;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

export interface StartOptions {
  dir: string;
  config: string;
  port: number;
  /** A libfaketime start time, e.g. "@2026-01-01 10:00:00" (the clock then runs from there). */
  faketime?: string;
  env?: Record<string, string>;
  /** What "started" means: /api/health answering (the default), or the "hearth started" log line, before any request. */
  readyWhen?: 'health' | 'log';
  /** Called with everything hearth has printed so far, at each new chunk (to act while it is still starting). */
  onOutput?(output: string): void;
}

/** Writes the config, starts `hearth start --config`, and waits for /api/health. */
export async function startHearth(options: StartOptions): Promise<HearthProcess> {
  const configPath = join(options.dir, 'hearth.yaml');
  writeFileSync(configPath, options.config);
  const env: Record<string, string> = {
    ...(process.env as Record<string, string>),
    HEARTH_LOG_FORMAT: 'json',
    TZ: 'UTC',
    // The V8 code cache as in production, but the test's own: never the user's ~/.cache, never shared between tests.
    HEARTH_CODE_CACHE: join(options.dir, 'code-cache'),
    ...options.env,
  };
  if (options.faketime) {
    env.LD_PRELOAD = faketimeLib();
    env.FAKETIME = options.faketime;
    // Node's timers use the monotonic clock; leave it real so timeouts behave.
    env.FAKETIME_DONT_FAKE_MONOTONIC = '1';
    env.FAKETIME_NO_CACHE = '1';
  }
  const child = spawn(process.execPath, [BIN, 'start', '--config', configPath], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => {
    output += chunk.toString();
    options.onOutput?.(output);
  });
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolveExit) => child.once('exit', (code) => resolveExit(code)));
  const url = `http://127.0.0.1:${options.port}`;
  const dataDir = join(options.dir, 'data');

  const process_: HearthProcess = {
    child,
    output: () => output,
    url,
    token: () => readFileSync(join(dataDir, 'secrets/api-token'), 'utf8').trim(),
    async api<T>(path: string, init: RequestInit = {}) {
      const response = await fetch(url + path, {
        ...init,
        // A fresh connection each call: tests block their event loop in spawnSync for seconds, long enough for the
        // server to close an idle kept-alive socket (Node's 5 s keepAliveTimeout) without this process noticing, and
        // the next request on it then fails with "other side closed".
        headers: { authorization: `Bearer ${process_.token()}`, connection: 'close', ...(init.headers ?? {}) },
      });
      const text = await response.text();
      let body: unknown = text;
      try {
        body = JSON.parse(text);
      } catch {
        // plain text (logs)
      }
      return { status: response.status, body: body as T };
    },
    async waitFor<T>(what: string, probe: () => Promise<T | undefined> | T | undefined, timeoutMs = 20_000): Promise<T> {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        if (child.exitCode !== null) throw new Error(`hearth exited (${child.exitCode}) while waiting for ${what}\n${output}`);
        const value = await probe();
        if (value !== undefined && value !== false) return value;
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}\n--- hearth output ---\n${output}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    },
    async stop(signal: NodeJS.Signals = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
  if (options.readyWhen === 'log') {
    await process_.waitFor('the "hearth started" log line', () => output.includes('"hearth started"') || undefined);
    return process_;
  }
  await process_.waitFor('health', async () => {
    try {
      const response = await fetch(`${url}/api/health`, { headers: { connection: 'close' } });
      return response.ok ? true : undefined;
    } catch {
      return undefined;
    }
  });
  return process_;
}

/** A config header for tests: data in `dir/data`, the given port, UTC. */
export function baseConfig(port: number, jobs: string): string {
  return `timezone: UTC
dataDir: ./data
server: { host: 127.0.0.1, port: ${port} }
killGrace: 1s
jobs:
${jobs}`;
}

/** The non-empty lines of a file tasks append marks to; none while it does not exist yet. */
export function fileLines(path: string): string[] {
  return existsSync(path) ? readFileSync(path, 'utf8').trim().split('\n').filter(Boolean) : [];
}
