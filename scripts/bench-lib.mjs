/**
 * Small helpers the bench and measurement scripts share (one copy each):
 * a free loopback port, and the percentile their figures are read with.
 */
import { createServer } from 'node:net';

/** A TCP port free on 127.0.0.1 right now (listen on 0, read the port, close). */
export async function freePort() {
  return new Promise((done, fail) => {
    const server = createServer();
    server.once('error', fail);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => done(port));
    });
  });
}

/** The nearest-rank `p`th percentile (0-100) of `values` (not changed); undefined for none. */
export function percentile(values, p) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}
