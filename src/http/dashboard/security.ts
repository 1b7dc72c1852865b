import type { Context, MiddlewareHandler } from 'hono';
import { ApiError } from '../errors.js';

/**
 * Headers on every response, and the Origin check on every state-changing
 * request. The page never runs inline script (CSP `script-src 'self'`), is
 * never framed, and sends no Referer (run ids and job names stay on the LAN).
 */

export const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "manifest-src 'self'",
  "form-action 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
].join('; ');

export const securityHeaders: MiddlewareHandler = async (c, next) => {
  await next();
  const headers = c.res.headers;
  headers.set('Content-Security-Policy', CONTENT_SECURITY_POLICY);
  headers.set('X-Content-Type-Options', 'nosniff');
  headers.set('X-Frame-Options', 'DENY');
  headers.set('Referrer-Policy', 'no-referrer');
  headers.set('Cross-Origin-Opener-Policy', 'same-origin');
  headers.set('Cross-Origin-Resource-Policy', 'same-origin');
  headers.set('Permissions-Policy', 'camera=(), microphone=(), geolocation=(), interest-cohort=()');
};

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

export function isSafeMethod(method: string): boolean {
  return SAFE_METHODS.has(method);
}

/**
 * A browser always says where a POST comes from: `Origin`, and
 * `Sec-Fetch-Site` in current browsers. Under `Referrer-Policy: no-referrer`
 * a form post carries `Origin: null`, so then Sec-Fetch-Site decides. A
 * request naming another site is refused whatever its credentials. A request
 * with neither header comes from a script or the CLI, which authenticate with
 * a token, never with an ambient cookie (see provenSameOrigin).
 */
export const originGuard: MiddlewareHandler = async (c, next) => {
  if (!isSafeMethod(c.req.method) && crossSite(c)) {
    throw new ApiError(403, 'forbidden', 'cross-origin request refused: the Origin does not match this dashboard');
  }
  return next();
};

function declaredOrigin(c: Context): string | undefined {
  const origin = c.req.header('origin');
  return origin === undefined || origin === 'null' ? undefined : origin;
}

export function crossSite(c: Context): boolean {
  const origin = declaredOrigin(c);
  if (origin !== undefined && origin !== new URL(c.req.url).origin) return true;
  const site = c.req.header('sec-fetch-site');
  if (site !== undefined) return site !== 'same-origin' && site !== 'none';
  // `Origin: null` with nothing else to go on: an opaque origin (a sandboxed frame, a data: URL).
  return c.req.header('origin') === 'null';
}

/** A cookie-authenticated change must prove it comes from this dashboard's own pages. */
export function provenSameOrigin(c: Context): boolean {
  if (isSafeMethod(c.req.method)) return true;
  if (crossSite(c)) return false;
  return declaredOrigin(c) === new URL(c.req.url).origin || c.req.header('sec-fetch-site') === 'same-origin';
}
