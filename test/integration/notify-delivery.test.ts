import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { baseConfig, freePort, startHearth, tempDir, type HearthProcess } from '../helpers/hearth-process.js';

/**
 * Durable notification delivery with the real process: a message is in the
 * outbox (fsynced) before it is sent, so a kill -9 at any point leaves it
 * to be sent after the restart, with the same id, and delivered once.
 */

/** A webhook receiver that counts what it took (answered 2xx), by id. */
class Receiver {
  server!: Server;
  url = '';
  mode: 'ok' | 'down' | 'hang' = 'ok';
  requests: Array<{ id: string; body: Record<string, unknown>; authorization?: string }> = [];
  delivered: string[] = [];
  private hanging: ServerResponse[] = [];

  async start(): Promise<void> {
    this.server = createServer((req, res) => {
      let text = '';
      req.on('data', (chunk: Buffer) => (text += chunk.toString()));
      req.on('end', () => {
        const id = String(req.headers['x-hearth-id']);
        this.requests.push({ id, body: JSON.parse(text) as Record<string, unknown>, ...(req.headers.authorization ? { authorization: req.headers.authorization } : {}) });
        if (this.mode === 'hang') {
          this.hanging.push(res);
          return;
        }
        if (this.mode === 'down') {
          res.writeHead(503).end('down for maintenance');
          return;
        }
        this.delivered.push(id);
        res.writeHead(200, { 'Content-Type': 'application/json' }).end('{"stored":true}');
      });
    });
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/hearth`;
  }

  close(): void {
    for (const res of this.hanging) res.destroy();
    this.server.close();
  }
}

const SECRET = 'hook-token-do-not-print-4242';
let running: HearthProcess | undefined;
let receiver: Receiver | undefined;
afterEach(async () => {
  await running?.stop('SIGKILL');
  running = undefined;
  receiver?.close();
  receiver = undefined;
});

function config(port: number, url: string): string {
  return `${baseConfig(port, `
  hello:
    run: echo hi
`)}
notify:
  channels:
    hook: { type: webhook, url: "${url}", token: "\${HOOK_TOKEN}" }
`;
}

async function hearthWith(dir: string, port: number, url: string): Promise<HearthProcess> {
  running = await startHearth({ dir, port, config: config(port, url), env: { HOOK_TOKEN: SECRET } });
  return running;
}

async function settle(ms = 1_500): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, ms));
}

describe('notification outbox across kill -9', () => {
  it('killed while the receiver had the message but had not answered: sent again after the restart with the same id, taken once', async () => {
    const dir = tempDir();
    const port = await freePort();
    receiver = new Receiver();
    await receiver.start();
    receiver.mode = 'hang';
    let hearth = await hearthWith(dir, port, receiver.url);
    void hearth.api('/api/notify/hook/test', { method: 'POST' }).catch(() => undefined);
    await hearth.waitFor('the receiver to get the message', () => (receiver!.requests.length === 1 ? true : undefined));
    expect(await hearth.stop('SIGKILL')).toBe(null);

    receiver.mode = 'ok';
    hearth = await hearthWith(dir, port, receiver.url);
    await hearth.waitFor('the message to be delivered', () => (receiver!.delivered.length > 0 ? true : undefined));
    await settle();
    expect(receiver.delivered).toHaveLength(1);
    // The receiver saw one message twice under one id: it can drop the repeat.
    expect(receiver.requests.map((r) => r.id)).toEqual([receiver.delivered[0], receiver.delivered[0]]);
    expect(receiver.requests[1]!.body).toMatchObject({ id: receiver.delivered[0], kind: 'test', title: 'Test from Hearth' });
    expect(receiver.requests[1]!.authorization).toBe(`Bearer ${SECRET}`);

    // Another restart finds it delivered: nothing is sent again.
    await hearth.stop('SIGKILL');
    hearth = await hearthWith(dir, port, receiver.url);
    await settle();
    expect(receiver.requests).toHaveLength(2);
    const { body: channels } = await hearth.api<{ channels: Array<Record<string, unknown>> }>('/api/notify/channels');
    expect(channels.channels).toEqual([{ name: 'hook', type: 'webhook', consecutiveFailures: 0, pending: 0 }]);
    expect(hearth.output()).not.toContain(SECRET);
  }, 60_000);

  it('receiver down, process killed before any retry, receiver back: delivered exactly once after the restart, the failure visible meanwhile', async () => {
    const dir = tempDir();
    const port = await freePort();
    receiver = new Receiver();
    await receiver.start();
    receiver.mode = 'down';
    let hearth = await hearthWith(dir, port, receiver.url);
    const failed = await hearth.api<{ error: { code: string; message: string }; status: number }>('/api/notify/hook/test', { method: 'POST' });
    expect(failed.status).toBe(502);
    expect(failed.body.error.message).toBe('127.0.0.1:' + new URL(receiver.url).port + ' answered 503 Service Unavailable: down for maintenance');
    const { body: health } = await hearth.api<{ notify: { channels: Array<Record<string, unknown>> } }>('/api/health');
    expect(health.notify.channels[0]).toMatchObject({ name: 'hook', consecutiveFailures: 1, pending: 1 });
    const open = (await (await fetch(`${hearth.url}/api/health`)).json()) as { notify: { channels: Array<Record<string, unknown>> } };
    expect(open.notify.channels[0]).not.toHaveProperty('lastError');
    expect(await hearth.stop('SIGKILL')).toBe(null);

    receiver.mode = 'ok';
    hearth = await hearthWith(dir, port, receiver.url);
    await hearth.waitFor('the message to be delivered', () => (receiver!.delivered.length > 0 ? true : undefined));
    await settle();
    expect(receiver.delivered).toHaveLength(1);
    expect(new Set(receiver.requests.map((r) => r.id)).size).toBe(1);
    expect(hearth.output()).not.toContain(SECRET);
    expect(JSON.stringify((await hearth.api('/api/health')).body)).not.toContain(SECRET);
  }, 60_000);
});
