import { join } from 'node:path';
import { stat } from 'node:fs/promises';
import { writeFileAtomic } from '../../core/atomic-file.js';
import { isNotFound } from '../../core/errors.js';
import type { IndexEntry } from './mail-store.js';

/**
 * GYB's index of a backup folder, `msg-db.sqlite`, which `gyb --action
 * restore` reads to find each message's file and labels. Hearth's own index
 * (hearth-index.jsonl) stays the authority: this file is derived from it,
 * rebuilt whole in memory with sql.js (SQLite in WebAssembly, loaded only
 * here) and written atomically (temp, fsync, rename), so a kill leaves the
 * old database or the new one, never a torn one.
 *
 * Schema version 6, as GYB creates it: `settings` (email_address,
 * db_version), `messages` (message_num, message_filename relative to the
 * folder, message_internaldate), `labels` (message_num, label), `uids`
 * (message_num, Gmail id). Labels are stored the way GYB stores them:
 * system labels by id (INBOX, UNREAD, …), user labels by name; a user label
 * id whose name is unknown is left out, as GYB does.
 */

export const GYB_DB_FILE = 'msg-db.sqlite';
export const GYB_DB_VERSION = '6';

export type WriteFile = (path: string, data: Uint8Array, mode?: number) => Promise<void>;

/** GYB's label for a Gmail label id: the id for system labels, the name for user ones (`Label_…`). */
export function gybLabel(id: string, names: Record<string, string>): string | undefined {
  if (!id.startsWith('Label_')) return id;
  return names[id];
}

/**
 * The internal date as GYB stores it: Python's `str(datetime)` of the
 * timestamp, `YYYY-MM-DD HH:MM:SS[.ffffff]` (GYB uses the machine's local
 * time; Hearth writes UTC, the Pi's usual zone).
 */
export function gybDate(ms: number): string {
  const d = new Date(ms);
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  const base = `${p(d.getUTCFullYear(), 4)}-${p(d.getUTCMonth() + 1)}-${p(d.getUTCDate())} ${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())}`;
  const millis = d.getUTCMilliseconds();
  return millis ? `${base}.${p(millis, 3)}000` : base;
}

/** The database's bytes for these messages, in date order (message_num 1, 2, …). */
export async function buildGybDb(entries: Iterable<IndexEntry>, labelNames: Record<string, string>, email: string): Promise<Uint8Array> {
  const { default: initSqlJs } = await import('sql.js');
  const SQL = await initSqlJs();
  const db = new SQL.Database();
  try {
    db.run(`CREATE TABLE settings (name TEXT PRIMARY KEY, value TEXT);
      CREATE TABLE messages(message_num INTEGER PRIMARY KEY, message_filename TEXT, message_internaldate TIMESTAMP);
      CREATE TABLE labels (message_num INTEGER, label TEXT);
      CREATE TABLE uids (message_num INTEGER, uid TEXT PRIMARY KEY);
      CREATE UNIQUE INDEX labelidx ON labels (message_num, label);`);
    db.run('INSERT INTO settings (name, value) VALUES (?, ?), (?, ?)', ['email_address', email, 'db_version', GYB_DB_VERSION]);
    const sorted = [...entries].sort((a, b) => a.date - b.date || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    const message = db.prepare('INSERT INTO messages (message_num, message_filename, message_internaldate) VALUES (?, ?, ?)');
    const uid = db.prepare('INSERT OR REPLACE INTO uids (message_num, uid) VALUES (?, ?)');
    const label = db.prepare('INSERT OR IGNORE INTO labels (message_num, label) VALUES (?, ?)');
    db.run('BEGIN');
    let num = 0;
    for (const entry of sorted) {
      num++;
      message.run([num, entry.file, gybDate(entry.date)]);
      uid.run([num, entry.id]);
      for (const id of entry.labels) {
        const name = gybLabel(id, labelNames);
        if (name !== undefined) label.run([num, name]);
      }
    }
    db.run('COMMIT');
    message.free();
    uid.free();
    label.free();
    return db.export();
  } finally {
    db.close();
  }
}

/** Rebuilds `dir/msg-db.sqlite` from the index; returns the bytes written. */
export async function writeGybDb(
  dir: string,
  entries: Iterable<IndexEntry>,
  labelNames: Record<string, string>,
  email: string,
  write: WriteFile = writeFileAtomic,
): Promise<number> {
  const bytes = await buildGybDb(entries, labelNames, email);
  await write(join(dir, GYB_DB_FILE), bytes, 0o600);
  return bytes.byteLength;
}

export async function gybDbExists(dir: string): Promise<boolean> {
  try {
    await stat(join(dir, GYB_DB_FILE));
    return true;
  } catch (error) {
    if (isNotFound(error)) return false;
    throw error;
  }
}
