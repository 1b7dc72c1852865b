import { mkdtemp, rm, writeFile, mkdir, unlink, utimes, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { systemClock } from '../core/clock.js';
import { createHashingEmbedder } from './embedders/hashing.js';
import { KnowledgeBase } from './knowledge-base.js';
import { scanFolder, scanJsonl } from './sources.js';

// Real LanceDB in a temporary folder: no mocks anywhere below.

let dir: string;
let notes: string;
let kb: KnowledgeBase;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'hearth-kb-'));
  notes = join(dir, 'notes');
  await mkdir(notes);
  kb = new KnowledgeBase({ root: join(dir, 'knowledge'), embedder: createHashingEmbedder(128), clock: systemClock });
});

afterEach(async () => {
  await kb.close();
  await rm(dir, { recursive: true, force: true });
});

async function ingestNotes(progress?: (line: string) => void) {
  const scan = await scanFolder(notes, { maxFileBytes: 1_000_000 });
  return kb.sync('notes', scan.items, { removeMissing: true, ...(progress ? { progress } : {}) });
}

async function note(name: string, text: string, mtime?: Date): Promise<void> {
  const path = join(notes, name);
  await mkdir(join(path, '..'), { recursive: true });
  await writeFile(path, text);
  if (mtime) await utimes(path, mtime, mtime);
}

const BOILER = `---
title: Boiler service
date: 2025-01-14
author: Sam
---
# Boiler service

The engineer came on Tuesday. The boiler pressure had dropped to 0.5 bar, so he topped it up
to 1.5 bar and bled the radiators upstairs. He said to check the pressure gauge monthly over winter.
`;

