import type { EmbedderSpec } from '../../config/types.js';
import type { Embedder } from '../types.js';
import { createHashingEmbedder } from './hashing.js';

/**
 * The configured embedder. The local model (transformers.js + onnxruntime)
 * and the HTTP client are imported only when chosen, so the default hashing
 * embedder costs nothing to load.
 */
export async function createEmbedder(spec: EmbedderSpec): Promise<Embedder> {
  switch (spec.type) {
    case 'hashing':
      return createHashingEmbedder(spec.dim);
    case 'local': {
      const { createLocalEmbedder } = await import('./local.js');
      return createLocalEmbedder({ model: spec.model, modelDir: spec.modelDir, dtype: spec.dtype, threads: spec.threads });
    }
    case 'ollama':
    case 'openai': {
      const { createHttpEmbedder } = await import('./http.js');
      return createHttpEmbedder({
        api: spec.type,
        url: spec.url,
        model: spec.model,
        timeoutMs: spec.timeoutMs,
        retries: spec.retries,
        ...(spec.dim !== undefined ? { dim: spec.dim } : {}),
        ...(spec.apiKey !== undefined ? { apiKey: spec.apiKey } : {}),
        ...(spec.queryPrefix !== undefined ? { queryPrefix: spec.queryPrefix } : {}),
        ...(spec.documentPrefix !== undefined ? { documentPrefix: spec.documentPrefix } : {}),
      });
    }
  }
}
