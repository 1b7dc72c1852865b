import { tokenize } from './embedders/hashing.js';
import type { IndexRow, RankedRow } from './lance-index.js';
import type { SearchHit } from './types.js';

/**
 * Reciprocal rank fusion (Cormack et al. 2009): every ranking gives a
 * candidate 1 / (K + rank). Ranks, not raw scores, are fused, so cosine
 * distances and BM25 scores need no calibration against each other. A third
 * ranking, "phrase", lists the candidates whose text contains the query's
 * words in order: someone who types a phrase they remember wants that
 * passage first.
 */

export const RRF_K = 60;
/**
 * A vector ranking always returns its nearest rows, relevant or not. A row
 * found only by vector search must be at least this fraction as similar as
 * the best one; relative, so it holds for any embedder's similarity scale.
 */
export const VECTOR_ONLY_MIN_RELATIVE_SIMILARITY = 0.5;
const SNIPPET_CHARS = 240;

type Signal = 'vector' | 'keyword' | 'phrase';

interface Candidate<R extends RankedRow = RankedRow> {
  row: R;
  score: number;
  matchedBy: Set<Signal>;
}

/** A fused result: its row as the rankings read it, before the columns a hit shows are read. */
export interface FusedCandidate<R extends RankedRow = RankedRow> {
  row: R;
  score: number;
  matchedBy: Signal[];
}

/**
 * Fuses the rankings into the best `limit` candidates, one per document.
 * Needs only each row's id, document, text and score: the columns a hit
 * shows are read afterwards for these few (toHits).
 */
export function fuseRankings<R extends RankedRow>(query: string, rankings: { vector: R[]; keyword: R[] }, limit: number): Array<FusedCandidate<R>> {
  const candidates = new Map<string, Candidate<R>>();
  const credit = (rows: R[], signal: Signal) => {
    rows.forEach((row, rank) => {
      const candidate = candidates.get(row.id) ?? { row, score: 0, matchedBy: new Set<Signal>() };
      candidate.score += 1 / (RRF_K + rank + 1);
      candidate.matchedBy.add(signal);
      candidates.set(row.id, candidate);
    });
  };
  credit(rankings.vector, 'vector');
  credit(rankings.keyword, 'keyword');
  credit(phraseRanking(query, [...candidates.values()]), 'phrase');
  dropWeakVectorOnly(candidates, rankings.vector);

  const best = new Map<string, Candidate<R>>();
  // One hit per document: its best chunk. Ten chunks of one long note would hide everything else.
  for (const candidate of [...candidates.values()].sort(byScore)) {
    if (!best.has(candidate.row.docId)) best.set(candidate.row.docId, candidate);
  }
  return [...best.values()].slice(0, limit).map((candidate) => ({
    row: candidate.row,
    score: candidate.score,
    matchedBy: (['phrase', 'keyword', 'vector'] as const).filter((signal) => candidate.matchedBy.has(signal)),
  }));
}

/** The fused candidates as search hits, once their rows are complete (same order). */
export function toHits(query: string, fused: Array<FusedCandidate<IndexRow>>): SearchHit[] {
  return fused.map((candidate) => toHit(query, candidate));
}

/** Vector rows carry cosine distance as their score: similarity = 1 - distance. */
function dropWeakVectorOnly(candidates: Map<string, Candidate>, vectorRows: RankedRow[]): void {
  const best = vectorRows[0] ? 1 - vectorRows[0].score : 0;
  const floor = Math.max(0, best * VECTOR_ONLY_MIN_RELATIVE_SIMILARITY);
  for (const row of vectorRows) {
    const candidate = candidates.get(row.id);
    if (candidate && candidate.matchedBy.size === 1 && 1 - row.score <= floor) candidates.delete(row.id);
  }
}

function byScore(a: Candidate, b: Candidate): number {
  return b.score - a.score || a.row.id.localeCompare(b.row.id);
}

/**
 * Whether fusing the rankings of `query` reads the candidates' text: only
 * the phrase ranking does, and a query of one word has no phrase. When it
 * does not, the search reads text for the fused few only (completeRows).
 */
export function fusionReadsText(query: string): boolean {
  return tokenize(query).length >= 2;
}

