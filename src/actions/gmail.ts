import { createHash } from 'node:crypto';
import { isAbsolute, resolve } from 'node:path';
import { z } from 'zod';
import { GmailAuthError, LongPauseError, NonRetriableError } from '../core/errors.js';
import type { ConnectionDef } from '../config/types.js';
import { pickSecret, type SecretsStore } from '../secrets/store.js';
import type { InboxStore } from '../steps/inbox.js';
import type { KnowledgeAccess } from './ingest/index.js';
import { lazy } from '../core/lazy.js';
import { abortError, parseParams, validateParams } from './params.js';
import type { ActionContext, ActionDefinition } from './types.js';
import type { SourceItem } from '../knowledge/knowledge-base.js';
import { SOURCE_PATTERN } from '../knowledge/stages.js';
import { DEFAULT_COSTS, DEFAULT_QUOTA_PER_MINUTE, type GmailApi, type GmailCosts } from '../integrations/gmail/api.js';
import { runBackup } from '../integrations/gmail/backup.js';
import { openGoogleGmail, type GmailConnectionSettings } from '../integrations/gmail/google.js';
import { applyLabelRules, labelRulesSchema } from '../integrations/gmail/labels.js';
import { mailDocument } from '../integrations/gmail/mail-document.js';
import { MailStore } from '../integrations/gmail/mail-store.js';
import { QuotaPacer } from '../integrations/gmail/pacer.js';

/**
 * The Gmail actions: `gmail.backup` and `gmail.label`. They reach the
 * appliance through GmailDeps (the connections in force, the secrets store,
 * the inbox, the knowledge store), handed in by the composition root.
 */
export interface GmailDeps {
  /** The connections of the config in force (a reload changes them). */
  connections(): Record<string, ConnectionDef>;
  secrets?: SecretsStore;
  inbox?: InboxStore;
  knowledge?: KnowledgeAccess;
  /** Tests may wrap the API (e.g. to time calls on a FakeClock); default: the Google clients. */
  openApi?: (settings: GmailConnectionSettings, now: () => number) => Promise<GmailApi>;
}

const costsSchema = () => z.strictObject(Object.fromEntries(Object.keys(DEFAULT_COSTS).map((k) => [k, z.number().min(0)])) as Record<keyof GmailCosts, z.ZodNumber>).partial();

/** Built on first use (src/core/lazy.ts): an appliance that does not use this action never builds it. */
const backupParams = lazy(() =>
  z.strictObject({
    connection: z.string().min(1),
    /** Folder of the copy; relative paths are inside the data directory. */
    dir: z.string().min(1).default('mail'),
    query: z.string().optional(),
    /** Quota units per minute this backup may spend (6,000 for projects created since May 2026). */
    quota: z.number().int().min(10).default(DEFAULT_QUOTA_PER_MINUTE),
    costs: costsSchema().optional(),
    concurrency: z.number().int().min(1).max(16).default(4),
    verify: z.boolean().default(false),
    /** Add backed-up messages to the knowledge store (as `source`). */
    index: z.boolean().default(true),
    source: z.string().regex(SOURCE_PATTERN).default('mail'),
  }),
);

/** Built on first use (src/core/lazy.ts): an appliance that does not use this action never builds it. */
const labelParams = lazy(() =>
  z.strictObject({
    connection: z.string().min(1),
    rules: labelRulesSchema(),
    dryRun: z.boolean().default(false),
    /** Where a header predicate reads messages: the backup's folder (relative: in the data directory). */
    dir: z.string().min(1).default('mail'),
    quota: z.number().int().min(10).default(DEFAULT_QUOTA_PER_MINUTE),
    costs: costsSchema().optional(),
  }),
);

