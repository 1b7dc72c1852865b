#!/usr/bin/env node
/**
 * Knowledge store benchmarks (run against dist/, so build first):
 *
 *   ingest   chunks/s through every stage (raw, processed, LanceDB) with the
 *            hashing embedder at the first size, and with the local MiniLM
 *            model (q8) if it is present, else with a generated stand-in of
 *            its exact shapes and random weights (same compute, meaningless
 *            vectors: scripts/make-minilm-shaped-model.mjs), with tokens per
 *            chunk; larger sizes are bulk-loaded into the index stage only
 *            (same rows, no raw/processed files)
 *   search   hybrid top-10 p50/p95 at 10k and 100k chunks (target: p95 ≤ 50 ms
 *            at 100k), after the maintenance job's optimize()
 *   rss      the appliance's resident memory before and after its first search
 *
 * Usage: node scripts/bench-knowledge.mjs [--sizes 10000,100000] [--queries 200] [--keep DIR] [--stages]
 *        --keep DIR: build the stores in DIR once and reuse them in later runs
 *        --stages: also time each LanceDB call and the int8 scan inside the searches (wall p50/p95), and GC
 *        --no-prewarm: searches load the indexes and the row file as they need them (the one-shot CLI's way), for an A/B of the prewarm
 *        HEARTH_MODEL_DIR=/path/to/models to find Xenova/all-MiniLM-L6-v2
 * Synthetic documents: Zipf-distributed words from a fixed vocabulary, ~90
 * words (one chunk) each, timestamps spread over three years, three sources.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { cpus, totalmem, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { describeMemory, memoryOf } from './proc-memory.mjs';
import { freePort, percentile } from './bench-lib.mjs';

const root = resolve(import.meta.dirname, '..');
const dist = (path) => import(join(root, 'dist', path));
const { KnowledgeBase } = await dist('knowledge/knowledge-base.js');
const { createHashingEmbedder } = await dist('knowledge/embedders/hashing.js');
const { LanceChunkIndex } = await dist('knowledge/lance-index.js');
const { chunkDocument } = await dist('knowledge/chunking.js');
const { normalize } = await dist('knowledge/normalize.js');
const { systemClock } = await dist('core/clock.js');

const { values: flags } = parseArgs({
  options: { sizes: { type: 'string', default: '10000,100000' }, queries: { type: 'string', default: '200' }, 'dense-only': { type: 'boolean', default: false }, keep: { type: 'string' }, stages: { type: 'boolean', default: false }, 'no-prewarm': { type: 'boolean', default: false } },
});
const sizes = flags.sizes.split(',').map(Number);
const queryCount = Number(flags.queries);
const prewarm = !flags['no-prewarm'];
// --keep DIR: build the stores in DIR and leave them there; a later run with the same DIR reuses them.
const work = flags.keep ? resolve(flags.keep) : mkdtempSync(join(tmpdir(), 'hearth-bench-knowledge-'));

function machine() {
  return `${cpus()[0]?.model ?? 'cpu'}, ${cpus().length} cores, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}, ${process.platform}-${process.arch}`;
}

/** mulberry32, so every run indexes the same corpus. */
function seeded(seed) {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = Math.imul(state ^ (state >>> 15), state | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const SYLLABLES = 'ba be bi bo bu ca ce ci co cu da de di do du fa fe fi fo fu ga ge gi go gu la le li lo lu ma me mi mo mu na ne ni no nu pa pe pi po pu ra re ri ro ru sa se si so su ta te ti to tu va ve vi vo vu'.split(' ');
const random = seeded(42);
const VOCABULARY = Array.from({ length: 8000 }, (_, i) => {
  let word = '';
  let n = i + 7;
  do {
    word += SYLLABLES[n % SYLLABLES.length];
    n = Math.floor(n / SYLLABLES.length);
  } while (n > 0);
  return word;
});
// Zipf: word i is drawn with probability ∝ 1 / (i + 1).
const CUMULATIVE = (() => {
  let sum = 0;
  return VOCABULARY.map((_, i) => (sum += 1 / (i + 1)));
})();
function zipfWord(rand = random) {
  const target = rand() * CUMULATIVE.at(-1);
  let lo = 0;
  let hi = CUMULATIVE.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (CUMULATIVE[mid] < target) lo = mid + 1;
    else hi = mid;
  }
  return VOCABULARY[lo];
}

function syntheticItems(count, offset = 0) {
  const start = Date.parse('2023-01-01');
  const span = 3 * 365 * 86_400_000;
  return Array.from({ length: count }, (_, i) => {
    const id = offset + i;
    const words = Array.from({ length: 80 + Math.floor(random() * 20) }, () => zipfWord());
    const line = JSON.stringify({ id: `doc-${id}`, title: words.slice(0, 4).join(' '), date: new Date(start + Math.floor(random() * span)).toISOString(), text: words.join(' ') });
    const bytes = Buffer.from(line);
    return { key: `doc-${id}`, format: 'json', mtimeMs: 1, size: bytes.length, read: async () => bytes };
  });
}

async function ingest(kb, total, label) {
  const perSource = Math.ceil(total / 3);
  const started = performance.now();
  let chunks = 0;
  for (const [index, source] of ['mail', 'notes', 'slack'].entries()) {
    const report = await kb.sync(source, syntheticItems(Math.min(perSource, total - index * perSource), index * perSource), { removeMissing: false });
    chunks += report.chunksEmbedded;
  }
  const seconds = (performance.now() - started) / 1000;
  console.log(`ingest ${label}: ${chunks} chunks in ${seconds.toFixed(1)} s = ${Math.round(chunks / seconds)} chunks/s`);
  return chunks;
}

async function searchLatency(kb, label) {
  const rand = seeded(7);
  const queries = Array.from({ length: queryCount }, (_, i) => {
    const words = Array.from({ length: 2 + (i % 3) }, () => VOCABULARY[Math.floor(rand() * 2000)]);
    return i % 4 === 3 ? { text: words.join(' '), sources: ['mail'], since: Date.parse('2024-06-01') } : { text: words.join(' ') };
  });
  // The first search opens the table and the index files and reads the in-memory vector copy.
  const warmStarted = performance.now();
  await kb.search(queries[0]);
  console.log(`search ${label}: first search ${(performance.now() - warmStarted).toFixed(0)} ms (opens the table, loads the vector copy)`);
  const times = [];
  const filteredTimes = [];
  const cpuBefore = process.cpuUsage();
  for (const [i, query] of queries.entries()) {
    const started = performance.now();
    await kb.search({ ...query, limit: 10 });
    times.push(performance.now() - started);
    if (i % 4 === 3) filteredTimes.push(times.at(-1));
  }
  // CPU of the whole process (this thread and LanceDB's): what a query costs when wall time is noise on a busy machine.
  const cpu = process.cpuUsage(cpuBefore);
  const cpuPerQuery = (cpu.user + cpu.system) / 1000 / queries.length;
  console.log(`search ${label}: hybrid top-10 p50 ${percentile(times, 50).toFixed(1)} ms, p95 ${percentile(times, 95).toFixed(1)} ms (${queries.length} queries, every 4th filtered by source + date: p50 ${percentile(filteredTimes, 50).toFixed(1)} ms); CPU ${cpuPerQuery.toFixed(1)} ms a query (all threads)`);
  return { p50: percentile(times, 50), p95: percentile(times, 95) };
}

/**
 * --stages: the same queries again, with every LanceDB call of the search
 * (table version, keyword search, takes) and the int8 scan timed one by one,
 * and GC pauses counted. Wraps the open table's methods: bench-only.
 */
async function stageTimings(kb, label) {
  const { QuantizedVectors } = await dist('knowledge/quantized-vectors.js');
  const { RowFileReader } = await dist('knowledge/row-file.js');
  const { PerformanceObserver } = await import('node:perf_hooks');
  const rand = seeded(7);
  const queries = Array.from({ length: queryCount }, (_, i) => {
    const words = Array.from({ length: 2 + (i % 3) }, () => VOCABULARY[Math.floor(rand() * 2000)]);
    return i % 4 === 3 ? { text: words.join(' '), sources: ['mail'], since: Date.parse('2024-06-01'), limit: 10 } : { text: words.join(' '), limit: 10 };
  });
  await kb.search(queries[0]);
  const lance = kb.tableCache.table.table; // KnowledgeBase → ChunkTable → LanceDB table
  const spans = {};
  const timed = (name, promise) => {
    const started = performance.now();
    return promise.then((value) => {
      (spans[name] ??= []).push(performance.now() - started);
      return value;
    });
  };
  const version = lance.version.bind(lance);
  lance.version = () => timed('table version', version());
  const take = lance.takeRowIds.bind(lance);
  lance.takeRowIds = (ids) => {
    const query = take(ids);
    const select = query.select.bind(query);
    query.select = (columns) => {
      const selected = select(columns);
      const withRowId = selected.withRowId.bind(selected);
      const named = (q) => {
        if (q.timed) return q; // withRowId() may return the same query
        const toArray = q.toArray.bind(q);
        q.toArray = () => timed(`take ${columns.join('+')}`, toArray());
        q.timed = true;
        return q;
      };
      selected.withRowId = () => named(withRowId());
      return named(selected);
    };
    return query;
  };
  const queryOf = lance.query.bind(lance);
  lance.query = () => {
    const query = queryOf();
    const fullTextSearch = query.fullTextSearch.bind(query);
    query.fullTextSearch = (...args) => {
      const found = fullTextSearch(...args);
      // From its start to its first batch (the one it reads when it holds the limit), however the search drives it.
      const native = found.inner;
      const execute = native.execute.bind(native);
      native.execute = (...options) => {
        const started = performance.now();
        return execute(...options).then((batches) => {
          const next = batches.next.bind(batches);
          let first = true;
          batches.next = () => {
            const batch = next();
            if (!first) return batch;
            first = false;
            return batch.then((value) => {
              (spans['keyword search'] ??= []).push(performance.now() - started);
              return value;
            });
          };
          return batches;
        });
      };
      return found;
    };
    return query;
  };
  const nearest = QuantizedVectors.prototype.nearest;
  QuantizedVectors.prototype.nearest = function (...args) {
    const started = performance.now();
    const found = nearest.apply(this, args);
    (spans['int8 scan'] ??= []).push(performance.now() - started);
    return found;
  };
  // The row file's positioned reads, summed over a search (one read a ranked row).
  const read = RowFileReader.prototype.read;
  let rowReads = 0;
  let rowReadMs = 0;
  RowFileReader.prototype.read = function (...args) {
    const started = performance.now();
    const found = read.apply(this, args);
    rowReadMs += performance.now() - started;
    rowReads++;
    return found;
  };
  // How long the main thread sits idle waiting for the keyword search (its plan before the scan, its hits after):
  // what the keyword search adds to a search's wall time. A thenable times each await of the two promises.
  const { ChunkTable } = await dist('knowledge/lance-index.js');
  const keywordRowIds = ChunkTable.prototype.keywordRowIds;
  let keywordWait = 0;
  const waited = (promise) => ({
    then(resolve, reject) {
      const asked = performance.now();
      return promise.then((value) => {
        keywordWait += performance.now() - asked;
        return resolve ? resolve(value) : value;
      }, reject);
    },
    catch: (reject) => promise.catch(reject),
  });
  ChunkTable.prototype.keywordRowIds = function (...args) {
    const found = keywordRowIds.apply(this, args);
    return { hits: waited(found.hits), running: waited(found.running) };
  };
  let gc = 0;
  let scavenges = 0;
  const observer = new PerformanceObserver((list) =>
    list.getEntries().forEach((entry) => {
      gc += entry.duration;
      if (entry.detail?.kind === 1) scavenges++; // NODE_PERFORMANCE_GC_MINOR
    }),
  );
  observer.observe({ entryTypes: ['gc'] });
  const totals = [];
  // Per search, to name what the slowest 10 % have that the others do not (filtered or not, waiting for the keyword search, GC, CPU).
  const searches = [];
  try {
    for (const query of queries) {
      const started = performance.now();
      const cpuBefore = process.cpuUsage();
      const gcBefore = gc;
      rowReadMs = 0;
      keywordWait = 0;
      await kb.search(query);
      totals.push(performance.now() - started);
      const cpu = process.cpuUsage(cpuBefore);
      searches.push({ ms: totals.at(-1), filtered: query.sources !== undefined, keywordWait, gc: gc - gcBefore, cpu: (cpu.user + cpu.system) / 1000 });
      (spans['main thread idle for the keyword search'] ??= []).push(keywordWait);
      if (rowReadMs > 0) (spans['row file reads'] ??= []).push(rowReadMs);
    }
  } finally {
    QuantizedVectors.prototype.nearest = nearest;
    RowFileReader.prototype.read = read;
    ChunkTable.prototype.keywordRowIds = keywordRowIds;
    observer.disconnect();
  }
  const parts = Object.entries(spans).map(([name, times]) => `${name} ${percentile(times, 50).toFixed(2)} / ${percentile(times, 95).toFixed(2)} (×${(times.length / queries.length).toFixed(0)})`);
  console.log(`stages ${label}, wall p50 / p95 ms: ${parts.join('; ')}; whole search ${percentile(totals, 50).toFixed(1)} / ${percentile(totals, 95).toFixed(1)}; GC ${(gc / queries.length).toFixed(2)} ms a search (${scavenges} scavenges); ${(rowReads / queries.length).toFixed(0)} row file reads a search`);
  const mean = (rows, key) => (rows.reduce((sum, row) => sum + row[key], 0) / Math.max(1, rows.length)).toFixed(1);
  const byMs = [...searches].sort((a, b) => b.ms - a.ms);
  const slow = byMs.slice(0, Math.ceil(searches.length / 10));
  const rest = byMs.slice(slow.length);
  const filtered = searches.filter((row) => row.filtered).map((row) => row.ms);
  const unfiltered = searches.filter((row) => !row.filtered).map((row) => row.ms);
  const means = (rows) => `idle for the keyword search ${mean(rows, 'keywordWait')}, GC ${mean(rows, 'gc')}, CPU ${mean(rows, 'cpu')} (all threads), whole ${mean(rows, 'ms')}`;
  console.log(
    `stages ${label}, the tail: filtered p50 / p95 ${percentile(filtered, 50).toFixed(1)} / ${percentile(filtered, 95).toFixed(1)} ms, unfiltered ${percentile(unfiltered, 50).toFixed(1)} / ${percentile(unfiltered, 95).toFixed(1)} ms; ` +
      `slowest 10 % (${slow.filter((row) => row.filtered).length} of ${slow.length} filtered) means ms: ${means(slow)}; the other 90 %: ${means(rest)}`,
  );
}

/** Starts the real appliance on a store of `dataDir`, searches once over HTTP, reports RSS before and after. */
async function applianceRss(dataDir) {
  const port = await freePort();
  const config = join(work, 'rss.yaml');
  writeFileSync(config, `dataDir: ${dataDir}\nserver: { host: 127.0.0.1, port: ${port} }\nknowledge:\n  embedder: { type: hashing, dim: 256 }\njobs: {}\n`);
  const child = spawn(process.execPath, [join(root, 'bin', 'hearth.js'), 'start', '--config', config], { stdio: ['ignore', 'ignore', 'inherit'] });
  try {
    const url = `http://127.0.0.1:${port}`;
    for (let i = 0; i < 100; i++) {
      try {
        if ((await fetch(`${url}/api/health`)).ok) break;
      } catch {}
      await new Promise((r) => setTimeout(r, 100));
    }
    await new Promise((r) => setTimeout(r, 1500)); // settle after start-up
    const before = memoryOf(child.pid);
    const token = readFileSync(join(dataDir, 'secrets', 'api-token'), 'utf8').trim();
    const started = performance.now();
    const response = await fetch(`${url}/api/search?q=${encodeURIComponent(VOCABULARY[3] + ' ' + VOCABULARY[40])}`, { headers: { authorization: `Bearer ${token}` } });
    const body = await response.json();
    const firstMs = performance.now() - started;
    await new Promise((r) => setTimeout(r, 500));
    const after = memoryOf(child.pid);
    console.log(`rss: appliance idle ${describeMemory(before)}, after first search ${describeMemory(after)}; +${(after.rss - before.rss).toFixed(0)} MB (anonymous +${(after.anon - before.anon).toFixed(0)}) for LanceDB, Arrow, the open table and its vector copy; ${body.totalChunks} chunks, first search ${firstMs.toFixed(0)} ms incl. loading)`);
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
  }
}

async function localModel() {
  const modelDir = process.env.HEARTH_MODEL_DIR ?? join(root, '.hearth', 'models');
  const model = 'Xenova/all-MiniLM-L6-v2';
  if (existsSync(join(modelDir, model, 'onnx', 'model_quantized.onnx'))) {
    await measureLocalModel(modelDir, model, `local ${model} q8, 2 threads`);
    return;
  }
  console.log(`ingest local model: ${model} (q8) is not in ${modelDir} (run "hearth models pull" on a machine with internet, or set HEARTH_MODEL_DIR): measuring a stand-in with its shapes`);
  // Compute depends on shapes, not weight values: a generated model with MiniLM-L6's shapes costs what it costs.
  const { makeMiniLmShapedModel, MINILM_SHAPED_LABEL, MINILM_SHAPED_NAME } = await import('./make-minilm-shaped-model.mjs');
  const shapedDir = join(work, 'models');
  const started = performance.now();
  const folder = await makeMiniLmShapedModel(shapedDir, { fp32: false });
  const megabytes = statSync(join(folder, 'onnx', 'model_quantized.onnx')).size / 1e6;
  console.log(`generated ${MINILM_SHAPED_NAME} in ${((performance.now() - started) / 1000).toFixed(1)} s: ${MINILM_SHAPED_LABEL}; onnx/model_quantized.onnx ${megabytes.toFixed(1)} MB (Xenova's real one: ~23 MB)`);
  await measureLocalModel(shapedDir, MINILM_SHAPED_NAME, `local ${MINILM_SHAPED_NAME} q8, 2 threads — ${MINILM_SHAPED_LABEL}`);
}

/** Ingests 2000 chunks, then counts the tokens the model saw: its speed is per token, not per chunk. */
async function measureLocalModel(modelDir, model, label) {
  const { createLocalEmbedder } = await dist('knowledge/embedders/local.js');
  const embedder = await createLocalEmbedder({ model, modelDir, dtype: 'q8', threads: 2 });
  const texts = [];
  const recording = {
    ...embedder,
    embed: (batch, kind, signal) => {
      texts.push(...batch);
      return embedder.embed(batch, kind, signal);
    },
  };
  // Always an empty store: under --keep a previous run's store already holds these documents, and an ingest that
  // embeds nothing measured nothing (it printed 0 chunks/s and NaN tokens per chunk).
  const store = join(work, 'local');
  rmSync(store, { recursive: true, force: true });
  const kb = new KnowledgeBase({ root: store, embedder: recording, clock: systemClock });
  const started = performance.now();
  await ingest(kb, 2000, label);
  const seconds = (performance.now() - started) / 1000;
  await kb.close();
  const tokens = await tokenCounts(modelDir, model, texts);
  const total = tokens.reduce((sum, n) => sum + n, 0);
  console.log(`ingest ${label}: ${(total / tokens.length).toFixed(0)} tokens per chunk on average (${Math.min(...tokens)}-${Math.max(...tokens)}, [CLS] and [SEP] included, ${texts.length} texts) = ${Math.round(total / seconds)} tokens/s`);
}

/** Tokens per text as the feature-extraction pipeline feeds them (truncated to the model's maximum). */
async function tokenCounts(modelDir, model, texts) {
  const transformers = await import('@huggingface/transformers');
  transformers.env.allowRemoteModels = false;
  transformers.env.localModelPath = modelDir.endsWith('/') ? modelDir : `${modelDir}/`;
  const tokenizer = await transformers.AutoTokenizer.from_pretrained(model, { local_files_only: true });
  return texts.map((text) => tokenizer(text, { truncation: true }).input_ids.dims[1]);
}

/** Fills the index stage directly: what search is measured on at sizes too big to stage file by file here. */
async function bulkLoad(root, total, embedder = createHashingEmbedder(256), keep) {
  const seed = new KnowledgeBase({ root, embedder, clock: systemClock });
  await seed.sync('notes', syntheticItems(100), { removeMissing: false }); // creates the table and meta.json
  await seed.close();
  const index = await LanceChunkIndex.open(join(root, 'index'));
  const table = await index.table('chunks', embedder.dim);
  const started = performance.now();
  const sources = ['mail', 'notes', 'slack'];
  for (let offset = 100; offset < total; offset += 5000) {
    const items = syntheticItems(Math.min(5000, total - offset), offset);
    const rows = [];
    for (const [i, item] of items.entries()) {
      const document = normalize({ source: sources[i % 3], key: item.key, format: 'json', text: (await item.read()).toString(), mtimeMs: 1 });
      const chunks = chunkDocument(document.id, document.text);
      const vectors = await embedder.embed(chunks.map((c) => `${document.title}\n${c.text}`), 'document');
      chunks.forEach((chunk, j) => rows.push({ ...chunk, source: document.source, title: document.title, author: '', url: '', timestamp: document.timestamp, vector: vectors[j] }));
      keep?.(chunks, vectors);
    }
    await table.upsert(rows);
  }
  const seconds = (performance.now() - started) / 1000;
  console.log(`bulk load ${total} chunks into the index stage: ${seconds.toFixed(1)} s = ${Math.round((total - 100) / seconds)} chunks/s (embed + LanceDB only)`);
  index.close();
}

/**
 * A dense stand-in for a sentence model's vectors: the hashing embedder's
 * vectors turned by a fixed random rotation (Gram-Schmidt on a seeded
 * Gaussian matrix). Similarities are exactly the hashing ones, but every
 * dimension is non-zero, as with a model, so the search pays what it pays
 * for a model's 384-d vectors and recall is measurable against exact search.
 */
function rotatedEmbedder(dim) {
  const base = createHashingEmbedder(dim);
  const rand = seeded(99);
  const gauss = () => Math.sqrt(-2 * Math.log(rand() + 1e-12)) * Math.cos(2 * Math.PI * rand());
  const basis = [];
  for (let i = 0; i < dim; i++) {
    const v = Float64Array.from({ length: dim }, gauss);
    for (const b of basis) {
      let dot = 0;
      for (let d = 0; d < dim; d++) dot += v[d] * b[d];
      for (let d = 0; d < dim; d++) v[d] -= dot * b[d];
    }
    const norm = Math.hypot(...v);
    basis.push(v.map((x) => x / norm));
  }
  const rotate = (vector) => {
    const out = new Float32Array(dim);
    for (let d = 0; d < dim; d++) {
      const value = vector[d];
      if (value === 0) continue;
      const row = basis[d];
      for (let e = 0; e < dim; e++) out[e] += value * row[e];
    }
    return out;
  };
  return { id: `rotated-${base.id}`, dim, embed: async (texts, purpose, signal) => (await base.embed(texts, purpose, signal)).map(rotate) };
}

/**
 * Dense vectors at `size` chunks: hybrid top-10 latency through the knowledge
 * base, and recall@10 of the vector stage (int8 copy, then an
 * exact re-rank) against an exact scan of every vector.
 */
async function denseSearch(size, dim = 384) {
  const root = join(work, `dense-${size}`, 'knowledge');
  const embedder = rotatedEmbedder(dim);
  const reuse = flags.keep && existsSync(join(root, 'index', 'meta.json'));
  if (!reuse) await bulkLoad(root, size, embedder);
  const kb = new KnowledgeBase({ root, embedder, clock: systemClock, prewarm });
  await kb.optimize({ keepVersionsMs: 0 });
  await searchLatency(kb, `${size} chunks, dense ${dim}-d vectors (rotated hashing), after optimize`);
  if (flags.stages) await stageTimings(kb, `${size} chunks, dense ${dim}-d`);
  await kb.close();
  await vectorRecall(root, embedder, `${size} chunks, dense ${dim}-d`);
}

/**
 * The vector stage alone (int8 copy, then the exact re-rank) through the
 * index, timed, and its recall@10 against LanceDB's exact scan of every
 * vector, for the store at `root` embedded by `embedder`.
 */
async function vectorRecall(root, embedder, label) {
  const { dim } = embedder;
  const index = await LanceChunkIndex.open(join(root, 'index'));
  const table = await index.table('chunks', dim);
  // With no vector copy allowed, vector search is LanceDB's flat scan of every vector: exact (no ANN index exists).
  const exactIndex = await LanceChunkIndex.open(join(root, 'index'), { maxVectorCopyBytes: 0 });
  const exactTable = await exactIndex.table('chunks', dim);
  const rand = seeded(11);
  let found = 0;
  const times = [];
  const queries = 50;
  for (let q = 0; q < queries; q++) {
    const words = Array.from({ length: 2 + (q % 3) }, () => VOCABULARY[Math.floor(rand() * 2000)]);
    const [vector] = await embedder.embed([words.join(' ')], 'query');
    const exact = (await exactTable.vectorSearch(vector, {}, 10)).map((row) => row.id);
    const started = performance.now();
    const approximate = new Set((await table.vectorSearch(vector, {}, 10)).map((row) => row.id));
    if (q > 0) times.push(performance.now() - started); // the first loads the vector copy
    found += exact.filter((id) => approximate.has(id)).length;
  }
  index.close();
  exactIndex.close();
  console.log(`search ${label}: vector stage p50 ${percentile(times, 50).toFixed(1)} ms, p95 ${percentile(times, 95).toFixed(1)} ms; recall@10 ${(found / (queries * 10)).toFixed(3)} against LanceDB's exact scan (${queries} queries)`);
}

console.log(`hearth knowledge bench — ${machine()}`);
for (const size of flags['dense-only'] ? [] : sizes) {
  const dataDir = join(work, `data-${size}`);
  const reuse = flags.keep && existsSync(join(dataDir, 'knowledge', 'index', 'meta.json'));
  if (reuse) {
    console.log(`reusing the ${size}-chunk store in ${dataDir} (--keep)`);
  } else if (size === sizes[0]) {
    const staged = new KnowledgeBase({ root: join(dataDir, 'knowledge'), embedder: createHashingEmbedder(256), clock: systemClock });
    await ingest(staged, size, `hashing-v1-256, ${size} chunks, all stages`);
    await staged.close();
  } else {
    await bulkLoad(join(dataDir, 'knowledge'), size);
  }
  const kb = new KnowledgeBase({ root: join(dataDir, 'knowledge'), embedder: createHashingEmbedder(256), clock: systemClock, prewarm });
  // A staged ingest folds its rows into the indexes itself; a bulk load does not, so only optimize makes it comparable.
  if (size === sizes[0] && !reuse) await searchLatency(kb, `${size} chunks, right after ingest`);
  const started = performance.now();
  const optimized = await kb.optimize({ keepVersionsMs: 0 });
  console.log(`optimize ${size}: ${((performance.now() - started) / 1000).toFixed(1)} s (${optimized.fragmentsRemoved} fragments → ${optimized.fragmentsAdded})`);
  await searchLatency(kb, `${size} chunks, after optimize`);
  if (flags.stages) await stageTimings(kb, `${size} chunks, hashing`);
  await kb.close();
  await vectorRecall(join(dataDir, 'knowledge'), createHashingEmbedder(256), `${size} chunks, hashing 256-d`);
  await applianceRss(dataDir);
}
await denseSearch(sizes.at(-1));
if (!flags['dense-only']) await localModel();
if (!flags.keep) rmSync(work, { recursive: true, force: true });
