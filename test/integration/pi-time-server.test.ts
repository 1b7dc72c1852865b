import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { once } from 'node:events';
import { afterEach, describe, expect, it } from 'vitest';

/**
 * pi-image/time-server.mjs tells a booted image the time in smoke.sh. A
 * reply systemd-timesyncd rejects would only show up as a minute's wait and a
 * failed catch-up in QEMU, so the packet is checked here: mode, stratum,
 * the echoed originate timestamp timesyncd matches, and the offset.
 */
const script = new URL('../../pi-image/time-server.mjs', import.meta.url).pathname;
const NTP_EPOCH_OFFSET = 2_208_988_800;
let server: ChildProcess | undefined;

afterEach(() => {
  server?.kill();
  server = undefined;
});

async function startServer(offsetSeconds: number): Promise<number> {
  server = spawn(process.execPath, [script, '--port', '0', '--offset-seconds', String(offsetSeconds)], { stdio: ['ignore', 'pipe', 'inherit'] });
  const [line] = (await once(server.stdout!, 'data')) as [Buffer];
  const port = Number(/listening on 127\.0\.0\.1:(\d+)/.exec(line.toString())?.[1]);
  expect(port).toBeGreaterThan(0);
  return port;
}

async function ask(port: number, request: Buffer): Promise<Buffer | undefined> {
  const client = createSocket('udp4');
  try {
    client.send(request, port, '127.0.0.1');
    const timeout = new Promise<undefined>((resolve) => setTimeout(resolve, 1000));
    const answer = once(client, 'message').then(([message]) => message as Buffer);
    return await Promise.race([answer, timeout]);
  } finally {
    client.close();
  }
}

function clientRequest(): Buffer {
  const request = Buffer.alloc(48);
  request[0] = (4 << 3) | 3; // NTPv4, client
  request[2] = 6;
  request.writeUInt32BE(0x12345678, 40); // the transmit timestamp the reply must echo
  request.writeUInt32BE(0x9abcdef0, 44);
  return request;
}

const ntpSeconds = (packet: Buffer, offset: number) => packet.readUInt32BE(offset) - NTP_EPOCH_OFFSET + packet.readUInt32BE(offset + 4) / 2 ** 32;

describe('pi-image/time-server.mjs', () => {
  it('answers an SNTP client with a synchronised stratum-2 time shifted by the offset', async () => {
    const port = await startServer(7200);
    const reply = await ask(port, clientRequest());
    expect(reply).toBeDefined();
    expect(reply!.length).toBe(48);
    expect(reply![0]! >> 6).toBe(0); // leap indicator: synchronised
    expect((reply![0]! >> 3) & 7).toBe(4); // version echoed
    expect(reply![0]! & 7).toBe(4); // server
    expect(reply![1]).toBe(2);
    expect(reply!.subarray(24, 32)).toEqual(clientRequest().subarray(40, 48));
    const transmit = ntpSeconds(reply!, 40);
    expect(Math.abs(transmit - (Date.now() / 1000 + 7200))).toBeLessThan(5);
    expect(ntpSeconds(reply!, 32)).toBeLessThanOrEqual(transmit);
  });

  it('ignores packets that are not client requests', async () => {
    const port = await startServer(0);
    const notClient = clientRequest();
    notClient[0] = (4 << 3) | 4;
    expect(await ask(port, notClient)).toBeUndefined();
    expect(await ask(port, Buffer.from('hello'))).toBeUndefined();
  });
});
