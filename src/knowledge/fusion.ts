import { tokenize } from './embedders/hashing.js';
import type { IndexRow } from './lance-index.js';
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

interface Candidate {
  row: IndexRow;
  score: number;
  matchedBy: Set<Signal>;
}

export function fuseRankings(query: string, rankings: { vector: IndexRow[]; keyword: IndexRow[] }, limit: number): SearchHit[] {
  const candidates = new Map<string, Candidate>();
  const credit = (rows: IndexRow[], signal: Signal) => {
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

  const best = new Map<string, Candidate>();
  // One hit per document: its best chunk. Ten chunks of one long note would hide everything else.
  for (const candidate of [...candidates.values()].sort(byScore)) {
    if (!best.has(candidate.row.docId)) best.set(candidate.row.docId, candidate);
  }
  return [...best.values()].slice(0, limit).map((candidate) => toHit(query, candidate));
}

/** Vector rows carry cosine distance as their score: similarity = 1 - distance. */
function dropWeakVectorOnly(candidates: Map<string, Candidate>, vectorRows: IndexRow[]): void {
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

/** Candidates containing the query's words consecutively, in the order fusion has them so far. */
function phraseRanking(query: string, candidates: Candidate[]): IndexRow[] {
  const words = tokenize(query);
  if (words.length < 2) return [];
  const phrase = ` ${words.join(' ')} `;
  return candidates
    .filter((candidate) => ` ${tokenize(candidate.row.text).join(' ')} `.includes(phrase))
    .sort(byScore)
    .map((candidate) => candidate.row);
}

function toHit(query: string, candidate: Candidate): SearchHit {
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
    matchedBy: (['phrase', 'keyword', 'vector'] as const).filter((signal) => candidate.matchedBy.has(signal)),
  };
}

/**
 * A window of the text around the densest cluster of query words, cut at
 * word boundaries, with "…" where text was left out.
 */
export function snippet(text: string, query: string, size = SNIPPET_CHARS): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  if (flat.length <= size) return flat;
  const words = new Set(tokenize(query));
  const lower = flat.toLowerCase();
  const positions: number[] = [];
  for (const match of lower.matchAll(/[\p{L}\p{N}]+/gu)) {
    if (words.has(tokenize(match[0])[0] ?? '')) positions.push(match.index);
  }
  let bestStart = 0;
  let bestCount = 0;
  for (const start of positions) {
    const count = positions.filter((position) => position >= start && position < start + size * 0.8).length;
    if (count > bestCount) {
      bestCount = count;
      bestStart = start;
    }
  }
  let from = Math.max(0, bestStart - Math.floor(size * 0.2));
  if (from > 0) from = flat.indexOf(' ', from) + 1 || from;
  let to = Math.min(flat.length, from + size);
  if (to < flat.length) to = flat.lastIndexOf(' ', to) > from ? flat.lastIndexOf(' ', to) : to;
  return `${from > 0 ? '…' : ''}${flat.slice(from, to).trim()}${to < flat.length ? '…' : ''}`;
}
