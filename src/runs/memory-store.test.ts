import { MemoryRunStore } from './memory-store.js';
import { runStoreConformance } from './store-conformance.js';
import { scheduleLedgerConformance } from './schedule-ledger-conformance.js';

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