/** Candidates containing the query's words consecutively, in the order fusion has them so far. */
function phraseRanking<R extends RankedRow>(query: string, candidates: Array<Candidate<R>>): R[] {
  if (!fusionReadsText(query)) return [];
  const words = tokenize(query);
  const phrase = ` ${words.join(' ')} `;
  return candidates
    .filter((candidate) => mayContainAll(candidate.row.text, words) && ` ${tokenize(candidate.row.text).join(' ')} `.includes(phrase))
    .sort(byScore)
    .map((candidate) => candidate.row);
}

/**
 * False only when `text` cannot contain every word: an ASCII text's tokens
 * are runs of its lower-cased characters, so each word must be a substring.
 * Tokenizing a candidate (Unicode folding, a regular expression) is what
 * fusion spends its time on; most candidates fail this test first. Other
 * texts are always tokenized.
 */
function mayContainAll(text: string, words: string[]): boolean {
  if (!ASCII.test(text)) return true;
  const lower = text.toLowerCase();
  return words.every((word) => lower.includes(word));
}
// eslint-disable-next-line no-control-regex
const ASCII = /^[\x00-\x7f]*$/;

function toHit(query: string, candidate: FusedCandidate<IndexRow>): SearchHit {
  const { row } = candidate;
  return {
    chunkId: row.id,
    docId: row.docId,
    source: row.source,
    title: row.title,
    ...(row.author ? { author: row.author } : {}),
    timestamp: new Date(row.timestamp).toISOString(),
    ...(row.url ? { url: row.url } : {}),
    snippet: snippet(row.text, query),
    score: Number(candidate.score.toFixed(6)),
    matchedBy: candidate.matchedBy,
  };
}

/**
 * A window of the text around the densest cluster of query words, cut at
 * word boundaries, with "…" where text was left out.
 */
export function snippet(text: string, query: string, size = SNIPPET_CHARS): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  if (flat.length <= size) return flat;
  const positions = wordPositions(flat.toLowerCase(), new Set(tokenize(query)));
  let bestStart = 0;
  let bestCount = 0;
  // Positions ascend: the words in a window starting at one are it and those after it, up to `end`.
  for (let i = 0, end = 0; i < positions.length; i++) {
    while (end < positions.length && positions[end]! < positions[i]! + size * 0.8) end++;
    if (end - i > bestCount) {
      bestCount = end - i;
      bestStart = positions[i]!;
    }
  }
  let from = Math.max(0, bestStart - Math.floor(size * 0.2));
  if (from > 0) from = flat.indexOf(' ', from) + 1 || from;
  let to = Math.min(flat.length, from + size);
  if (to < flat.length) to = flat.lastIndexOf(' ', to) > from ? flat.lastIndexOf(' ', to) : to;
  return `${from > 0 ? '…' : ''}${flat.slice(from, to).trim()}${to < flat.length ? '…' : ''}`;
}

/**
 * Where the query's words are in a lower-cased text, ascending. An ASCII
 * text's words are its runs of letters and digits, its own tokens (nothing
 * to fold), so each query word is looked up with indexOf and kept where it is
 * a whole run: a regular expression's match object for every word of every
 * hit was most of what a search allocated (and so of its GC pauses). Other
 * texts are tokenized word by word.
 */
function wordPositions(lower: string, words: Set<string>): number[] {
  const positions: number[] = [];
  if (!ASCII.test(lower)) {
    for (const match of lower.matchAll(/[\p{L}\p{N}]+/gu)) {
      if (words.has(tokenize(match[0])[0] ?? '')) positions.push(match.index);
    }
    return positions;
  }
  for (const word of words) {
    if (!ASCII_WORD.test(word)) continue; // not a run of letters and digits of an ASCII text
    for (let at = lower.indexOf(word); at >= 0; at = lower.indexOf(word, at + 1)) {
      if (!isAsciiWordChar(lower.charCodeAt(at - 1)) && !isAsciiWordChar(lower.charCodeAt(at + word.length))) positions.push(at);
    }
  }
  return positions.sort((a, b) => a - b);
}
const ASCII_WORD = /^[a-z0-9]+$/;

/** A lower-case ASCII letter or a digit (NaN, before the start or past the end: no). */
function isAsciiWordChar(code: number): boolean {
  return (code >= 97 && code <= 122) || (code >= 48 && code <= 57);
}
