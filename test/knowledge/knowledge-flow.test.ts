import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { builtinActions } from '../../src/actions/index.js';
import type { ActionContext, ActionDefinition } from '../../src/actions/types.js';
import { runCli } from '../../src/cli/cli.js';
import { CapturedOutput } from '../../src/cli/testing.js';
import { parseConfigText } from '../../src/config/load.js';
import { configLoadOptions } from '../../src/config-options.js';
import { systemClock } from '../../src/core/clock.js';
import { ConfigError } from '../../src/core/errors.js';
import { silentLogger } from '../../src/core/logger.js';
import { createApiApp } from '../../src/http/app.js';
import { FakeAppliance } from '../../src/http/testing/fake-appliance.js';
import { createTokenCheck } from '../../src/http/token.js';
import { createLocalEmbedder } from '../../src/knowledge/embedders/local.js';
import { pullModel } from '../../src/knowledge/model-download.js';
import { KnowledgeService } from '../../src/knowledge/service.js';
import type { SearchResponse } from '../../src/knowledge/types.js';
// @ts-expect-error -- a plain .mjs script without type declarations
import { makeTinyModel, TINY_MODEL_NAME } from '../../scripts/make-tiny-model.mjs';
import { testActionContext } from '../../src/actions/testing.js';

// The knowledge store through its front doors: the ingest actions as the
// engine calls them, GET /api/search on the real Hono app, and the `hearth`
// CLI — with real LanceDB in a temporary folder.

const TOKEN = 'knowledge-test-token';
let dir: string;
let configFile: string;
let knowledge: KnowledgeService;
let actions: Map<string, ActionDefinition>;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'hearth-knowledge-flow-'));
  await mkdir(join(dir, 'notes', 'house'), { recursive: true });
  await writeFile(join(dir, 'notes', 'house', 'boiler.md'), '---\ndate: 2025-01-14\n---\n# Boiler\n\nThe boiler pressure dropped to 0.5 bar last winter.\n');
  await writeFile(join(dir, 'notes', 'shed.txt'), 'Shed\n\nThe shed roof felt needs replacing.\n');
  await writeFile(join(dir, 'mail.jsonl'), [
    JSON.stringify({ id: 'm1', subject: 'Boiler quote', from: 'Heating Co', date: '2025-02-01', body: 'A quote for servicing the boiler.' }),
    'not json',
    JSON.stringify({ id: 'm2', subject: 'Bike', date: '2024-06-01', body: 'Your bike chain is ready.' }),
  ].join('\n'));
  configFile = join(dir, 'hearth.yaml');
  await writeFile(configFile, 'dataDir: ./data\nknowledge:\n  embedder: { type: hashing, dim: 128 }\njobs: {}\n');
  const config = parseConfigText(await readFile(configFile, 'utf8'), configFile, configLoadOptions({}));
  knowledge = new KnowledgeService({ dataDir: config.dataDir, config: config.knowledge, clock: systemClock, logger: silentLogger });
  actions = new Map(builtinActions({ knowledge }).map((action) => [action.name, action]));
});

afterAll(async () => {
  await knowledge.close();
  await rm(dir, { recursive: true, force: true });
});

function context(log: string[]): ActionContext {
  const ctx = testActionContext({ runId: 'r_test', job: 'notes-index', task: 'main', env: { HOME: dir }, dataDir: join(dir, 'data'), configDir: dir });
  return { ...ctx, log: (line) => log.push(line) };
}

async function cli(argv: string[], env: NodeJS.ProcessEnv = {}, fetchImpl?: (url: string, init?: RequestInit) => Promise<Response>) {
  const stdout = new CapturedOutput();
  const stderr = new CapturedOutput();
  const code = await runCli({ argv, env: { TZ: 'UTC', ...env }, cwd: dir, stdout, stderr, fetch: fetchImpl ?? fetch, now: () => Date.parse('2026-03-28T12:00:00Z') });
  return { code, stdout: stdout.text, stderr: stderr.text };
}

