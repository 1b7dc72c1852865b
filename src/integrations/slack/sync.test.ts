import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FakeClock } from '../../core/clock.js';
import { NonRetriableError } from '../../core/errors.js';
import { createHashingEmbedder } from '../../knowledge/embedders/hashing.js';
import { KnowledgeBase } from '../../knowledge/knowledge-base.js';
import { createSlackApi } from './api.js';
import { SlackFiles } from './store.js';
import { syncSlack } from './sync.js';
import type { SlackSyncOptions, SyncTarget } from './sync.js';
import { FakeSlack } from './fake-slack.js';
import { createSearchSink } from '../elasticsearch/sink.js';
import { FakeSearchServer } from '../elasticsearch/testing.js';
import { msToTs } from './ts.js';

// A fake Slack on 127.0.0.1 that the real @slack/web-api client talks to, a
// real LanceDB knowledge store in a temporary folder, and a FakeClock.

const START = Date.parse('2026-03-01T12:00:00Z');
const MIN = 60_000;
const DAY = 24 * 60 * MIN;

let dir: string;
let clock: FakeClock;
let slack: FakeSlack;
let kb: KnowledgeBase;
let waits: Array<{ until: number; durable: boolean; at: number }>;
let lines: string[];

/** A message ts `minutesAgo` before the current fake time. */
const ago = (minutes: number) => msToTs(clock.now() - minutes * MIN);

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'hearth-slack-'));
  clock = new FakeClock(START);
  slack = new FakeSlack({ now: () => clock.now() });
  await slack.start();
  slack.addChannel('C001', 'general');
  slack.addChannel('C002', 'random');
  slack.addUser('U1', 'alice', 'Alice Liddell');
  slack.addUser('U2', 'bob');
  kb = new KnowledgeBase({ root: join(dir, 'knowledge'), embedder: createHashingEmbedder(128), clock });
  waits = [];
  lines = [];
});

afterEach(async () => {
  await kb.close();
  await slack.stop();
  await rm(dir, { recursive: true, force: true });
});

async function run(overrides: Partial<SlackSyncOptions> = {}) {
  return syncSlack({
    connection: 'slack-home',
    api: await createSlackApi({ token: slack.token, apiUrl: slack.url }),
    files: new SlackFiles(join(dir, 'knowledge')),
    target: kb,
    source: 'slack',
    clock,
    log: (line) => lines.push(line),
    waiter: {
      async wait(until, options) {
        waits.push({ until, durable: options.durable, at: clock.now() });
        if (until > clock.now()) await clock.advance(until - clock.now());
      },
    },
    channels: 'all',
    threads: true,
    lookbackMs: 10 * MIN,
    sinceMs: 90 * DAY,
    threadWindowMs: 21 * DAY,
    pageSize: 200,
    tier3IntervalMs: 1200,
    tier2IntervalMs: 3000,
    ...overrides,
  });
}

/** Hits that contain the words (the vector ranking alone always returns the nearest documents). */
async function search(text: string) {
  return (await kb.search({ text, sources: ['slack'] })).hits.filter((hit) => hit.matchedBy.includes('keyword'));
}

function seedBasics() {
  slack.post('C001', { ts: ago(60), user: 'U1', text: 'the boiler pressure dropped again' });
  slack.post('C001', { ts: ago(50), user: 'U2', text: 'who is picking up the groceries' });
  slack.post('C001', { ts: ago(50.5), user: 'U2', text: 'thread about the garden shed' });
  slack.post('C001', { ts: ago(40), user: 'U1', text: 'I will paint it on sunday', thread_ts: ago(50.5) });
  slack.post('C002', { ts: ago(30), user: 'U2', text: 'look at this <@U1> https://example.com', files: [{ name: 'cat.png', permalink: 'https://fake.slack.com/files/cat.png' }] });
}

