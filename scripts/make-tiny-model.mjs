#!/usr/bin/env node
/**
 * Writes a tiny random-weight BERT-shaped model that transformers.js loads
 * like the real all-MiniLM-L6-v2: config.json, a WordPiece tokenizer.json and
 * onnx/model.onnx. The test of the local embedder uses it offline (nothing is
 * downloaded, no Python). Weights are random but seeded, so the model — and
 * every vector it produces — is the same on every machine.
 *
 * The graph: word + token-type embeddings, two dense layers (tanh, residual),
 * positions masked by attention_mask → last_hidden_state [batch, seq, hidden].
 * The ONNX protobuf is written by hand below (a few message types suffice).
 *
 * Usage: node scripts/make-tiny-model.mjs OUT_DIR [MODEL_NAME]
 *   → OUT_DIR/MODEL_NAME/{config.json,tokenizer.json,tokenizer_config.json,onnx/model.onnx}
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

export const TINY_MODEL_NAME = 'hearth/tiny-random-bert';
export const TINY_HIDDEN_SIZE = 32;

const SPECIALS = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]'];
const WORDS = (
  'the a an and or of to in on at for with from by is was are were be been it this that these those ' +
  'boiler pressure valve radiator heating water hot cold winter summer garden shed roof door window ' +
  'bike chain brake tyre note notes home house kitchen bread sourdough starter soup recipe lentil ' +
  'check checked fix fixed broke broken new old last next year month week day night morning ' +
  'i you he she we they my your his her our their not no yes'
).split(' ');
const LETTERS = 'abcdefghijklmnopqrstuvwxyz0123456789'.split('');
const PUNCTUATION = '.,;:!?\'"()-/'.split('');

export function tinyVocab() {
  return [...SPECIALS, ...PUNCTUATION, ...LETTERS, ...LETTERS.map((c) => `##${c}`), ...WORDS];
}

/** Writes the model folder and returns its path. */
export async function makeTinyModel(outDir, name = TINY_MODEL_NAME, hidden = TINY_HIDDEN_SIZE) {
  const vocab = tinyVocab();
  const folder = join(outDir, name);
  await mkdir(join(folder, 'onnx'), { recursive: true });
  await writeFile(join(folder, 'config.json'), JSON.stringify(modelConfig(vocab.length, hidden), null, 2));
  await writeFile(join(folder, 'tokenizer.json'), JSON.stringify(tokenizerJson(vocab), null, 2));
  await writeFile(join(folder, 'tokenizer_config.json'), JSON.stringify(tokenizerConfig(), null, 2));
  await writeFile(join(folder, 'onnx', 'model.onnx'), onnxModel(vocab.length, hidden));
  return folder;
}

function modelConfig(vocabSize, hidden) {
  return {
    architectures: ['BertModel'],
    model_type: 'bert',
    hidden_size: hidden,
    intermediate_size: hidden,
    num_hidden_layers: 2,
    num_attention_heads: 1,
    max_position_embeddings: 512,
    type_vocab_size: 2,
    vocab_size: vocabSize,
    pad_token_id: 0,
  };
}

export function tokenizerConfig() {
  return {
    tokenizer_class: 'BertTokenizer',
    do_lower_case: true,
    model_max_length: 512,
    cls_token: '[CLS]',
    sep_token: '[SEP]',
    pad_token: '[PAD]',
    unk_token: '[UNK]',
    mask_token: '[MASK]',
  };
}

/** transformers.js's tokenizer.json for a BERT WordPiece vocab (`specials` must be in it). */
export function tokenizerJson(vocab, specials = SPECIALS) {
  const ids = Object.fromEntries(vocab.map((token, id) => [token, id]));
  const special = (token) => ({ id: ids[token], content: token, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true });
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: specials.map(special),
    normalizer: { type: 'BertNormalizer', clean_text: true, handle_chinese_chars: true, strip_accents: null, lowercase: true },
    pre_tokenizer: { type: 'BertPreTokenizer' },
    post_processor: {
      type: 'TemplateProcessing',
      single: [{ SpecialToken: { id: '[CLS]', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }, { SpecialToken: { id: '[SEP]', type_id: 0 } }],
      pair: [
        { SpecialToken: { id: '[CLS]', type_id: 0 } },
        { Sequence: { id: 'A', type_id: 0 } },
        { SpecialToken: { id: '[SEP]', type_id: 0 } },
        { Sequence: { id: 'B', type_id: 1 } },
        { SpecialToken: { id: '[SEP]', type_id: 1 } },
      ],
      special_tokens: {
        '[CLS]': { id: '[CLS]', ids: [ids['[CLS]']], tokens: ['[CLS]'] },
        '[SEP]': { id: '[SEP]', ids: [ids['[SEP]']], tokens: ['[SEP]'] },
      },
    },
    decoder: { type: 'WordPiece', prefix: '##', cleanup: true },
    model: { type: 'WordPiece', unk_token: '[UNK]', continuing_subword_prefix: '##', max_input_chars_per_word: 100, vocab: ids },
  };
}

// ── the ONNX graph ─────────────────────────────────────────────────────────
// The helpers below are exported for scripts/make-minilm-shaped-model.mjs.

export const FLOAT = 1;
export const INT64 = 7;

