import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { NonRetriableError } from '../../core/errors.js';
import { createHttpEmbedder, EmbedderDimensionError, endpointUrl } from './http.js';
import { norm } from './vectors.js';

// A fake embedding server on 127.0.0.1 speaking the Ollama and OpenAI shapes.

type Handler = (body: { model: string; input: string[] }, req: IncomingMessage, res: ServerResponse) => void;

let server: Server | undefined;
const requests: Array<{ path: string; body: { model: string; input: string[] }; auth?: string }> = [];

async function serve(handler: Handler): Promise<string> {
  requests.length = 0;
  server = createServer((req, res) => {
    let raw = '';
    req.on('data', (chunk: Buffer) => (raw += chunk.toString()));
    req.on('end', () => {
      const body = JSON.parse(raw) as { model: string; input: string[] };
      requests.push({ path: req.url ?? '', body, ...(req.headers.authorization ? { auth: req.headers.authorization } : {}) });
      handler(body, req, res);
    });
  });
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server!.address() as AddressInfo).port}`;
}

afterEach(async () => {
  await new Promise((resolve) => (server ? server.close(resolve) : resolve(undefined)));
  server = undefined;
});

/** A vector that depends on the text, unnormalised on purpose. */
function fakeVector(text: string, dim: number): number[] {
  return Array.from({ length: dim }, (_, i) => ((text.charCodeAt(i % text.length) + i) % 7) + 1);
}

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

const noSleep = async () => {};

describe('HTTP embedder', () => {
  it('talks to Ollama /api/embed, normalises, batches and adds prefixes by purpose', async () => {
    const url = await serve((body, _req, res) => json(res, 200, { embeddings: body.input.map((text) => fakeVector(text, 8)) }));
    const embedder = await createHttpEmbedder({ api: 'ollama', url, model: 'nomic-embed-text', timeoutMs: 2000, retries: 0, batchSize: 2, queryPrefix: 'search_query: ', documentPrefix: 'search_document: ' });
    expect(embedder).toMatchObject({ id: 'ollama:nomic-embed-text:8', dim: 8 });

    const vectors = await embedder.embed(['a', 'b', 'c'], 'document');
    expect(vectors).toHaveLength(3);
    for (const vector of vectors) expect(norm(vector)).toBeCloseTo(1, 5);
    await embedder.embed(['boiler'], 'query');
    // Probe, then two batches (2 + 1), then the query.
    expect(requests.map((r) => [r.path, r.body.input])).toEqual([
      ['/api/embed', ['dimension check']],
      ['/api/embed', ['search_document: a', 'search_document: b']],
      ['/api/embed', ['search_document: c']],
      ['/api/embed', ['search_query: boiler']],
    ]);
  });

  it('talks to an OpenAI-compatible /v1/embeddings with a bearer key, in index order', async () => {
    const url = await serve((body, _req, res) =>
      json(res, 200, { data: body.input.map((text, index) => ({ index, embedding: fakeVector(text, 4) })).reverse() }),
    );
    const embedder = await createHttpEmbedder({ api: 'openai', url: `${url}/v1`, model: 'text-embedding-3-small', apiKey: 'sk-test', dim: 4, timeoutMs: 2000, retries: 0 });
    const [x, y] = await embedder.embed(['xx', 'yyy'], 'document');
    const [xAlone] = await embedder.embed(['xx'], 'document');
    expect(Array.from(x!)).toEqual(Array.from(xAlone!));
    expect(Array.from(x!)).not.toEqual(Array.from(y!));
    expect(requests[0]).toMatchObject({ path: '/v1/embeddings', auth: 'Bearer sk-test' });
  });

  it('fails at start when the dimension differs from the config', async () => {
    const url = await serve((body, _req, res) => json(res, 200, { embeddings: body.input.map(() => [1, 2, 3]) }));
    const attempt = createHttpEmbedder({ api: 'ollama', url, model: 'm', dim: 768, timeoutMs: 2000, retries: 0 });
    await expect(attempt).rejects.toBeInstanceOf(EmbedderDimensionError);
    await expect(attempt).rejects.toThrow(/returns 3-dimensional vectors, but the config says dim: 768/);
  });

  it('retries 5xx and 429 with backoff, then succeeds', async () => {
    let calls = 0;
    const url = await serve((body, _req, res) => {
      calls++;
      if (calls === 1) return json(res, 503, { error: 'loading model' });
      if (calls === 2) return json(res, 429, { error: 'slow down' });
      json(res, 200, { embeddings: body.input.map((text) => fakeVector(text, 4)) });
    });
    const delays: number[] = [];
    const embedder = await createHttpEmbedder({ api: 'ollama', url, model: 'm', timeoutMs: 2000, retries: 3, retryDelayMs: 100, sleep: async (ms) => void delays.push(ms) });
    expect(embedder.dim).toBe(4);
    expect(delays).toEqual([100, 200]);
  });

  it('does not retry a 4xx and says what the server answered', async () => {
    const url = await serve((_body, _req, res) => json(res, 404, { error: 'model "nope" not found, try pulling it first' }));
    const attempt = createHttpEmbedder({ api: 'ollama', url, model: 'nope', timeoutMs: 2000, retries: 3, sleep: noSleep });
    await expect(attempt).rejects.toBeInstanceOf(NonRetriableError);
    await expect(attempt).rejects.toThrow(/returned 404: .*model \\"nope\\" not found/);
    expect(requests).toHaveLength(1);
  });

  it('refuses an answer that is not JSON, non-retriably, keeping the parse error as its cause', async () => {
    const url = await serve((_body, _req, res) => {
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end('<html>captive portal</html>');
    });
    const error = await createHttpEmbedder({ api: 'ollama', url, model: 'm', timeoutMs: 2000, retries: 3, sleep: noSleep }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NonRetriableError);
    expect((error as Error).message).toMatch(/is not JSON: <html>captive portal/);
    expect((error as Error).cause).toBeInstanceOf(SyntaxError);
  });

  it('times out a request that hangs, and gives up after the retries', async () => {
    const url = await serve(() => {
      /* never answers */
    });
    const attempt = createHttpEmbedder({ api: 'ollama', url, model: 'm', timeoutMs: 100, retries: 1, sleep: noSleep });
    await expect(attempt).rejects.toThrow(/timed out after 100 ms/);
    expect(requests).toHaveLength(2);
  });

  it('reports an unreachable endpoint', async () => {
    const url = await serve(() => {});
    await new Promise((resolve) => server!.close(resolve));
    server = undefined;
    await expect(createHttpEmbedder({ api: 'ollama', url, model: 'm', timeoutMs: 1000, retries: 0 })).rejects.toThrow(/failed: .*ECONNREFUSED/);
  });

  it('builds endpoint URLs from base URLs written either way', () => {
    expect(endpointUrl('ollama', 'http://pi:11434/')).toBe('http://pi:11434/api/embed');
    expect(endpointUrl('openai', 'https://api.openai.com')).toBe('https://api.openai.com/v1/embeddings');
    expect(endpointUrl('openai', 'http://gpu:8000/v1')).toBe('http://gpu:8000/v1/embeddings');
    expect(endpointUrl('openai', 'http://gpu:8000/v1/embeddings')).toBe('http://gpu:8000/v1/embeddings');
  });
});
