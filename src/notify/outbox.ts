import { mkdir, open, readFile, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { writeFileAtomic } from '../core/atomic-file.js';
import { isNotFound } from '../core/errors.js';
import type { OutgoingMessage } from './message.js';

/**
 * The durable outbox: an append-only JSON-lines file (<dataDir>/notify/
 * outbox.jsonl). A delivery (one message to one channel) is appended and
 * fsynced before anything is sent, its outcome appended after. On start
 * every delivery without an outcome is pending again: a process killed
 * between the two sends it after the restart, with the same id.
 *
 * Bounded: when the file grows past `compactAfterLines` it is rewritten
 * (atomically) with what is pending, what quiet windows hold back, plus the
 * most recent `keepDelivered` outcomes; more than `maxPending` undelivered
 * messages drop the oldest.
 */
export interface Delivery {
  id: string;
  channel: string;
  /** The quiet-window key it was counted under. */
  key: string;
  message: OutgoingMessage;
  /** When it entered the outbox (epoch ms). */
  queuedAt: number;
}

export interface DeliveryOutcome {
  id: string;
  channel: string;
  at: number;
  result: 'sent' | 'dropped';
  /** For `dropped`: why (gave up after N days, outbox full, channel removed). */
  reason?: string;
}

/**
 * Notifications a quiet window holds back (Notifier.accept): how many since
 * when, and the latest, which is sent when the window ends. Each `held` line
 * carries the whole state of its key, so the last one wins; a delivery added
 * under the key ends it (what was held went out with that message).
 */
export interface HeldBack<N = unknown> {
  key: string;
  count: number;
  since: number;
  latest: N;
}

type Line = ({ op: 'add' } & Delivery) | ({ op: 'done' } & DeliveryOutcome) | ({ op: 'held' } & HeldBack);

export interface OutboxLimits {
  maxPending: number;
  keepDelivered: number;
  compactAfterLines: number;
}

export const OUTBOX_LIMITS: OutboxLimits = { maxPending: 1000, keepDelivered: 200, compactAfterLines: 2000 };

export class Outbox {
  private readonly pending = new Map<string, Delivery>();
  /** By quiet-window key; count 0 is never kept. */
  private readonly held = new Map<string, HeldBack>();
  /** Recent outcomes, oldest first (kept for the quiet windows and the Settings page). */
  private recent: Array<Delivery & { outcome: DeliveryOutcome }> = [];
  private lines = 0;
  /** Appends run one after another; each resolves once its line is on disk. */
  private chain: Promise<unknown> = Promise.resolve();

  constructor(
    readonly path: string,
    private readonly limits: OutboxLimits = OUTBOX_LIMITS,
  ) {}

  /** Reads the file (a torn last line from a power cut is ignored). */
  async load(): Promise<void> {
    let text = '';
    try {
      text = await readFile(this.path, 'utf8');
    } catch (error) {
      if (!isNotFound(error)) throw error;
    }
    this.pending.clear();
    this.held.clear();
    this.recent = [];
    const added = new Map<string, Delivery>();
    for (const raw of text.split('\n')) {
      if (!raw.trim()) continue;
      let line: Line;
      try {
        line = JSON.parse(raw) as Line;
      } catch {
        continue;
      }
      this.lines += 1;
      if (line.op === 'held') {
        const { op: _op, ...held } = line;
        this.keepHeld(held);
        continue;
      }
      const key = keyOf(line.id, line.channel);
      if (line.op === 'add') {
        const { op: _op, ...delivery } = line;
        added.set(key, delivery);
        this.pending.set(key, delivery);
        this.held.delete(delivery.key);
      } else if (line.op === 'done') {
        const { op: _op, ...outcome } = line;
        this.pending.delete(key);
        const delivery = added.get(key);
        if (delivery) this.recent.push({ ...delivery, outcome });
      }
    }
    this.recent = this.recent.slice(-this.limits.keepDelivered);
  }

  /** Adds deliveries; resolves once they are on disk. Returns those dropped to stay under maxPending. */
  async add(deliveries: Delivery[], now: number): Promise<DeliveryOutcome[]> {
    for (const delivery of deliveries) {
      this.pending.set(keyOf(delivery.id, delivery.channel), delivery);
      this.held.delete(delivery.key);
    }
    const dropped: DeliveryOutcome[] = [];
    const lines: Line[] = deliveries.map((delivery) => ({ op: 'add', ...delivery }));
    while (this.pending.size > this.limits.maxPending) {
      const oldest = this.pending.values().next().value as Delivery;
      const outcome: DeliveryOutcome = { id: oldest.id, channel: oldest.channel, at: now, result: 'dropped', reason: `outbox full (${this.limits.maxPending} undelivered)` };
      this.settle(oldest, outcome);
      dropped.push(outcome);
      lines.push({ op: 'done', ...outcome });
    }
    await this.append(lines);
    return dropped;
  }

  /** Records a delivery's outcome (durably). */
  async finish(delivery: Delivery, outcome: DeliveryOutcome): Promise<void> {
    if (!this.pending.has(keyOf(delivery.id, delivery.channel))) return;
    this.settle(delivery, outcome);
    await this.append([{ op: 'done', ...outcome }]);
  }

  /** Records what a quiet window holds back now (durably); a count of 0 forgets the key. */
  async hold(held: HeldBack): Promise<void> {
    if (held.count === 0 && !this.held.has(held.key)) return;
    this.keepHeld(held);
    await this.append([{ op: 'held', ...held }]);
  }

  /** What quiet windows held back before a restart. */
  heldBack(): HeldBack[] {
    return [...this.held.values()];
  }

  /** Undelivered, oldest first. */
  pendingDeliveries(): Delivery[] {
    return [...this.pending.values()];
  }

  isPending(delivery: Delivery): boolean {
    return this.pending.has(keyOf(delivery.id, delivery.channel));
  }

  /** Recently settled deliveries, oldest first. */
  recentOutcomes(): ReadonlyArray<Delivery & { outcome: DeliveryOutcome }> {
    return this.recent;
  }

  /** Waits for every append started so far. */
  async flush(): Promise<void> {
    await this.chain.catch(() => {});
  }

  private keepHeld(held: HeldBack): void {
    if (held.count > 0) this.held.set(held.key, held);
    else this.held.delete(held.key);
  }

  private settle(delivery: Delivery, outcome: DeliveryOutcome): void {
    this.pending.delete(keyOf(delivery.id, delivery.channel));
    this.recent.push({ ...delivery, outcome });
    if (this.recent.length > this.limits.keepDelivered) this.recent.splice(0, this.recent.length - this.limits.keepDelivered);
  }

  private append(lines: Line[]): Promise<void> {
    const next = this.chain.catch(() => {}).then(async () => {
      if (this.lines + lines.length > this.limits.compactAfterLines) {
        await this.rewrite();
        return;
      }
      await mkdir(dirname(this.path), { recursive: true, mode: 0o700 });
      const handle = await open(this.path, 'a', 0o600);
      try {
        await handle.writeFile(lines.map((line) => JSON.stringify(line)).join('\n') + '\n');
        await handle.sync();
      } finally {
        await handle.close();
      }
      this.lines += lines.length;
    });
    this.chain = next;
    return next;
  }

  /** The file again with only what is still needed: recent outcomes and what is pending (its state already in memory). */
  private async rewrite(): Promise<void> {
    const lines: Line[] = [];
    for (const entry of this.recent) {
      const { outcome, ...delivery } = entry;
      lines.push({ op: 'add', ...delivery }, { op: 'done', ...outcome });
    }
    for (const delivery of this.pending.values()) lines.push({ op: 'add', ...delivery });
    for (const held of this.held.values()) lines.push({ op: 'held', ...held });
    await writeFileAtomic(this.path, lines.map((line) => JSON.stringify(line)).join('\n') + (lines.length ? '\n' : ''), 0o600);
    this.lines = lines.length;
  }

  /** Bytes on disk (for tests and the bound). */
  async size(): Promise<number> {
    try {
      return (await stat(this.path)).size;
    } catch (error) {
      if (isNotFound(error)) return 0;
      throw error;
    }
  }
}

function keyOf(id: string, channel: string): string {
  return `${channel}\u0000${id}`;
}
