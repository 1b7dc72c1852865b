import { errorMessage } from '../../core/errors.js';
import { documentId } from '../../knowledge/hash.js';

/**
 * An optional second home for ingested documents: an Elasticsearch or
 * OpenSearch index, for people who already run one. Off by default (the
 * knowledge store's LanceDB full-text index is the embedded answer). Bulk
 * API, one request per batch; ids are the knowledge store's document ids
 * (source + key), so re-sending a document overwrites it and nothing
 * duplicates. Elasticsearch goes through the official client
 * (`@elastic/elasticsearch`, loaded on first use); OpenSearch, which that
 * client refuses, through a plain `POST /_bulk`.
 */

export interface SinkDocument {
  source: string;
  key: string;
  title: string;
  author: string;
  url: string;
  /** Epoch ms. */
  timestamp: number;
  text: string;
  metadata?: Record<string, unknown>;
}

export interface DocumentSink {
  /** Indexes (or overwrites) documents. */
  index(documents: SinkDocument[]): Promise<void>;
  /** Deletes documents by source and key; missing ones are fine. */
  remove(source: string, keys: string[]): Promise<void>;
  close(): Promise<void>;
}

export interface SearchSinkOptions {
  type: 'elasticsearch' | 'opensearch';
  url: string;
  index: string;
  apiKey?: string;
  username?: string;
  password?: string;
  /** Per request, ms (default 30 s). */
  timeoutMs?: number;
}

export class SinkError extends Error {
  override name = 'SinkError';
}

type Operation = Record<string, unknown>;

function operations(index: string, documents: SinkDocument[]): Operation[] {
  return documents.flatMap((doc) => [
    { index: { _index: index, _id: documentId(doc.source, doc.key) } },
    { source: doc.source, key: doc.key, title: doc.title, author: doc.author, url: doc.url, timestamp: new Date(doc.timestamp).toISOString(), text: doc.text, ...(doc.metadata ? { metadata: doc.metadata } : {}) },
  ]);
}

function deletions(index: string, source: string, keys: string[]): Operation[] {
  return keys.map((key) => ({ delete: { _index: index, _id: documentId(source, key) } }));
}

/** The first item error of a bulk answer (a 404 on delete is not one). */
function firstItemError(items: Array<Record<string, { status?: number; error?: { type?: string; reason?: string } }>>): string | undefined {
  for (const item of items) {
    const [action, result] = Object.entries(item)[0] ?? [];
    if (!result?.error) continue;
    if (action === 'delete' && result.status === 404) continue;
    return `${action} ${result.status ?? ''}: ${result.error.type ?? ''} ${result.error.reason ?? ''}`.trim();
  }
  return undefined;
}

export async function createSearchSink(options: SearchSinkOptions): Promise<DocumentSink> {
  return options.type === 'elasticsearch' ? elasticsearchSink(options) : openSearchSink(options);
}

async function elasticsearchSink(options: SearchSinkOptions): Promise<DocumentSink> {
  const { Client } = await import('@elastic/elasticsearch');
  const client = new Client({
    node: options.url,
    requestTimeout: options.timeoutMs ?? 30_000,
    maxRetries: 2,
    ...(options.apiKey ? { auth: { apiKey: options.apiKey } } : options.username ? { auth: { username: options.username, password: options.password ?? '' } } : {}),
  });
  const bulk = async (ops: Operation[]) => {
    if (ops.length === 0) return;
    let response;
    try {
      response = await client.bulk({ operations: ops, refresh: false });
    } catch (error) {
      throw new SinkError(`Elasticsearch bulk request to ${options.url} failed: ${errorMessage(error)}`, { cause: error });
    }
    const failed = response.errors ? firstItemError(response.items as never) : undefined;
    if (failed) throw new SinkError(`Elasticsearch index ${options.index} refused a document: ${failed}`);
  };
  return {
    index: (documents) => bulk(operations(options.index, documents)),
    remove: (source, keys) => bulk(deletions(options.index, source, keys)),
    close: () => client.close(),
  };
}

function openSearchSink(options: SearchSinkOptions): DocumentSink {
  const headers: Record<string, string> = { 'content-type': 'application/x-ndjson' };
  if (options.apiKey) headers.authorization = `ApiKey ${options.apiKey}`;
  else if (options.username) headers.authorization = `Basic ${Buffer.from(`${options.username}:${options.password ?? ''}`).toString('base64')}`;
  const bulk = async (ops: Operation[]) => {
    if (ops.length === 0) return;
    const url = new URL('_bulk', options.url.endsWith('/') ? options.url : `${options.url}/`);
    let response: Response;
    try {
      response = await fetch(url, { method: 'POST', headers, body: `${ops.map((op) => JSON.stringify(op)).join('\n')}\n`, signal: AbortSignal.timeout(options.timeoutMs ?? 30_000) });
    } catch (error) {
      throw new SinkError(`OpenSearch bulk request to ${url.origin} failed: ${errorMessage(error)}`, { cause: error });
    }
    const text = await response.text();
    if (!response.ok) throw new SinkError(`OpenSearch bulk request to ${url.origin} answered ${response.status}: ${text.slice(0, 200)}`);
    const body = JSON.parse(text) as { errors?: boolean; items?: Array<Record<string, { status?: number; error?: { type?: string; reason?: string } }>> };
    const failed = body.errors ? firstItemError(body.items ?? []) : undefined;
    if (failed) throw new SinkError(`OpenSearch index ${options.index} refused a document: ${failed}`);
  };
  return {
    index: (documents) => bulk(operations(options.index, documents)),
    remove: (source, keys) => bulk(deletions(options.index, source, keys)),
    close: async () => {},
  };
}
