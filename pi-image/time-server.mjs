#!/usr/bin/env node
/**
 * A minimal SNTP server (RFC 4330) for pi-image/smoke.sh: it answers with
 * this machine's clock plus an offset, so a booted image can be told "it is
 * now two hours later" the way a real Pi learns the time after being off:
 * its clock starts where it stopped and NTP moves it forward. It also spares
 * each boot the minute systemd-time-wait-sync waits when no server answers.
 *
 *   node pi-image/time-server.mjs [--host 127.0.0.1] [--port 123] [--offset-seconds N]
 *
 * QEMU's user network hands the guest's packets for 10.0.2.2:123 to the
 * host's 127.0.0.1:123 (a privileged port: run as root, as smoke.sh is).
 * Prints "listening" once bound; answers until killed.
 */
import { createSocket } from 'node:dgram';
import { parseArgs } from 'node:util';

const NTP_EPOCH_OFFSET = 2_208_988_800; // seconds from 1900-01-01 to 1970-01-01
const MODE_CLIENT = 3;
const MODE_SERVER = 4;

const { values } = parseArgs({
  options: {
    host: { type: 'string', default: '127.0.0.1' },
    port: { type: 'string', default: '123' },
    'offset-seconds': { type: 'string', default: '0' },
  },
});
const offsetMs = Number(values['offset-seconds']) * 1000;
if (!Number.isFinite(offsetMs)) throw new Error(`--offset-seconds must be a number, got ${values['offset-seconds']}`);

/** Writes a Unix time in milliseconds as a 64-bit NTP timestamp (seconds since 1900, 32-bit fraction). */
function writeTimestamp(packet, offset, unixMs) {
  const seconds = Math.floor(unixMs / 1000);
  packet.writeUInt32BE((seconds + NTP_EPOCH_OFFSET) >>> 0, offset);
  packet.writeUInt32BE(Math.floor(((unixMs % 1000) / 1000) * 2 ** 32) >>> 0, offset + 4);
}

function reply(request) {
  const received = Date.now() + offsetMs;
  const version = (request[0] >> 3) & 0x7;
  const packet = Buffer.alloc(48);
  packet[0] = (0 << 6) | (version << 3) | MODE_SERVER; // leap indicator 0: the clock is synchronised
  packet[1] = 2; // stratum: a secondary server (0 would be a kiss-o'-death, 16 unsynchronised)
  packet[2] = request[2]; // poll interval, echoed
  packet[3] = 0xec; // precision 2^-20 s
  // Root delay and dispersion stay 0: the client sees a perfect source.
  packet.write('LOCL', 12, 'ascii');
  writeTimestamp(packet, 16, received - 16_000); // reference: when this clock was last set
  request.copy(packet, 24, 40, 48); // originate = the client's transmit timestamp, which it checks
  writeTimestamp(packet, 32, received);
  writeTimestamp(packet, 40, Date.now() + offsetMs);
  return packet;
}

const socket = createSocket('udp4');
socket.on('message', (request, peer) => {
  if (request.length < 48 || (request[0] & 0x7) !== MODE_CLIENT) return;
  socket.send(reply(request), peer.port, peer.address);
});
socket.on('error', (error) => {
  console.error(`time-server: ${error.message}`);
  process.exit(1);
});
socket.bind(Number(values.port), values.host, () => {
  console.log(`time-server: listening on ${values.host}:${socket.address().port}, offset ${offsetMs / 1000} s`);
});
