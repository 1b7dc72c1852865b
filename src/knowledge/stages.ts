import { readdir, readFile, rm, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../core/atomic-file.js';
import type { BatchWriter } from './batch-writer.js';
import { blobHash } from './hash.js';
import type { RawFormat } from './normalize.js';
import type { Chunk, KnowledgeDocument } from './types.js';

/**
 * The raw and processed stages on disk, under `<dataDir>/knowledge/`:
 *
 *   raw/<source>/<sha256>.<ext>        what the source fetched; named by content, never changed
 *   sources/<source>.json              per source: key → raw blob, mtime, document id, chunk ids
 *   processed/<source>/<docId>.json    the normalised document and its chunks (no vectors)
 *   index/                             LanceDB (see lance-index.ts) and index/meta.json
 *
 * Every file is written atomically; the manifest is written last, so after a
 * power cut it never claims more than the other stages hold.
 */

export const SOURCE_PATTERN = /^[a-z0-9][a-z0-9_.-]{0,62}$/i;

export interface SourceEntry {
  key: string;
  format: RawFormat;
  /** Raw blob file name (sha256 + extension). */
  blob: string;
  mtimeMs: number;
  size: number;
  /** Absolute path of the original file (files source). */
  path?: string;
  docId: string;
  chunkIds: string[];
}

export interface SourceManifest {
  version: 1;
  source: string;
  entries: Record<string, SourceEntry>;
}

export interface ProcessedDocument {
  document: KnowledgeDocument;
  chunks: Chunk[];
}

export class StageFiles {
  constructor(readonly root: string) {}

  get indexDir(): string {
    return join(this.root, 'index');
  }

  get lockFile(): string {
    return join(this.root, 'writer.lock');
  }

  /** Stores bytes under their hash; writing the same content twice is a no-op. Durable at `batch.commit()`. */
  async writeRaw(source: string, bytes: Uint8Array, format: RawFormat, batch: BatchWriter): Promise<string> {
    const blob = `${blobHash(bytes)}.${format}`;
    await batch.writeOnce(this.rawPath(source, blob), bytes);
    return blob;
  }

  async readRaw(source: string, blob: string): Promise<Buffer> {
    return readFile(this.rawPath(source, blob));
  }

  rawPath(source: string, blob: string): string {
    return join(this.root, 'raw', source, blob);
  }

  async sources(): Promise<string[]> {
    const names = await readdir(join(this.root, 'sources')).catch(() => [] as string[]);
    return names.filter((name) => name.endsWith('.json')).map((name) => name.slice(0, -'.json'.length)).sort();
  }

  async readManifest(source: string): Promise<SourceManifest> {
    let text: string;
    try {
      text = await readFile(this.manifestPath(source), 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { version: 1, source, entries: {} };
      throw error;
    }
    const manifest = JSON.parse(text) as SourceManifest;
    if (manifest.version !== 1) throw new Error(`${this.manifestPath(source)}: unknown manifest version ${String(manifest.version)}`);
    return manifest;
  }

  async writeManifest(manifest: SourceManifest): Promise<void> {
    await writeFileAtomic(this.manifestPath(manifest.source), JSON.stringify(manifest));
  }

  /** Durable at `batch.commit()`. */
  async writeProcessed(processed: ProcessedDocument, batch: BatchWriter): Promise<void> {
    const { source, id } = processed.document;
    await batch.write(this.processedPath(source, id), JSON.stringify(processed));
  }

  async readProcessed(source: string, docId: string): Promise<ProcessedDocument | undefined> {
    try {
      return JSON.parse(await readFile(this.processedPath(source, docId), 'utf8')) as ProcessedDocument;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
  }

  async deleteProcessed(source: string, docId: string): Promise<void> {
    await unlink(this.processedPath(source, docId)).catch((error: NodeJS.ErrnoException) => {
      if (error.code !== 'ENOENT') throw error;
    });
  }

  /** Deletes raw blobs no manifest entry points at any more (old versions of edited or deleted files). */
  async collectRawGarbage(): Promise<number> {
    let removed = 0;
    for (const source of await readdir(join(this.root, 'raw')).catch(() => [] as string[])) {
      const manifest = await this.readManifest(source);
      const live = new Set(Object.values(manifest.entries).map((entry) => entry.blob));
      for (const entry of await readdir(join(this.root, 'raw', source), { withFileTypes: true })) {
        const blob = entry.name;
        // Folders are a source's own raw stage (Slack's day files), not blobs.
        if (live.has(blob) || blob.startsWith('.') || !entry.isFile()) continue;
        await unlink(join(this.root, 'raw', source, blob));
        removed++;
      }
    }
    return removed;
  }

  async clearProcessed(): Promise<void> {
    await rm(join(this.root, 'processed'), { recursive: true, force: true });
  }

  private manifestPath(source: string): string {
    return join(this.root, 'sources', `${source}.json`);
  }

  private processedPath(source: string, docId: string): string {
    return join(this.root, 'processed', source, `${docId}.json`);
  }
}
