import { readFile, mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { z } from 'zod';
import { writeFileAtomic } from '../../core/atomic-file.js';
import { isNotFound, NonRetriableError, NotFoundError } from '../../core/errors.js';
import type { ConnectionDef } from '../../config/types.js';
import { SOURCE_PATTERN } from '../../knowledge/stages.js';
import type { KnowledgeBase } from '../../knowledge/knowledge-base.js';
import { createSlackApi } from '../../integrations/slack/api.js';
import { SlackFiles } from '../../integrations/slack/store.js';
import { syncSlack } from '../../integrations/slack/sync.js';
import { createSearchSink } from '../../integrations/elasticsearch/sink.js';
import type { Waiter } from '../../integrations/slack/sync.js';
import { lazy } from '../../core/lazy.js';
import { abortError, durationParam, parseParams, validateParams } from '../params.js';
import type { ActionContext, ActionDefinition } from '../types.js';

/**
 * `action: ingest.slack`: copies Slack channels into the knowledge store
 * (see src/integrations/slack/sync.ts for how). The token comes from the
 * connection (hearth.yaml's `${VAR}`, else the secret saved with `hearth
 * connect` or Settings › Connections). A 429's back-off is a durable step
 * (`step.sleepUntil`): the run parks, holds no pool slot, and a restart
 * during it resumes at the named time from the last stored page.
 */

export interface ConnectionResolver {
  resolve(name: string): Promise<{ def: ConnectionDef; values: Record<string, string> }>;
}

export interface SlackActionDeps {
  store(): Promise<KnowledgeBase>;
  connections?: ConnectionResolver;
}

const HOUR = 60 * 60 * 1000;
const DAY = 24 * HOUR;

/** Built on first use (src/core/lazy.ts): an appliance that does not use this action never builds it. */
export const slackParams = lazy(() =>
  z.strictObject({
    connection: z.string({ error: 'expected the name of a connection of type slack' }).min(1),
    channels: z.union([z.literal('all'), z.array(z.string().min(1)).min(1, 'name at least one channel, or write all')]).default('all'),
    threads: z.boolean().default(true),
    lookback: durationParam().default(10 * 60 * 1000),
    since: durationParam().default(90 * DAY),
    threadWindow: durationParam().default(21 * DAY),
    /** Off unless set: re-read every stored thread of a channel (whatever its age) when its last full sweep is older than this. */
    fullSweepEvery: durationParam().refine((ms) => ms >= HOUR, 'a full sweep re-reads every stored thread: use at least 1h (e.g. 30d)').optional(),
    pageSize: z.number().int().min(1).max(1000).default(200),
    /** History pages stored together (one knowledge-store write); a crash fetches at most this many again. */
    batchPages: z.number().int().min(1).max(100).default(10),
    /** Tier 3 calls (history, replies) a minute; Slack allows ~50 for an app in your own workspace. */
    perMinute: z.number().positive().max(600).default(50),
    source: z.string().regex(SOURCE_PATTERN, 'use 1-63 letters, digits, ".", "-" or "_"').default('slack'),
    /** Channels whose documents, raw files and cursor are deleted (and not synced) on the next run. */
    forget: z.array(z.string().min(1)).optional(),
    /** Optional: the same documents into an Elasticsearch or OpenSearch index too (bulk API, idempotent ids). */
    elasticsearch: z
      .strictObject({
        url: z.string().url('expected a URL such as http://nas.local:9200'),
        index: z.string().regex(/^[a-z0-9][a-z0-9_.-]{0,254}$/, 'use lower-case letters, digits, "_", "." or "-"').default('hearth-slack'),
        type: z.enum(['elasticsearch', 'opensearch']).default('elasticsearch'),
        apiKey: z.string().min(1).optional(),
        username: z.string().min(1).optional(),
        password: z.string().optional(),
      })
      .optional(),
  }),
);

export function createSlackAction(deps: SlackActionDeps): ActionDefinition {
  return {
    name: 'ingest.slack',
    validate: (params) => validateParams(slackParams(), params),
    execute: async (raw, ctx) => {
      const params = parseParams(slackParams(), raw, 'ingest.slack');
      if (!deps.connections) throw new NonRetriableError('this Hearth was started without connections (only the appliance started by `hearth start` has them)');
      let resolved;
      try {
        resolved = await deps.connections.resolve(params.connection);
      } catch (error) {
        if (error instanceof NotFoundError) throw new NonRetriableError(`ingest.slack: no connection "${params.connection}" in hearth.yaml (add it under connections: with type: slack)`, { cause: error });
        throw error;
      }
      if (resolved.def.type !== 'slack') throw new NonRetriableError(`ingest.slack: connection "${params.connection}" is of type ${resolved.def.type}, not slack`);
      const token = resolved.values.token;
      if (!token) throw new NonRetriableError(`ingest.slack: connection "${params.connection}" has no token yet: paste one in Settings › Connections or run hearth connect ${params.connection}`);
      const store = await deps.store();
      const files = new SlackFiles(store.stageFiles.root);
      const waiter = await durableWaiter(files.statePath(params.connection).replace(/\.json$/, '.waits.json'), ctx);
      const api = await createSlackApi({ token, ...(resolved.values.apiUrl ? { apiUrl: resolved.values.apiUrl } : {}) });
      const es = params.elasticsearch;
      const sink = es ? await createSearchSink({ type: es.type, url: es.url, index: es.index, ...(es.apiKey ? { apiKey: es.apiKey } : {}), ...(es.username ? { username: es.username, password: es.password ?? '' } : {}) }) : undefined;
      if (es) ctx.log(`slack ${params.connection}: documents also go to ${es.type} index ${es.index} at ${new URL(es.url).origin}`);
      try {
        return await syncSlack({
          connection: params.connection,
          api,
          files,
          target: store,
          source: params.source,
          clock: ctx.clock,
          log: ctx.log,
          waiter,
          signal: ctx.signal,
          channels: params.channels,
          threads: params.threads,
          lookbackMs: params.lookback,
          sinceMs: params.since,
          threadWindowMs: params.threadWindow,
          ...(params.fullSweepEvery !== undefined ? { fullSweepEveryMs: params.fullSweepEvery } : {}),
          pageSize: params.pageSize,
          flushPages: params.batchPages,
          tier3IntervalMs: Math.ceil(60_000 / params.perMinute),
          tier2IntervalMs: Math.ceil(60_000 / Math.min(20, params.perMinute)),
          ...(sink ? { sink } : {}),
          ...(params.forget ? { forget: params.forget } : {}),
          documentKeys: async (source) => Object.keys((await store.stageFiles.readManifest(source)).entries),
        });
      } catch (error) {
        if (ctx.signal.aborted) throw abortError(ctx.signal);
        throw error;
      } finally {
        await sink?.close();
      }
    },
  };
}

/**
 * Waits through the run's durable steps when it has them: each 429 back-off
 * is a `step.sleepUntil` whose time is recorded (per run, in order) in a
 * small file, so the replay after the run wakes (or after a restart) calls
 * the same steps again and goes on. Pacing waits are plain clock timers.
 */
async function durableWaiter(path: string, ctx: ActionContext): Promise<Waiter> {
  let waits = await readWaits(path);
  if (waits.runId !== ctx.runId) waits = { runId: ctx.runId, until: [] };
  const step = ctx.step;
  if (step) for (const [index, until] of waits.until.entries()) await step.sleepUntil(`slack-rate-limit-${index + 1}`, until);
  return {
    async wait(until, options) {
      if (options.durable && step) {
        waits.until.push(until);
        await mkdir(dirname(path), { recursive: true });
        await writeFileAtomic(path, JSON.stringify(waits));
        await step.sleepUntil(`slack-rate-limit-${waits.until.length}`, until);
        return;
      }
      await clockWait(ctx, until);
    },
  };
}

async function readWaits(path: string): Promise<{ runId: string; until: number[] }> {
  try {
    return JSON.parse(await readFile(path, 'utf8')) as { runId: string; until: number[] };
  } catch (error) {
    if (isNotFound(error)) return { runId: '', until: [] };
    throw error;
  }
}

function clockWait(ctx: ActionContext, until: number): Promise<void> {
  const ms = until - ctx.clock.now();
  if (ms <= 0) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const onAbort = () => {
      timer.cancel();
      reject(abortError(ctx.signal));
    };
    const timer = ctx.clock.setTimer(ms, () => {
      ctx.signal.removeEventListener('abort', onAbort);
      resolve();
    });
    if (ctx.signal.aborted) onAbort();
    else ctx.signal.addEventListener('abort', onAbort, { once: true });
  });
}
