import type { Context } from 'hono';

/** The peer address of the TCP connection; no X-Forwarded-For: Hearth is not meant to sit behind a proxy. */
export function clientAddress(c: Context): string {
  const env = c.env as { incoming?: { socket?: { remoteAddress?: string } } } | undefined;
  return env?.incoming?.socket?.remoteAddress ?? 'unknown';
}
