/**
 * The knowledge store's data model and ports. A document moves through four
 * stages: raw (the bytes a source fetched, immutable), processed (a
 * normalised document split into chunks with content-hash ids), indexed (a
 * LanceDB row per chunk with its vector) and query (ranked hits).
 */

/** 'query' and 'document' differ for models trained with instructions (e.g. nomic "search_query:"). */
export type EmbedPurpose = 'query' | 'document';

export interface Embedder {
  /** Names the model and its settings: vectors from two ids are never mixed in one table. */
  readonly id: string;
  readonly dim: number;
  /** One L2-normalised vector per text, in order. */
  embed(texts: string[], purpose: EmbedPurpose, signal?: AbortSignal): Promise<Float32Array[]>;
  /** Frees a loaded model; safe to call twice. */
  close?(): Promise<void>;
}

/** A normalised document: what every source (files, JSONL, later Slack and Gmail) turns into. */
export interface KnowledgeDocument {
  /** Stable across edits of the same document: derived from source + the source's own key. */
  id: string;
  source: string;
  /** The source's own key: a relative path, a message id. */
  key: string;
  title: string;
  author?: string;
  /** Epoch ms: when the document was written (front matter, JSON field, else file mtime). */
  timestamp: number;
  /** Link back: file:// URL, web URL, permalink. */
  url?: string;
  text: string;
  metadata: Record<string, unknown>;
}

export interface Chunk {
  /** Content hash of (document id, text): unchanged text keeps its id, so it is not embedded again. */
  id: string;
  docId: string;
  index: number;
  text: string;
}

/** A chunk as stored in the index: the document fields it is searched and filtered by travel with it. */
export interface IndexedChunk extends Chunk {
  source: string;
  title: string;
  author: string;
  url: string;
  timestamp: number;
  vector: Float32Array;
}

export interface SearchQuery {
  text: string;
  /** Only these sources (empty or absent: all). */
  sources?: string[];
  /** Epoch ms, inclusive. */
  since?: number;
  /** Epoch ms, exclusive. */
  until?: number;
  limit?: number;
}

export interface SearchHit {
  chunkId: string;
  docId: string;
  source: string;
  title: string;
  author?: string;
  /** ISO 8601. */
  timestamp: string;
  url?: string;
  /** A window of the chunk around the best-matching words. */
  snippet: string;
  /** Fused reciprocal-rank score: higher is better; only comparable within one response. */
  score: number;
  /** Which rankings found it: vector, keyword, phrase. */
  matchedBy: Array<'vector' | 'keyword' | 'phrase'>;
}

export interface SearchResponse {
  query: string;
  hits: SearchHit[];
  /** hybrid normally; keyword while the index holds another embedder's vectors (re-embed pending). */
  mode: 'hybrid' | 'keyword';
  embedder: string;
  tookMs: number;
  totalChunks: number;
  note?: string;
}

/** What the HTTP API and the CLI need to search. */
export interface SearchPort {
  search(query: SearchQuery): Promise<SearchResponse>;
}

/** Progress of a long stage, reported as lines in a run's log. */
export type ProgressSink = (line: string) => void;
