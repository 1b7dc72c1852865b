import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import type { Hono } from 'hono';
import type { Logger } from '../core/logger.js';

/**
 * Puts the Hono app on a socket. Start-up failures that a person can fix
 * (port taken, privileged port) become a ListenError with a message that says
 * what to change; close() can be called any number of times.
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

export async function startHttpServer(app: Hono, options: HttpServerOptions): Promise<HttpServer> {
  const { host, port, logger } = options;
  const server = serve({ fetch: app.fetch, hostname: host, port }) as Server;
  await listening(server, host, port);
  const url = serverUrl(host, (server.address() as AddressInfo).port);
  logger.info(`listening on ${url}`, { url });

  let closing: Promise<void> | undefined;
  return {
    url,
    close() {
      closing ??= closeServer(server).then(() => logger.info('http server closed', { url }));
      return closing;
    },
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

function serverUrl(host: string, port: number): string {
  const shown = host.includes(':') ? `[${host}]` : host;
  return `http://${shown}:${port}`;
}
