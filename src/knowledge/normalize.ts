import { basename, extname } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parse as parseYaml } from 'yaml';
import { documentId } from './hash.js';
import type { KnowledgeDocument } from './types.js';

/**
 * Raw bytes to a normalised document. Pure: the same raw item always gives
 * the same document, which is what lets `hearth knowledge rebuild` recreate
 * the processed stage from the raw one.
 */

export type RawFormat = 'md' | 'txt' | 'html' | 'json';

export interface RawItem {
  source: string;
  /** The source's key: relative path (files) or document id (JSONL). */
  key: string;
  format: RawFormat;
  text: string;
  /** Modification time of the file, or when a JSONL line was first seen. */
  mtimeMs: number;
  /** Absolute path of the original file, for the link back. */
  path?: string;
}

export class InvalidDocumentError extends Error {
  override name = 'InvalidDocumentError';
}

export const FORMAT_BY_EXTENSION: Record<string, RawFormat> = {
  '.md': 'md',
  '.markdown': 'md',
  '.txt': 'txt',
  '.text': 'txt',
  '.html': 'html',
  '.htm': 'html',
};

export function normalize(item: RawItem): KnowledgeDocument {
  switch (item.format) {
    case 'md':
      return fromMarkdown(item);
    case 'txt':
      return fromText(item);
    case 'html':
      return fromHtml(item);
    case 'json':
      return fromJson(item);
  }
}

function base(item: RawItem, fields: { title: string; text: string; author?: string; timestamp?: number; url?: string; metadata?: Record<string, unknown> }): KnowledgeDocument {
  return {
    id: documentId(item.source, item.key),
    source: item.source,
    key: item.key,
    title: fields.title.trim() || fallbackTitle(item.key),
    ...(fields.author ? { author: fields.author } : {}),
    timestamp: fields.timestamp ?? item.mtimeMs,
    ...(fields.url ?? item.path ? { url: fields.url ?? pathToFileURL(item.path!).href } : {}),
    text: fields.text.trim(),
    metadata: fields.metadata ?? {},
  };
}

function fallbackTitle(key: string): string {
  return basename(key, extname(key)).replace(/[-_]+/g, ' ');
}

// Markdown: optional YAML front matter (title, date, author, tags, url), title from the first heading.

const FRONT_MATTER = /^---\r?\n([\s\S]*?)\r?\n---\r?\n?/;

function fromMarkdown(item: RawItem): KnowledgeDocument {
  const match = FRONT_MATTER.exec(item.text);
  const meta = match ? readFrontMatter(match[1]!) : {};
  const body = match ? item.text.slice(match[0].length) : item.text;
  const heading = /^#{1,6}[ \t]+(.+?)[ \t#]*$/m.exec(body)?.[1];
  const { title, date, author, url, ...rest } = meta;
  return base(item, {
    title: stringField(title) ?? heading ?? '',
    text: markdownToText(body),
    ...optional('author', stringField(author)),
    ...optional('timestamp', timeField(date)),
    ...optional('url', stringField(url)),
    metadata: rest,
  });
}

function readFrontMatter(text: string): Record<string, unknown> {
  try {
    const value: unknown = parseYaml(text);
    return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
  } catch {
    // Broken front matter is the author's business; the document is still worth indexing.
    return {};
  }
}

