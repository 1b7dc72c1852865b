import { mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ensurePrivateDataDir, usePrivateUmask, withUmask } from './private-files.js';

const modeOf = (path: string) => statSync(path).mode & 0o777;

describe('the private data directory', () => {
  let root: string;
  let saved: number;

  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'hearth-private-'));
    // As under `npm start` in a usual shell.
    saved = process.umask(0o022);
  });

  afterEach(() => {
    process.umask(saved);
    rmSync(root, { recursive: true, force: true });
  });

  it('creates the data directory 0700 and files in it 0600 under umask 022', async () => {
    const previous = usePrivateUmask();
    expect(previous).toBe(0o022);
    const dataDir = join(root, 'data');
    await ensurePrivateDataDir(dataDir);
    mkdirSync(join(dataDir, 'logs'), { recursive: true });
    writeFileSync(join(dataDir, 'logs', 'run.log'), 'secret output\n');
    expect(modeOf(dataDir)).toBe(0o700);
    expect(modeOf(join(dataDir, 'logs'))).toBe(0o700);
    expect(modeOf(join(dataDir, 'logs', 'run.log'))).toBe(0o600);
  });

  it('tightens a data directory and subdirectories an earlier start left 0755', async () => {
    const dataDir = join(root, 'data');
    mkdirSync(join(dataDir, 'logs'), { recursive: true, mode: 0o755 });
    mkdirSync(join(dataDir, 'history'), { mode: 0o755 });
    expect(modeOf(dataDir)).toBe(0o755);
    await ensurePrivateDataDir(dataDir);
    expect([modeOf(dataDir), modeOf(join(dataDir, 'logs')), modeOf(join(dataDir, 'history'))]).toEqual([0o700, 0o700, 0o700]);
  });

  it('gives a spawned task the umask Hearth started with, then restores the private one', () => {
    const started = usePrivateUmask();
    const seen = withUmask(started, () => process.umask(process.umask()));
    expect(seen).toBe(0o022);
    expect(process.umask(process.umask())).toBe(0o077);
  });
});
