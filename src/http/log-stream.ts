import type { Context } from 'hono';
import { streamSSE } from 'hono/streaming';
import type { SSEStreamingApi } from 'hono/streaming';
import type { AppliancePort, LogSubscription } from '../engine/port.js';
import type { Clock, Timer } from '../core/clock.js';
import type { Logger } from '../core/logger.js';
import { mapError } from './errors.js';

/**
 * `GET /api/runs/:id/logs` with `Accept: text/event-stream`:
 *
 *   event: line            one per log line (existing ones first, then live ones)
 *   data: <the line>
 *
 *   event: end             once the run finished and every line was sent
 *   data: {"status":"succeeded"}
 *
 * plus a `: heartbeat` comment every `heartbeatMs` so proxies and phones keep
 * the connection open. When the client goes away the log subscription is
 * closed at once, so a forgotten browser tab costs nothing.
 *
 * Memory stays bounded whatever the log's size: the existing lines are read
 * from the file in chunks and the replay waits while more than
 * QUEUE_SOFT_BYTES are queued for this client; a live line that finds more
 * than QUEUE_HARD_BYTES queued (a client slower than the task) is skipped,
 * and the client gets one line saying how many were. `?tail=N` starts the
 * replay at the last N lines (the dashboard asks for its 5000): a follower
 * of a huge log need not replay it all.
 */

export const QUEUE_SOFT_BYTES = 256 * 1024;
export const QUEUE_HARD_BYTES = 1024 * 1024;

export interface LogStreamOptions {
  appliance: AppliancePort;
  runId: string;
  clock: Clock;
  heartbeatMs: number;
  logger: Logger;
  /** Replay only the last `tail` lines. */
  tail?: number;
}

export const HEARTBEAT_COMMENT = ': heartbeat\n\n';

export function streamRunLog(c: Context, options: LogStreamOptions): Response {
  const requestSignal = c.req.raw.signal;
  return streamSSE(c, (stream) => pumpLog(stream, options, requestSignal));
}

async function pumpLog(stream: SSEStreamingApi, options: LogStreamOptions, requestSignal: AbortSignal): Promise<void> {
  const { appliance, runId, clock, heartbeatMs, logger } = options;
  const writes = new SerialWriter();
  let ended = false;
  let finish!: () => void;
  const finished = new Promise<void>((resolve) => (finish = resolve));

  // Either signal means the client is gone: the response stream was cancelled, or the request aborted.
  stream.onAbort(() => finish());
  if (requestSignal.aborted) finish();
  else requestSignal.addEventListener('abort', () => finish(), { once: true });

  let heartbeat: Timer;
  const beat = () => {
    writes.enqueue(() => stream.write(HEARTBEAT_COMMENT));
    heartbeat = clock.setTimer(heartbeatMs, beat);
  };
  heartbeat = clock.setTimer(heartbeatMs, beat);

  let skipped = 0;
  const sendLine = (line: string): Promise<void> | undefined => {
    if (stream.aborted) return undefined;
    if (writes.pendingBytes > QUEUE_HARD_BYTES) {
      skipped++;
      return undefined;
    }
    if (skipped > 0) {
      const note = `${new Date(clock.now()).toISOString()} [hearth] … ${skipped} lines skipped: this reader fell behind the task's output …`;
      skipped = 0;
      writes.enqueue(() => stream.writeSSE({ event: 'line', data: note }), note.length);
    }
    writes.enqueue(() => stream.writeSSE({ event: 'line', data: line }), line.length);
    // Back-pressure for the replay of existing lines (live lines are not awaited).
    return writes.pendingBytes > QUEUE_SOFT_BYTES ? writes.drained() : undefined;
  };

  let subscription: LogSubscription | undefined;
  try {
    subscription = await appliance.followLog(
      runId,
      sendLine,
      () => {
        ended = true;
        finish();
      },
      options.tail === undefined ? {} : { tail: options.tail },
    );
  } catch (error) {
    const mapped = mapError(error);
    if (!mapped) logger.error('following a run log failed', { runId, error });
    const message = mapped?.message ?? 'internal error; see the hearth log';
    writes.enqueue(() => stream.writeSSE({ event: 'error', data: message }));
    finish();
  }

  await finished;
  heartbeat.cancel();
  subscription?.close();
  if (ended && !stream.aborted) {
    const status = await finalStatus(appliance, runId);
    writes.enqueue(() => stream.writeSSE({ event: 'end', data: JSON.stringify({ status }) }));
  }
  await writes.drained();
}

async function finalStatus(appliance: AppliancePort, runId: string): Promise<string | null> {
  try {
    return (await appliance.getRun(runId))?.status ?? null;
  } catch {
    return null;
  }
}

/** Log callbacks are synchronous; this keeps their asynchronous writes in order and counts what waits. */
class SerialWriter {
  private tail: Promise<void> = Promise.resolve();
  /** Bytes (roughly: characters) of lines queued and not yet written. */
  pendingBytes = 0;

  enqueue(write: () => Promise<unknown>, bytes = 0): void {
    this.pendingBytes += bytes;
    this.tail = this.tail.then(write).then(
      () => void (this.pendingBytes -= bytes),
      () => void (this.pendingBytes -= bytes), // a write after the client left fails; nothing to do about it
    );
  }

  drained(): Promise<void> {
    return this.tail;
  }
}
