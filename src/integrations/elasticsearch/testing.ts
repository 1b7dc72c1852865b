import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A fake bulk endpoint on 127.0.0.1 that speaks enough of Elasticsearch
 * (the `x-elastic-product` header the official client checks) and
 * OpenSearch for the sink: `POST /_bulk` with NDJSON, an index kept in memory.
 */
export class FakeSearchServer {
  /** Index name → id → document. */
  readonly indices = new Map<string, Map<string, Record<string, unknown>>>();
  readonly requests: Array<{ path: string; lines: number; authorization?: string }> = [];
  /** Item errors to answer for the next bulk request. */
  failNext: string | undefined;
  private server: Server | undefined;

  async start(): Promise<string> {
    this.server = createServer((req, res) => {
      let body = '';
      req.on('data', (chunk: Buffer) => (body += chunk.toString()));
      req.on('end', () => {
        const headers = { 'content-type': 'application/json', 'x-elastic-product': 'Elasticsearch' };
        const path = (req.url ?? '').split('?')[0]!;
        if (req.method === 'HEAD' || path === '/') {
          res.writeHead(200, headers);
          return res.end(JSON.stringify({ version: { number: '9.0.0' }, tagline: 'You Know, for Search' }));
        }
        if (path !== '/_bulk' || req.method !== 'POST') {
          res.writeHead(404, headers);
          return res.end(JSON.stringify({ error: 'no route' }));
        }
        const lines = body.split('\n').filter((line) => line.trim());
        this.requests.push({ path, lines: lines.length, ...(req.headers.authorization ? { authorization: req.headers.authorization } : {}) });
        const items: unknown[] = [];
        for (let i = 0; i < lines.length; i++) {
          const action = JSON.parse(lines[i]!) as Record<string, { _index: string; _id: string }>;
          const [kind, meta] = Object.entries(action)[0]!;
          const index = this.indices.get(meta._index) ?? new Map<string, Record<string, unknown>>();
          this.indices.set(meta._index, index);
          if (this.failNext) {
            items.push({ [kind]: { _id: meta._id, status: 400, error: { type: 'mapper_parsing_exception', reason: this.failNext } } });
            if (kind === 'index') i++;
            continue;
          }
          if (kind === 'index') {
            const existed = index.has(meta._id);
            index.set(meta._id, JSON.parse(lines[++i]!) as Record<string, unknown>);
            items.push({ index: { _id: meta._id, status: existed ? 200 : 201, result: existed ? 'updated' : 'created' } });
          } else if (kind === 'delete') {
            const existed = index.delete(meta._id);
            items.push({ delete: { _id: meta._id, status: existed ? 200 : 404, result: existed ? 'deleted' : 'not_found' } });
          }
        }
        const errors = this.failNext !== undefined;
        this.failNext = undefined;
        res.writeHead(200, headers);
        res.end(JSON.stringify({ took: 1, errors, items }));
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  documents(index: string): Record<string, unknown>[] {
    return [...(this.indices.get(index)?.values() ?? [])];
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}
