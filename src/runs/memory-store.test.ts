import { MemoryRunStore } from './memory-store.js';
import { runStoreConformance } from './store-conformance.js';
import { scheduleLedgerConformance } from './schedule-ledger-conformance.js';
import { runRepositoryConformance } from './run-repository-conformance.js';
import { runQueueConformance } from './run-queue-conformance.js';
import { FakeClock } from '../core/clock.js';

runStoreConformance('MemoryRunStore', async () => {
  const store = new MemoryRunStore();
  await store.open();
  return { store };
});

scheduleLedgerConformance('MemoryRunStore', async () => {
  const store = new MemoryRunStore();
  await store.open();
  return {
    ledger: store.schedules,
    seed: async (job, state) => store.setSchedule(job, state),
    close: () => store.close(),
  };
});

runRepositoryConformance('MemoryRunStore', async () => {
  const store = new MemoryRunStore();
  await store.open();
  return { runs: store.runs, close: () => store.close() };
});

runQueueConformance('MemoryRunStore', async () => {
  const clock = new FakeClock('2026-03-01T12:00:00Z');
  const store = new MemoryRunStore({ clock });
  await store.open();
  return { queue: store.queue, runs: store.runs, clock, close: () => store.close() };
});
