import { contentHash } from './hash.js';
import type { Chunk } from './types.js';

/**
 * Splits a document's text into chunks of a few paragraphs. Boundaries fall
 * on blank lines, then sentence ends, then spaces, so a chunk reads as a
 * passage; a small overlap carries the end of one chunk into the next so a
 * sentence cut in two is still found whole.
 */

export interface ChunkOptions {
  /** Aim for chunks about this long (characters). */
  targetChars: number;
  /** Never longer than this. */
  maxChars: number;
  /** Characters of the previous chunk repeated at the start of the next. */
  overlapChars: number;
}

export const DEFAULT_CHUNKING: ChunkOptions = { targetChars: 800, maxChars: 1200, overlapChars: 120 };

export function chunkDocument(docId: string, text: string, options: ChunkOptions = DEFAULT_CHUNKING): Chunk[] {
  const pieces = splitIntoPieces(text, options.maxChars);
  const texts: string[] = [];
  let current = '';
  for (const piece of pieces) {
    if (current && current.length + piece.length + 2 > options.targetChars) {
      texts.push(current);
      current = overlapTail(current, options.overlapChars);
      // The overlap must not push the next chunk past the limit.
      if (current.length + piece.length + 2 > options.maxChars) current = '';
    }
    current = current ? `${current}\n\n${piece}` : piece;
  }
  if (current.trim()) texts.push(current);
  return withIds(docId, texts);
}

/**
 * Identical passages in one document (a repeated signature) get distinct
 * ids by occurrence, so ids stay unique and still depend only on content.
 */
function withIds(docId: string, texts: string[]): Chunk[] {
  const seen = new Map<string, number>();
  return texts.map((text, index) => {
    const base = contentHash(`${docId}\0${text}`);
    const occurrence = seen.get(base) ?? 0;
    seen.set(base, occurrence + 1);
    const id = occurrence === 0 ? base : contentHash(`${base}\0${occurrence}`);
    return { id, docId, index, text };
  });
}

/** Paragraphs, with any paragraph longer than `maxChars` cut at sentence ends or spaces. */
function splitIntoPieces(text: string, maxChars: number): string[] {
  const paragraphs = text
    .replace(/\r\n?/g, '\n')
    .split(/\n\s*\n/)
    .map((paragraph) => paragraph.trim())
    .filter(Boolean);
  return paragraphs.flatMap((paragraph) => (paragraph.length <= maxChars ? [paragraph] : cutLong(paragraph, maxChars)));
}

function cutLong(paragraph: string, maxChars: number): string[] {
  const out: string[] = [];
  let rest = paragraph;
  while (rest.length > maxChars) {
    const window = rest.slice(0, maxChars);
    const sentenceEnd = Math.max(window.lastIndexOf('. '), window.lastIndexOf('! '), window.lastIndexOf('? '), window.lastIndexOf('\n'));
    const space = window.lastIndexOf(' ');
    const cut = sentenceEnd > maxChars / 2 ? sentenceEnd + 1 : space > maxChars / 2 ? space : maxChars;
    out.push(rest.slice(0, cut).trim());
    rest = rest.slice(cut).trim();
  }
  if (rest) out.push(rest);
  return out;
}

/** The last `chars` characters, starting at a word boundary. */
function overlapTail(text: string, chars: number): string {
  if (chars <= 0 || text.length <= chars) return chars <= 0 ? '' : text;
  const tail = text.slice(-chars);
  const space = tail.indexOf(' ');
  return (space >= 0 ? tail.slice(space + 1) : tail).trim();
}
