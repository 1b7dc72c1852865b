import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Outbox, type Delivery } from './outbox.js';

describe('Outbox: what quiet windows hold back', () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'hearth-outbox-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const delivery = (n: number, key: string): Delivery => ({
    id: `m${n}`, channel: 'phone', key, queuedAt: n,
    message: { id: `m${n}`, kind: 'failure', title: `t${n}`, body: '', at: n },
  });

  it('keeps the latest state per key across a compaction, and forgets a key once a message went out under it', async () => {
    const path = join(dir, 'outbox.jsonl');
    const outbox = new Outbox(path, { maxPending: 1000, keepDelivered: 2, compactAfterLines: 6 });
    await outbox.load();
    await outbox.hold({ key: 'failure:a', count: 1, since: 10, latest: { title: 'a1' } });
    await outbox.hold({ key: 'failure:b', count: 1, since: 11, latest: { title: 'b1' } });
    await outbox.hold({ key: 'failure:a', count: 2, since: 10, latest: { title: 'a2' } });
    // Enough lines to compact more than once.
    for (let n = 0; n < 8; n++) {
      const d = delivery(n, 'failure:c');
      await outbox.add([d], n);
      await outbox.finish(d, { id: d.id, channel: d.channel, at: n, result: 'sent' });
    }
    await outbox.add([delivery(99, 'failure:b')], 99);
    const reopened = new Outbox(path);
    await reopened.load();
    expect(reopened.heldBack()).toEqual([{ key: 'failure:a', count: 2, since: 10, latest: { title: 'a2' } }]);
    await reopened.hold({ key: 'failure:a', count: 0, since: 0, latest: null });
    const again = new Outbox(path);
    await again.load();
    expect(again.heldBack()).toEqual([]);
  });
});
