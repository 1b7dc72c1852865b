import type { Embedder } from '../types.js';
import { l2Normalize } from './vectors.js';

/**
 * A dependency-free embedder: words, word pairs and character trigrams are
 * hashed into a fixed number of buckets (the "hashing trick", with a sign bit
 * so collisions cancel instead of piling up), then L2-normalised. It knows no
 * synonyms, but it is deterministic, instant, needs no model or network, and
 * ranks shared words, shared phrases and near-spellings ("boilers", "boiler")
 * well, so search works out of the box.
 */

export const DEFAULT_HASHING_DIM = 256;

const WORD_WEIGHT = 1;
const PAIR_WEIGHT = 0.7;
const TRIGRAM_WEIGHT = 0.35;
const MAX_WORD_LENGTH = 40;

export function createHashingEmbedder(dim = DEFAULT_HASHING_DIM): Embedder {
  if (!Number.isInteger(dim) || dim < 16 || dim > 4096) throw new RangeError(`hashing dimension must be 16-4096, got ${dim}`);
  return {
    id: `hashing-v1-${dim}`,
    dim,
    embed: async (texts) => texts.map((text) => hashingVector(text, dim)),
  };
}

export function hashingVector(text: string, dim: number): Float32Array {
  const vector = new Float32Array(dim);
  const words = tokenize(text);
  const add = (feature: string, weight: number) => {
    const hash = fnv1a(feature);
    // The top bit picks the sign, the rest the bucket.
    const bucket = (hash & 0x7fffffff) % dim;
    vector[bucket]! += hash & 0x80000000 ? -weight : weight;
  };
  for (let i = 0; i < words.length; i++) {
    const word = words[i]!;
    add(`w:${word}`, WORD_WEIGHT);
    const next = words[i + 1];
    if (next !== undefined) add(`p:${word} ${next}`, PAIR_WEIGHT);
    const padded = `^${word}$`;
    for (let j = 0; j + 3 <= padded.length; j++) add(`c:${padded.slice(j, j + 3)}`, TRIGRAM_WEIGHT);
  }
  // Sub-linear term frequency: a word said ten times is not ten times the topic.
  for (let i = 0; i < dim; i++) {
    const value = vector[i]!;
    vector[i] = Math.sign(value) * Math.sqrt(Math.abs(value));
  }
  return l2Normalize(vector);
}

/** Lower-cased words of letters and digits (any script), accents folded. */
export function tokenize(text: string): string[] {
  const folded = text.normalize('NFKD').replace(/\p{M}+/gu, '').toLowerCase();
  return (folded.match(/[\p{L}\p{N}]+/gu) ?? []).filter((word) => word.length <= MAX_WORD_LENGTH);
}

/** 32-bit FNV-1a over UTF-16 code units: fast, stable across platforms and versions. */
function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}
