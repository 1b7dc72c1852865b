import { join } from 'node:path';
import type { Clock } from '../core/clock.js';
import type { Logger } from '../core/logger.js';
import type { EmbedderSpec, KnowledgeConfig } from '../config/types.js';
import { createEmbedder } from './embedders/index.js';
import { KnowledgeBase } from './knowledge-base.js';
import type { SearchPort, SearchQuery, SearchResponse, Embedder } from './types.js';

/**
 * The appliance's handle on its knowledge store, shared by the ingest
 * actions and the search API. Nothing is loaded until the first ingest or
 * search asks for the store; a config reload that changes the embedder
 * closes the old store, and the next user opens one with the new embedder
 * (whose first write re-embeds the index).
 */

export const DEFAULT_KNOWLEDGE_CONFIG: KnowledgeConfig = { embedder: { type: 'hashing', dim: 256 } };

export interface KnowledgeServiceOptions {
  dataDir: string;
  config?: KnowledgeConfig;
  clock: Clock;
  logger: Logger;
  /** Tests replace the embedder; default builds the configured one. */
  createEmbedder?: (spec: EmbedderSpec) => Promise<Embedder>;
  /** Load the search indexes into memory with the first search (default true; a one-shot CLI search does not). */
  prewarm?: boolean;
}

export class KnowledgeService implements SearchPort {
  private dataDir: string;
  private config: KnowledgeConfig;
  private opened: Promise<KnowledgeBase> | undefined;

  constructor(private readonly options: KnowledgeServiceOptions) {
    this.dataDir = options.dataDir;
    this.config = options.config ?? DEFAULT_KNOWLEDGE_CONFIG;
  }

  /** The store, opened on first use. */
  store(): Promise<KnowledgeBase> {
    if (!this.opened) {
      const opening = this.open();
      // A failed open (model missing, endpoint down) is retried by the next caller, not cached.
      opening.catch(() => {
        if (this.opened === opening) this.opened = undefined;
      });
      this.opened = opening;
    }
    return this.opened;
  }

  async search(query: SearchQuery): Promise<SearchResponse> {
    return (await this.store()).search(query);
  }

  /** Takes a reloaded config; an embedder change takes effect for the next user of the store. */
  async configure(dataDir: string, config: KnowledgeConfig | undefined): Promise<void> {
    const next = config ?? DEFAULT_KNOWLEDGE_CONFIG;
    if (dataDir === this.dataDir && JSON.stringify(next) === JSON.stringify(this.config)) return;
    this.dataDir = dataDir;
    this.config = next;
    await this.close();
    this.options.logger.info('knowledge settings changed; the store reopens on next use', { embedder: next.embedder.type });
  }

  async close(): Promise<void> {
    const opened = this.opened;
    this.opened = undefined;
    if (opened) await (await opened.catch(() => undefined))?.close();
  }

  private async open(): Promise<KnowledgeBase> {
    const started = this.options.clock.now();
    const make = this.options.createEmbedder ?? createEmbedder;
    const embedder = await make(this.config.embedder);
    this.options.logger.info('knowledge store opened', { embedder: embedder.id, dim: embedder.dim, ms: this.options.clock.now() - started });
    return new KnowledgeBase({ root: join(this.dataDir, 'knowledge'), embedder, clock: this.options.clock, prewarm: this.options.prewarm });
  }
}
