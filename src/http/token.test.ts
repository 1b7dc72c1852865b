import { chmod, mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { apiTokenPath, createTokenCheck, ensureApiToken, readApiToken } from './token.js';

let dataDir: string;
beforeEach(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'hearth-token-'));
});
afterEach(async () => {
  await rm(dataDir, { recursive: true, force: true });
});

describe('ensureApiToken', () => {
  it('creates a 32-byte base64url token with private permissions on first start', async () => {
    const token = await ensureApiToken(dataDir);
    expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(Buffer.from(token, 'base64url')).toHaveLength(32);
    expect((await stat(join(dataDir, 'secrets'))).mode & 0o777).toBe(0o700);
    expect((await stat(apiTokenPath(dataDir))).mode & 0o777).toBe(0o600);
    expect((await readFile(apiTokenPath(dataDir), 'utf8')).trim()).toBe(token);
  });

  it('returns the same token on later starts', async () => {
    const first = await ensureApiToken(dataDir);
    expect(await ensureApiToken(dataDir)).toBe(first);
    expect(await readApiToken(dataDir)).toBe(first);
  });

  it('tightens permissions that were loosened by hand', async () => {
    await ensureApiToken(dataDir);
    await chmod(join(dataDir, 'secrets'), 0o755);
    await chmod(apiTokenPath(dataDir), 0o644);
    await ensureApiToken(dataDir);
    expect((await stat(join(dataDir, 'secrets'))).mode & 0o777).toBe(0o700);
    expect((await stat(apiTokenPath(dataDir))).mode & 0o777).toBe(0o600);
  });

  it('replaces an empty token file (e.g. left by a power cut)', async () => {
    await mkdir(join(dataDir, 'secrets'), { recursive: true });
    await writeFile(apiTokenPath(dataDir), '');
    const token = await ensureApiToken(dataDir);
    expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
  });
});

describe('readApiToken', () => {
  it('is undefined when the appliance never created one', async () => {
    expect(await readApiToken(dataDir)).toBeUndefined();
  });

  it('throws other failures (e.g. the token path is not a file)', async () => {
    await mkdir(apiTokenPath(dataDir), { recursive: true });
    await expect(readApiToken(dataDir)).rejects.toThrow();
  });
});

describe('createTokenCheck', () => {
  it('accepts only the configured tokens', () => {
    const check = createTokenCheck(['alpha-token', 'beta']);
    expect(check('alpha-token')).toBe(true);
    expect(check('beta')).toBe(true);
    expect(check('alpha-toke')).toBe(false);
    expect(check('alpha-token ')).toBe(false);
    expect(check('')).toBe(false);
  });

  it('never accepts anything when no tokens (or only empty ones) are configured', () => {
    expect(createTokenCheck([])('')).toBe(false);
    expect(createTokenCheck(['']) ('')).toBe(false);
    expect(createTokenCheck(['']) ('x')).toBe(false);
  });
});
