import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { systemClock } from '../../core/clock.js';
import { DEFAULT_COSTS } from './api.js';
import { runBackup, type BackupOptions } from './backup.js';
import { FakeGoogle, sampleMessage } from './fake-google.js';
import { openGoogleGmail } from './google.js';
import { GYB_DB_FILE, gybDate } from './gyb-db.js';
import { MailStore } from './mail-store.js';
import { QuotaPacer } from './pacer.js';

let fake: FakeGoogle;
let dir: string;
let refreshToken: string;

beforeEach(async () => {
  fake = await new FakeGoogle().start();
  refreshToken = fake.issueRefreshToken();
  dir = await mkdtemp(join(tmpdir(), 'hearth-gyb-'));
});

afterEach(async () => {
  await fake.stop();
  await rm(dir, { recursive: true, force: true });
});

async function backup(options: Partial<BackupOptions> = {}) {
  const api = await openGoogleGmail({ clientId: fake.clientId, clientSecret: fake.clientSecret, refreshToken, apiUrl: fake.apiUrl, tokenUrl: fake.tokenUrl }, () => systemClock.now());
  return runBackup({
    api,
    store: new MailStore(join(dir, 'mail')),
    clock: systemClock,
    pacer: new QuotaPacer(systemClock, 1_000_000),
    costs: { ...DEFAULT_COSTS },
    log: () => {},
    signal: new AbortController().signal,
    ...options,
  });
}

interface GybRow { num: number; file: string; date: string; uid: string; labels: string[] }

/** Opens msg-db.sqlite with sql.js the way GYB's restore reads it. */
async function readGybDb(path = join(dir, 'mail', GYB_DB_FILE)): Promise<{ settings: Record<string, string>; rows: Map<string, GybRow>; tables: string[] }> {
  const { default: initSqlJs } = await import('sql.js');
  const SQL = await initSqlJs();
  const db = new SQL.Database(await readFile(path));
  try {
    const all = (sql: string, params: (string | number)[] = []) => {
      const statement = db.prepare(sql);
      statement.bind(params);
      const out: Record<string, unknown>[] = [];
      while (statement.step()) out.push(statement.getAsObject());
      statement.free();
      return out;
    };
    const settings = Object.fromEntries(all('SELECT name, value FROM settings').map((r) => [r.name, r.value])) as Record<string, string>;
    const tables = all("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").map((r) => String(r.name));
    const rows = new Map<string, GybRow>();
    for (const m of all('SELECT m.message_num AS num, message_filename AS file, message_internaldate AS date, uid FROM messages m JOIN uids u ON u.message_num = m.message_num ORDER BY message_internaldate DESC')) {
      const labels = all('SELECT DISTINCT label FROM labels WHERE message_num = ?', [Number(m.num)]).map((r) => String(r.label)).sort();
      rows.set(String(m.uid), { num: Number(m.num), file: String(m.file), date: String(m.date), uid: String(m.uid), labels });
    }
    return { settings, rows, tables };
  } finally {
    db.close();
  }
}

