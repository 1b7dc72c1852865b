import { describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, statSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FakeClock } from '../../core/clock.js';
import { UsageError } from '../../core/errors.js';
import { ApiTokenStore } from './api-tokens.js';
import { adminPasswordPath, hashPassword, readAdminPassword, verifyPassword, writeAdminPassword } from './password.js';
import { LoginLimiter } from './rate-limit.js';
import { SessionStore } from './sessions.js';

const dir = () => mkdtempSync(join(tmpdir(), 'hearth-auth-'));

describe('password', () => {
  it('hashes with scrypt and verifies', async () => {
    const hash = await hashPassword('hunter2hunter2', new Date(0));
    expect(hash).toMatchObject({ algorithm: 'scrypt', N: 16384, r: 8, p: 1 });
    expect(await verifyPassword('hunter2hunter2', hash)).toBe(true);
    expect(await verifyPassword('hunter2hunter3', hash)).toBe(false);
    expect(await verifyPassword('', hash)).toBe(false);
  });

  it('is stored 0600 without the password, and refuses short ones', async () => {
    const dataDir = dir();
    await writeAdminPassword(dataDir, 'a long passphrase', new Date(0));
    expect(statSync(adminPasswordPath(dataDir)).mode & 0o777).toBe(0o600);
    expect(readFileSync(adminPasswordPath(dataDir), 'utf8')).not.toContain('passphrase');
    expect(await verifyPassword('a long passphrase', (await readAdminPassword(dataDir))!)).toBe(true);
    await expect(writeAdminPassword(dataDir, 'short', new Date(0))).rejects.toBeInstanceOf(UsageError);
  });

  it('names a damaged file instead of treating it as "no password"', async () => {
    const dataDir = dir();
    mkdirSync(join(dataDir, 'secrets'));
    writeFileSync(adminPasswordPath(dataDir), '{"algorithm":');
    await expect(readAdminPassword(dataDir)).rejects.toThrow(/admin-password.json is not valid JSON/);
    const error = await readAdminPassword(dataDir).catch((e: unknown) => e);
    expect((error as Error).cause).toBeInstanceOf(SyntaxError);
  });
});

describe('sessions and tokens', () => {
  it('sessions are checked by digest and expire', async () => {
    const clock = new FakeClock();
    const store = new SessionStore({ dataDir: dir(), clock, ttlMs: 1000 });
    const { cookie } = await store.create();
    expect(store.isValid(cookie)).toBe(true);
    expect(store.isValid(cookie + 'x')).toBe(false);
    expect(store.isValid(undefined)).toBe(false);
    clock.set(clock.now() + 1000);
    expect(store.isValid(cookie)).toBe(false);
  });

  it('tokens are checked by digest; only the digest is stored', async () => {
    const dataDir = dir();
    const store = new ApiTokenStore({ dataDir, clock: new FakeClock() });
    const { token, info } = await store.create('  Shortcut  ');
    expect(info.name).toBe('Shortcut');
    expect(store.check(token)).toBe(true);
    expect(store.check(token.slice(0, -1))).toBe(false);
    expect(store.check('not-even-prefixed')).toBe(false);
    expect(readFileSync(store.file, 'utf8')).not.toContain(token);
    const reloaded = new ApiTokenStore({ dataDir, clock: new FakeClock() });
    await reloaded.load();
    expect(reloaded.check(token)).toBe(true);
    await expect(store.create('')).rejects.toBeInstanceOf(UsageError);
  });
});

describe('LoginLimiter', () => {
  it('blocks after 5 failures in 15 minutes, per client, until the oldest ages out', async () => {
    const clock = new FakeClock();
    const limiter = new LoginLimiter({ clock });
    for (let i = 0; i < 5; i++) {
      expect(limiter.check('a').allowed).toBe(true);
      limiter.fail('a');
      clock.set(clock.now() + 60_000);
    }
    expect(limiter.check('a')).toEqual({ allowed: false, retryAfterSeconds: 600 });
    expect(limiter.check('b').allowed).toBe(true);
    clock.set(clock.now() + 600_000);
    expect(limiter.check('a').allowed).toBe(true);
    limiter.succeed('a');
    expect(limiter.check('a').allowed).toBe(true);
  });
});