describe('ingest actions', () => {
  it('ingest.files reads a folder relative to hearth.yaml and logs progress', async () => {
    const log: string[] = [];
    const report = await actions.get('ingest.files')!.execute({ path: 'notes' }, context(log));
    expect(report).toMatchObject({ source: 'notes', documents: 2, added: 2 });
    expect(log[0]).toBe(`notes: scanned ${join(dir, 'notes')}: 2 files`);
    expect(log.at(-1)).toMatch(/^notes: done — 2 documents \(2 new/);

    const again = await actions.get('ingest.files')!.execute({ path: '~/notes', source: 'notes' }, context([]));
    expect(again).toMatchObject({ added: 0, unchanged: 2, chunksEmbedded: 0 });
  });

  it('ingest.jsonl takes one document per line and reports bad lines by number', async () => {
    const log: string[] = [];
    const report = await actions.get('ingest.jsonl')!.execute({ path: 'mail.jsonl' }, context(log));
    expect(report).toMatchObject({ source: 'mail', documents: 2, added: 2, invalidLines: 1 });
    expect(log).toContain('mail: skipped line 2: not valid JSON: Unexpected token \'o\', "not json" is not valid JSON');
  });

  it('fails clearly for a folder that does not exist, without retrying', async () => {
    await expect(actions.get('ingest.files')!.execute({ path: 'missing' }, context([]))).rejects.toThrow(`missing: ${join(dir, 'missing')} does not exist`);
  });

  it('validates `with:` when the config loads, pointing at the line', () => {
    const yaml = 'jobs:\n  idx:\n    action: ingest.files\n    with:\n      path: 3\n      source: "Bad Name"\n      extensions: [pdf]\n';
    let error: unknown;
    try {
      parseConfigText(yaml, join(dir, 'bad.yaml'), configLoadOptions({}));
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const lines = (error as ConfigError).issues.map((issue) => `${issue.line}: ${issue.path}: ${issue.message}`);
    expect(lines).toEqual([
      '5: jobs.idx.with.path: expected a path (a string)',
      '6: jobs.idx.with.source: use 1-63 letters, digits, ".", "-" or "_", starting with a letter or digit',
      '7: jobs.idx.with.extensions[0]: must be one of .md, .markdown, .txt, .text, .html, .htm',
    ]);
  });
});

describe('GET /api/search', () => {
  const app = () => createApiApp({ appliance: new FakeAppliance(), auth: createTokenCheck([TOKEN]), logger: silentLogger, search: knowledge });
  const get = (path: string, token = TOKEN) => app().request(path, { headers: token ? { authorization: `Bearer ${token}` } : {} });

  it('answers with ranked hits, filtered by source and date', async () => {
    const response = await get('/api/search?q=boiler&source=mail&since=2025-01-01');
    expect(response.status).toBe(200);
    const body = (await response.json()) as SearchResponse;
    expect(body.hits.map((hit) => [hit.source, hit.title, hit.author])).toEqual([['mail', 'Boiler quote', 'Heating Co']]);
    const all = (await (await get('/api/search?q=boiler&limit=5')).json()) as SearchResponse;
    expect(all.hits.map((hit) => hit.title).sort()).toEqual(['Boiler', 'Boiler quote']);
  });

  it('is behind the API token and rejects bad parameters with 400', async () => {
    expect((await get('/api/search?q=boiler', '')).status).toBe(401);
    const bad = await get('/api/search?q=boiler&since=last-winter');
    expect(bad.status).toBe(400);
    expect(await bad.json()).toEqual({ error: { code: 'bad_request', message: 'invalid since "last-winter": use a date such as 2024-11-01 or 2024-11-01T09:00Z, or an age such as 30d' } });
    expect((await get('/api/search')).status).toBe(400);
    expect((await get('/api/search?q=x&limit=500')).status).toBe(400);
  });
});

describe('hearth search / knowledge', () => {
  it('searches the local store without a running appliance', async () => {
    const result = await cli(['search', 'boiler pressure', '--config', configFile, '--limit', '1']);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^1\. Boiler {2}\(notes · 2025-01-14\)\n {3}Boiler The boiler pressure dropped to 0\.5 bar last winter\.\n {3}file:\/\/.*boiler\.md\n/);
    expect(result.stderr).toMatch(/^1 result in [\d.]+ ms \(hybrid, hashing-v1-128, 4 chunks\)\n$/);

    const asJson = await cli(['search', 'chain', '--config', configFile, '--json', '--source', 'mail', '--until', '2025-01-01']);
    expect(JSON.parse(asJson.stdout)).toMatchObject({ query: 'chain', mode: 'hybrid', hits: [{ source: 'mail', title: 'Bike' }] });
  });

  it('searches a remote appliance through the API with --url', async () => {
    const api = createApiApp({ appliance: new FakeAppliance(), auth: createTokenCheck([TOKEN]), logger: silentLogger, search: knowledge });
    const urls: string[] = [];
    const fetchApp = async (url: string, init?: RequestInit) => {
      urls.push(url);
      return api.request(url, init);
    };
    const result = await cli(['search', 'shed roof', '--url', 'http://pi.local:8080', '--since', '3650d'], { HEARTH_TOKEN: TOKEN }, fetchApp);
    expect(result.code).toBe(0);
    expect(urls).toEqual(['http://pi.local:8080/api/search?q=shed+roof&since=3650d']);
    expect(result.stdout).toMatch(/^1\. Shed/);
  });

  it('exits 2 on a bad date and explains', async () => {
    const result = await cli(['search', 'boiler', '--config', configFile, '--since', 'yesterday-ish']);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/invalid since "yesterday-ish"/);
  });

  it('shows the status and rebuilds from raw', async () => {
    const status = await cli(['knowledge', 'status', '--config', configFile]);
    expect(status.code).toBe(0);
    expect(status.stdout).toMatch(/SOURCE +DOCUMENTS +CHUNKS\nmail +2 +2\nnotes +2 +2\n\n4 chunks indexed in .*\nembedder: hashing-v1-128\n/);
    const rebuild = await cli(['knowledge', 'rebuild', '--config', configFile, '--json']);
    expect(rebuild.code).toBe(0);
    expect(JSON.parse(rebuild.stdout)).toEqual({ documents: 4, chunks: 4 });
    expect(rebuild.stderr).toMatch(/re-embedding 4 chunks with hashing-v1-128/);
  });
});