/** Keeps the words, drops the markup that would only clutter snippets. */
export function markdownToText(markdown: string): string {
  return markdown
    .replace(/!\[([^\]]*)\]\([^)]*\)/g, '$1')
    .replace(/\[([^\]]+)\]\([^)]*\)/g, '$1')
    .replace(/^#{1,6}[ \t]+/gm, '')
    .replace(/^[ \t]*(?:[-*+]|\d+\.)[ \t]+\[[ xX]\][ \t]+/gm, '- ')
    .replace(/^```.*$/gm, '')
    .replace(/(\*\*|__)(.+?)\1/g, '$2')
    .replace(/`([^`]+)`/g, '$1')
    .replace(/^>[ \t]?/gm, '');
}

function fromText(item: RawItem): KnowledgeDocument {
  const firstLine = item.text.trim().split('\n', 1)[0]?.trim() ?? '';
  return base(item, { title: firstLine.length <= 80 ? firstLine : '', text: item.text });
}

// HTML: the <title>, the visible text, block elements as line breaks.

function fromHtml(item: RawItem): KnowledgeDocument {
  const title = /<title[^>]*>([\s\S]*?)<\/title>/i.exec(item.text)?.[1];
  const body = /<body[^>]*>([\s\S]*)<\/body>/i.exec(item.text)?.[1] ?? item.text;
  return base(item, { title: title ? decodeEntities(title) : '', text: htmlToText(body) });
}

export function htmlToText(html: string): string {
  const text = html
    .replace(/<(script|style|noscript|template)[^>]*>[\s\S]*?<\/\1>/gi, ' ')
    .replace(/<!--[\s\S]*?-->/g, ' ')
    .replace(/<(br|hr)\b[^>]*>/gi, '\n')
    .replace(/<\/(p|div|h[1-6]|li|tr|section|article|header|footer|blockquote|pre)>/gi, '\n\n')
    .replace(/<[^>]+>/g, ' ');
  return decodeEntities(text)
    .replace(/[ \t]+/g, ' ')
    .replace(/ *\n */g, '\n')
    .replace(/\n{3,}/g, '\n\n');
}

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", nbsp: ' ', ndash: '–', mdash: '—', hellip: '…', rsquo: '’', lsquo: '‘', rdquo: '”', ldquo: '“' };

function decodeEntities(text: string): string {
  return text.replace(/&(#x[0-9a-f]+|#\d+|[a-z]+);/gi, (whole, name: string) => {
    if (name[0] === '#') {
      const code = name[1] === 'x' || name[1] === 'X' ? parseInt(name.slice(2), 16) : parseInt(name.slice(1), 10);
      return Number.isFinite(code) && code > 0 && code <= 0x10ffff ? String.fromCodePoint(code) : whole;
    }
    return ENTITIES[name.toLowerCase()] ?? whole;
  });
}

// JSON (one JSONL line): text under text/body/content, the rest under their usual names.

const TEXT_FIELDS = ['text', 'body', 'content', 'message'];
const TIME_FIELDS = ['timestamp', 'date', 'time', 'ts', 'created_at', 'createdAt'];
const KNOWN_FIELDS = new Set(['id', 'title', 'subject', 'author', 'from', 'user', 'url', 'link', ...TEXT_FIELDS, ...TIME_FIELDS]);

function fromJson(item: RawItem): KnowledgeDocument {
  let value: unknown;
  try {
    value = JSON.parse(item.text);
  } catch (error) {
    throw new InvalidDocumentError(`not valid JSON: ${(error as Error).message}`, { cause: error });
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new InvalidDocumentError('expected a JSON object');
  const record = value as Record<string, unknown>;
  const text = TEXT_FIELDS.map((name) => stringField(record[name])).find((found) => found !== undefined);
  if (text === undefined) throw new InvalidDocumentError(`has no text (expected one of the fields ${TEXT_FIELDS.join(', ')})`);
  const timestamp = TIME_FIELDS.map((name) => timeField(record[name])).find((found) => found !== undefined);
  const metadata = Object.fromEntries(Object.entries(record).filter(([key]) => !KNOWN_FIELDS.has(key)));
  return base(item, {
    title: stringField(record.title) ?? stringField(record.subject) ?? text.split('\n', 1)[0]!.slice(0, 80),
    text,
    ...optional('author', stringField(record.author) ?? stringField(record.from) ?? stringField(record.user)),
    ...optional('timestamp', timestamp),
    ...optional('url', stringField(record.url) ?? stringField(record.link)),
    metadata,
  });
}

function stringField(value: unknown): string | undefined {
  if (typeof value === 'number') return String(value);
  return typeof value === 'string' && value.trim() !== '' ? value : undefined;
}

/** ISO dates and date-times, and epoch seconds or milliseconds (Slack's "1700000000.1234" too). */
export function timeField(value: unknown): number | undefined {
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? undefined : value.getTime();
  if (typeof value === 'number' || (typeof value === 'string' && /^\d{9,}(?:\.\d+)?$/.test(value.trim()))) {
    const number = Number(value);
    if (!Number.isFinite(number)) return undefined;
    return number < 1e11 ? Math.round(number * 1000) : Math.round(number);
  }
  if (typeof value !== 'string') return undefined;
  const parsed = Date.parse(value.trim());
  return Number.isNaN(parsed) ? undefined : parsed;
}

function optional<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: V };
}