function onnxModel(vocabSize, hidden) {
  const random = seededRandom(20250114);
  const weights = (rows, cols, scale) => Float32Array.from({ length: rows * cols }, () => (random() * 2 - 1) * scale);
  const initializers = [
    tensor('word_embeddings', [vocabSize, hidden], weights(vocabSize, hidden, 1)),
    tensor('token_type_embeddings', [2, hidden], weights(2, hidden, 0.1)),
    tensor('dense1_weight', [hidden, hidden], weights(hidden, hidden, 1 / Math.sqrt(hidden))),
    tensor('dense1_bias', [hidden], weights(1, hidden, 0.1)),
    tensor('dense2_weight', [hidden, hidden], weights(hidden, hidden, 1 / Math.sqrt(hidden))),
    tensor('dense2_bias', [hidden], weights(1, hidden, 0.1)),
    int64Tensor('unsqueeze_axes', [1], [2n]),
  ];
  const nodes = [
    node('Gather', ['word_embeddings', 'input_ids'], ['words']),
    node('Gather', ['token_type_embeddings', 'token_type_ids'], ['types']),
    node('Add', ['words', 'types'], ['embedded']),
    node('MatMul', ['embedded', 'dense1_weight'], ['dense1_out']),
    node('Add', ['dense1_out', 'dense1_bias'], ['dense1_biased']),
    node('Tanh', ['dense1_biased'], ['hidden1']),
    node('MatMul', ['hidden1', 'dense2_weight'], ['dense2_out']),
    node('Add', ['dense2_out', 'dense2_bias'], ['dense2_biased']),
    node('Add', ['dense2_biased', 'embedded'], ['residual']),
    node('Cast', ['attention_mask'], ['mask_float'], [intAttribute('to', FLOAT)]),
    node('Unsqueeze', ['mask_float', 'unsqueeze_axes'], ['mask_3d']),
    node('Mul', ['residual', 'mask_3d'], ['last_hidden_state']),
  ];
  const sequence = [dim('batch_size'), dim('sequence_length')];
  const graph = message([
    ...nodes.map((n) => field(1, n)),
    field(2, text('tiny-random-bert')),
    ...initializers.map((t) => field(5, t)),
    field(11, valueInfo('input_ids', INT64, sequence)),
    field(11, valueInfo('attention_mask', INT64, sequence)),
    field(11, valueInfo('token_type_ids', INT64, sequence)),
    field(12, valueInfo('last_hidden_state', FLOAT, [...sequence, dim(hidden)])),
  ]);
  const opset = message([field(1, text('')), varintField(2, 13)]);
  return message([varintField(1, 8), field(2, text('hearth make-tiny-model')), field(7, graph), field(8, opset)]);
}

export function node(op, inputs, outputs, attributes = []) {
  return message([
    ...inputs.map((name) => field(1, text(name))),
    ...outputs.map((name) => field(2, text(name))),
    field(3, text(`${op}_${outputs[0]}`)),
    field(4, text(op)),
    ...attributes.map((a) => field(5, a)),
  ]);
}

export function intAttribute(name, value) {
  // AttributeProto: name = 1, i = 3, type = 20 (INT = 2)
  return message([field(1, text(name)), varintField(3, value), varintField(20, 2)]);
}

export function tensor(name, dims, values) {
  return rawTensor(name, dims, FLOAT, new Uint8Array(values.buffer));
}

export function int64Tensor(name, dims, values) {
  const raw = new BigInt64Array(values);
  return rawTensor(name, dims, INT64, new Uint8Array(raw.buffer));
}

/** TensorProto: dims = 1, data_type = 2, name = 8, raw_data = 9 (little-endian bytes). */
export function rawTensor(name, dims, elemType, bytes) {
  return message([...dims.map((d) => varintField(1, d)), varintField(2, elemType), field(8, text(name)), field(9, bytes)]);
}

export function dim(value) {
  // TensorShapeProto.Dimension: dim_value = 1, dim_param = 2
  return typeof value === 'number' ? message([varintField(1, value)]) : message([field(2, text(value))]);
}

export function valueInfo(name, elemType, dims) {
  const shape = message(dims.map((d) => field(1, d)));
  const tensorType = message([varintField(1, elemType), field(2, shape)]);
  const type = message([field(1, tensorType)]);
  return message([field(1, text(name)), field(2, type)]);
}

// ── protobuf wire format: varints and length-delimited fields ──────────────

export function varint(value) {
  let v = BigInt(value);
  const bytes = [];
  do {
    let byte = Number(v & 0x7fn);
    v >>= 7n;
    if (v > 0n) byte |= 0x80;
    bytes.push(byte);
  } while (v > 0n);
  return Uint8Array.from(bytes);
}

export function varintField(number, value) {
  return concat([varint((number << 3) | 0), varint(value)]);
}

export function field(number, bytes) {
  return concat([varint((number << 3) | 2), varint(bytes.length), bytes]);
}

export function text(value) {
  return new TextEncoder().encode(value);
}

export function message(fields) {
  return concat(fields);
}

export function concat(parts) {
  const out = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

/** mulberry32: a tiny seeded generator, so the weights never change. */
export function seededRandom(seed) {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const out = process.argv[2];
  if (!out) {
    process.stderr.write('usage: node scripts/make-tiny-model.mjs OUT_DIR [MODEL_NAME]\n');
    process.exit(2);
  }
  const folder = await makeTinyModel(resolve(out), process.argv[3] ?? TINY_MODEL_NAME);
  process.stdout.write(`${folder}\n`);
}
