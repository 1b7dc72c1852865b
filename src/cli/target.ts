import { UsageError } from '../core/errors.js';
import { apiTokenPath, readApiToken } from '../http/token.js';
import { ApiClient } from './client.js';
import { loadCliConfig } from './config.js';
import type { LoadedConfig } from './config.js';
import type { CliContext } from './context.js';
import { CliFailure } from './errors.js';

/**
 * Finds the running appliance: the URL from `--url`, `HEARTH_URL` or
 * hearth.yaml's server section, and the token from `HEARTH_TOKEN` or the file
 * the appliance wrote into its data directory. hearth.yaml is only read when
 * one of the two is missing.
 */

export interface TargetFlags {
  url: string | undefined;
  config: string | undefined;
}

export async function connect(ctx: CliContext, flags: TargetFlags): Promise<ApiClient> {
  const explicitUrl = nonEmpty(flags.url) ?? nonEmpty(ctx.env.HEARTH_URL);
  const envToken = nonEmpty(ctx.env.HEARTH_TOKEN);
  let loaded: LoadedConfig | undefined;
  if (!explicitUrl || !envToken) loaded = await loadCliConfig(ctx, { flag: flags.config, strict: false });

  const baseUrl = explicitUrl ? normalizeBaseUrl(explicitUrl) : localUrl(loaded!.config.server);
  if (envToken) return new ApiClient({ baseUrl, token: envToken, tokenSource: 'HEARTH_TOKEN', fetch: ctx.fetch });
  const dataDir = loaded!.config.dataDir;
  const token = await readTokenFile(dataDir);
  return new ApiClient({ baseUrl, token, tokenSource: apiTokenPath(dataDir), fetch: ctx.fetch });
}

/** The appliance on this machine: a wildcard listen address is reached through loopback. */
export function localUrl(server: { host: string; port: number }): string {
  const wildcard = server.host === '' || server.host === '0.0.0.0' || server.host === '::' || server.host === '[::]';
  const host = wildcard ? '127.0.0.1' : server.host;
  const shown = host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
  return `http://${shown}:${server.port}`;
}

export function normalizeBaseUrl(input: string): string {
  let url: URL;
  try {
    url = new URL(input);
  } catch (error) {
    throw new UsageError(`invalid URL "${input}" (expected e.g. http://raspberrypi.local:8080)`, { cause: error });
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new UsageError(`invalid URL "${input}": use http:// or https://`);
  }
  return `${url.origin}${url.pathname}`.replace(/\/+$/, '');
}

async function readTokenFile(dataDir: string): Promise<string> {
  const path = apiTokenPath(dataDir);
  let token: string | undefined;
  try {
    token = await readApiToken(dataDir);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const reason = code === 'EACCES' || code === 'EPERM' ? 'permission denied' : (error as Error).message;
    throw new CliFailure(
      `cannot read the API token at ${path} (${reason}): run as the user hearth runs as, or set HEARTH_TOKEN`,
      { cause: error },
    );
  }
  if (!token) {
    throw new CliFailure(`no API token at ${path}: start hearth once to create it, or set HEARTH_TOKEN`);
  }
  return token;
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === '' ? undefined : value.trim();
}
