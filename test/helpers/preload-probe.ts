/**
 * A look inside a running hearth for integration tests: a CommonJS preload given to node with --require (like
 * bin/hearth.js; an --import preload would load Node's ES module loader itself) that, typically on SIGUSR2, writes
 * what it sees to a file the test reads.
 */
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort, tempDir, type HearthProcess } from './hearth-process.js';

export interface ProbeSetup {
  /** A fresh temp dir (the hearth's dir), holding the preload. */
  dir: string;
  /** A free loopback port for the hearth. */
  port: number;
  /** The preload's path. */
  probe: string;
  /** NODE_OPTIONS that load the preload. */
  nodeOptions: string;
}

/** A temp dir, a free port, and the preload `source` (or `source(dir)`) written to `<dir>/<name>`. */
export async function probeSetup(name: string, source: string | ((dir: string) => string)): Promise<ProbeSetup> {
  const dir = tempDir();
  const port = await freePort();
  const probe = join(dir, name);
  writeFileSync(probe, typeof source === 'string' ? source : source(dir));
  return { dir, port, probe, nodeOptions: `--require ${probe}` };
}

/** Asks the preload for its report: removes `file`, sends SIGUSR2, and waits (10 s at most) for the JSON it writes. */
export async function askProbe<T>(hearth: HearthProcess, file: string, what: string): Promise<T> {
  rmSync(file, { force: true });
  hearth.child.kill('SIGUSR2');
  return hearth.waitFor(what, () => (existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as T) : undefined), 10_000);
}