export function createGmailActions(deps: GmailDeps): ActionDefinition[] {
  return [
    {
      name: 'gmail.backup',
      validate: (params) => validateParams(backupParams(), params),
      execute: async (raw, ctx) => {
        const params = parseParams(backupParams(), raw, 'gmail.backup');
        const costs = { ...DEFAULT_COSTS, ...params.costs } as GmailCosts;
        return withAuth(deps, params.connection, ctx, async (api) => {
          const store = new MailStore(resolveDir(params.dir, ctx));
          await replayPauses(store, ctx);
          const report = await runBackup({
            api,
            store,
            clock: ctx.clock,
            pacer: new QuotaPacer(ctx.clock, params.quota),
            costs,
            log: ctx.log,
            signal: ctx.signal,
            concurrency: params.concurrency,
            // `hearth run JOB --input '{"verify":true}'` checks once without changing the job.
            verify: params.verify || (typeof ctx.input === 'object' && ctx.input !== null && (ctx.input as { verify?: unknown }).verify === true),
            ...(params.query ? { query: params.query } : {}),
            // With workflow steps, a long rate-limit pause parks the run (no pool slot, survives restarts) instead of waiting here.
            ...(ctx.step ? { maxInlinePauseMs: LONG_PAUSE_MS } : {}),
          }).catch(async (error: unknown) => {
            if (!(error instanceof LongPauseError) || !ctx.step) throw error;
            await parkUntil(store, ctx, error.until);
            throw error;
          });
          const indexed = params.index && deps.knowledge ? await indexMail(store, deps.knowledge, params.source, ctx) : undefined;
          ctx.log(`gmail: ${report.mode} backup done: ${report.fetched} fetched, ${report.labelChanges} label changes, ${report.deletedOnServer} deleted on the server, ${report.total.toLocaleString('en-US')} stored, ${report.units} quota units, ${(report.tookMs / 1000).toFixed(1)} s`);
          return { ...report, ...(indexed ? { indexed } : {}) };
        });
      },
    },
    {
      name: 'gmail.label',
      validate: (params) => validateParams(labelParams(), params),
      execute: async (raw, ctx) => {
        const params = parseParams(labelParams(), raw, 'gmail.label');
        const costs = { ...DEFAULT_COSTS, ...params.costs } as GmailCosts;
        return withAuth(deps, params.connection, ctx, (api) =>
          applyLabelRules({
            api,
            rules: params.rules,
            dryRun: params.dryRun,
            store: new MailStore(resolveDir(params.dir, ctx)),
            pacer: new QuotaPacer(ctx.clock, params.quota),
            costs,
            ctx,
          }),
        );
      },
    },
  ];
}

/** The connection's settings with its saved secrets, or a clear error naming what is missing. */
export async function gmailSettings(deps: Pick<GmailDeps, 'connections' | 'secrets'>, name: string): Promise<GmailConnectionSettings> {
  const connections = deps.connections();
  const def = connections[name];
  if (!def) {
    const known = Object.values(connections).filter((c) => c.type === 'gmail').map((c) => c.name);
    throw new NonRetriableError(`connection "${name}" is not in hearth.yaml's connections: (gmail connections: ${known.join(', ') || 'none'})`);
  }
  if (def.type !== 'gmail') throw new NonRetriableError(`connection "${name}" is a ${def.type} connection, not gmail`);
  const saved = deps.secrets ? await deps.secrets.get(name) : {};
  const clientId = pickSecret(def.settings.clientId, saved.clientId);
  const clientSecret = pickSecret(def.settings.clientSecret, saved.clientSecret);
  const refreshToken = pickSecret(def.settings.refreshToken, saved.refreshToken);
  if (!clientId) throw new NonRetriableError(`connection "${name}": no clientId (set it in hearth.yaml, or connect it in Settings › Connections › Gmail)`);
  if (!refreshToken) throw new NonRetriableError(`connection "${name}" is not connected yet: open Settings › Connections › Gmail or run \`hearth connect ${name}\``);
  return {
    clientId,
    refreshToken,
    ...(clientSecret ? { clientSecret } : {}),
    ...(def.settings.apiUrl ? { apiUrl: def.settings.apiUrl } : {}),
    ...(def.settings.tokenUrl ? { tokenUrl: def.settings.tokenUrl } : {}),
  };
}

/**
 * Runs `fn` with an API for the connection. Google refusing the refresh
 * token (invalid_grant) asks the person to reconnect, through the inbox
 * (one question per refused token, so a job every few minutes does not pile
 * them up), and fails the run for good with a message that says what to do.
 */
