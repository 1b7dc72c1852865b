import { mkdtemp, readFile, rm, readdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FakeClock, systemClock, type Clock } from '../../core/clock.js';
import { DEFAULT_COSTS } from './api.js';
import { runBackup, type BackupOptions } from './backup.js';
import { FakeGoogle, sampleMessage } from './fake-google.js';
import { openGoogleGmail } from './google.js';
import { MailStore } from './mail-store.js';
import { QuotaPacer } from './pacer.js';

let fake: FakeGoogle;
let dir: string;
let refreshToken: string;

beforeEach(async () => {
  fake = await new FakeGoogle().start();
  refreshToken = fake.issueRefreshToken();
  dir = await mkdtemp(join(tmpdir(), 'hearth-gmail-'));
});

afterEach(async () => {
  await fake.stop();
  await rm(dir, { recursive: true, force: true });
});

async function backup(options: Partial<BackupOptions> & { clock?: Clock; quota?: number } = {}) {
  const clock = options.clock ?? systemClock;
  const api = await openGoogleGmail({ clientId: fake.clientId, clientSecret: fake.clientSecret, refreshToken, apiUrl: fake.apiUrl, tokenUrl: fake.tokenUrl }, () => clock.now());
  const lines: string[] = [];
  const report = await runBackup({
    api,
    store: new MailStore(join(dir, 'mail')),
    clock,
    pacer: new QuotaPacer(clock, options.quota ?? 1_000_000),
    costs: { ...DEFAULT_COSTS },
    log: (line) => lines.push(line),
    signal: new AbortController().signal,
    ...options,
  });
  return { report, lines };
}

const gets = () => fake.count(/\/messages\/(?!batchModify)[^/]+$/);

