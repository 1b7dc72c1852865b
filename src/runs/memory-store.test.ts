import { MemoryRunStore } from './memory-store.js';
import { runStoreConformance } from './store-conformance.js';

runStoreConformance('MemoryRunStore', async () => {
  const store = new MemoryRunStore();
  await store.open();
  return { store };
});
