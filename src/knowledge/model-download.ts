import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { MODEL_FILE_BY_DTYPE } from './embedders/local.js';
import type { LocalDtype } from './embedders/local.js';

/**
 * `hearth models pull`: fetches a sentence-embedding model's files from the
 * Hugging Face hub (or a mirror in HF_ENDPOINT) into the local model folder
 * the local embedder reads. The only code in Hearth that downloads a model,
 * and it runs only when a person asks for it.
 */

export const DEFAULT_HUB = 'https://huggingface.co';

export interface PullOptions {
  model: string;
  modelDir: string;
  dtype: LocalDtype;
  hub: string;
  fetch: typeof fetch;
  progress: (line: string) => void;
}

/** Files transformers.js needs; the optional ones only some models have. */
function modelFiles(dtype: LocalDtype): Array<{ path: string; optional: boolean }> {
  return [
    { path: 'config.json', optional: false },
    { path: 'tokenizer.json', optional: false },
    { path: 'tokenizer_config.json', optional: false },
    { path: 'special_tokens_map.json', optional: true },
    { path: `onnx/${MODEL_FILE_BY_DTYPE[dtype]}`, optional: false },
  ];
}

export async function pullModel(options: PullOptions): Promise<{ folder: string; bytes: number }> {
  if (!/^[\w.-]+\/[\w.-]+$/.test(options.model)) throw new Error(`invalid model name "${options.model}" (expected owner/name, e.g. Xenova/all-MiniLM-L6-v2)`);
  const folder = join(options.modelDir, options.model);
  const staging = `${folder}.partial`;
  await rm(staging, { recursive: true, force: true });
  let bytes = 0;
  for (const file of modelFiles(options.dtype)) {
    const url = `${options.hub.replace(/\/+$/, '')}/${options.model}/resolve/main/${file.path}`;
    const response = await options.fetch(url, { redirect: 'follow' });
    if (response.status === 404 && file.optional) continue;
    if (!response.ok) throw new Error(`download of ${url} failed: HTTP ${response.status}`);
    const body = new Uint8Array(await response.arrayBuffer());
    await mkdir(dirname(join(staging, file.path)), { recursive: true });
    await writeFile(join(staging, file.path), body);
    bytes += body.length;
    options.progress(`${file.path}: ${(body.length / 1024 / 1024).toFixed(1)} MB`);
  }
  // All or nothing: a half-downloaded model never sits where the embedder looks.
  await rm(folder, { recursive: true, force: true });
  await mkdir(dirname(folder), { recursive: true });
  await rename(staging, folder);
  return { folder, bytes };
}
