import { UsageError } from '../core/errors.js';
import { apiTokenPath, readApiToken } from '../http/token.js';
import { ApiClient } from './client.js';
import { formatConfigIssue } from '../core/errors.js';
import { loadCliConnection } from './config.js';
import type { ConnectionSettings } from '../config/load.js';
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
  let settings: ConnectionSettings | undefined;
  let configIssuesShown = false;
  if (!explicitUrl || !envToken) {
    // Lenient: a broken hearth.yaml is a warning here, the appliance keeps running its previous jobs.
    const loaded = await loadCliConnection(ctx, flags.config);
    settings = loaded.settings;
    if (loaded.issues.length > 0) warnConfigIssues(ctx, loaded.path, loaded.issues);
    configIssuesShown = loaded.issues.length > 0;
  }

  const baseUrl = explicitUrl ? normalizeBaseUrl(explicitUrl) : localUrl(settings!.server);
  if (envToken) return new ApiClient({ baseUrl, token: envToken, tokenSource: 'HEARTH_TOKEN', fetch: ctx.fetch, configIssuesShown });
  const dataDir = settings!.dataDir;
  const token = await readTokenFile(dataDir);
  return new ApiClient({ baseUrl, token, tokenSource: apiTokenPath(dataDir), fetch: ctx.fetch, configIssuesShown });
}

function warnConfigIssues(ctx: CliContext, path: string, issues: Array<Parameters<typeof formatConfigIssue>[0]>): void {
  const count = issues.length;
  ctx.stderr.write(`warning: ${path} has ${count} ${count === 1 ? 'problem' : 'problems'} (the appliance keeps running its last valid jobs; fix, then check with hearth validate):\n`);
  for (const issue of issues) ctx.stderr.write(`  ${formatConfigIssue(issue)}\n`);
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
