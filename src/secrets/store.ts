import { readFile, readdir, unlink, mkdir, chmod } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic, fsyncDirectory } from '../core/atomic-file.js';
import { isNotFound } from '../core/errors.js';

/**
 * The secrets of named connections (Slack tokens, Gmail refresh tokens,
 * notification channel tokens, LLM keys): one JSON file per connection in
 * `<dataDir>/secrets/`, directory 0700 and files 0600, written atomically so
 * a power cut leaves the old or the new token, never half of one.
 *
 * One store for every kind of connection, so the dashboard's Settings ›
 * Connections page, `hearth connect NAME` and the jobs that use a token all
 * go through the same place. Values never leave through `toString`/JSON of
 * this class, and nothing here logs.
 */
export type SecretValues = Record<string, string>;

const NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

export class SecretsStore {
  readonly dir: string;

  constructor(dataDir: string) {
    this.dir = join(dataDir, 'secrets');
  }

  /** The secrets saved for a connection, or an empty object. */
  async get(connection: string): Promise<SecretValues> {
    const path = this.pathOf(connection);
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch (error) {
      if (isNotFound(error)) return {};
      throw error;
    }
    const parsed: unknown = JSON.parse(text);
    if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) {
      throw new Error(`${path}: expected a JSON object of secrets`);
    }
    const values: SecretValues = {};
    for (const [key, value] of Object.entries(parsed)) if (typeof value === 'string') values[key] = value;
    return values;
  }

  /** One secret of a connection, or undefined. */
  async value(connection: string, key: string): Promise<string | undefined> {
    return (await this.get(connection))[key];
  }

  /** Merges `values` into the connection's secrets; an empty-string value removes that key. */
  async set(connection: string, values: SecretValues): Promise<void> {
    const merged = { ...(await this.get(connection)) };
    for (const [key, value] of Object.entries(values)) {
      if (value === '') delete merged[key];
      else merged[key] = value;
    }
    await this.ensureDir();
    await writeFileAtomic(this.pathOf(connection), `${JSON.stringify(merged, null, 2)}\n`, 0o600);
  }

  /** Forgets every secret of a connection. */
  async delete(connection: string): Promise<void> {
    try {
      await unlink(this.pathOf(connection));
      await fsyncDirectory(this.dir);
    } catch (error) {
      if (!isNotFound(error)) throw error;
    }
  }

  /** Which secret keys a connection has saved (never their values). */
  async keys(connection: string): Promise<string[]> {
    return Object.keys(await this.get(connection)).sort();
  }

  /** Connections with at least one saved secret. */
  async connections(): Promise<string[]> {
    try {
      const entries = await readdir(this.dir);
      return entries.filter((name) => name.endsWith('.json') && !name.startsWith('.')).map((name) => name.slice(0, -5)).sort();
    } catch (error) {
      if (isNotFound(error)) return [];
      throw error;
    }
  }

  toJSON(): string {
    return '[SecretsStore]';
  }

  private pathOf(connection: string): string {
    if (!NAME.test(connection)) throw new Error(`invalid connection name "${connection}": use letters, digits, '-', '_' or '.'`);
    return join(this.dir, `${connection}.json`);
  }

  private async ensureDir(): Promise<void> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    await chmod(this.dir, 0o700);
  }
}

/**
 * The secret to use: a non-empty value from the config (`${VAR}` already
 * substituted) wins over the saved one, so an environment variable can
 * override what was pasted in the dashboard.
 */
export function pickSecret(fromConfig: string | undefined, saved: string | undefined): string | undefined {
  if (fromConfig !== undefined && fromConfig !== '') return fromConfig;
  return saved !== undefined && saved !== '' ? saved : undefined;
}