describe('KnowledgeBase with LanceDB', () => {
  it('ingests a folder of Markdown, text and HTML and finds documents by meaning and keyword', async () => {
    await note('boiler.md', BOILER);
    await note('garden/shed.txt', 'Shed roof\n\nThe felt on the shed roof needs replacing before autumn rain.');
    await note('recipes/bread.html', '<html><head><title>Sourdough</title></head><body><p>Feed the starter &amp; wait twelve hours.</p><script>x()</script></body></html>');
    const lines: string[] = [];
    const report = await ingestNotes((line) => lines.push(line));

    expect(report).toMatchObject({ documents: 3, added: 3, changed: 0, unchanged: 0, removed: 0 });
    expect(report.chunksEmbedded).toBe(report.chunksTotal);
    expect(lines.at(-1)).toMatch(/notes: done — 3 documents \(3 new, 0 changed, 0 unchanged, 0 removed\); 3 chunks embedded/);

    const result = await kb.search({ text: 'boiler pressure' });
    expect(result.mode).toBe('hybrid');
    expect(result.hits[0]).toMatchObject({ source: 'notes', title: 'Boiler service', author: 'Sam', timestamp: '2025-01-14T00:00:00.000Z' });
    expect(result.hits[0]!.url).toMatch(/^file:\/\/.*boiler\.md$/);
    expect(result.hits[0]!.snippet).toContain('boiler pressure');
    expect(result.hits[0]!.matchedBy).toEqual(expect.arrayContaining(['keyword', 'vector']));

    const html = await kb.search({ text: 'sourdough starter' });
    expect(html.hits[0]).toMatchObject({ title: 'Sourdough' });
    expect(html.hits[0]!.snippet).toBe('Feed the starter & wait twelve hours.');
  });

  it('re-ingesting unchanged and touched-but-identical files adds no duplicates', async () => {
    await note('boiler.md', BOILER);
    await note('shed.txt', 'Shed roof felt needs replacing.');
    const first = await ingestNotes();
    const status1 = await kb.status();

    const second = await ingestNotes();
    expect(second).toMatchObject({ added: 0, changed: 0, unchanged: 2, chunksEmbedded: 0 });

    // Same bytes, new mtime: read and hashed, found identical, not re-embedded.
    await utimes(join(notes, 'shed.txt'), new Date(), new Date(Date.now() + 5_000));
    const third = await ingestNotes();
    expect(third).toMatchObject({ added: 0, changed: 0, unchanged: 2, chunksEmbedded: 0 });

    const status3 = await kb.status();
    expect(status3.chunks).toBe(status1.chunks);
    expect(status3.chunks).toBe(first.chunksTotal);
    const hits = (await kb.search({ text: 'shed roof', limit: 10 })).hits.filter((hit) => hit.title.startsWith('Shed'));
    expect(hits).toHaveLength(1);
  });

  it('an edited file replaces its old chunks and a deleted file loses all of them', async () => {
    await note('boiler.md', BOILER);
    await note('shed.txt', 'Shed roof felt needs replacing.');
    await ingestNotes();
    const docId = (await kb.search({ text: 'shed roof felt' })).hits[0]!.docId;
    const before = await kb.indexedChunkIds(docId);
    expect(before).toHaveLength(1);

    await note('shed.txt', 'Shed door hinge squeaks; oil it.', new Date(Date.now() + 10_000));
    const edited = await ingestNotes();
    expect(edited).toMatchObject({ changed: 1, unchanged: 1, chunksEmbedded: 1, chunksRemoved: 1 });
    const after = await kb.indexedChunkIds(docId);
    expect(after).toHaveLength(1);
    expect(after[0]).not.toBe(before[0]);
    // The old words are gone from the index: no keyword match (the vector ranking always returns its nearest).
    const felt = (await kb.search({ text: 'felt' })).hits.filter((hit) => hit.matchedBy.includes('keyword'));
    expect(felt).toEqual([]);
    expect((await kb.search({ text: 'hinge' })).hits[0]).toMatchObject({ docId, snippet: 'Shed door hinge squeaks; oil it.' });

    await unlink(join(notes, 'shed.txt'));
    const removed = await ingestNotes();
    expect(removed).toMatchObject({ removed: 1, chunksRemoved: 1 });
    expect(await kb.indexedChunkIds(docId)).toEqual([]);
    expect((await kb.search({ text: 'shed door hinge' })).hits.map((hit) => hit.docId)).not.toContain(docId);
    expect((await kb.status()).sources).toEqual([{ name: 'notes', documents: 1, chunks: 1 }]);
    // Its processed file is gone too; the raw blob goes at the next optimize.
    expect(await readdir(join(dir, 'knowledge', 'processed', 'notes'))).toHaveLength(1);
    const optimized = await kb.optimize({ keepVersionsMs: 0 });
    expect(optimized.rawBlobsRemoved).toBe(2);
    expect(await readdir(join(dir, 'knowledge', 'raw', 'notes'))).toHaveLength(1);
    expect((await kb.search({ text: 'boiler' })).hits).toHaveLength(1);
  });

  it('filters by source and by date range', async () => {
    await note('a.md', '---\ndate: 2024-12-20\n---\nThe boiler made a knocking noise.');
    await note('b.md', '---\ndate: 2025-06-01\n---\nBoiler annual service booked.');
    await ingestNotes();
    const jsonl = join(dir, 'mail.jsonl');
    await writeFile(jsonl, `${JSON.stringify({ id: 'm1', subject: 'Boiler quote', from: 'Heating Co', date: '2025-01-05', body: 'Quote for a new boiler.' })}\n`);
    const mail = await scanJsonl(jsonl);
    await kb.sync('mail', mail.items, { removeMissing: false });

    const all = await kb.search({ text: 'boiler' });
    expect(all.hits).toHaveLength(3);
    const mailOnly = await kb.search({ text: 'boiler', sources: ['mail'] });
    expect(mailOnly.hits.map((hit) => [hit.source, hit.title, hit.author])).toEqual([['mail', 'Boiler quote', 'Heating Co']]);
    const winter = await kb.search({ text: 'boiler', since: Date.parse('2024-12-01'), until: Date.parse('2025-03-01') });
    expect(winter.hits.map((hit) => hit.timestamp).sort()).toEqual(['2024-12-20T00:00:00.000Z', '2025-01-05T00:00:00.000Z']);
    const notesSince = await kb.search({ text: 'boiler', sources: ['notes'], since: Date.parse('2025-01-01') });
    expect(notesSince.hits.map((hit) => hit.timestamp)).toEqual(['2025-06-01T00:00:00.000Z']);
    expect((await kb.search({ text: 'boiler', sources: ['nope'] })).hits).toEqual([]);
  });

  it('hybrid ranking puts the exact-phrase match first', async () => {
    // The other notes use the query's words more often, and apart; one note has them as the phrase.
    await note('scattered-1.md', 'Valve check. The pressure in the pipes was fine, the valve too. Pressure, valve, boiler: all fine. Boiler boiler valve pressure.');
    await note('scattered-2.md', 'Pressure washer for the patio. The boiler cupboard has a valve. Pressure pressure valve.');
    await note('phrase.md', 'Last winter the boiler pressure valve started dripping onto the floor.');
    await note('other.md', 'Nothing to do with heating: the bike needs a new chain.');
    await ingestNotes();

    const result = await kb.search({ text: 'boiler pressure valve' });
    expect(result.hits[0]!.title).toBe('phrase');
    expect(result.hits[0]!.matchedBy).toContain('phrase');
    expect(result.hits.slice(1).every((hit) => !hit.matchedBy.includes('phrase'))).toBe(true);
  });

  it('switching embedders re-embeds the index instead of mixing vectors', async () => {
    await note('boiler.md', BOILER);
    await ingestNotes();
    await kb.close();
    kb = new KnowledgeBase({ root: join(dir, 'knowledge'), embedder: createHashingEmbedder(64), clock: systemClock });
    const pending = await kb.search({ text: 'boiler pressure' });
    expect(pending.mode).toBe('keyword');
    expect(pending.note).toMatch(/hashing-v1-128 vectors/);
    expect(pending.hits[0]!.title).toBe('Boiler service');
    expect((await kb.status()).embedder).toMatchObject({ configured: 'hashing-v1-64', indexed: 'hashing-v1-128', reembedNeeded: true });

    const lines: string[] = [];
    await ingestNotes((line) => lines.push(line));
    expect(lines[0]).toBe('embedder changed from hashing-v1-128 to hashing-v1-64: re-embedding the index first');
    expect(lines).toContainEqual(expect.stringMatching(/^indexed 1 documents, \d+ chunks with hashing-v1-64/));
    const after = await kb.search({ text: 'boiler pressure' });
    expect(after.mode).toBe('hybrid');
    expect(after.hits[0]!.title).toBe('Boiler service');
    expect((await kb.status()).embedder).toMatchObject({ indexed: 'hashing-v1-64', dim: 64, reembedNeeded: false });
  });

  it('rebuilds processed and indexed stages from raw', async () => {
    await note('boiler.md', BOILER);
    await note('shed.txt', 'Shed roof felt needs replacing.');
    await ingestNotes();
    const before = await kb.search({ text: 'radiators upstairs' });
    await rm(join(dir, 'knowledge', 'processed'), { recursive: true });
    // The original files are gone too: raw is the source of truth now.
    await rm(notes, { recursive: true });

    const lines: string[] = [];
    const rebuilt = await kb.rebuild('raw', (line) => lines.push(line));
    expect(rebuilt).toEqual({ documents: 2, chunks: 2 });
    expect(lines[0]).toBe('notes: re-processing 2 raw documents');
    const after = await kb.search({ text: 'radiators upstairs' });
    expect(after.hits.map((hit) => [hit.chunkId, hit.title])).toEqual(before.hits.map((hit) => [hit.chunkId, hit.title]));
    expect((await kb.status()).chunks).toBe(2);
  });
});
