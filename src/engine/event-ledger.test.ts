import { afterEach, describe, expect, it, vi } from 'vitest';
import { MemoryRunStore } from '../runs/memory-store.js';
import { EVENT_ID_TTL_MS, EventLedger } from './event-ledger.js';

const HOUR = 3_600_000;
const NOW = Date.UTC(2026, 10, 26, 12, 30);
const hourOf = (at: number) => Math.floor(at / HOUR);
const record = (at: number) => ({ at, name: 'doorbell', runs: [], skipped: [] });

describe('EventLedger prune', () => {
  let store: MemoryRunStore;
  afterEach(async () => store.close());

  async function storeWith(buckets: Record<number, Record<string, unknown>>): Promise<MemoryRunStore> {
    store = new MemoryRunStore();
    await store.open();
    for (const [hour, bucket] of Object.entries(buckets)) store.setMeta(`events:${hour}`, bucket);
    store.setMeta('lastSeenWallClock', NOW);
    return store;
  }

  it('the first prune after a start reads no bucket: it lists the stored keys instead of probing every hour', async () => {
    const old = hourOf(NOW - 3 * 86_400_000);
    const recent = hourOf(NOW - HOUR);
    await storeWith({ [old]: { a: record(old * HOUR) }, [recent]: { b: record(recent * HOUR) } });
    const getMeta = vi.spyOn(store, 'getMeta');
    const metaKeys = vi.spyOn(store, 'metaKeys');
    new EventLedger(store).prune(NOW);
    expect(getMeta).not.toHaveBeenCalled();
    expect(metaKeys.mock.calls).toEqual([['events:']]);
    expect(store.metaKeys('events:')).toEqual([`events:${recent}`]);
    expect(store.getMeta('lastSeenWallClock')).toBe(NOW);
  });

  it('deletes buckets of any age past the TTL (an appliance switched off for over a year) and keeps the rest', async () => {
    const ancient = hourOf(NOW - 500 * 86_400_000);
    const justOut = hourOf(NOW - EVENT_ID_TTL_MS) - 1;
    const justIn = hourOf(NOW - EVENT_ID_TTL_MS);
    const ahead = hourOf(NOW) + 1;
    await storeWith({ [ancient]: { a: record(ancient * HOUR) }, [justOut]: { b: record(justOut * HOUR) }, [justIn]: { c: record(justIn * HOUR) }, [ahead]: { d: record(ahead * HOUR) } });
    store.setMeta('events:not-an-hour', { e: 1 });
    const ledger = new EventLedger(store);
    ledger.prune(NOW);
    expect(store.metaKeys('events:').sort()).toEqual([`events:${ahead}`, `events:${justIn}`, 'events:not-an-hour'].sort());
    // The next hour's prune drops the bucket that has aged out meanwhile, and an id in it is no longer found.
    expect(ledger.find('c', NOW + HOUR - 1)).toBeUndefined();
    ledger.prune(NOW + HOUR);
    expect(store.metaKeys('events:').sort()).toEqual([`events:${ahead}`, 'events:not-an-hour'].sort());
  });

  it('an id remembered after the prune is still found and kept', async () => {
    await storeWith({});
    const ledger = new EventLedger(store);
    ledger.prune(NOW);
    ledger.remember('x', record(NOW));
    ledger.prune(NOW + 2 * HOUR);
    expect(ledger.find('x', NOW + 2 * HOUR)?.at).toBe(NOW);
    expect(store.metaKeys('events:')).toEqual([`events:${hourOf(NOW)}`]);
  });
});
