import { createReadStream } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';
import { extname, join, relative, sep } from 'node:path';
import { contentHash } from './hash.js';
import type { SourceItem } from './knowledge-base.js';
import { FORMAT_BY_EXTENSION } from './normalize.js';
import type { RawFormat } from './normalize.js';

/**
 * Sources turn something outside Hearth into SourceItems. Listing is cheap
 * (a stat per file); bytes are read only for items whose size or mtime
 * changed since the last sync.
 */

export interface FolderScanOptions {
  /** Extensions (with dot) to take; default every Markdown, text and HTML extension. */
  extensions?: string[];
  /** Largest file read, in bytes; bigger files are skipped and reported. */
  maxFileBytes: number;
}

export interface FolderScan {
  items: SourceItem[];
  skipped: Array<{ path: string; reason: string }>;
}

/** Folders no one means to search: version control, editor state, dependencies. */
const SKIPPED_DIRS = new Set(['.git', '.hg', '.svn', '.obsidian', '.trash', 'node_modules', '.hearth']);

export async function scanFolder(root: string, options: FolderScanOptions): Promise<FolderScan> {
  const allowed = new Set((options.extensions ?? Object.keys(FORMAT_BY_EXTENSION)).map((ext) => ext.toLowerCase()));
  const scan: FolderScan = { items: [], skipped: [] };
  await walk(root, root, allowed, options, scan);
  scan.items.sort((a, b) => a.key.localeCompare(b.key));
  return scan;
}

async function walk(root: string, dir: string, allowed: Set<string>, options: FolderScanOptions, scan: FolderScan): Promise<void> {
  const entries = await readdir(dir, { withFileTypes: true });
  for (const entry of entries) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      if (!SKIPPED_DIRS.has(entry.name)) await walk(root, path, allowed, options, scan);
      continue;
    }
    // Symlinked files are followed (a notes folder may link in another); symlinked folders are not, to avoid loops.
    if (!entry.isFile() && !entry.isSymbolicLink()) continue;
    const ext = extname(entry.name).toLowerCase();
    const format = FORMAT_BY_EXTENSION[ext];
    if (!format || !allowed.has(ext) || entry.name.startsWith('.')) continue;
    const info = await stat(path).catch(() => undefined);
    if (!info?.isFile()) continue;
    if (info.size > options.maxFileBytes) {
      scan.skipped.push({ path, reason: `larger than ${options.maxFileBytes} bytes` });
      continue;
    }
    scan.items.push(fileItem(relative(root, path).split(sep).join('/'), format, path, info.mtimeMs, info.size));
  }
}

function fileItem(key: string, format: RawFormat, path: string, mtimeMs: number, size: number): SourceItem {
  return { key, format, path, mtimeMs: Math.floor(mtimeMs), size, read: () => readFile(path) };
}

export interface JsonlScan {
  items: SourceItem[];
  /** Lines that are not JSON objects, with their 1-based line numbers. */
  invalid: Array<{ line: number; reason: string }>;
}

/**
 * One document per line. A line's key is its `id` field, else the hash of
 * the line, so re-reading the same file finds the same documents; with
 * several lines for one id the last one wins (an updated export).
 */
export async function scanJsonl(path: string): Promise<JsonlScan> {
  const info = await stat(path);
  const byKey = new Map<string, SourceItem>();
  const invalid: JsonlScan['invalid'] = [];
  // Imported here, not at the top: the idle appliance does not load readline (issue 13, item 7).
  const { createInterface } = await import('node:readline');
  const lines = createInterface({ input: createReadStream(path, 'utf8'), crlfDelay: Infinity });
  let number = 0;
  for await (const line of lines) {
    number++;
    const trimmed = line.trim();
    if (!trimmed) continue;
    let value: unknown;
    try {
      value = JSON.parse(trimmed);
    } catch (error) {
      invalid.push({ line: number, reason: `not valid JSON: ${(error as Error).message}` });
      continue;
    }
    if (value === null || typeof value !== 'object' || Array.isArray(value)) {
      invalid.push({ line: number, reason: 'expected a JSON object' });
      continue;
    }
    const id = (value as Record<string, unknown>).id;
    const key = typeof id === 'string' || typeof id === 'number' ? String(id) : contentHash(trimmed);
    const bytes = Buffer.from(trimmed, 'utf8');
    byKey.set(key, { key, format: 'json', mtimeMs: Math.floor(info.mtimeMs), size: bytes.length, read: async () => bytes });
  }
  return { items: [...byKey.values()], invalid };
}
