import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger, silentLogger } from '../core/logger.js';
import { createApiApp } from './app.js';
import { ListenError, openUrls, startHttpServer } from './server.js';
import type { HttpServer } from './server.js';
import { createTokenCheck } from './token.js';
import { FakeAppliance } from './testing/fake-appliance.js';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

function setup() {
  const appliance = new FakeAppliance();
  const app = createApiApp({ appliance, auth: createTokenCheck(['t0ken']), logger: silentLogger });
  return { appliance, app };
}

async function start(app: ReturnType<typeof createApiApp>, port = 0): Promise<HttpServer> {
  const server = await startHttpServer(app, { host: '127.0.0.1', port, logger: silentLogger });
  cleanups.push(() => server.close());
  return server;
}

describe('startHttpServer', () => {
  it('serves the app on a real socket and logs the URL', async () => {
    const { app } = setup();
    const lines: string[] = [];
    const server = await startHttpServer(app, {
      host: '127.0.0.1',
      port: 0,
      logger: createLogger({ write: (line) => lines.push(line) }),
    });
    cleanups.push(() => server.close());
    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const response = await fetch(`${server.url}/api/health`);
    expect(response.status).toBe(200);
    expect(lines.some((line) => line.includes(`listening on ${server.url}`))).toBe(true);
  });

  it('names the LAN addresses a phone can open for a wildcard listen address, not 0.0.0.0', async () => {
    const { app } = setup();
    const lines: string[] = [];
    const server = await startHttpServer(app, { host: '0.0.0.0', port: 0, logger: createLogger({ write: (line) => lines.push(line) }) });
    cleanups.push(() => server.close());
    const line = lines.find((text) => text.includes('listening on')) ?? '';
    const port = new URL(server.url).port;
    expect(line).toContain(`open `);
    expect(line).toContain(`http://localhost:${port}`);
    const message = (JSON.parse(line) as { msg: string }).msg;
    expect(message.slice(message.indexOf('open '))).not.toContain('0.0.0.0');
  });

  it('close is idempotent and really stops listening', async () => {
    const { app } = setup();
    const server = await start(app);
    await Promise.all([server.close(), server.close()]);
    await server.close();
    await expect(fetch(`${server.url}/api/health`)).rejects.toThrow();
  });

  it('reports a taken port clearly', async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    cleanups.push(() => new Promise((resolve) => blocker.close(() => resolve())));
    const port = (blocker.address() as AddressInfo).port;
    const { app } = setup();
    const failure = startHttpServer(app, { host: '127.0.0.1', port, logger: silentLogger });
    await expect(failure).rejects.toBeInstanceOf(ListenError);
    await expect(failure).rejects.toThrow(`port ${port} is in use; set server.port in hearth.yaml`);
  });

  it('closes the log subscription when an SSE client disconnects, and close() ends open streams', async () => {
    const { app, appliance } = setup();
    appliance.addJob({ name: 'backup' });
    const run = appliance.addRun({ job: 'backup', status: 'running' });
    const server = await start(app);
    const headers = { Authorization: 'Bearer t0ken', Accept: 'text/event-stream' };

    const controller = new AbortController();
    const response = await fetch(`${server.url}/api/runs/${run.id}/logs`, { headers, signal: controller.signal });
    const reader = response.body!.getReader();
    appliance.appendLog(run.id, 'hi');
    expect(new TextDecoder().decode((await reader.read()).value)).toContain('data: hi');
    expect(appliance.followers.size).toBe(1);
    controller.abort();
    await waitFor(() => appliance.followers.size === 0);

    // A follower still connected at shutdown must not keep close() waiting.
    const second = await fetch(`${server.url}/api/runs/${run.id}/logs`, { headers });
    await waitFor(() => appliance.followers.size === 1);
    await server.close();
    await expect(second.text()).rejects.toThrow();
    await waitFor(() => appliance.followers.size === 0);
  });
});

describe('startHttpServer with an app loader', () => {
  it('builds the app once, with the first requests (not at listen), and serves them all', async () => {
    const { app } = setup();
    let loads = 0;
    let release!: () => void;
    const loaded = new Promise<void>((resolve) => (release = resolve));
    const server = await startHttpServer(
      async () => {
        loads++;
        await loaded;
        return app;
      },
      { host: '127.0.0.1', port: 0, logger: silentLogger },
    );
    cleanups.push(() => server.close());
    expect(loads).toBe(0);
    const first = Array.from({ length: 4 }, () => fetch(`${server.url}/api/health`));
    await waitFor(() => loads === 1);
    release();
    expect((await Promise.all(first)).map((response) => response.status)).toEqual([200, 200, 200, 200]);
    expect((await fetch(`${server.url}/api/health`)).status).toBe(200);
    expect(loads).toBe(1);
  });

  it('answers 500 and logs when the app cannot load, and tries again with the next request', async () => {
    const { app } = setup();
    const lines: string[] = [];
    let loads = 0;
    const server = await startHttpServer(
      async () => {
        if (++loads === 1) throw new Error('chunk missing');
        return app;
      },
      { host: '127.0.0.1', port: 0, logger: createLogger({ write: (line) => lines.push(line) }) },
    );
    cleanups.push(() => server.close());
    const failed = await fetch(`${server.url}/api/health`);
    expect(failed.status).toBe(500);
    expect(await failed.text()).toContain('could not load');
    expect(lines.some((line) => line.includes('cannot load the HTTP app') && line.includes('chunk missing'))).toBe(true);
    expect((await fetch(`${server.url}/api/health`)).status).toBe(200);
    expect(loads).toBe(2);
  });
});

async function waitFor(condition: () => boolean, timeoutMs = 2000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

describe('openUrls', () => {
  const v4 = (address: string, internal = false) => ({ address, family: 'IPv4' as const, internal, netmask: '255.255.255.0', mac: '', cidr: null });
  const v6 = (address: string, internal = false) => ({ address, family: 'IPv6' as const, internal, netmask: 'ffff::', mac: '', cidr: null, scopeid: 0 });
  const interfaces = { lo: [v4('127.0.0.1', true), v6('::1', true)], wlan0: [v4('192.168.1.23'), v6('fe80::1'), v6('2a01:4b00::7')], eth0: [v4('10.0.0.5')] };

  it('lists the LAN IPv4 addresses, then localhost, for 0.0.0.0', () => {
    expect(openUrls('0.0.0.0', 8080, interfaces)).toEqual(['http://192.168.1.23:8080', 'http://10.0.0.5:8080', 'http://localhost:8080']);
  });

  it('adds global IPv6 addresses (bracketed, no link-local) for ::', () => {
    expect(openUrls('::', 8080, interfaces)).toEqual([
      'http://192.168.1.23:8080',
      'http://10.0.0.5:8080',
      'http://[2a01:4b00::7]:8080',
      'http://localhost:8080',
    ]);
  });

  it('keeps a specific address as it is', () => {
    expect(openUrls('192.168.1.23', 9000, interfaces)).toEqual(['http://192.168.1.23:9000']);
  });
});
