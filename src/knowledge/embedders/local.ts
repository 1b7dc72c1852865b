import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Embedder } from '../types.js';
import { l2Normalize } from './vectors.js';

/**
 * A sentence-embedding model run in-process by transformers.js on
 * onnxruntime-node (CPU). The model is read from a local folder only —
 * `<modelDir>/<model>/` with config.json, tokenizer.json and onnx/*.onnx —
 * and remote loading is switched off, so nothing is ever downloaded at run
 * time (`hearth models pull` fetches it once, on a machine with internet).
 */

export type LocalDtype = 'q8' | 'fp32' | 'fp16' | 'int8' | 'uint8' | 'q4';

export interface LocalEmbedderOptions {
  /** e.g. Xenova/all-MiniLM-L6-v2 */
  model: string;
  /** Folder holding `<model>/`. */
  modelDir: string;
  /** q8 reads onnx/model_quantized.onnx, fp32 onnx/model.onnx. */
  dtype: LocalDtype;
  /** onnxruntime intra-op threads: 1-2 on a Pi leaves room for everything else. */
  threads: number;
  batchSize?: number;
}

export class ModelNotFoundError extends Error {
  override name = 'ModelNotFoundError';
}

/** File name transformers.js looks for under onnx/ for each dtype. */
export const MODEL_FILE_BY_DTYPE: Record<LocalDtype, string> = {
  fp32: 'model.onnx',
  fp16: 'model_fp16.onnx',
  q8: 'model_quantized.onnx',
  int8: 'model_int8.onnx',
  uint8: 'model_uint8.onnx',
  q4: 'model_q4.onnx',
};

export async function createLocalEmbedder(options: LocalEmbedderOptions): Promise<Embedder> {
  const folder = join(options.modelDir, options.model);
  const weights = join(folder, 'onnx', MODEL_FILE_BY_DTYPE[options.dtype]);
  for (const file of [join(folder, 'config.json'), join(folder, 'tokenizer.json'), weights]) {
    if (!existsSync(file)) {
      throw new ModelNotFoundError(`local embedding model is missing ${file}: run "hearth models pull ${options.model}" on a machine with internet, or copy the folder there`);
    }
  }
  const transformers = await import('@huggingface/transformers');
  // transformers.js keeps these settings on a shared object: set them every time, right before loading.
  transformers.env.allowRemoteModels = false;
  transformers.env.allowLocalModels = true;
  transformers.env.localModelPath = options.modelDir.endsWith('/') ? options.modelDir : `${options.modelDir}/`;
  const extractor = await transformers.pipeline('feature-extraction', options.model, {
    dtype: options.dtype,
    device: 'cpu',
    local_files_only: true,
    session_options: { intraOpNumThreads: options.threads, interOpNumThreads: 1 },
  });
  const run = async (texts: string[]): Promise<Float32Array[]> => {
    const output = await extractor(texts, { pooling: 'mean', normalize: true });
    const [rows, dim] = output.dims as [number, number];
    const data = output.data as Float32Array;
    const vectors: Float32Array[] = [];
    for (let i = 0; i < rows; i++) vectors.push(l2Normalize(Float32Array.from(data.subarray(i * dim, (i + 1) * dim))));
    return vectors;
  };
  const [probe] = await run(['dimension check']);
  const dim = probe!.length;
  const batchSize = options.batchSize ?? 16;
  let closed = false;
  return {
    id: `local:${options.model}:${options.dtype}`,
    dim,
    embed: async (texts) => {
      const out: Float32Array[] = [];
      for (let i = 0; i < texts.length; i += batchSize) out.push(...(await run(texts.slice(i, i + batchSize))));
      return out;
    },
    close: async () => {
      if (closed) return;
      closed = true;
      await extractor.dispose();
    },
  };
}