describe('gmail.backup against a fake Gmail (real Google clients)', () => {
  it('a full sync writes every message as a byte-identical .eml in YYYY/M/D, with an index of labels', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 25; i++) ids.push(fake.addMessage(sampleMessage(i, { html: i % 3 === 0 ? `<p>html ${i}</p>` : undefined }), { date: Date.UTC(2025, 2, 1 + (i % 28), 10), labels: i % 2 ? ['INBOX'] : ['INBOX', 'UNREAD'] }));
    const { report, lines } = await backup();
    expect(report).toMatchObject({ mode: 'full', listed: 25, fetched: 25, total: 25 });
    for (const [i, id] of ids.entries()) {
      const bytes = await readFile(join(dir, 'mail', '2025', '3', String(1 + (i % 28)), `${id}.eml`));
      expect(bytes.equals(fake.messages.get(id)!.raw)).toBe(true);
    }
    const index = await new MailStore(join(dir, 'mail')).loadIndex();
    expect(index.get(ids[0]!)?.labels).toEqual(['INBOX', 'UNREAD']);
    expect(index.get(ids[1]!)?.labels).toEqual(['INBOX']);
    expect(lines.some((l) => /25 of 25 messages, [\d.]+ msg\/s/.test(l))).toBe(true);
  });

  it('a second run uses only history.list and fetches only the new messages', async () => {
    for (let i = 0; i < 10; i++) fake.addMessage(sampleMessage(i));
    await backup();
    const before = fake.requests.length;
    const newer = [fake.addMessage(sampleMessage(100)), fake.addMessage(sampleMessage(101))];
    const old = [...fake.messages.keys()][0]!;
    fake.modifyLabels(old, ['STARRED'], ['UNREAD']);
    const { report } = await backup();
    const calls = fake.requests.slice(before).filter((r) => r.path !== '/token');
    expect(calls.map((r) => r.path).filter((p) => !p.startsWith('/gmail/v1/users/me/messages/'))).toEqual(['/gmail/v1/users/me/history']);
    expect(calls.filter((r) => /\/messages\//.test(r.path)).map((r) => r.path.split('/').pop()).sort()).toEqual([...newer].sort());
    expect(report).toMatchObject({ mode: 'incremental', fetched: 2, labelChanges: 2, total: 12 });
    const index = await new MailStore(join(dir, 'mail')).loadIndex();
    expect(index.get(old)?.labels.sort()).toEqual(['INBOX', 'STARRED']);
  });

  it('an incremental run with no new mail makes one history call and spends under 10 units', async () => {
    for (let i = 0; i < 5; i++) fake.addMessage(sampleMessage(i));
    await backup();
    const before = fake.requests.length;
    const { report } = await backup();
    expect(fake.requests.slice(before).filter((r) => r.path !== '/token').map((r) => r.path)).toEqual(['/gmail/v1/users/me/history']);
    expect(report.units).toBeLessThan(10);
    expect(report.fetched).toBe(0);
  });

  it('an expired history id (404) falls back to a full re-list that fetches only what is missing and marks deletions', async () => {
    const ids = Array.from({ length: 8 }, (_, i) => fake.addMessage(sampleMessage(i)));
    await backup();
    fake.deleteMessage(ids[0]!);
    const added = fake.addMessage(sampleMessage(50));
    fake.expireHistory();
    const before = gets();
    const { report, lines } = await backup();
    expect(report).toMatchObject({ mode: 'relist', listed: 8, fetched: 1, deletedOnServer: 1, alreadyStored: 7 });
    expect(gets() - before).toBe(1);
    expect(lines.some((l) => l.includes('too old (404)'))).toBe(true);
    const index = await new MailStore(join(dir, 'mail')).loadIndex();
    expect(index.get(added)).toBeDefined();
    expect(index.get(ids[0]!)?.deleted).toBeDefined();
    // The next run is incremental again.
    expect((await backup()).report.mode).toBe('incremental');
  });

  it('after a re-list, labels changed on the server while history was gone are read again by label, not per message', async () => {
    const ids = Array.from({ length: 6 }, (_, i) => fake.addMessage(sampleMessage(i), { labels: ['INBOX', 'UNREAD'] }));
    await backup();
    fake.modifyLabels(ids[0]!, ['STARRED'], ['UNREAD']);
    fake.modifyLabels(ids[1]!, [], ['INBOX', 'UNREAD']);
    fake.expireHistory();
    const before = gets();
    const { report, lines } = await backup();
    expect(report).toMatchObject({ mode: 'relist', fetched: 0, labelChanges: 2 });
    // No messages.get: membership comes from one messages.list per label.
    expect(gets() - before).toBe(0);
    const index = await new MailStore(join(dir, 'mail')).loadIndex();
    expect(index.get(ids[0]!)?.labels.sort()).toEqual(['INBOX', 'STARRED']);
    expect(index.get(ids[1]!)?.labels).toEqual([]);
    expect(index.get(ids[2]!)?.labels.sort()).toEqual(['INBOX', 'UNREAD']);
    expect(lines.some((l) => l.includes('labels read again: 2 messages changed'))).toBe(true);
  });

  it('429 with Retry-After and 403 rateLimitExceeded pause and retry; every message still arrives once', async () => {
    for (let i = 0; i < 6; i++) fake.addMessage(sampleMessage(i));
    fake.failNext(1, { status: 429, retryAfter: 0, match: /^\/messages\/[^/]+$/ });
    fake.failNext(1, { status: 403, match: /^\/messages\/[^/]+$/ });
    const clock = new FakeClock('2026-05-01T00:00:00Z');
    const { report, lines } = await drive(clock, backup({ clock }));
    expect(report.fetched).toBe(6);
    expect(lines.filter((l) => l.includes('rate limit')).length).toBeGreaterThanOrEqual(1);
    expect((await readdir(join(dir, 'mail'), { recursive: true })).filter((n) => n.endsWith('.eml'))).toHaveLength(6);
  });

  it('a Retry-After is persisted: a run started during the pause waits it out before any request', async () => {
    for (let i = 0; i < 3; i++) fake.addMessage(sampleMessage(i));
    const clock = new FakeClock('2026-05-01T00:00:00Z');
    fake.failNext(1, { status: 429, retryAfter: 120, match: /^\/messages\/[^/]+$/ });
    const controller = new AbortController();
    const first = backup({ clock, signal: controller.signal, concurrency: 1 });
    // The first get is refused; the pause (120 s) is written to the state before waiting.
    await waitFor(async () => (await new MailStore(join(dir, 'mail')).readState()).notBefore !== undefined);
    controller.abort();
    await expect(first).rejects.toThrow();
    const state = await new MailStore(join(dir, 'mail')).readState();
    expect(state.notBefore).toBe(clock.now() + 120_000);
    const before = fake.requests.length;
    const second = backup({ clock, concurrency: 1 });
    await clock.advance(60_000);
    await new Promise((r) => setTimeout(r, 30));
    expect(fake.requests.length).toBe(before);
    await clock.advance(61_000);
    const { report } = await second;
    expect(report.fetched).toBe(3);
  });

  it('files written before a crash but missing from the index are adopted (labels by format=minimal), not fetched again', async () => {
    for (let i = 0; i < 5; i++) fake.addMessage(sampleMessage(i), { labels: ['INBOX', 'STARRED'] });
    await backup();
    const store = new MailStore(join(dir, 'mail'));
    // As if killed after writing five files but committing only two index lines, mid full sync.
    const lines = (await readFile(join(dir, 'mail', 'hearth-index.jsonl'), 'utf8')).split('\n').slice(0, 2);
    await writeFile(join(dir, 'mail', 'hearth-index.jsonl'), `${lines.join('\n')}\n`);
    const state = await store.readState();
    await store.writeState({ version: 1, pendingHistoryId: state.historyId!, dirty: true });
    const raw = () => fake.requests.filter((r) => r.query.format === 'raw').length;
    const before = raw();
    const { report } = await backup();
    expect(report).toMatchObject({ mode: 'full', adopted: 3, fetched: 0, total: 5 });
    expect(raw()).toBe(before);
    const index = await new MailStore(join(dir, 'mail')).loadIndex();
    expect([...index.values()].every((e) => e.labels.includes('STARRED'))).toBe(true);
  });

  it('with a query, a full sync keeps only matching mail, and an incremental run fetches only added messages the query matches', async () => {
    const now = Date.UTC(2026, 4, 1);
    const clock = new FakeClock(now);
    fake.addMessage(sampleMessage(1), { date: now - 86_400_000 });
    fake.addMessage(sampleMessage(2), { labels: ['SPAM'], date: now - 86_400_000 });
    const first = await backup({ clock, query: '-in:spam' });
    expect(first.report).toMatchObject({ listed: 1, fetched: 1 });
    const ham = fake.addMessage(sampleMessage(3), { date: now + 60_000 });
    fake.addMessage(sampleMessage(4), { labels: ['SPAM'], date: now + 60_000 });
    const before = gets();
    const { report } = await backup({ clock, query: '-in:spam' });
    expect(report).toMatchObject({ mode: 'incremental', fetched: 1, total: 2 });
    expect(gets() - before).toBe(1);
    expect((await new MailStore(join(dir, 'mail')).loadIndex()).has(ham)).toBe(true);
  });

  it('label changes append to the index until they outnumber the messages; then it is rewritten one line per message, same content', async () => {
    const ids = Array.from({ length: 3 }, (_, i) => fake.addMessage(sampleMessage(i)));
    await backup();
    for (let round = 0; round < 1100; round++) {
      const id = ids[round % 3]!;
      const starred = fake.messages.get(id)!.labelIds.includes('STARRED');
      fake.modifyLabels(id, starred ? [] : ['STARRED'], starred ? ['STARRED'] : []);
    }
    fake.modifyLabels(ids[0]!, ['IMPORTANT'], []);
    const { lines } = await backup();
    expect(lines.some((l) => /index compacted from [\d,]+ to 3 lines/.test(l))).toBe(true);
    const text = await readFile(join(dir, 'mail', 'hearth-index.jsonl'), 'utf8');
    expect(text.trim().split('\n')).toHaveLength(3);
    const index = await new MailStore(join(dir, 'mail')).loadIndex();
    expect(index.get(ids[0]!)?.labels).toContain('IMPORTANT');
    expect(ids.map((id) => [...index.get(id)!.labels].sort())).toEqual(ids.map((id) => [...fake.messages.get(id)!.labelIds].sort()));
  });

  it('verify lists the server and reports messages missing locally', async () => {
    for (let i = 0; i < 4; i++) fake.addMessage(sampleMessage(i));
    await backup();
    const { report } = await backup({ verify: true });
    expect(report.missing).toEqual([]);
  });
});

/** Advances the fake clock a second at a time (letting real I/O run between steps) until `work` settles. */
async function drive<T>(clock: FakeClock, work: Promise<T>): Promise<T> {
  let settled = false;
  work.then(() => (settled = true), () => (settled = true));
  for (let i = 0; i < 1000 && !settled; i++) {
    await new Promise((r) => setTimeout(r, 5));
    await clock.advance(1000);
  }
  return work;
}

async function waitFor(check: () => Promise<boolean>): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error('condition not met');
}
