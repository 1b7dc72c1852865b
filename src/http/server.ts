import { createServer, type RequestListener, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { networkInterfaces } from 'node:os';
import type { NetworkInterfaceInfo } from 'node:os';
import type { Hono } from 'hono';
import { errorMessage } from '../core/errors.js';
import type { Logger } from '../core/logger.js';

/**
 * Puts the Hono app on a socket. Start-up failures that a person can fix
 * (port taken, privileged port) become a ListenError with a message that says
 * what to change; close() can be called any number of times.
 *
 * The socket is plain node:http. Hono's Node adapter (and with it Node's
 * built-in undici, which it extends at import for Request/Response: ~12 MB of
 * RSS) and the app itself load with the first request when the app is given
 * as a loader, so an appliance nobody has looked at yet does not carry them.
 * Bundled (scripts/bundle.mjs), those import()s load dist/hearth-web.cjs, the
 * web app's own bundle, compiled from its own V8 code cache (bin/hearth.js).
 */

export interface HttpServerOptions {
  host: string;
  /** 0 picks a free port (tests). */
  port: number;
  logger: Logger;
}

export interface HttpServer {
  /** Where the server listens, e.g. `http://0.0.0.0:8080`. */
  url: string;
  close(): Promise<void>;
}

/** The server could not listen; `code` is the system error code (EADDRINUSE, EACCES, ...). */
export class ListenError extends Error {
  override name = 'ListenError';
  constructor(message: string, readonly code: string | undefined, options?: ErrorOptions) {
    super(message, options);
  }
}

/** The app, or a loader that builds it on the first request (called once; again only after it failed). */
export type AppSource = Hono | (() => Promise<Hono>);

export async function startHttpServer(app: AppSource, options: HttpServerOptions): Promise<HttpServer> {
  const { host, port, logger } = options;
  const server = createServer(lazyListener(app, host, logger));
  server.listen(port, host);
  await listening(server, host, port);
  const url = serverUrl(host, (server.address() as AddressInfo).port);
  const open = openUrls(host, (server.address() as AddressInfo).port, networkInterfaces());
  // A wildcard address (0.0.0.0) is not something a phone can open: name the LAN addresses instead.
  logger.info(open.length > 0 && open[0] !== url ? `listening on ${url}: open ${open.join(' or ')}` : `listening on ${url}`, { url, open });

  let closing: Promise<void> | undefined;
  return {
    url,
    close() {
      closing ??= closeServer(server).then(() => logger.info('http server closed', { url }));
      return closing;
    },
  };
}

/**
 * The request listener: the first request loads Hono's Node adapter and the app, later ones go straight to it.
 * Requests that arrive while it loads wait for the same load; a failed load answers 500 and is retried next time.
 */
function lazyListener(source: AppSource, hostname: string, logger: Logger): RequestListener {
  let listener: RequestListener | undefined;
  let loading: Promise<RequestListener> | undefined;
  const load = async (): Promise<RequestListener> => {
    const started = performance.now();
    const [{ getRequestListener }, app] = await Promise.all([import('@hono/node-server'), typeof source === 'function' ? source() : source]);
    // From bin/hearth.js: how the web app's bundle was compiled (from its code cache or not); absent unbundled.
    const codeCache = (globalThis as Record<symbol, unknown>)[Symbol.for('hearth.webCodeCache')];
    logger.info('web app loaded', { ms: Math.round(performance.now() - started), ...(typeof codeCache === 'string' && { codeCache }) });
    return getRequestListener(app.fetch, { hostname });
  };
  return (incoming, outgoing) => {
    if (listener) return void listener(incoming, outgoing);
    loading ??= load();
    loading.then(
      (ready) => {
        listener = ready;
        void ready(incoming, outgoing);
      },
      (error: unknown) => {
        loading = undefined;
        logger.error('cannot load the HTTP app', { error: errorMessage(error) });
        if (!outgoing.headersSent) outgoing.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' });
        outgoing.end('Hearth could not load its web app; see the log.\n');
      },
    );
  };
}

function listening(server: Server, host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException) => {
      server.off('listening', onListening);
      reject(new ListenError(listenErrorMessage(error, host, port), error.code, { cause: error }));
    };
    const onListening = () => {
      server.off('error', onError);
      resolve();
    };
    if (server.listening) return resolve();
    server.once('error', onError);
    server.once('listening', onListening);
  });
}

function listenErrorMessage(error: NodeJS.ErrnoException, host: string, port: number): string {
  switch (error.code) {
    case 'EADDRINUSE':
      return `port ${port} is in use; set server.port in hearth.yaml`;
    case 'EACCES':
      return `not allowed to listen on port ${port}; use a port above 1023 (server.port in hearth.yaml)`;
    case 'EADDRNOTAVAIL':
    case 'ENOTFOUND':
      return `cannot listen on ${host}: no such address on this machine; set server.host in hearth.yaml`;
    default:
      return `cannot listen on ${host}:${port}: ${error.message}`;
  }
}

/** Stops accepting, then drops open connections (SSE log followers would otherwise hold shutdown forever). */
function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeIdleConnections();
    server.closeAllConnections();
  });
}

/**
 * URLs a person can open: for a wildcard listen address, this machine's
 * addresses on the LAN (IPv4 first, link-local IPv6 left out: a browser needs
 * a zone id for those) and then localhost; otherwise the address itself.
 */
export function openUrls(host: string, port: number, interfaces: NodeJS.Dict<NetworkInterfaceInfo[]>): string[] {
  const wildcard = host === '' || host === '0.0.0.0' || host === '::';
  if (!wildcard) return [serverUrl(host, port)];
  const all = Object.values(interfaces).flatMap((list) => list ?? []);
  const lan = all.filter((info) => !info.internal && !(info.family === 'IPv6' && info.address.toLowerCase().startsWith('fe80')));
  // 0.0.0.0 accepts IPv4 only; :: accepts both.
  const usable = host === '::' ? lan : lan.filter((info) => info.family === 'IPv4');
  const ordered = [...usable.filter((info) => info.family === 'IPv4'), ...usable.filter((info) => info.family !== 'IPv4')];
  return [...new Set(ordered.map((info) => serverUrl(info.address, port))), `http://localhost:${port}`];
}

function serverUrl(host: string, port: number): string {
  const shown = host.includes(':') ? `[${host}]` : host;
  return `http://${shown}:${port}`;
}
