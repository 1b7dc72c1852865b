import { createHash } from 'node:crypto';
import { readFileSync, readdirSync } from 'node:fs';
import { extname, join } from 'node:path';
import { gzipSync } from 'node:zlib';
import type { Context } from 'hono';

/**
 * The dashboard's static files (web/), read once at start-up: a few KB, so
 * holding them costs less than reading the SD card per request. Each is
 * gzipped once, and its URL carries a content hash (`/assets/app.js?v=…`) so
 * a browser caches it for a year and still sees a new version at once.
 */

interface Asset {
  body: Uint8Array;
  gzipped: Uint8Array | undefined;
  type: string;
  hash: string;
}

const TYPES: Record<string, string> = {
  '.css': 'text/css; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.webmanifest': 'application/manifest+json',
};
const COMPRESSIBLE = new Set(['.css', '.js', '.svg', '.webmanifest']);

export class Assets {
  private readonly files = new Map<string, Asset>();

  constructor(webDir: string) {
    for (const name of readdirSync(webDir)) {
      const type = TYPES[extname(name)];
      if (!type) continue;
      const body = readFileSync(join(webDir, name));
      const hash = createHash('sha256').update(body).digest('hex').slice(0, 10);
      this.files.set(name, { body, type, hash, gzipped: COMPRESSIBLE.has(extname(name)) ? gzipSync(body, { level: 9 }) : undefined });
    }
    for (const required of ['app.css', 'app.js', 'manifest.webmanifest', 'icon.svg']) {
      if (!this.files.has(required)) throw new Error(`dashboard asset ${join(webDir, required)} is missing`);
    }
  }

  /** The versioned URL of a file in web/. */
  url(name: string): string {
    const asset = this.files.get(name);
    if (!asset) throw new Error(`no dashboard asset ${name}`);
    return name === 'manifest.webmanifest' ? `/manifest.webmanifest?v=${asset.hash}` : `/assets/${name}?v=${asset.hash}`;
  }

  has(name: string): boolean {
    return this.files.has(name);
  }

  serve(c: Context, name: string): Response | undefined {
    const asset = this.files.get(name);
    if (!asset) return undefined;
    const etag = `"${asset.hash}"`;
    const versioned = c.req.query('v') === asset.hash;
    const headers: Record<string, string> = {
      'Content-Type': asset.type,
      ETag: etag,
      'Cache-Control': versioned ? 'public, max-age=31536000, immutable' : 'public, max-age=300',
      Vary: 'Accept-Encoding',
    };
    if (c.req.header('if-none-match') === etag) return new Response(null, { status: 304, headers });
    const gzip = asset.gzipped && /\bgzip\b/.test(c.req.header('accept-encoding') ?? '');
    const body = gzip ? asset.gzipped! : asset.body;
    if (gzip) headers['Content-Encoding'] = 'gzip';
    headers['Content-Length'] = String(body.byteLength);
    return new Response(c.req.method === 'HEAD' ? null : body, { status: 200, headers });
  }
}
