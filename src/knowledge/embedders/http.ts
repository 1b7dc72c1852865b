import type { HttpEmbedderSettings } from '../../config/types.js';
import { errorMessage, NonRetriableError } from '../../core/errors.js';
import type { Embedder, EmbedPurpose } from '../types.js';
import { l2Normalize } from './vectors.js';

/**
 * Embeddings from an HTTP endpoint: Ollama (`POST /api/embed`) or anything
 * OpenAI-compatible (`POST /v1/embeddings`: OpenAI, llama.cpp server, vLLM,
 * LM Studio). Each request has a timeout; network errors, 429 and 5xx are
 * retried with backoff; other 4xx are not. The dimension is checked once at
 * start, so a model swapped behind the same URL is caught before its vectors
 * reach the index.
 */

/** The settings from hearth.yaml (src/config/types.ts), with the API they speak and what tests inject. */
export interface HttpEmbedderOptions extends HttpEmbedderSettings {
  api: 'ollama' | 'openai';
  /** First retry delay; doubles each time. */
  retryDelayMs?: number;
  /** Texts per request. */
  batchSize?: number;
  fetch?: typeof fetch;
  sleep?: (ms: number) => Promise<void>;
}

export class EmbedderDimensionError extends NonRetriableError {
  override name = 'EmbedderDimensionError';
}

const DIMENSION_PROBE = 'dimension check';

/** Builds the embedder and checks its dimension with one request. */
export async function createHttpEmbedder(options: HttpEmbedderOptions): Promise<Embedder> {
  const client = new HttpEmbeddingClient(options);
  const [probe] = await client.request([DIMENSION_PROBE]);
  const dim = probe!.length;
  if (options.dim !== undefined && options.dim !== dim) {
    throw new EmbedderDimensionError(`${client.label} returns ${dim}-dimensional vectors, but the config says dim: ${options.dim}`);
  }
  const batchSize = options.batchSize ?? 32;
  return {
    id: `${options.api}:${options.model}:${dim}`,
    dim,
    embed: async (texts, purpose, signal) => {
      const out: Float32Array[] = [];
      for (let i = 0; i < texts.length; i += batchSize) {
        const batch = texts.slice(i, i + batchSize).map((text) => prefixed(text, purpose, options));
        const vectors = await client.request(batch, signal);
        for (const vector of vectors) {
          if (vector.length !== dim) throw new EmbedderDimensionError(`${client.label} returned a ${vector.length}-dimensional vector, expected ${dim}`);
          out.push(l2Normalize(vector));
        }
      }
      return out;
    },
  };
}

function prefixed(text: string, purpose: EmbedPurpose, options: HttpEmbedderOptions): string {
  const prefix = purpose === 'query' ? options.queryPrefix : options.documentPrefix;
  return prefix ? `${prefix}${text}` : text;
}

class HttpEmbeddingClient {
  private readonly fetch: typeof fetch;
  private readonly sleep: (ms: number) => Promise<void>;
  readonly endpoint: string;
  readonly label: string;

  constructor(private readonly options: HttpEmbedderOptions) {
    this.fetch = options.fetch ?? fetch;
    this.sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
    this.endpoint = endpointUrl(options.api, options.url);
    this.label = `${options.api} embeddings at ${this.endpoint} (model ${options.model})`;
  }

  async request(texts: string[], signal?: AbortSignal): Promise<Float32Array[]> {
    let delay = this.options.retryDelayMs ?? 500;
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.once(texts, signal);
      } catch (error) {
        if (error instanceof NonRetriableError || signal?.aborted || attempt >= this.options.retries) throw error;
        await this.sleep(delay);
        delay *= 2;
      }
    }
  }

  private async once(texts: string[], signal: AbortSignal | undefined): Promise<Float32Array[]> {
    const timeout = AbortSignal.timeout(this.options.timeoutMs);
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (this.options.apiKey) headers.authorization = `Bearer ${this.options.apiKey}`;
    const body = this.options.api === 'ollama' ? { model: this.options.model, input: texts } : { model: this.options.model, input: texts, encoding_format: 'float' };
    let response: Response;
    let text: string;
    try {
      response = await this.fetch(this.endpoint, { method: 'POST', headers, body: JSON.stringify(body), signal: signal ? AbortSignal.any([signal, timeout]) : timeout });
      text = await response.text();
    } catch (error) {
      if (timeout.aborted) throw new Error(`${this.label} timed out after ${this.options.timeoutMs} ms`, { cause: error });
      throw new Error(`${this.label} failed: ${describeFetchError(error)}`, { cause: error });
    }
    if (!response.ok) {
      const message = `${this.label} returned ${response.status}: ${text.slice(0, 200).trim()}`;
      const retriable = response.status === 408 || response.status === 429 || response.status >= 500;
      throw retriable ? new Error(message) : new NonRetriableError(message);
    }
    return this.parse(text, texts.length);
  }

  private parse(text: string, expected: number): Float32Array[] {
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (error) {
      throw new NonRetriableError(`${this.label} answered with something that is not JSON: ${text.slice(0, 100)}`, { cause: error });
    }
    const vectors = this.options.api === 'ollama' ? ollamaVectors(json) : openAiVectors(json);
    if (!vectors || vectors.length !== expected) {
      throw new NonRetriableError(`${this.label} answered without ${expected} embeddings (unexpected response shape)`);
    }
    return vectors.map((vector) => Float32Array.from(vector));
  }
}

function ollamaVectors(json: unknown): number[][] | undefined {
  const embeddings = (json as { embeddings?: unknown }).embeddings;
  return isVectorList(embeddings) ? embeddings : undefined;
}

function openAiVectors(json: unknown): number[][] | undefined {
  const data = (json as { data?: unknown }).data;
  if (!Array.isArray(data)) return undefined;
  const sorted = [...data].sort((a, b) => Number((a as { index?: number }).index ?? 0) - Number((b as { index?: number }).index ?? 0));
  const vectors = sorted.map((item) => (item as { embedding?: unknown }).embedding);
  return isVectorList(vectors) ? vectors : undefined;
}

function isVectorList(value: unknown): value is number[][] {
  return Array.isArray(value) && value.every((vector) => Array.isArray(vector) && vector.length > 0 && vector.every((x) => typeof x === 'number'));
}

/** Accepts the base URL with or without the API path. */
export function endpointUrl(api: 'ollama' | 'openai', base: string): string {
  const trimmed = base.replace(/\/+$/, '');
  if (api === 'ollama') return trimmed.endsWith('/api/embed') ? trimmed : `${trimmed}/api/embed`;
  if (trimmed.endsWith('/embeddings')) return trimmed;
  return trimmed.endsWith('/v1') ? `${trimmed}/embeddings` : `${trimmed}/v1/embeddings`;
}

function describeFetchError(error: unknown): string {
  const cause = (error as { cause?: unknown } | null)?.cause;
  if (cause instanceof Error) {
    const code = (cause as NodeJS.ErrnoException).code;
    return code && !cause.message.includes(code) ? `${code}: ${cause.message}` : cause.message;
  }
  return errorMessage(error);
}
