import { UsageError } from '../core/errors.js';
import type { CommandArgs } from './args.js';
import { booleanValue, stringValue } from './args.js';
import { loadCliConfig } from './config.js';
import type { CliContext } from './context.js';
import { json, renderTable } from './format.js';
import { useColor } from './context.js';

/**
 * `hearth knowledge status|rebuild|optimize` and `hearth models pull`: work
 * on this machine's knowledge store directly. Writes take the store's writer
 * lock, so they refuse (exit 1) while the appliance is ingesting.
 */

/** Versions younger than this survive: the running appliance may be reading one of them. */
const KEEP_VERSIONS_MS = 10 * 60 * 1000;

async function openKnowledge(args: CommandArgs, ctx: CliContext) {
  const { config } = await loadCliConfig(ctx, { flag: stringValue(args, 'config'), strict: false });
  const [{ KnowledgeService }, { silentLogger }, { systemClock }] = await Promise.all([
    import('../knowledge/service.js'),
    import('../core/logger.js'),
    import('../core/clock.js'),
  ]);
  return { config, knowledge: new KnowledgeService({ dataDir: config.dataDir, config: config.knowledge, clock: systemClock, logger: silentLogger, prewarm: false }) };
}

export async function knowledgeCommand(args: CommandArgs, ctx: CliContext): Promise<number> {
  const action = args.positionals[0];
  if (action !== 'status' && action !== 'rebuild' && action !== 'optimize') {
    throw new UsageError(`unknown knowledge command "${action ?? ''}": use status, rebuild or optimize`);
  }
  const from = stringValue(args, 'from') ?? 'raw';
  if (from !== 'raw' && from !== 'processed') throw new UsageError(`invalid --from "${from}": use raw or processed`);
  const { knowledge } = await openKnowledge(args, ctx);
  const progress = (line: string) => ctx.stderr.write(`${line}\n`);
  try {
    const store = await knowledge.store();
    if (action === 'status') {
      const status = await store.status();
      if (booleanValue(args, 'json')) ctx.stdout.write(json(status));
      else {
        const rows = status.sources.map((source) => [source.name, String(source.documents), String(source.chunks)]);
        ctx.stdout.write(renderTable(['SOURCE', 'DOCUMENTS', 'CHUNKS'], rows, useColor(ctx)));
        const embedder = status.embedder;
        ctx.stdout.write(`\n${status.chunks} chunks indexed in ${status.root}\nembedder: ${embedder.configured}` +
          (embedder.reembedNeeded ? ` (the index holds ${embedder.indexed} vectors: run hearth knowledge rebuild --from processed)` : '') + '\n');
      }
      return 0;
    }
    const result = action === 'rebuild' ? await store.rebuild(from, progress) : await store.optimize({ keepVersionsMs: KEEP_VERSIONS_MS, progress });
    if (booleanValue(args, 'json')) ctx.stdout.write(json(result));
    return 0;
  } finally {
    await knowledge.close();
  }
}

export async function modelsCommand(args: CommandArgs, ctx: CliContext): Promise<number> {
  const action = args.positionals[0];
  if (action !== 'pull') throw new UsageError(`unknown models command "${action ?? ''}": use pull`);
  const { config } = await loadCliConfig(ctx, { flag: stringValue(args, 'config'), strict: false });
  const { resolve } = await import('node:path');
  const { pullModel, DEFAULT_HUB } = await import('../knowledge/model-download.js');
  const { KNOWLEDGE_DEFAULTS } = await import('../config/build.js');
  const spec = config.knowledge?.embedder;
  const local = spec?.type === 'local' ? spec : undefined;
  const model = args.positionals[1] ?? local?.model ?? KNOWLEDGE_DEFAULTS.localModel;
  const dir = stringValue(args, 'dir');
  const modelDir = dir ? resolve(ctx.cwd, dir) : (local?.modelDir ?? resolve(config.dataDir, 'models'));
  const dtype = (stringValue(args, 'dtype') ?? local?.dtype ?? KNOWLEDGE_DEFAULTS.localDtype) as 'q8';
  const { MODEL_FILE_BY_DTYPE } = await import('../knowledge/embedders/local.js');
  if (!(dtype in MODEL_FILE_BY_DTYPE)) throw new UsageError(`invalid --dtype "${dtype}": use one of ${Object.keys(MODEL_FILE_BY_DTYPE).join(', ')}`);
  const hub = ctx.env.HF_ENDPOINT?.trim() || DEFAULT_HUB;
  ctx.stderr.write(`pulling ${model} (${dtype}) from ${hub} into ${modelDir}\n`);
  const result = await pullModel({ model, modelDir, dtype, hub, fetch: ctx.fetch as typeof fetch, progress: (line) => ctx.stderr.write(`  ${line}\n`) });
  ctx.stdout.write(`${result.folder} (${(result.bytes / 1024 / 1024).toFixed(1)} MB)\n`);
  if (local === undefined) ctx.stderr.write('to use it, set in hearth.yaml:\n  knowledge:\n    embedder: { type: local, model: ' + model + ' }\n');
  return 0;
}