describe('ingest.slack sync', () => {
  it('stores every message on the first run: raw day files, a document per thread and per channel-day, searchable with author, channel, time and link', async () => {
    seedBasics();
    const report = await run();
    expect(report).toMatchObject({ team: 'Home', channels: 2, messages: 4, threadsFetched: 1 });
    const raw = await readFile(join(dir, 'knowledge', 'raw', 'slack', 'T001', 'C001', '2026-03-01.jsonl'), 'utf8');
    expect(raw.trim().split('\n')).toHaveLength(4);
    const [hit] = await search('garden shed paint');
    expect(hit).toMatchObject({ source: 'slack', author: 'bob, Alice Liddell' });
    expect(hit!.title).toBe('#general: thread about the garden shed');
    expect(hit!.url).toMatch(/^https:\/\/fake\.slack\.com\/archives\/C001\/p\d{16}$/);
    expect(hit!.timestamp).toBe(new Date(START - 50.5 * MIN).toISOString());
    const [cat] = await search('cat.png example');
    expect(cat!.title).toBe('#random on 2026-03-01');
    expect(cat!.snippet).toContain('@Alice Liddell');
  });

  it('asks only for the new window on the second run (cursor minus lookback) and stores only what is new', async () => {
    seedBasics();
    await run();
    const firstEnd = clock.now();
    const before = slack.calls('conversations.history').length;
    await clock.advance(60 * MIN);
    slack.post('C001', { ts: ago(5), user: 'U1', text: 'the plumber comes on friday' });
    const second = await run();
    const calls = slack.calls('conversations.history').slice(before);
    expect(calls.map((call) => call.params.oldest)).toEqual([msToTs(firstEnd - 10 * MIN), msToTs(firstEnd - 10 * MIN)].map((ts) => expect.stringMatching(new RegExp(`^${ts.split('.')[0]!.slice(0, 8)}`))));
    // Exactly the cursor minus the lookback (the first pass's start was firstEnd minus its pacing waits).
    for (const call of calls) expect(Number(call.params.oldest)).toBeGreaterThan((firstEnd - 11 * MIN) / 1000);
    expect(second.messages).toBe(1);
    expect(second.documents).toBe(1);
    const raw = await readFile(join(dir, 'knowledge', 'raw', 'slack', 'T001', 'C001', '2026-03-01.jsonl'), 'utf8');
    expect(raw.trim().split('\n')).toHaveLength(5);
    expect((await search('plumber friday'))[0]!.author).toBe('Alice Liddell, bob');
  });

  it('finds a reply that arrives later in an old thread, and search finds a word that is only in that reply', async () => {
    slack.post('C001', { ts: ago(3 * 24 * 60), user: 'U1', text: 'what should we cook for the party' });
    slack.post('C001', { ts: ago(3 * 24 * 60 - 1), user: 'U2', text: 'pasta maybe', thread_ts: ago(3 * 24 * 60) });
    await run();
    await clock.advance(2 * 60 * MIN);
    slack.post('C001', { ts: ago(1), user: 'U2', text: 'or a huge zucchini lasagne', thread_ts: msToTs(START - 3 * DAY) });
    expect(await search('zucchini')).toHaveLength(0);
    const second = await run();
    expect(second.threadsFetched).toBe(1);
    const hits = await search('zucchini');
    expect(hits).toHaveLength(1);
    expect(hits[0]!.title).toBe('#general: what should we cook for the party');
    expect(hits[0]!.snippet).toContain('zucchini');
  });

  it('updates an edited message and removes a deleted one from search when they are in the window', async () => {
    slack.post('C001', { ts: ago(5), user: 'U1', text: 'meet at the old bakery' });
    slack.post('C001', { ts: ago(4), user: 'U2', text: 'bring the spare ladder' });
    await run();
    await clock.advance(3 * MIN);
    slack.edit('C001', msToTs(START - 5 * MIN), 'meet at the new library', ago(0));
    slack.delete('C001', msToTs(START - 4 * MIN));
    await run();
    expect(await search('library')).toHaveLength(1);
    expect(await search('bakery')).toHaveLength(0);
    expect(await search('ladder')).toHaveLength(0);
  });

  it('adds no chunk on a second and a third run over the same messages', async () => {
    seedBasics();
    await run();
    const first = await kb.status();
    await clock.advance(MIN);
    await run();
    await clock.advance(MIN);
    const third = await run();
    const status = await kb.status();
    expect(third.documents).toBe(0);
    expect(status.chunks).toBe(first.chunks);
    expect(status.sources).toEqual(first.sources);
  });

  it('honours a 429: no request before the time Retry-After named, and the wait is a durable one', async () => {
    seedBasics();
    slack.rateLimit('conversations.history', 30);
    const report = await run();
    expect(report.rateLimitWaits).toBe(1);
    const limited = slack.requests.find((r) => r.method === 'conversations.history' && r.status === 429)!;
    const after = slack.requests.filter((r) => r.method === 'conversations.history' && r.at > limited.at - 1 && r !== limited);
    expect(after.length).toBeGreaterThan(0);
    for (const request of after) expect(request.at).toBeGreaterThanOrEqual(limited.at + 30_000);
    expect(slack.requests.filter((r) => r.status === 429)).toHaveLength(1);
    expect(waits.some((w) => w.durable && w.until === limited.at + 30_000)).toBe(true);
    expect(lines.some((line) => /channel 1 of 2 \(#general\): waiting 30 s for Slack's rate limit/.test(line))).toBe(true);
  });

  it('resumes after a restart during a back-off at the named time, without fetching the stored pages again', async () => {
    for (let i = 0; i < 9; i++) slack.post('C001', { ts: ago(100 - i), user: 'U1', text: `message number ${i} about topic${i}` });
    let historyCalls = 0;
    slack.onRequest = (request) => {
      if (request.method === 'conversations.history' && request.status === 200 && ++historyCalls === 2) slack.rateLimit('conversations.history', 120);
    };
    // The "process" dies when it would wait (a kill during the back-off).
    const died = run({ pageSize: 3, channels: ['general'], waiter: { wait: async (until, o) => { if (o.durable) throw new Error('killed'); await clock.advance(Math.max(0, until - clock.now())); } } });
    await expect(died).rejects.toThrow('killed');
    const state = await new SlackFiles(join(dir, 'knowledge')).readState('slack-home');
    const limited = slack.requests.find((r) => r.status === 429)!;
    expect(state.notBefore).toBe(limited.at + 120_000);
    expect(state.channels.C001!.progress!.pages).toBe(2);
    const storedCursor = state.channels.C001!.progress!.next!;
    const seen = slack.requests.length;
    slack.onRequest = undefined;
    await clock.advance(10_000);
    await run({ pageSize: 3, channels: ['general'] });
    const resumed = slack.requests.slice(seen).filter((r) => r.method === 'conversations.history');
    expect(resumed[0]!.at).toBeGreaterThanOrEqual(limited.at + 120_000);
    expect(resumed[0]!.params.cursor).toBe(storedCursor);
    // Nine messages, three a page: pages 1 and 2 were stored before the 429, only page 3 is asked for.
    expect(resumed).toHaveLength(1);
    expect(slack.requests.slice(seen).every((r) => r.status === 200)).toBe(true);
    for (let i = 0; i < 9; i++) expect(await search(`topic${i}`)).not.toHaveLength(0);
  });

  it('resumes a channel from the last stored page after a crash mid-channel, storing nothing twice', async () => {
    for (let i = 0; i < 10; i++) slack.post('C001', { ts: ago(200 - i * 3), user: 'U2', text: `note ${i} keyword${i}` });
    let stores = 0;
    const crashing: SyncTarget = {
      sync: async (source, items, options) => {
        if (++stores === 3) throw new Error('power cut');
        return kb.sync(source, items, options);
      },
      remove: (source, keys) => kb.remove(source, keys),
    };
    // Stored after every page here (flushPages: 1); the default batches ten pages per store.
    await expect(run({ pageSize: 3, flushPages: 1, channels: ['general'], threads: false, target: crashing })).rejects.toThrow('power cut');
    const seen = slack.requests.length;
    await run({ pageSize: 3, flushPages: 1, channels: ['general'], threads: false });
    const resumed = slack.requests.slice(seen).filter((r) => r.method === 'conversations.history');
    // Pages 1 and 2 were stored; the pass goes on with page 3 (it was fetched but not stored) and page 4.
    expect(resumed).toHaveLength(2);
    expect(resumed[0]!.params.cursor).toBeTruthy();
    const raw = await readFile(join(dir, 'knowledge', 'raw', 'slack', 'T001', 'C001', '2026-03-01.jsonl'), 'utf8');
    expect(raw.trim().split('\n')).toHaveLength(10);
    for (let i = 0; i < 10; i++) expect((await search(`keyword${i}`)).length).toBeGreaterThan(0);
  });

  it('indexes a page whose raw lines were written just before a crash (the refetched page appends nothing new)', async () => {
    slack.post('C001', { ts: ago(2 * 24 * 60), user: 'U1', text: 'older day walrus' });
    slack.post('C001', { ts: ago(2 * 24 * 60 - 1), user: 'U1', text: 'older day narwhal' });
    for (let i = 0; i < 3; i++) slack.post('C001', { ts: ago(10 - i), user: 'U2', text: `today ${i}` });
    let stores = 0;
    const crashing: SyncTarget = {
      sync: async (source, items, options) => {
        if (++stores === 2) throw new Error('power cut');
        return kb.sync(source, items, options);
      },
      remove: (source, keys) => kb.remove(source, keys),
    };
    await expect(run({ pageSize: 3, flushPages: 1, channels: ['general'], threads: false, target: crashing })).rejects.toThrow('power cut');
    expect(await search('walrus')).toHaveLength(0);
    await run({ pageSize: 3, flushPages: 1, channels: ['general'], threads: false });
    expect(await search('walrus')).toHaveLength(1);
  });

  it('sends the same documents to an Elasticsearch index when one is configured: nothing doubles over three runs, a deletion leaves it', async () => {
    const es = new FakeSearchServer();
    const esUrl = await es.start();
    try {
      const sink = await createSearchSink({ type: 'elasticsearch', url: esUrl, index: 'slack-test' });
      seedBasics();
      slack.post('C002', { ts: ago(2), user: 'U1', text: 'to be deleted soon' });
      for (let i = 0; i < 3; i++) {
        await run({ sink });
        await clock.advance(MIN);
      }
      const status = await kb.status();
      expect(es.documents('slack-test')).toHaveLength(status.sources.find((s) => s.name === 'slack')!.documents);
      expect(es.documents('slack-test').map((d) => d.title)).toContain('#general: thread about the garden shed');
      slack.delete('C002', msToTs(START - 2 * MIN));
      slack.delete('C002', msToTs(START - 30 * MIN));
      await run({ sink, lookbackMs: 60 * MIN });
      expect(es.documents('slack-test').map((d) => d.title)).not.toContain('#random on 2026-03-01');
      await sink.close();
    } finally {
      await es.stop();
    }
  });

  it('stores pages in batches and moves the cursor only after a batch is stored: a crash refetches at most one batch', async () => {
    for (let i = 0; i < 20; i++) slack.post('C001', { ts: ago(100 - i), user: 'U1', text: `entry ${i} zebra${i}` });
    const syncs: number[] = [];
    const counting: SyncTarget = {
      sync: async (source, items, options) => {
        syncs.push(items.length);
        if (syncs.length === 2) throw new Error('power cut');
        return kb.sync(source, items, options);
      },
      remove: (source, keys) => kb.remove(source, keys),
    };
    await expect(run({ pageSize: 2, flushPages: 4, channels: ['general'], threads: false, target: counting })).rejects.toThrow('power cut');
    const state = await new SlackFiles(join(dir, 'knowledge')).readState('slack-home');
    expect(state.channels.C001!.progress).toMatchObject({ pages: 4, messages: 8 });
    const seen = slack.requests.length;
    await run({ pageSize: 2, flushPages: 4, channels: ['general'], threads: false });
    // Pages 5-8 were fetched but not stored: asked again, then 9 and 10.
    expect(slack.requests.slice(seen).filter((r) => r.method === 'conversations.history')).toHaveLength(6);
    for (let i = 0; i < 20; i++) expect(await search(`zebra${i}`)).toHaveLength(1);
  });

  it('forgets a channel: its documents leave the index, its raw files and cursor go, and it is not synced again', async () => {
    seedBasics();
    await run();
    expect(await search('cat.png')).toHaveLength(1);
    const documentKeys = async (source: string) => Object.keys((await kb.stageFiles.readManifest(source)).entries);
    await run({ forget: ['#random'], documentKeys });
    expect(await search('cat.png')).toHaveLength(0);
    expect(await search('garden shed')).toHaveLength(1);
    await expect(readFile(join(dir, 'knowledge', 'raw', 'slack', 'T001', 'C002', '2026-03-01.jsonl'), 'utf8')).rejects.toThrow(/ENOENT/);
    const state = await new SlackFiles(join(dir, 'knowledge')).readState('slack-home');
    expect(Object.keys(state.channels)).toEqual(['C001']);
    expect(lines.some((line) => line.includes('forgot #random: 1 documents'))).toBe(true);
  });

  it('fails with a clear, non-retriable error when Slack refuses the token', async () => {
    seedBasics();
    // The token was revoked: Slack no longer knows it.
    const failed = run({ api: await createSlackApi({ token: 'xoxp-revoked-token', apiUrl: slack.url }) });
    await expect(failed).rejects.toBeInstanceOf(NonRetriableError);
    await expect(failed).rejects.toThrow(/Slack refused the token \(invalid_auth\).*revoked/);
  });

  it("says so when Slack caps pages at 15 messages (non-Marketplace apps' reduced limits) and paces to one request a minute", async () => {
    for (let i = 0; i < 40; i++) slack.post('C001', { ts: ago(300 - i), user: 'U1', text: `line ${i}` });
    slack.maxLimit = 15;
    const report = await run({ channels: ['general'], threads: false });
    expect(report.reducedLimits).toBe(true);
    expect(report.messages).toBe(40);
    expect(lines.some((line) => line.includes('reduced limits for non-Marketplace apps'))).toBe(true);
    const history = slack.calls('conversations.history');
    expect(history[1]!.params.limit).toBe('15');
    expect(history[2]!.at - history[1]!.at).toBeGreaterThanOrEqual(60_000);
  });
});