describe('hearth models pull', () => {
  let hub: Server;
  let hubUrl: string;
  let files: string;

  beforeAll(async () => {
    files = await mkdtemp(join(tmpdir(), 'hearth-hub-'));
    await makeTinyModel(files);
    // A stand-in for huggingface.co on 127.0.0.1: /<owner>/<name>/resolve/main/<file>.
    hub = createServer((req, res) => {
      const match = /^\/(.+?)\/resolve\/main\/(.+)$/.exec(req.url ?? '');
      readFile(join(files, match?.[1] ?? '', match?.[2] ?? ''))
        .then((bytes) => res.end(bytes))
        .catch(() => {
          res.statusCode = 404;
          res.end('not found');
        });
    });
    await new Promise<void>((resolve) => hub.listen(0, '127.0.0.1', resolve));
    hubUrl = `http://127.0.0.1:${(hub.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    await new Promise((resolve) => hub.close(resolve));
    await rm(files, { recursive: true, force: true });
  });

  it('downloads a model from HF_ENDPOINT into the model folder, where the local embedder loads it', async () => {
    const result = await cli(['models', 'pull', TINY_MODEL_NAME as string, '--config', configFile, '--dtype', 'fp32'], { HF_ENDPOINT: hubUrl });
    expect(result.code).toBe(0);
    const folder = join(dir, 'data', 'models', TINY_MODEL_NAME as string);
    expect(result.stdout.trim()).toMatch(new RegExp(`^${folder.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} \\(0\\.\\d MB\\)$`));
    expect(result.stderr).toContain('onnx/model.onnx');
    const embedder = await createLocalEmbedder({ model: TINY_MODEL_NAME as string, modelDir: join(dir, 'data', 'models'), dtype: 'fp32', threads: 1 });
    expect(embedder.dim).toBe(32);
    await embedder.close?.();
  });

  it('leaves nothing half-downloaded when a file is missing', async () => {
    const modelDir = join(dir, 'data', 'models-2');
    const attempt = pullModel({ model: TINY_MODEL_NAME as string, modelDir, dtype: 'q8', hub: hubUrl, fetch, progress: () => {} });
    await expect(attempt).rejects.toThrow(/model_quantized\.onnx failed: HTTP 404/);
    const { existsSync } = await import('node:fs');
    expect(existsSync(join(modelDir, TINY_MODEL_NAME as string))).toBe(false);
    expect(relative(dir, modelDir)).toBe(join('data', 'models-2'));
  });
});
