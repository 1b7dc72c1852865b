import type { SearchHit, SearchResponse } from '../knowledge/types.js';
import type { CommandArgs } from './args.js';
import { booleanValue, stringValue } from './args.js';
import { loadCliConfig } from './config.js';
import type { CliContext } from './context.js';
import { useColor } from './context.js';
import { colorize, json } from './format.js';
import { connect } from './target.js';

/**
 * `hearth search "words" [--source S] [--since DATE] [--until DATE] [--limit N] [--json]`
 *
 * With --url (or HEARTH_URL) it asks a remote appliance's `GET /api/search`.
 * Otherwise it opens this machine's knowledge store directly (read-only; the
 * data directory comes from hearth.yaml), so it works whether or not the
 * appliance is running, and a search never waits for an ingest job.
 */
export async function searchCommand(args: CommandArgs, ctx: CliContext): Promise<number> {
  const params = searchParams(args);
  const now = ctx.now?.() ?? Date.now();
  const { parseSearchParams } = await import('../knowledge/search-params.js');
  // Parsed here too, so a bad --since is a usage error before anything is opened or sent.
  const query = parseSearchParams(params, now);
  const remoteUrl = stringValue(args, 'url') ?? (ctx.env.HEARTH_URL?.trim() || undefined);
  const response = remoteUrl ? await searchRemote(args, ctx, params) : await searchLocal(args, ctx, query);
  if (booleanValue(args, 'json')) {
    ctx.stdout.write(json(response));
    return 0;
  }
  printResults(ctx, response);
  return 0;
}

function searchParams(args: CommandArgs): Record<string, string[]> {
  const params: Record<string, string[]> = { q: [args.positionals[0] ?? ''] };
  for (const name of ['source', 'since', 'until', 'limit']) {
    const value = stringValue(args, name);
    if (value !== undefined) params[name] = [value];
  }
  return params;
}

async function searchRemote(args: CommandArgs, ctx: CliContext, params: Record<string, string[]>): Promise<SearchResponse> {
  const client = await connect(ctx, { url: stringValue(args, 'url'), config: stringValue(args, 'config') });
  const query = new URLSearchParams();
  for (const [name, values] of Object.entries(params)) for (const value of values) query.append(name, value);
  return client.getJson<SearchResponse>(`/api/search?${query}`);
}

async function searchLocal(args: CommandArgs, ctx: CliContext, query: import('../knowledge/types.js').SearchQuery): Promise<SearchResponse> {
  const { config } = await loadCliConfig(ctx, { flag: stringValue(args, 'config'), strict: false });
  const [{ KnowledgeService }, { silentLogger }, { systemClock }] = await Promise.all([
    import('../knowledge/service.js'),
    import('../core/logger.js'),
    import('../core/clock.js'),
  ]);
  // One search and out: loading every index into memory first would only make it slower.
  const knowledge = new KnowledgeService({ dataDir: config.dataDir, config: config.knowledge, clock: systemClock, logger: silentLogger, prewarm: false });
  try {
    return await knowledge.search(query);
  } finally {
    await knowledge.close();
  }
}

function printResults(ctx: CliContext, response: SearchResponse): void {
  const color = useColor(ctx);
  if (response.hits.length === 0) ctx.stdout.write(response.note ? `no results (${response.note})\n` : 'no results\n');
  response.hits.forEach((hit, index) => ctx.stdout.write(formatHit(hit, index + 1, color)));
  const count = response.hits.length;
  ctx.stderr.write(
    `${count} ${count === 1 ? 'result' : 'results'} in ${response.tookMs} ms (${response.mode}, ${response.embedder}, ${response.totalChunks} chunks)` +
      (response.note && count > 0 ? `\nnote: ${response.note}` : '') +
      '\n',
  );
}

function formatHit(hit: SearchHit, rank: number, color: boolean): string {
  const facts = [hit.source, hit.timestamp.slice(0, 10), hit.author].filter(Boolean).join(' · ');
  const lines = [`${rank}. ${colorize(hit.title, '1', color)}  ${colorize(`(${facts})`, '90', color)}`, `   ${hit.snippet}`];
  if (hit.url) lines.push(`   ${colorize(hit.url, '36', color)}`);
  return `${lines.join('\n')}\n\n`;
}
