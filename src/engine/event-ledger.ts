import { TooManyRequestsError } from '../core/errors.js';
import type { RunStore } from '../runs/store.js';

/**
 * The event ids (idempotency keys) seen in the last EVENT_ID_TTL_MS, so the
 * same `POST /api/events` sent twice (a retry after a lost answer, a sensor
 * that repeats itself) makes one event.
 *
 * Ids live in the run store's meta, one key per hour (`events:<hour>`):
 * remembering an id rewrites only its hour's bucket, and the bucket goes to
 * state.wal in the same write batch as the runs the event created (the
 * engine inserts them in the same tick), so a crash keeps both or neither.
 * Bounded: at most MAX_IDS_PER_HOUR ids an hour (more is a 429), buckets
 * older than the TTL are deleted: a prune lists the stored `events:` keys
 * (the store's metaKeys) rather than probing every hour it might have missed,
 * so the first prune after a start reads nothing (it walked 400 days, 9,600
 * getMeta calls, and its loop was what tiered V8 up at the first
 * housekeeping pass) and a bucket of any age is found.
 */

export const EVENT_ID_TTL_MS = 24 * 3_600_000;
export const MAX_IDS_PER_HOUR = 1000;
const BUCKET_MS = 3_600_000;
const KEY_PREFIX = 'events:';

export interface EventRecord {
  /** When the event was accepted (epoch ms). */
  at: number;
  name: string;
  runs: string[];
  skipped: Array<{ job: string; reason: string }>;
}

type Bucket = Record<string, EventRecord>;

export class EventLedger {
  /** Buckets read from the store so far (the store's getMeta copies; this keeps one live copy each). */
  private readonly buckets = new Map<number, Bucket>();
  private prunedBefore = -Infinity;

  constructor(private readonly store: Pick<RunStore, 'getMeta' | 'setMeta' | 'metaKeys'>) {}

  /** The event recorded under `id` within the TTL, if any. */
  find(id: string, now: number): EventRecord | undefined {
    const first = bucketOf(now - EVENT_ID_TTL_MS);
    // One hour ahead too: ids recorded just before the clock was set back a little.
    for (let hour = bucketOf(now) + 1; hour >= first; hour--) {
      const record = this.bucket(hour)?.[id];
      if (record && record.at > now - EVENT_ID_TTL_MS) return record;
    }
    return undefined;
  }

  /**
   * Records `id` (in memory at once, on disk with the store's next write).
   * Returns the undo for when the runs it names could not be written.
   */
  remember(id: string, record: EventRecord): () => void {
    const hour = bucketOf(record.at);
    const bucket = { ...(this.bucket(hour) ?? {}) };
    if (Object.keys(bucket).length >= MAX_IDS_PER_HOUR) {
      const retryAfter = Math.max(1, Math.ceil(((hour + 1) * BUCKET_MS - record.at) / 1000));
      throw new TooManyRequestsError(`too many events with an id this hour (at most ${MAX_IDS_PER_HOUR} are remembered an hour); send it again later`, retryAfter);
    }
    bucket[id] = record;
    this.put(hour, bucket);
    this.prune(record.at);
    return () => {
      const current = { ...(this.bucket(hour) ?? {}) };
      delete current[id];
      this.put(hour, Object.keys(current).length > 0 ? current : undefined);
    };
  }

  /** Deletes buckets wholly older than the TTL (looked for once per hour). */
  prune(now: number): void {
    const keepFrom = bucketOf(now - EVENT_ID_TTL_MS);
    if (keepFrom <= this.prunedBefore) return;
    for (const key of this.store.metaKeys(KEY_PREFIX)) {
      const hour = Number(key.slice(KEY_PREFIX.length));
      if (Number.isSafeInteger(hour) && hour < keepFrom) this.put(hour, undefined);
    }
    this.prunedBefore = keepFrom;
  }

  private bucket(hour: number): Bucket | undefined {
    if (!this.buckets.has(hour)) {
      const stored = this.store.getMeta<Bucket>(KEY_PREFIX + hour);
      if (stored === undefined) return undefined;
      this.buckets.set(hour, stored);
    }
    return this.buckets.get(hour);
  }

  private put(hour: number, bucket: Bucket | undefined): void {
    if (bucket === undefined) this.buckets.delete(hour);
    else this.buckets.set(hour, bucket);
    this.store.setMeta(KEY_PREFIX + hour, bucket);
  }
}

function bucketOf(at: number): number {
  return Math.floor(at / BUCKET_MS);
}
