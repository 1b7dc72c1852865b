import type { AppliancePort, RunEvent } from '../../engine/port.js';
import type { Clock, Timer } from '../../core/clock.js';
import type { Run } from '../../runs/model.js';

/**
 * Live updates for every open dashboard tab over one shared fan-out: the hub
 * subscribes to the engine once, coalesces run changes for `flushMs`, turns
 * each batch into one encoded SSE chunk, and hands that same chunk to every
 * viewer. A viewer costs a queue entry per batch, never a poller, a timer or
 * a serialisation of its own. A viewer that stops reading is dropped.
 *
 *   event: run
 *   data: {"id":"r_…","job":"backup","status":"running",…}
 */

export interface LiveHubOptions {
  appliance: Pick<AppliancePort, 'onRunEvent'>;
  clock: Clock;
  flushMs?: number;
  heartbeatMs?: number;
  maxViewers?: number;
}

export interface RunSummary {
  id: string;
  job: string;
  status: Run['status'];
  trigger: Run['trigger'];
  createdAt: string;
  startedAt?: string;
  finishedAt?: string;
  tasks: Record<string, { status: string; attempts: number }>;
}

const encoder = new TextEncoder();
const HEARTBEAT = encoder.encode(': heartbeat\n\n');
/** Chunks a viewer may have unread before it counts as gone (a phone that went to sleep mid-stream). */
const MAX_BACKLOG = 256;

export class LiveHub {
  private readonly viewers = new Set<ReadableStreamDefaultController<Uint8Array>>();
  private readonly dirty = new Map<string, Readonly<Run>>();
  private flushTimer: Timer | undefined;
  private heartbeat: Timer | undefined;
  private unsubscribe: (() => void) | undefined;
  /** Batches sent so far (tests and the benchmark read it). */
  batches = 0;

  constructor(private readonly options: LiveHubOptions) {}

  start(): void {
    if (this.unsubscribe) return;
    this.unsubscribe = this.options.appliance.onRunEvent((event) => this.onRunEvent(event));
  }

  stop(): void {
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    this.flushTimer?.cancel();
    this.heartbeat?.cancel();
    this.heartbeat = undefined;
    for (const viewer of this.viewers) closeQuietly(viewer);
    this.viewers.clear();
  }

  get viewerCount(): number {
    return this.viewers.size;
  }

  /** A new viewer: an SSE response that ends when the client goes away or the hub stops. */
  connect(signal: AbortSignal): Response {
    if (this.viewers.size >= (this.options.maxViewers ?? 200)) {
      return new Response('too many live viewers\n', { status: 503, headers: { 'Retry-After': '30', 'Content-Type': 'text/plain' } });
    }
    let self: ReadableStreamDefaultController<Uint8Array> | undefined;
    const body = new ReadableStream<Uint8Array>({
      start: (controller) => {
        self = controller;
        this.viewers.add(controller);
        controller.enqueue(encoder.encode('retry: 5000\n: connected\n\n'));
        // The heartbeat runs only while someone watches: an idle appliance with no dashboard open is not woken for it.
        if (this.unsubscribe && !this.heartbeat) this.armHeartbeat();
      },
      cancel: () => {
        if (self) this.viewers.delete(self);
      },
    });
    signal.addEventListener('abort', () => {
      if (!self) return;
      this.viewers.delete(self);
      closeQuietly(self);
    }, { once: true });
    return new Response(body, {
      headers: { 'Content-Type': 'text/event-stream; charset=utf-8', 'Cache-Control': 'no-store', 'X-Accel-Buffering': 'no' },
    });
  }

  private onRunEvent(event: RunEvent): void {
    if (this.viewers.size === 0) return;
    this.dirty.set(event.run.id, event.run);
    this.flushTimer ??= this.options.clock.setTimer(this.options.flushMs ?? 250, () => this.flush());
  }

  private flush(): void {
    this.flushTimer = undefined;
    if (this.dirty.size === 0) return;
    let text = '';
    for (const run of this.dirty.values()) text += `event: run\ndata: ${JSON.stringify(summarise(run))}\n\n`;
    this.dirty.clear();
    this.broadcast(encoder.encode(text));
    this.batches++;
  }

  private armHeartbeat(): void {
    this.heartbeat = this.options.clock.setTimer(this.options.heartbeatMs ?? 15_000, () => {
      this.heartbeat = undefined;
      this.broadcast(HEARTBEAT);
      if (this.viewers.size > 0) this.armHeartbeat();
    });
  }

  private broadcast(chunk: Uint8Array): void {
    for (const viewer of this.viewers) {
      if ((viewer.desiredSize ?? 0) < -MAX_BACKLOG) {
        this.viewers.delete(viewer);
        closeQuietly(viewer);
        continue;
      }
      try {
        viewer.enqueue(chunk);
      } catch {
        this.viewers.delete(viewer); // already closed by the other side
      }
    }
  }
}

export function summarise(run: Readonly<Run>): RunSummary {
  const tasks: RunSummary['tasks'] = {};
  for (const [name, task] of Object.entries(run.tasks)) tasks[name] = { status: task.status, attempts: task.attempts };
  return {
    id: run.id,
    job: run.job,
    status: run.status,
    trigger: run.trigger,
    createdAt: run.createdAt,
    ...(run.startedAt ? { startedAt: run.startedAt } : {}),
    ...(run.finishedAt ? { finishedAt: run.finishedAt } : {}),
    tasks,
  };
}

function closeQuietly(controller: ReadableStreamDefaultController<Uint8Array>): void {
  try {
    controller.close();
  } catch {
    // already closed
  }
}
