#!/usr/bin/env node
/**
 * Slack ingest benchmarks (run against dist/, so build first):
 *
 *   ingest   messages/s from a fake Slack Web API on 127.0.0.1 through every
 *            stage (the real @slack/web-api client, raw day files, thread and
 *            channel-day documents, chunks, LanceDB) with the hashing
 *            embedder; then with the MiniLM-shaped stand-in
 *            (scripts/make-minilm-shaped-model.mjs) on a smaller workspace
 *   search   hybrid top-10 p50/p95 over the Slack source at 100k messages
 *            (ingested through the same pipeline), after optimize()
 *
 * Pacing is off (perMinute unlimited): this measures Hearth, not Slack's
 * rate limits (Tier 3 at ~50 requests a minute of 200 messages is ~10k
 * messages a minute, the real ceiling for a first sync).
 *
 * Usage: node scripts/bench-slack.mjs [--messages 100000] [--small 5000] [--model-messages 1000] [--queries 100]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, totalmem, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';

const root = resolve(import.meta.dirname, '..');
const dist = (path) => import(join(root, 'dist', path));
const { KnowledgeBase } = await dist('knowledge/knowledge-base.js');
const { createHashingEmbedder } = await dist('knowledge/embedders/hashing.js');
const { systemClock } = await dist('core/clock.js');
const { FakeSlack } = await dist('integrations/slack/fake-slack.js');
const { createSlackApi } = await dist('integrations/slack/api.js');
const { SlackFiles } = await dist('integrations/slack/store.js');
const { syncSlack } = await dist('integrations/slack/sync.js');

const { values: flags } = parseArgs({
  options: { messages: { type: 'string', default: '100000' }, small: { type: 'string', default: '5000' }, 'model-messages': { type: 'string', default: '1000' }, queries: { type: 'string', default: '100' } },
});
const work = mkdtempSync(join(tmpdir(), 'hearth-bench-slack-'));
console.log(`machine: ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${(totalmem() / 2 ** 30).toFixed(1)} GB, node ${process.version}`);

const WORDS = 'boiler garden shed paint sunday groceries plumber friday ladder bakery library party pasta lasagne kettle heating router printer invoice school bus dentist holiday train ticket football recipe oven fridge window door key bike tyre battery charger laptop phone garage roof gutter leak'.split(' ');
let seed = 7;
const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
const sentence = () => Array.from({ length: 8 + Math.floor(random() * 20) }, () => WORDS[Math.floor(random() ** 2 * WORDS.length)]).join(' ');

/** `count` messages over 60 days in 4 channels; one in ten starts a thread of three replies. */
function workspace(count) {
  const slack = new FakeSlack();
  const channels = ['C0001', 'C0002', 'C0003', 'C0004'];
  channels.forEach((id, i) => slack.addChannel(id, `channel-${i}`));
  for (let u = 0; u < 20; u++) slack.addUser(`U${u}`, `user${u}`);
  const end = Math.floor(Date.now() / 1000) - 60;
  const span = 60 * 24 * 3600;
  let made = 0;
  let i = 0;
  while (made < count) {
    const channel = channels[i % channels.length];
    const ts = `${end - span + Math.floor((i / count) * span)}.${String(i % 1e6).padStart(6, '0')}`;
    slack.post(channel, { ts, user: `U${i % 20}`, text: sentence() });
    made++;
    if (i % 10 === 0) {
      for (let r = 1; r <= 3 && made < count; r++, made++) slack.post(channel, { ts: `${Number(ts.split('.')[0]) + r * 60}.${String(i % 1e6).padStart(6, '0')}`, user: `U${(i + r) % 20}`, text: sentence(), thread_ts: ts });
    }
    i++;
  }
  return slack;
}

async function ingest(label, count, embedder, dir) {
  const slack = workspace(count);
  await slack.start();
  const kb = new KnowledgeBase({ root: join(dir, 'knowledge'), embedder, clock: systemClock });
  const started = performance.now();
  const report = await syncSlack({
    connection: 'bench',
    api: await createSlackApi({ token: slack.token, apiUrl: slack.url }),
    files: new SlackFiles(join(dir, 'knowledge')),
    target: kb,
    source: 'slack',
    clock: systemClock,
    log: () => {},
    waiter: { wait: async () => {} },
    channels: 'all',
    threads: true,
    lookbackMs: 10 * 60_000,
    sinceMs: 90 * 24 * 3600_000,
    threadWindowMs: 21 * 24 * 3600_000,
    pageSize: 200,
    tier3IntervalMs: 0,
    tier2IntervalMs: 0,
  });
  const seconds = (performance.now() - started) / 1000;
  console.log(
    `ingest ${label}: ${slack.messageCount()} messages (${report.messages} from history, ${report.threadsFetched} threads) in ${seconds.toFixed(1)} s = ` +
      `${Math.round(slack.messageCount() / seconds)} messages/s; ${report.documents} documents, ${report.chunksEmbedded} chunks; ${report.pages} history pages; ${slack.requests.length} API calls`,
  );
  await slack.stop();
  return kb;
}

// ── hashing embedder, small workspace ──
{
  const dir = join(work, 'small');
  const kb = await ingest('hashing', Number(flags.small), createHashingEmbedder(), dir);
  await kb.close();
}

// ── MiniLM-shaped stand-in ──
try {
  const { makeMiniLmShapedModel, MINILM_SHAPED_LABEL, MINILM_SHAPED_NAME } = await import('./make-minilm-shaped-model.mjs');
  const { createLocalEmbedder } = await dist('knowledge/embedders/local.js');
  const modelDir = join(work, 'models');
  await makeMiniLmShapedModel(modelDir, { fp32: false });
  const embedder = await createLocalEmbedder({ model: MINILM_SHAPED_NAME, modelDir, dtype: 'q8', threads: 2 });
  const kb = await ingest(`local ${MINILM_SHAPED_NAME} q8, 2 threads (${MINILM_SHAPED_LABEL})`, Number(flags['model-messages']), embedder, join(work, 'model'));
  await kb.close();
} catch (error) {
  console.log(`ingest MiniLM-shaped stand-in: skipped (${error.message})`);
}

// ── search at 100k messages ──
{
  const count = Number(flags.messages);
  const dir = join(work, 'large');
  const kb = await ingest('hashing, for search', count, createHashingEmbedder(), dir);
  const optimizeStarted = performance.now();
  await kb.optimize({ keepVersionsMs: 0 });
  console.log(`optimize: ${((performance.now() - optimizeStarted) / 1000).toFixed(1)} s`);
  const times = [];
  const queries = Number(flags.queries);
  for (let q = 0; q < queries + 5; q++) {
    const text = `${WORDS[q % WORDS.length]} ${WORDS[(q * 7) % WORDS.length]}`;
    const started = performance.now();
    await kb.search({ text, sources: ['slack'], limit: 10 });
    if (q >= 5) times.push(performance.now() - started);
  }
  times.sort((a, b) => a - b);
  const pct = (p) => times[Math.min(times.length - 1, Math.floor((p / 100) * times.length))].toFixed(1);
  const status = await kb.status();
  console.log(`search at ${count} Slack messages (${status.sources[0]?.documents} documents, ${status.chunks} chunks): hybrid top-10 p50 ${pct(50)} ms, p95 ${pct(95)} ms (${queries} queries)`);
  await kb.close();
}

rmSync(work, { recursive: true, force: true });
