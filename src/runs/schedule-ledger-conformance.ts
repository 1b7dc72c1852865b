import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ScheduleLedger } from './schedule-ledger.js';

/**
 * The one test suite every ScheduleLedger implementation must pass. Call it
 * from the implementation's test file. `make` returns a ledger on empty
 * storage; `reopen`, when given, closes that storage and returns a ledger on
 * the same storage opened afresh (durable implementations must give it);
 * `close` releases the storage at the end of each test.
 */
export interface LedgerUnderTest {
  ledger: ScheduleLedger;
  /** Seeds a job's state the way older data would have it (e.g. paused, spec). */
  seed(job: string, state: { lastHandled?: number; paused?: boolean; spec?: string }): Promise<void>;
  reopen?: () => Promise<ScheduleLedger>;
  close(): Promise<void>;
}

/** `durable: true` adds the close-and-reopen test; such ledgers must supply `reopen`. */
export function scheduleLedgerConformance(name: string, make: () => Promise<LedgerUnderTest>, options: { durable?: boolean } = {}): void {
  describe(`ScheduleLedger conformance: ${name}`, () => {
    let subject: LedgerUnderTest;
    let ledger: ScheduleLedger;

    beforeEach(async () => {
      subject = await make();
      ledger = subject.ledger;
    });
    afterEach(async () => {
      await subject.close();
    });

    it('has no state for a job never advanced', async () => {
      expect(await ledger.get('nightly')).toBeUndefined();
    });

    it('advances a job from nothing, then from the value it holds', async () => {
      expect(await ledger.advance('nightly', { from: undefined, to: 1_000 })).toBe(true);
      expect(await ledger.get('nightly')).toEqual({ lastHandled: 1_000 });
      const lastCatchup = { at: 5_000, occurrences: 3, runs: 1, policy: 'latest' };
      expect(await ledger.advance('nightly', { from: 1_000, to: 4_000, lastCatchup })).toBe(true);
      expect(await ledger.get('nightly')).toEqual({ lastHandled: 4_000, lastCatchup });
      expect(await ledger.get('other')).toBeUndefined();
    });

    it('refuses an advance planned from a value that is no longer stored, and changes nothing', async () => {
      await ledger.advance('nightly', { from: undefined, to: 1_000 });
      expect(await ledger.advance('nightly', { from: undefined, to: 2_000 })).toBe(false);
      expect(await ledger.advance('nightly', { from: 999, to: 2_000, lastCatchup: { at: 1, occurrences: 1, runs: 1, policy: 'all' } })).toBe(false);
      expect(await ledger.get('nightly')).toEqual({ lastHandled: 1_000 });
      // A job with no state refuses an advance that expects one.
      expect(await ledger.advance('fresh', { from: 1_000, to: 2_000 })).toBe(false);
      expect(await ledger.get('fresh')).toBeUndefined();
    });

    it('lets exactly one of two schedulers that planned the same occurrence record it', async () => {
      await ledger.advance('nightly', { from: undefined, to: 1_000 });
      const results = await Promise.all([
        ledger.advance('nightly', { from: 1_000, to: 2_000 }),
        ledger.advance('nightly', { from: 1_000, to: 3_000 }),
      ]);
      expect(results.filter(Boolean)).toHaveLength(1);
      expect((await ledger.get('nightly'))?.lastHandled).toBe(results[0] ? 2_000 : 3_000);
    });

    it('keeps the fields an advance does not name (paused, spec, the last catch-up)', async () => {
      await subject.seed('nightly', { lastHandled: 1_000, paused: true, spec: '["0 2 * * *","UTC"]' });
      const lastCatchup = { at: 5_000, occurrences: 2, runs: 2, policy: 'all' };
      expect(await ledger.advance('nightly', { from: 1_000, to: 2_000, lastCatchup })).toBe(true);
      expect(await ledger.advance('nightly', { from: 2_000, to: 3_000 })).toBe(true);
      expect(await ledger.get('nightly')).toEqual({ lastHandled: 3_000, paused: true, spec: '["0 2 * * *","UTC"]', lastCatchup });
    });

    it('hands out copies: changing what get returned changes nothing stored', async () => {
      const lastCatchup = { at: 5_000, occurrences: 2, runs: 2, policy: 'all' };
      await ledger.advance('nightly', { from: undefined, to: 1_000, lastCatchup });
      lastCatchup.runs = 99;
      const got = (await ledger.get('nightly'))!;
      got.lastHandled = 7;
      got.lastCatchup!.occurrences = 99;
      expect(await ledger.get('nightly')).toEqual({ lastHandled: 1_000, lastCatchup: { at: 5_000, occurrences: 2, runs: 2, policy: 'all' } });
    });

    // Registered only for durable ledgers: an in-memory one has nothing to reopen.
    (options.durable ? it : () => undefined)('keeps what was advanced across close and reopen, and the compare-and-set still holds', async () => {
      if (!subject.reopen) throw new Error(`${name} is durable but its factory gives no reopen()`);
      await ledger.advance('nightly', { from: undefined, to: 1_000 });
      await ledger.advance('nightly', { from: 1_000, to: 2_000 });
      ledger = await subject.reopen();
      expect(await ledger.get('nightly')).toEqual({ lastHandled: 2_000 });
      expect(await ledger.advance('nightly', { from: 1_000, to: 3_000 })).toBe(false);
      expect(await ledger.advance('nightly', { from: 2_000, to: 3_000 })).toBe(true);
    });
  });
}
