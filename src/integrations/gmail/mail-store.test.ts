import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { INDEX_FILE, MailStore, type IndexRecord } from './mail-store.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'hearth-mail-store-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('the mail index readers', () => {
  it('both skip blank lines and a line cut short, and read the same records', async () => {
    const a = { id: 'a', f: 'a.eml', d: 1, l: ['INBOX'] };
    const b = { id: 'b', f: 'b.eml', d: 2, l: [] };
    await writeFile(join(dir, INDEX_FILE), `${JSON.stringify(a)}\n\n   \n${JSON.stringify(b)}\n{"id":"c","f":"c.e\n`);
    const store = new MailStore(dir);

    const entries = await store.loadIndex();
    expect([...entries.keys()]).toEqual(['a', 'b']);
    expect(store.lines).toBe(5); // lines on disk, skipped ones too

    const read: IndexRecord[] = [];
    for await (const [, record] of store.recordsFrom(0)) read.push(record);
    expect(read).toEqual([a, b]);
  });
});
