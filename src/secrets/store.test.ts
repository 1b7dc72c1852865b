import { describe, expect, it } from 'vitest';
import { mkdtemp, stat, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SecretsStore, pickSecret } from './store.js';

async function store(): Promise<SecretsStore> {
  return new SecretsStore(await mkdtemp(join(tmpdir(), 'hearth-secrets-')));
}

describe('SecretsStore', () => {
  it('keeps each connection in its own 0600 file inside a 0700 directory', async () => {
    const secrets = await store();
    await secrets.set('slack-home', { token: 'xoxp-1' });
    expect(await secrets.get('slack-home')).toEqual({ token: 'xoxp-1' });
    expect((await stat(secrets.dir)).mode & 0o777).toBe(0o700);
    expect((await stat(join(secrets.dir, 'slack-home.json'))).mode & 0o777).toBe(0o600);
    expect(await readdir(secrets.dir)).toEqual(['slack-home.json']);
  });

  it('merges keys, removes a key set to the empty string, and forgets a connection', async () => {
    const secrets = await store();
    await secrets.set('gmail-me', { clientSecret: 's', refreshToken: 'r' });
    await secrets.set('gmail-me', { refreshToken: 'r2' });
    expect(await secrets.get('gmail-me')).toEqual({ clientSecret: 's', refreshToken: 'r2' });
    await secrets.set('gmail-me', { clientSecret: '' });
    expect(await secrets.keys('gmail-me')).toEqual(['refreshToken']);
    expect(await secrets.connections()).toEqual(['gmail-me']);
    await secrets.delete('gmail-me');
    await secrets.delete('gmail-me');
    expect(await secrets.get('gmail-me')).toEqual({});
    expect(await secrets.connections()).toEqual([]);
  });

  it('refuses names that could leave the directory', async () => {
    const secrets = await store();
    await expect(secrets.set('../evil', { token: 'x' })).rejects.toThrow(/invalid connection name/);
    await expect(secrets.get('a/b')).rejects.toThrow(/invalid connection name/);
  });

  it('never serialises what it holds', async () => {
    const secrets = await store();
    await secrets.set('phone', { token: 'tk_secret' });
    expect(JSON.stringify({ secrets })).not.toContain('tk_secret');
  });

  it('prefers a non-empty value from the config over the saved one', () => {
    expect(pickSecret('env', 'saved')).toBe('env');
    expect(pickSecret('', 'saved')).toBe('saved');
    expect(pickSecret(undefined, undefined)).toBeUndefined();
  });
});
