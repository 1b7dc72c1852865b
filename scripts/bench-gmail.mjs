#!/usr/bin/env node
/**
 * Gmail backup benchmarks (against dist/, so build first), with the fake
 * Google server on 127.0.0.1 and the real @googleapis/gmail client:
 *
 *   backup           messages/s of a full sync (list, messages.get raw, .eml
 *                    written atomically, index), no quota limit
 *   backup + index   the same plus the knowledge store (postal-mime, text,
 *                    LanceDB with the hashing embedder)
 *   incremental      one run with no new mail: wall time and quota units
 *                    (targets: < 1 s, < 10 units), median of 5
 *   bytes/message    bytes Hearth wrote per message (eml + index + state)
 *                    beside the average raw message size
 *   quota arithmetic how long a first backup of 100k messages takes under
 *                    the new (6,000 units/min, get = 20) and old (15,000
 *                    units/min, get = 5) quotas
 *
 * Usage: node scripts/bench-gmail.mjs [--messages 2000] [--latency 0]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, totalmem, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';

const root = resolve(import.meta.dirname, '..');
const dist = (path) => import(join(root, 'dist', path));
const { FakeGoogle, sampleMessage } = await dist('integrations/gmail/fake-google.js');
const { createGmailActions } = await dist('actions/gmail.js');
const { DEFAULT_COSTS } = await dist('integrations/gmail/api.js');
const { SecretsStore } = await dist('secrets/store.js');
const { KnowledgeBase } = await dist('knowledge/knowledge-base.js');
const { createHashingEmbedder } = await dist('knowledge/embedders/hashing.js');
const { systemClock } = await dist('core/clock.js');

const { values: flags } = parseArgs({ options: { messages: { type: 'string', default: '2000' }, latency: { type: 'string', default: '0' } } });
const N = Number(flags.messages);

function report(name, value, unit, target = '') {
  // A target starting with '=' is a note, not a target.
  const tail = !target ? '' : target.startsWith('=') ? ` (${target.slice(1)})` : ` (target ${target})`;
  console.log(`${name.padEnd(48)} ${String(value).padStart(8)} ${unit.padEnd(6)}${tail}`);
}

async function setup() {
  const fake = await new FakeGoogle({ getDelayMs: Number(flags.latency) }).start();
  let rawBytes = 0;
  for (let i = 0; i < N; i++) {
    const raw = sampleMessage(i, i % 4 === 0 ? { html: `<p>Newsletter ${i} <b>offers</b></p>`, attachment: i % 8 === 0 ? `invoice-${i}.pdf` : undefined } : {});
    rawBytes += Buffer.byteLength(raw);
    fake.addMessage(raw, { date: Date.UTC(2024, 0, 1) + i * 3_600_000 });
  }
  const dir = mkdtempSync(join(tmpdir(), 'hearth-bench-gmail-'));
  const secrets = new SecretsStore(dir);
  await secrets.set('gmail-me', { refreshToken: fake.issueRefreshToken(), clientSecret: fake.clientSecret });
  const connections = () => ({ 'gmail-me': { name: 'gmail-me', type: 'gmail', settings: { clientId: fake.clientId, apiUrl: fake.apiUrl, tokenUrl: fake.tokenUrl } } });
  return { fake, dir, secrets, connections, rawBytes };
}

function context(dir) {
  return {
    signal: new AbortController().signal, clock: systemClock, log: () => {}, runId: 'r_bench', job: 'bench', task: 'task', trigger: 'manual', attempt: 1,
    upstream: {}, env: {}, dataDir: dir, configDir: dir,
  };
}

console.log(`Gmail backup benchmarks on ${cpus()[0]?.model ?? 'cpu'}, ${cpus().length} cores, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}`);
console.log(`(${new Date().toISOString()}; ${N} messages from the fake server, ${flags.latency} ms per messages.get)\n`);

// 1. Backup only.
{
  const { fake, dir, secrets, connections, rawBytes } = await setup();
  const [backup] = createGmailActions({ connections, secrets });
  const started = performance.now();
  const out = await backup.execute({ connection: 'gmail-me', index: false, quota: 10_000_000 }, context(dir));
  const seconds = (performance.now() - started) / 1000;
  report('full backup (no quota limit, concurrency 4)', Math.round(out.fetched / seconds), 'msg/s');
  report('bytes written per message (eml+index+state)', Math.round(out.bytesWritten / out.fetched), 'B', `=raw message average ${Math.round(rawBytes / N)} B`);
  report('quota units of the full backup', out.units, 'units', `=${out.fetched} × ${DEFAULT_COSTS['messages.get']} + lists`);
  const times = [];
  let units = 0;
  for (let i = 0; i < 5; i++) {
    const t = performance.now();
    const again = await backup.execute({ connection: 'gmail-me', index: false }, context(dir));
    times.push(performance.now() - t);
    units = again.units;
  }
  times.sort((a, b) => a - b);
  report('incremental run, no new mail (median of 5)', Math.round(times[2]), 'ms', '< 1000 ms');
  report('incremental run, no new mail: quota units', units, 'units', '< 10');
  await fake.stop();
  rmSync(dir, { recursive: true, force: true });
}

// 2. Backup + knowledge indexing.
{
  const { fake, dir, secrets, connections } = await setup();
  const kb = new KnowledgeBase({ root: join(dir, 'knowledge'), embedder: createHashingEmbedder(256), clock: systemClock });
  const [backup] = createGmailActions({ connections, secrets, knowledge: { store: async () => kb } });
  const started = performance.now();
  const out = await backup.execute({ connection: 'gmail-me', quota: 10_000_000 }, context(dir));
  const seconds = (performance.now() - started) / 1000;
  report('full backup + knowledge indexing', Math.round(out.fetched / seconds), 'msg/s', `=${out.indexed?.added ?? 0} documents`);
  await kb.close();
  await fake.stop();
  rmSync(dir, { recursive: true, force: true });
}

// 3. What the quota allows for 100k messages (list pages of 500 at 5 units each, one get per message).
for (const [label, perMinute, get] of [['6,000 u/min, get 20', 6000, 20], ['15,000 u/min, get 5', 15000, 5]]) {
  const units = 100_000 * get + (100_000 / 500) * 5 + 2;
  const minutes = units / perMinute;
  report(`100k first backup, ${label}`, (minutes / 60).toFixed(1), 'h', `=${Math.round(100_000 / minutes / 60 * 10) / 10} msg/s`);
}
