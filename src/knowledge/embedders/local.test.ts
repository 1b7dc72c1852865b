import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
// @ts-expect-error -- a plain .mjs script without type declarations
import { makeTinyModel, TINY_HIDDEN_SIZE, TINY_MODEL_NAME } from '../../../scripts/make-tiny-model.mjs';
// @ts-expect-error -- a plain .mjs script without type declarations
import { makeMiniLmShapedModel, MINILM_SHAPED_NAME } from '../../../scripts/make-minilm-shaped-model.mjs';
import type { Embedder } from '../types.js';
import { createLocalEmbedder, ModelNotFoundError } from './local.js';
import { dot, norm } from './vectors.js';

// transformers.js + onnxruntime-node against a tiny random-weight BERT made by
// scripts/make-tiny-model.mjs in a temp folder: offline, nothing is downloaded.

let modelDir: string;
let embedder: Embedder;

beforeAll(async () => {
  modelDir = await mkdtemp(join(tmpdir(), 'hearth-model-'));
  await makeTinyModel(modelDir);
  embedder = await createLocalEmbedder({ model: TINY_MODEL_NAME as string, modelDir, dtype: 'fp32', threads: 1 });
});

afterAll(async () => {
  await embedder?.close?.();
  await rm(modelDir, { recursive: true, force: true });
});

describe('local (transformers.js) embedder', () => {
  it('reports the model dimension and an id naming model and weights', () => {
    expect(embedder.dim).toBe(TINY_HIDDEN_SIZE);
    expect(embedder.id).toBe(`local:${TINY_MODEL_NAME as string}:fp32`);
  });

  it('returns one unit-length vector per text', async () => {
    const vectors = await embedder.embed(['the boiler pressure', 'garden shed roof', 'bread'], 'document');
    expect(vectors).toHaveLength(3);
    for (const vector of vectors) {
      expect(vector).toHaveLength(TINY_HIDDEN_SIZE);
      expect(norm(vector)).toBeCloseTo(1, 5);
    }
    // Different texts, different vectors (the model is random, not constant).
    expect(dot(vectors[0]!, vectors[1]!)).toBeLessThan(0.999);
  });

  it('gives the same vector for a text alone and inside a padded batch', async () => {
    const [alone] = await embedder.embed(['the boiler pressure'], 'query');
    const batch = await embedder.embed(['a much longer text about the garden shed roof and the bike chain', 'the boiler pressure'], 'document');
    for (let i = 0; i < TINY_HIDDEN_SIZE; i++) expect(batch[1]![i]).toBeCloseTo(alone![i]!, 5);
    const again = await embedder.embed(['the boiler pressure'], 'document');
    expect(Array.from(again[0]!)).toEqual(Array.from(alone!));
  });

  it('refuses a missing model with the command that fetches it, without trying the network', async () => {
    const absent = createLocalEmbedder({ model: 'Xenova/all-MiniLM-L6-v2', modelDir, dtype: 'q8', threads: 1 });
    await expect(absent).rejects.toBeInstanceOf(ModelNotFoundError);
    await expect(absent).rejects.toThrow(/all-MiniLM-L6-v2\/config\.json: run "hearth models pull Xenova\/all-MiniLM-L6-v2"/);
    // The tiny model has fp32 weights only: asking for q8 names the missing file.
    const noWeights = createLocalEmbedder({ model: TINY_MODEL_NAME as string, modelDir, dtype: 'q8', threads: 1 });
    await expect(noWeights).rejects.toThrow(/onnx\/model_quantized\.onnx: run "hearth models pull/);
  });
});

// The bench's stand-in for all-MiniLM-L6-v2: its exact shapes, random weights, Xenova's q8 layout.
describe('a MiniLM-L6-shaped random model, q8', () => {
  let shaped: Embedder;

  beforeAll(async () => {
    await makeMiniLmShapedModel(modelDir, { fp32: false });
    shaped = await createLocalEmbedder({ model: MINILM_SHAPED_NAME as string, modelDir, dtype: 'q8', threads: 1 });
  });

  afterAll(async () => {
    await shaped?.close?.();
  });

  it('loads the dynamically quantized graph and returns 384-dim unit vectors', async () => {
    expect(shaped.dim).toBe(384);
    const vectors = await shaped.embed(['the boiler pressure dropped last winter', 'sourdough starter'], 'document');
    for (const vector of vectors) {
      expect(vector).toHaveLength(384);
      expect(norm(vector)).toBeCloseTo(1, 5);
    }
    expect(dot(vectors[0]!, vectors[1]!)).toBeLessThan(0.999);
  });

  it('gives nearly the same vector alone and inside a padded batch', async () => {
    const [alone] = await shaped.embed(['the boiler pressure'], 'query');
    const batch = await shaped.embed(['a much longer text about the garden shed roof and the bike chain', 'the boiler pressure'], 'document');
    // Not exactly: DynamicQuantizeLinear picks one scale per batch tensor, padding included, as in the real q8 model.
    expect(dot(alone!, batch[1]!)).toBeGreaterThan(0.999);
  });
});
