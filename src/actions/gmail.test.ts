import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FakeClock, systemClock } from '../core/clock.js';
import { NonRetriableError, SuspendSignal } from '../core/errors.js';
import { testActionContext } from './testing.js';
import type { ConnectionDef } from '../config/types.js';
import { createHashingEmbedder } from '../knowledge/embedders/hashing.js';
import { KnowledgeBase } from '../knowledge/knowledge-base.js';
import { SecretsStore } from '../secrets/store.js';
import { MemoryInboxStore } from '../steps/inbox.js';
import type { StepApi } from '../steps/types.js';
import { DEFAULT_COSTS, type GmailApi } from '../integrations/gmail/api.js';
import { createGmailActions, type GmailDeps } from './gmail.js';
import { FakeGoogle, sampleMessage } from '../integrations/gmail/fake-google.js';
import { openGoogleGmail } from '../integrations/gmail/google.js';
import { MailStore } from '../integrations/gmail/mail-store.js';

let fake: FakeGoogle;
let dir: string;
let secrets: SecretsStore;
let inbox: MemoryInboxStore;
let kb: KnowledgeBase | undefined;

beforeEach(async () => {
  fake = await new FakeGoogle().start();
  dir = await mkdtemp(join(tmpdir(), 'hearth-gmail-actions-'));
  secrets = new SecretsStore(dir);
  inbox = new MemoryInboxStore();
  await secrets.set('gmail-me', { refreshToken: fake.issueRefreshToken(), clientSecret: fake.clientSecret });
});

afterEach(async () => {
  await kb?.close();
  kb = undefined;
  await fake.stop();
  await rm(dir, { recursive: true, force: true });
});

function connections(): Record<string, ConnectionDef> {
  return { 'gmail-me': { name: 'gmail-me', type: 'gmail', settings: { clientId: fake.clientId, apiUrl: fake.apiUrl, tokenUrl: fake.tokenUrl } } };
}

function actions(extra: Partial<GmailDeps> = {}) {
  const list = createGmailActions({ connections, secrets, inbox, ...extra });
  return { backup: list.find((a) => a.name === 'gmail.backup')!, label: list.find((a) => a.name === 'gmail.label')! };
}