async function withAuth<T>(deps: GmailDeps, connection: string, ctx: ActionContext, fn: (api: GmailApi) => Promise<T>): Promise<T> {
  const settings = await gmailSettings(deps, connection);
  const api = await (deps.openApi ?? openGoogleGmail)(settings, () => ctx.clock.now());
  try {
    return await fn(api);
  } catch (error) {
    if (ctx.signal.aborted) throw abortError(ctx.signal);
    if (!(error instanceof GmailAuthError)) throw error;
    const how = `reconnect it in Settings › Connections › Gmail or run \`hearth connect ${connection}\``;
    if (deps.inbox) {
      const tokenHash = createHash('sha256').update(settings.refreshToken).digest('hex').slice(0, 12);
      await deps.inbox.ask({
        id: `q_gmail_${createHash('sha256').update(`${connection}\0${tokenHash}`).digest('hex').slice(0, 12)}`,
        runId: ctx.runId,
        job: ctx.job,
        stepId: `reconnect-gmail-${connection}`,
        prompt: `Reconnect Gmail: Google no longer accepts the saved sign-in of connection "${connection}" (a refresh token of an app left in "Testing" expires after 7 days; a changed password or a revoked access ends it too). ${how[0]!.toUpperCase()}${how.slice(1)}, then answer here.`,
        choices: ['reconnected', 'ignore'],
        // The run fails right after asking: the question is for the person, not for this run to wait on.
        outlivesRun: true,
        askedAt: new Date(ctx.clock.now()).toISOString(),
      });
    }
    throw new NonRetriableError(`Gmail connection "${connection}" needs reconnecting: ${error.message}; ${how}`, { cause: error });
  }
}

/** Rate-limit pauses longer than this park the run durably (step.sleepUntil) instead of holding a pool slot. */
export const LONG_PAUSE_MS = 5 * 60_000;

/**
 * Steps are matched by call order, so a run that parked before calls the
 * same sleeps again first (each returns at once, journaled as done).
 */
async function replayPauses(store: MailStore, ctx: ActionContext): Promise<void> {
  if (!ctx.step) return;
  const state = await store.readState();
  if (state.parks?.runId !== ctx.runId) return;
  for (const [i, until] of state.parks.until.entries()) await ctx.step.sleepUntil(`gmail-rate-limit-${i + 1}`, until);
}

/** Records the pause for replays, then parks the run until it ends (throws the step's SuspendSignal). */
async function parkUntil(store: MailStore, ctx: ActionContext, until: number): Promise<void> {
  const state = await store.readState();
  const parks = state.parks?.runId === ctx.runId ? state.parks.until : [];
  await store.writeState({ ...state, parks: { runId: ctx.runId, until: [...parks, until] } });
  ctx.log(`gmail: rate limited until ${new Date(until).toISOString()}; the run sleeps until then (durably, without holding a pool slot)`);
  await ctx.step!.sleepUntil(`gmail-rate-limit-${parks.length + 1}`, until);
}

/** `~/x` and absolute paths as given; a relative backup folder lives in the data directory. */
function resolveDir(dir: string, ctx: ActionContext): string {
  const home = ctx.env.HOME;
  if (home && (dir === '~' || dir.startsWith('~/'))) return `${home}${dir.slice(1)}`;
  return isAbsolute(dir) ? dir : resolve(ctx.dataDir, dir);
}

/**
 * Offers the knowledge store every message the index gained since the last
 * time (a byte cursor in the backup state), as `source` documents; a crash
 * between backup and indexing is picked up by the next run.
 */
async function indexMail(store: MailStore, knowledge: KnowledgeAccess, source: string, ctx: ActionContext) {
  const state = await store.readState();
  const from = state.knowledgeOffset ?? 0;
  // Nothing appended since last time (a run with no new mail): no index read, the store is not even opened.
  if ((await store.indexSize()) <= from) return undefined;
  const labelNames = await store.readLabels();
  const items: SourceItem[] = [];
  let offset = from;
  for await (const [end, record] of store.recordsFrom(from)) {
    offset = end;
    if (!('f' in record)) continue;
    const file = record.f;
    items.push({
      key: record.id,
      format: 'json',
      mtimeMs: record.d,
      size: 0,
      read: async () => {
        const doc = await mailDocument(await store.readMessage(file), { id: record.id, labels: record.l, date: record.d, labelNames });
        return Buffer.from(JSON.stringify(doc));
      },
    });
  }
  const report = items.length > 0 ? await (await knowledge.store()).sync(source, items, { removeMissing: false, progress: ctx.log, signal: ctx.signal }) : undefined;
  await store.writeState({ ...(await store.readState()), knowledgeOffset: offset });
  return report;
}
