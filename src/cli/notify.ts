import { UsageError } from '../core/errors.js';
import type { CommandArgs } from './args.js';
import { booleanValue } from './args.js';
import type { ApiClient } from './client.js';
import type { CliContext } from './context.js';
import { useColor } from './context.js';
import { formatTime, json, renderTable } from './format.js';
import { displayZone } from './remote.js';

interface ChannelRow {
  name: string;
  type: string;
  lastDeliveryAt?: string;
  lastErrorAt?: string;
  lastError?: string;
  consecutiveFailures: number;
  pending: number;
}

/**
 * `hearth notify`: the channels and how their deliveries go.
 * `hearth notify test CHANNEL`: sends a test message through the running
 * appliance and prints what the channel answered; exit 1 when it failed.
 */
export async function notifyCommand(args: CommandArgs, ctx: CliContext, client: ApiClient): Promise<number> {
  const [action, channel] = args.positionals;
  if (action === undefined) return listChannels(args, ctx, client);
  if (action !== 'test') throw new UsageError(`unknown notify action "${action}" (use: hearth notify, or hearth notify test CHANNEL)`);
  if (!channel) throw new UsageError('usage: hearth notify test CHANNEL');
  // A failure (502) throws ApiRequestError with the receiver's answer as its message: printed, exit 1.
  const body = await client.postJson<{ answer: { status: string; detail?: string } }>(`/api/notify/${encodeURIComponent(channel)}/test`);
  if (booleanValue(args, 'json')) {
    ctx.stdout.write(json(body));
    return 0;
  }
  ctx.stdout.write(`sent a test message to ${channel}: ${body.answer.status}${body.answer.detail ? `\n${body.answer.detail}` : ''}\n`);
  return 0;
}

async function listChannels(args: CommandArgs, ctx: CliContext, client: ApiClient): Promise<number> {
  const body = await client.getJson<{ channels: ChannelRow[] }>('/api/notify/channels');
  if (booleanValue(args, 'json')) {
    ctx.stdout.write(json(body));
    return 0;
  }
  if (body.channels.length === 0) {
    ctx.stdout.write('no notification channels (add notify.channels to hearth.yaml)\n');
    return 0;
  }
  const zone = displayZone(ctx);
  const rows = body.channels.map((c) => [
    { text: c.name },
    { text: c.type },
    { text: c.lastDeliveryAt ? formatTime(c.lastDeliveryAt, zone) : '-' },
    { text: c.consecutiveFailures > 0 ? `${c.consecutiveFailures} failed: ${c.lastError ?? ''}` : 'ok' },
    { text: String(c.pending) },
  ]);
  ctx.stdout.write(renderTable(['CHANNEL', 'TYPE', 'LAST DELIVERY', 'STATE', 'WAITING'], rows, useColor(ctx)));
  return 0;
}