describe("GYB's msg-db.sqlite kept beside the backup", () => {
  it('after a full sync: GYB schema 6, one messages row per .eml with its file, uid, internal date and labels (system ids, user names)', async () => {
    fake.labels.set('Label_7', { id: 'Label_7', name: 'Receipts/2025', type: 'user' });
    const dates = [Date.UTC(2025, 2, 1, 10), Date.UTC(2025, 11, 31, 23, 59, 58, 250), Date.UTC(2026, 0, 2, 8, 5, 9)];
    const ids = [
      fake.addMessage(sampleMessage(0), { date: dates[0], labels: ['INBOX', 'UNREAD'] }),
      fake.addMessage(sampleMessage(1), { date: dates[1], labels: ['Label_7', 'IMPORTANT'] }),
      fake.addMessage(sampleMessage(2), { date: dates[2], labels: ['SENT'] }),
    ];
    await backup();
    const { settings, rows, tables } = await readGybDb();
    expect(settings).toEqual({ email_address: 'me@example.com', db_version: '6' });
    expect(tables).toEqual(['labels', 'messages', 'settings', 'uids']);
    const emls = (await readdir(join(dir, 'mail'), { recursive: true })).filter((n) => n.endsWith('.eml'));
    expect(rows.size).toBe(emls.length);
    expect(rows.get(ids[0]!)).toMatchObject({ file: `2025/3/1/${ids[0]}.eml`, date: '2025-03-01 10:00:00', labels: ['INBOX', 'UNREAD'] });
    expect(rows.get(ids[1]!)).toMatchObject({ file: `2025/12/31/${ids[1]}.eml`, date: '2025-12-31 23:59:58.250000', labels: ['IMPORTANT', 'Receipts/2025'] });
    expect(rows.get(ids[2]!)).toMatchObject({ file: `2026/1/2/${ids[2]}.eml`, date: '2026-01-02 08:05:09', labels: ['SENT'] });
    for (const row of rows.values()) expect((await readFile(join(dir, 'mail', row.file))).equals(fake.messages.get(row.uid)!.raw)).toBe(true);
  });

  it('after an incremental run it shows the label change and the new message', async () => {
    const ids = Array.from({ length: 4 }, (_, i) => fake.addMessage(sampleMessage(i), { labels: ['INBOX', 'UNREAD'] }));
    await backup();
    fake.modifyLabels(ids[1]!, ['STARRED'], ['UNREAD']);
    const added = fake.addMessage(sampleMessage(9), { labels: ['INBOX'] });
    const report = await backup();
    expect(report).toMatchObject({ mode: 'incremental', fetched: 1, labelChanges: 2 });
    const { rows } = await readGybDb();
    expect(rows.size).toBe(5);
    expect(rows.get(ids[1]!)?.labels).toEqual(['INBOX', 'STARRED']);
    expect(rows.get(ids[0]!)?.labels).toEqual(['INBOX', 'UNREAD']);
    expect(rows.get(added)).toMatchObject({ file: MailStore.pathFor(added, fake.messages.get(added)!.internalDate), labels: ['INBOX'] });
  });

  it('a run that changed nothing does not rewrite it', async () => {
    for (let i = 0; i < 3; i++) fake.addMessage(sampleMessage(i));
    await backup();
    const path = join(dir, 'mail', GYB_DB_FILE);
    const before = await stat(path);
    const bytes = await readFile(path);
    await new Promise((r) => setTimeout(r, 20));
    const report = await backup();
    expect(report).toMatchObject({ mode: 'incremental', fetched: 0, labelChanges: 0 });
    const after = await stat(path);
    expect(after.mtimeMs).toBe(before.mtimeMs);
    expect(after.ino).toBe(before.ino);
    expect((await readFile(path)).equals(bytes)).toBe(true);
  });

  it('is replaced by rename, never rewritten in place; a kill mid-write leaves the old database whole, and the next run catches up', async () => {
    const first = fake.addMessage(sampleMessage(0));
    await backup();
    const path = join(dir, 'mail', GYB_DB_FILE);
    const inode = (await stat(path)).ino;
    const oldBytes = await readFile(path);
    const added = fake.addMessage(sampleMessage(1));
    // Killed after half the new database reached its temp file, before the rename.
    const killed = backup({
      gybDbWrite: async (target, data) => {
        await writeFile(join(dir, 'mail', `.${GYB_DB_FILE}.dead.tmp`), data.subarray(0, data.byteLength >> 1));
        throw new Error(`killed while writing ${target}`);
      },
    });
    await expect(killed).rejects.toThrow(/killed while writing/);
    expect((await readFile(path)).equals(oldBytes)).toBe(true);
    expect([...(await readGybDb()).rows.keys()]).toEqual([first]);
    // The server has nothing new, but the database is behind the index: it is written now.
    const report = await backup();
    expect(report.fetched).toBe(0);
    expect([...(await readGybDb()).rows.keys()].sort()).toEqual([first, added].sort());
    expect((await stat(path)).ino).not.toBe(inode);
  });

  it('is written again when deleted, even on a run with no changes', async () => {
    fake.addMessage(sampleMessage(0));
    await backup();
    await rm(join(dir, 'mail', GYB_DB_FILE));
    await backup();
    expect((await readGybDb()).rows.size).toBe(1);
  });

  it("formats dates as Python's str(datetime)", () => {
    expect(gybDate(Date.UTC(2019, 3, 16, 7, 3, 2))).toBe('2019-04-16 07:03:02');
    expect(gybDate(Date.UTC(2019, 3, 16, 7, 3, 2, 9))).toBe('2019-04-16 07:03:02.009000');
  });
});
