import { ChannelError } from '../../core/errors.js';
import { errorMessage } from '../../core/errors.js';
import { excerpt, redactSecrets, type ChannelAnswer } from '../message.js';

/** How long one delivery may take before it counts as failed (and is retried later). */
export const SEND_TIMEOUT_MS = 15_000;

/**
 * One HTTP request to a receiving service with Node's fetch: a 2xx is a
 * delivery, anything else a ChannelError. Nothing here quotes the URL, and
 * every message is scrubbed of the channel's secrets before it leaves.
 */
export async function postHttp(
  url: string,
  init: { headers: Record<string, string>; body: string },
  secrets: ReadonlyArray<string | undefined>,
  timeoutMs = SEND_TIMEOUT_MS,
): Promise<ChannelAnswer & { body: string }> {
  let response: Response;
  try {
    response = await fetch(url, { method: 'POST', headers: init.headers, body: init.body, signal: AbortSignal.timeout(timeoutMs), redirect: 'error' });
  } catch (error) {
    throw new ChannelError(redactSecrets(`could not reach ${hostOf(url)}: ${describeFetchError(error)}`, secrets), undefined, { cause: error });
  }
  const text = await response.text().catch(() => '');
  const status = `${response.status} ${response.statusText}`.trim();
  if (!response.ok) {
    throw new ChannelError(redactSecrets(`${hostOf(url)} answered ${status}${text ? `: ${excerpt(text)}` : ''}`, secrets), response.status);
  }
  return { status, ...(text ? { detail: redactSecrets(excerpt(text), secrets) } : {}), body: text };
}

/** `host:port` only: paths and queries of these URLs may carry tokens. */
export function hostOf(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return 'the receiver';
  }
}

function describeFetchError(error: unknown): string {
  const cause = (error as { cause?: unknown }).cause;
  if (error instanceof Error && error.name === 'TimeoutError') return 'timed out';
  const code = (cause as { code?: string } | undefined)?.code;
  if (code) return code === 'ECONNREFUSED' ? 'connection refused (ECONNREFUSED)' : code;
  return errorMessage(cause ?? error);
}