describe('gmail actions', () => {
  it('validates with: and names the bad key', () => {
    const { backup, label } = actions();
    expect(backup.validate({ connection: 'gmail-me', dir: 'mail', quota: 6000, query: '-in:spam' })).toEqual([]);
    expect(backup.validate({ connection: 'gmail-me', qouta: 6000 })).toEqual([{ path: 'qouta', message: 'unknown field' }]);
    expect(label.validate({ connection: 'gmail-me', rules: [{ name: 'x', add: ['A'] }] })[0]?.path).toBe('rules.0');
  });

  it('invalid_grant puts one "reconnect Gmail" question in the inbox and fails the run for good, without the token in any message', async () => {
    fake.addMessage(sampleMessage(1));
    const token = (await secrets.value('gmail-me', 'refreshToken'))!;
    fake.revokeAll();
    const { backup } = actions();
    const ctx = testActionContext({ dataDir: dir });
    const error = await backup.execute({ connection: 'gmail-me', index: false }, ctx).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NonRetriableError);
    expect((error as Error).message).toMatch(/Gmail connection "gmail-me" needs reconnecting: .*invalid_grant.*hearth connect gmail-me/);
    const open = await inbox.listOpen();
    expect(open).toHaveLength(1);
    expect(open[0]!.prompt).toMatch(/^Reconnect Gmail/);
    expect(open[0]!.prompt).toContain('7 days');
    // A second failing run (a job every few minutes) does not pile up questions.
    await backup.execute({ connection: 'gmail-me', index: false }, testActionContext({ dataDir: dir, runId: 'r_other' })).catch(() => {});
    expect(await inbox.listOpen()).toHaveLength(1);
    expect(JSON.stringify([open, (error as Error).message, ctx.lines])).not.toContain(token);
  });

  it('verify (an option, or the run input {"verify": true}) reports server messages whose file is missing locally', async () => {
    const ids = [fake.addMessage(sampleMessage(1)), fake.addMessage(sampleMessage(2))];
    const { backup } = actions();
    const first = testActionContext({ dataDir: dir, input: { verify: true } });
    expect(((await backup.execute({ connection: 'gmail-me', index: false }, first)) as { missing?: string[] }).missing).toEqual([]);
    expect(first.lines.some((l) => /gmail verify: all 2 messages on the server are stored locally/.test(l))).toBe(true);
    const store = new MailStore(join(dir, 'mail'));
    const files = await store.scanFiles();
    await rm(join(dir, 'mail', files.get(ids[1]!)!));
    const ctx = testActionContext({ dataDir: dir, input: { verify: true } });
    const out = (await backup.execute({ connection: 'gmail-me', index: false }, ctx)) as { missing?: string[]; repaired?: number };
    expect(out.missing).toEqual([ids[1]]);
    expect(out.repaired).toBe(1);
    expect((await store.scanFiles()).has(ids[1]!)).toBe(true);
    expect(ctx.lines.some((l) => l.includes(`1 of 2 messages on the server are missing locally: ${ids[1]}`))).toBe(true);
    // Without verify nothing is listed.
    expect(((await backup.execute({ connection: 'gmail-me', index: false }, testActionContext({ dataDir: dir }))) as { missing?: string[] }).missing).toBeUndefined();
  });

  it('a connection that was never connected fails with what to do', async () => {
    await secrets.delete('gmail-me');
    const { backup } = actions();
    await expect(backup.execute({ connection: 'gmail-me' }, testActionContext({ dataDir: dir }))).rejects.toThrow(/not connected yet: .*hearth connect gmail-me/);
    await expect(backup.execute({ connection: 'nope' }, testActionContext({ dataDir: dir }))).rejects.toThrow(/"nope" is not in hearth.yaml's connections: \(gmail connections: gmail-me\)/);
  });

  it('backed-up messages go into the knowledge store: a word only in a body (HTML too) is found offline', async () => {
    kb = new KnowledgeBase({ root: join(dir, 'knowledge'), embedder: createHashingEmbedder(128), clock: systemClock });
    const store = kb;
    fake.addMessage(sampleMessage(1, { subject: 'Quarterly statement', body: 'Your boiler invoice from Thermowarm is attached.', attachment: 'invoice-2291.pdf' }));
    fake.addMessage(sampleMessage(2, { subject: 'Newsletter', body: '', html: '<html><body><p>Read about the <b>zeppelinfest</b> this weekend</p></body></html>' }));
    fake.addMessage(sampleMessage(3, { subject: 'Lunch', body: 'Sandwiches at noon' }));
    let opened = 0;
    const { backup } = actions({ knowledge: { store: async () => (opened++, store) } });
    const output = (await backup.execute({ connection: 'gmail-me' }, testActionContext({ dataDir: dir }))) as { indexed?: { added: number } };
    expect(output.indexed?.added).toBe(3);
    const boiler = await kb.search({ text: 'invoice boiler', sources: ['mail'] });
    expect(boiler.hits[0]?.title).toBe('Quarterly statement');
    const html = await kb.search({ text: 'zeppelinfest', sources: ['mail'] });
    expect(html.hits.map((h) => h.title)).toEqual(['Newsletter']);
    expect(html.hits[0]!.snippet).not.toContain('<b>');
    // A run with nothing new indexes nothing again.
    const again = (await backup.execute({ connection: 'gmail-me' }, testActionContext({ dataDir: dir }))) as { indexed?: unknown; fetched: number };
    expect(again.fetched).toBe(0);
    expect(again.indexed).toBeUndefined();
    expect(opened).toBe(1);
    // A new message later is indexed on its own.
    fake.addMessage(sampleMessage(4, { subject: 'Parcel', body: 'Your quokkaphone was delivered' }));
    const third = (await backup.execute({ connection: 'gmail-me' }, testActionContext({ dataDir: dir }))) as { indexed?: { added: number } };
    expect(third.indexed?.added).toBe(1);
    expect((await kb.search({ text: 'quokkaphone', sources: ['mail'] })).hits[0]?.title).toBe('Parcel');
  });

  it('pacing through a whole backup never spends more than the configured units in any minute (FakeClock)', async () => {
    for (let i = 0; i < 30; i++) fake.addMessage(sampleMessage(i));
    const clock = new FakeClock('2026-05-01T00:00:00Z');
    const spent: Array<[number, number]> = [];
    const costOf: Record<string, number> = { profile: 1, listMessages: 5, getRaw: 20, getLabels: 20, history: 2, listLabels: 1, createLabel: 5, batchModify: 50 };
    const openApi = async (settings: Parameters<typeof openGoogleGmail>[0], now: () => number): Promise<GmailApi> => {
      const real = await openGoogleGmail(settings, now);
      return new Proxy(real, {
        get: (target, key: string) => !(key in costOf) ? undefined : (...args: unknown[]) => {
          spent.push([clock.now(), costOf[key]!]);
          return (target[key as keyof GmailApi] as (...a: unknown[]) => Promise<unknown>)(...args);
        },
      });
    };
    const { backup } = actions({ openApi });
    let done = false;
    const run = backup.execute({ connection: 'gmail-me', index: false, quota: 200, concurrency: 4 }, testActionContext({ dataDir: dir, clock })).finally(() => (done = true));
    for (let i = 0; i < 2000 && !done; i++) {
      await new Promise((r) => setTimeout(r, 2));
      await clock.advance(1_000);
    }
    const report = (await run) as { fetched: number; units: number };
    expect(report.fetched).toBe(30);
    const total = spent.reduce((sum, [, units]) => sum + units, 0);
    expect(report.units).toBe(total);
    let worst = 0;
    for (const [start] of spent) worst = Math.max(worst, spent.filter(([at]) => at >= start && at < start + 60_000).reduce((s, [, u]) => s + u, 0));
    expect(worst).toBeLessThanOrEqual(200);
    // 607 units at 200/min: just over three minutes of clock time.
    expect(spent.at(-1)![0] - spent[0]![0]).toBeGreaterThanOrEqual(3 * 60_000);
    expect(DEFAULT_COSTS['messages.get']).toBe(20);
  });

  it('a long Retry-After parks the run with a durable step.sleepUntil (progress kept); the resumed run replays the sleep and finishes', async () => {
    for (let i = 0; i < 40; i++) fake.addMessage(sampleMessage(i));
    fake.failNext(1, { status: 429, retryAfter: 3600, match: /^\/messages\/[^/]+$/ });
    const clock = new FakeClock('2026-05-01T00:00:00Z');
    const journal = new Map<string, number>();
    const calls: string[] = [];
    const step = {
      sleepUntil: async (id: string, until: number) => {
        calls.push(id);
        if (!journal.has(id)) journal.set(id, until);
        if (clock.now() < journal.get(id)!) throw new SuspendSignal(id, { kind: 'timer', at: new Date(until).toISOString() } as never);
      },
    } as unknown as StepApi;
    const { backup } = actions();
    const ctx = testActionContext({ dataDir: dir, clock, step, runId: 'r_parked' });
    await expect(backup.execute({ connection: 'gmail-me', index: false, concurrency: 4 }, ctx)).rejects.toBeInstanceOf(SuspendSignal);
    expect(calls).toEqual(['gmail-rate-limit-1']);
    expect(ctx.lines.some((l) => l.includes('sleeps until'))).toBe(true);
    const state = await new MailStore(join(dir, 'mail')).readState();
    expect(state.notBefore).toBe(clock.now() + 3_600_000);
    // The engine wakes the run an hour later; the function replays from the top.
    clock.set(clock.now() + 3_600_001);
    const out = (await backup.execute({ connection: 'gmail-me', index: false, concurrency: 1 }, testActionContext({ dataDir: dir, clock, step, runId: 'r_parked' }))) as { fetched: number; total: number };
    expect(calls).toEqual(['gmail-rate-limit-1', 'gmail-rate-limit-1']);
    expect(out.total).toBe(40);
  });

  it('label rules: dry-run changes nothing; a query rule and a header rule apply with batchModify, creating the label', async () => {
    const invoice = fake.addMessage(sampleMessage(1, { subject: 'Invoice 42 for the boiler' }));
    const news = fake.addMessage(sampleMessage(2, { from: 'Weekly <news@shop.example>' }));
    const other = fake.addMessage(sampleMessage(3, { subject: 'Hello' }));
    const { backup, label } = actions();
    await backup.execute({ connection: 'gmail-me', index: false }, testActionContext({ dataDir: dir }));
    const rules = [
      { name: 'invoices', query: 'subject:invoice', add: ['Bills'] },
      { name: 'newsletters', match: { from: 'news@' }, add: ['Newsletters'], remove: ['INBOX'] },
    ];
    const labelsBefore = new Map([...fake.messages].map(([id, m]) => [id, [...m.labelIds]]));
    const dry = (await label.execute({ connection: 'gmail-me', rules, dryRun: true }, testActionContext({ dataDir: dir }))) as { rules: Array<{ changes: number; applied: boolean }> };
    expect(dry.rules.map((r) => [r.changes, r.applied])).toEqual([[1, false], [1, false]]);
    expect(new Map([...fake.messages].map(([id, m]) => [id, m.labelIds]))).toEqual(labelsBefore);
    expect(fake.count(/batchModify/)).toBe(0);
    expect(fake.count(/\/labels$/, 'POST')).toBe(0);

    const applied = (await label.execute({ connection: 'gmail-me', rules }, testActionContext({ dataDir: dir }))) as { createdLabels: string[] };
    expect(applied.createdLabels.sort()).toEqual(['Bills', 'Newsletters']);
    const name = (id: string) => fake.labels.get(id)?.name ?? id;
    expect(fake.messages.get(invoice)!.labelIds.map(name)).toContain('Bills');
    expect(fake.messages.get(news)!.labelIds.map(name)).toEqual(expect.arrayContaining(['Newsletters']));
    expect(fake.messages.get(news)!.labelIds).not.toContain('INBOX');
    expect(fake.messages.get(other)!.labelIds).toEqual(labelsBefore.get(other));
    expect(fake.count(/batchModify/)).toBe(2);
    // Applied again, the query rule finds nothing left to change.
    const second = (await label.execute({ connection: 'gmail-me', rules: [rules[0]] }, testActionContext({ dataDir: dir }))) as { rules: Array<{ changes: number }> };
    expect(second.rules[0]!.changes).toBe(0);
  });

  it('a rule with ask: true waits for a yes in the inbox before changing anything', async () => {
    const invoice = fake.addMessage(sampleMessage(1, { subject: 'Invoice 7' }));
    const { label } = actions();
    const asked: string[] = [];
    let answer: { timedOut: false; value: string; answeredAt: string } | undefined;
    const step = {
      waitForInput: async (id: string, options: { prompt: string }) => {
        asked.push(`${id}: ${options.prompt}`);
        if (!answer) throw new SuspendSignal(id, { kind: 'input', id: 'q_1' } as never);
        return answer;
      },
    } as unknown as StepApi;
    const rules = [{ name: 'invoices', query: 'subject:invoice', add: ['Bills'], ask: true }];
    await expect(label.execute({ connection: 'gmail-me', rules }, testActionContext({ dataDir: dir, step }))).rejects.toBeInstanceOf(SuspendSignal);
    expect(asked[0]).toMatch(/^gmail-label-confirm: Apply these Gmail label rules\? invoices: \+Bills on 1 message$/);
    expect(fake.count(/batchModify/)).toBe(0);
    answer = { timedOut: false, value: 'apply', answeredAt: '2026-05-01T00:00:00Z' };
    await label.execute({ connection: 'gmail-me', rules }, testActionContext({ dataDir: dir, step }));
    expect(fake.messages.get(invoice)!.labelIds.map((id) => fake.labels.get(id)?.name)).toContain('Bills');
  });
});

