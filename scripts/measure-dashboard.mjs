#!/usr/bin/env node
/**
 * First-load weight of every dashboard page, as a browser with an empty cache
 * transfers it: the HTML plus every asset it references (CSS, JS, manifest,
 * icons), gzip as the server sends it, response headers included.
 * Budget: 60 KB per page. Run after `npm run build`:
 *   node scripts/measure-dashboard.mjs
 */
import http from 'node:http';
import { startHearth } from './dashboard-harness.mjs';

const BUDGET = 60 * 1024;
const hearth = await startHearth(`  backup:
    description: Back up the notes folder
    schedule: { cron: "0 3 * * *" }
    tasks:
      archive: { run: "echo archiving; echo done" }
      upload: { run: "echo uploaded", depends_on: [archive] }
  digest:
    schedule: { every: 1h }
    run: echo digest
`);

/** Bytes on the wire: status line + headers + (compressed) body. */
function get(path, headers = {}) {
  return new Promise((resolveGet, reject) => {
    const request = http.get(hearth.url + path, { headers: { 'Accept-Encoding': 'gzip, deflate, br', Cookie: hearth.cookie, ...headers } }, (response) => {
      let body = 0;
      const chunks = [];
      response.on('data', (chunk) => {
        body += chunk.length;
        chunks.push(chunk);
      });
      response.on('end', () => {
        const head = `HTTP/1.1 ${response.statusCode} ${response.statusMessage}\r\n` + response.rawHeaders.reduce((text, value, i) => text + (i % 2 ? `: ${value}\r\n` : value), '') + '\r\n';
        resolveGet({ status: response.statusCode, bytes: body + Buffer.byteLength(head), body: Buffer.concat(chunks), encoding: response.headers['content-encoding'] });
      });
    });
    request.on('error', reject);
  });
}

async function decodeHtml(response) {
  if (response.encoding !== 'gzip') return response.body.toString('utf8');
  const { gunzipSync } = await import('node:zlib');
  return gunzipSync(response.body).toString('utf8');
}

// A full history (50 runs: the job page's chart and the overview's strip are at their largest),
// run one after another; the last one is the run page measured.
const auth = { Authorization: `Bearer ${hearth.token}` };
let runId;
for (let i = 0; i < 50; i++) {
  const triggered = await fetch(hearth.url + '/api/jobs/backup/run', { method: 'POST', headers: auth });
  ({ runId } = await triggered.json());
  for (;;) {
    const run = await (await fetch(hearth.url + `/api/runs/${runId}`, { headers: auth })).json();
    if (['succeeded', 'failed', 'cancelled'].includes(run.status)) break;
    await new Promise((r) => setTimeout(r, 50));
  }
}

const pages = ['/login', '/', '/jobs', '/jobs/backup', '/runs', `/runs/${runId}`, '/system', '/settings'];
const rows = [];
let worst = 0;
for (const path of pages) {
  const headers = path === '/login' ? { Cookie: '' } : {};
  const page = await get(path, headers);
  if (page.status !== 200) throw new Error(`${path}: HTTP ${page.status}`);
  const html = await decodeHtml(page);
  const assets = [...html.matchAll(/(?:href|src)="(\/(?:assets\/[^"]+|manifest\.webmanifest[^"]*))"/g)].map((m) => m[1].replace(/&amp;/g, '&'));
  const unique = [...new Set(assets)];
  let total = page.bytes;
  const manifest = unique.find((a) => a.startsWith('/manifest'));
  if (manifest) {
    const text = (await get(manifest, { 'Accept-Encoding': 'identity' })).body.toString('utf8');
    // Chrome fetches the manifest's icons when it checks installability.
    for (const icon of JSON.parse(text).icons) if (!unique.includes(icon.src)) unique.push(icon.src);
  }
  for (const asset of unique) total += (await get(asset)).bytes;
  worst = Math.max(worst, total);
  rows.push({ page: path.replace(runId, ':id'), html: page.bytes, files: unique.length + 1, total });
}
await hearth.stop();

console.log('page                 html(B)  files  first load (B, gzip)');
for (const row of rows) console.log(`${row.page.padEnd(20)} ${String(row.html).padStart(7)}  ${String(row.files).padStart(5)}  ${String(row.total).padStart(8)}  (${(row.total / 1024).toFixed(1)} KB)`);
console.log(`largest first load: ${(worst / 1024).toFixed(1)} KB of the ${BUDGET / 1024} KB budget`);
if (worst > BUDGET) {
  console.error('over budget');
  process.exit(1);
}
