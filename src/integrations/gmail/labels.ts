import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { NonRetriableError } from '../../core/errors.js';
import type { Clock } from '../../core/clock.js';
import type { StepApi } from '../../steps/types.js';
import { GmailRateLimitError, type GmailApi, type GmailCosts, type Label } from './api.js';
import type { MailStore } from './mail-store.js';
import type { QuotaPacer } from './pacer.js';

/**
 * `gmail.label`: rules that add or remove labels. A rule selects messages
 * with a Gmail search query (`query:`, run by Gmail) or a predicate on
 * headers (`match:`, read from the local backup, no quota spent); labels
 * named in `add`/`remove` are created when missing; changes go out with
 * `messages.batchModify`, at most 1,000 ids a call. `dryRun` only reports;
 * rules with `ask: true` wait for a yes in the inbox first.
 */

/** Schema factories: built by gmail.label's own lazily built schema (src/actions/gmail.ts), not when this module loads. */
export const labelRuleSchema = () =>
  z
    .strictObject({
      name: z.string().min(1).max(80),
      query: z.string().min(1).optional(),
      /** Header name → substring (case-insensitive) or /regex/flags; every one must match. */
      match: z.record(z.string().min(1), z.string().min(1)).optional(),
      add: z.array(z.string().min(1)).default([]),
      remove: z.array(z.string().min(1)).default([]),
      ask: z.boolean().default(false),
    })
    .refine((r) => (r.query === undefined) !== (r.match === undefined), { message: 'give either query (a Gmail search) or match (header predicates), not both or neither' })
    .refine((r) => r.add.length + r.remove.length > 0, { message: 'give labels to add and/or remove' });

export const labelRulesSchema = () =>
  z
    .array(labelRuleSchema())
    .min(1)
    .refine((rules) => new Set(rules.map((r) => r.name)).size === rules.length, { message: 'rule names must be unique' });

export type LabelRule = z.output<ReturnType<typeof labelRuleSchema>>;

export interface RuleOutcome {
  name: string;
  matched: number;
  /** Messages whose labels change (or would, in a dry run). */
  changes: number;
  add: string[];
  remove: string[];
  applied: boolean;
  /** Up to 20 of the ids that change. */
  sample: string[];
  skipped?: string;
}

const BATCH = 1000;
const RETRY_LIMIT = 8;

/** What applyLabelRules uses of the action's context (an ActionContext fits). */
export interface LabelContext {
  signal: AbortSignal;
  clock: Clock;
  log(line: string): void;
  /** The inbox, for rules marked ask: true. */
  step?: Pick<StepApi, 'waitForInput'>;
}

export async function applyLabelRules(o: {
  api: GmailApi;
  rules: LabelRule[];
  dryRun: boolean;
  store: MailStore;
  pacer: QuotaPacer;
  costs: GmailCosts;
  ctx: LabelContext;
}): Promise<{ dryRun: boolean; rules: RuleOutcome[]; createdLabels: string[]; units: number }> {
  const { api, ctx, pacer, costs } = o;
  const call = async <T>(method: keyof GmailCosts, fn: () => Promise<T>): Promise<T> => {
    for (let attempt = 0; ; attempt++) {
      await pacer.acquire(costs[method], ctx.signal);
      try {
        return await fn();
      } catch (error) {
        if (!(error instanceof GmailRateLimitError) || attempt >= RETRY_LIMIT) throw error;
        await pacer.pauseUntil(ctx.clock.now() + (error.retryAfterMs ?? 1000 * 2 ** attempt));
      }
    }
  };
  const labels = await call('labels.list', () => api.listLabels());
  const byName = new Map<string, Label>();
  for (const l of labels) {
    byName.set(l.name.toLowerCase(), l);
    byName.set(l.id.toLowerCase(), l);
  }
  const created: string[] = [];
  const labelId = async (name: string): Promise<string | undefined> => {
    const known = byName.get(name.toLowerCase());
    if (known) return known.id;
    if (o.dryRun) return undefined;
    const label = await call('labels.create', () => api.createLabel(name));
    byName.set(name.toLowerCase(), label);
    created.push(name);
    ctx.log(`gmail.label: created label ${name}`);
    return label.id;
  };
  const index = o.rules.some((r) => r.match) ? await o.store.loadIndex() : undefined;

  const plans: Array<{ rule: LabelRule; outcome: RuleOutcome; ids: string[]; add: string[]; remove: string[] }> = [];
  for (const rule of o.rules) {
    const add = await Promise.all(rule.add.map(labelId));
    const remove = rule.remove.map((name) => byName.get(name.toLowerCase())?.id);
    let matched: string[];
    let changing: string[];
    if (rule.query) {
      // Only messages still to change: one added label → the query excludes those that have it already.
      const query = rule.add.length === 1 && rule.remove.length === 0 ? `${rule.query} -label:"${rule.add[0]}"` : rule.query;
      matched = await listAll(query, (token) => call('messages.list', () => api.listMessages(query, token)));
      changing = matched;
    } else {
      matched = [];
      changing = [];
      for (const entry of index!.values()) {
        if (entry.deleted) continue;
        if (!(await headersMatch(o.store, entry.file, rule.match!))) continue;
        matched.push(entry.id);
        const has = new Set(entry.labels);
        const needs = add.some((id) => id === undefined || !has.has(id)) || remove.some((id) => id !== undefined && has.has(id));
        if (needs) changing.push(entry.id);
      }
    }
    const outcome: RuleOutcome = { name: rule.name, matched: matched.length, changes: changing.length, add: rule.add, remove: rule.remove, applied: false, sample: changing.slice(0, 20) };
    ctx.log(`gmail.label: rule ${rule.name}: ${matched.length} match, ${changing.length} ${o.dryRun ? 'would change' : 'to change'} (${describeChange(rule)})${changing.length ? `: ${outcome.sample.join(', ')}${changing.length > 20 ? ', …' : ''}` : ''}`);
    plans.push({ rule, outcome, ids: changing, add: add.filter((id): id is string => id !== undefined), remove: remove.filter((id): id is string => id !== undefined) });
  }

  if (!o.dryRun) {
    const asking = plans.filter((p) => p.rule.ask && p.ids.length > 0);
    let approved = true;
    if (asking.length > 0) {
      if (!ctx.step) throw new NonRetriableError('gmail.label: a rule with ask: true needs the inbox (workflow steps), which this Hearth does not offer');
      const answer = await ctx.step.waitForInput<string>('gmail-label-confirm', {
        prompt: `Apply these Gmail label rules? ${asking.map((p) => `${p.rule.name}: ${describeChange(p.rule)} on ${p.ids.length} message${p.ids.length === 1 ? '' : 's'}`).join('; ')}`,
        choices: ['apply', 'skip'],
      });
      approved = !answer.timedOut && answer.value === 'apply';
    }
    for (const plan of plans) {
      if (plan.ids.length === 0) continue;
      if (plan.rule.ask && !approved) {
        plan.outcome.skipped = 'not approved in the inbox';
        continue;
      }
      for (let i = 0; i < plan.ids.length; i += BATCH) {
        const ids = plan.ids.slice(i, i + BATCH);
        await call('messages.batchModify', () => api.batchModify(ids, plan.add, plan.remove));
      }
      plan.outcome.applied = true;
      ctx.log(`gmail.label: rule ${plan.rule.name}: changed ${plan.ids.length} message(s)`);
    }
  }
  return { dryRun: o.dryRun, rules: plans.map((p) => p.outcome), createdLabels: created, units: pacer.units };
}

function describeChange(rule: LabelRule): string {
  return [...rule.add.map((l) => `+${l}`), ...rule.remove.map((l) => `-${l}`)].join(' ');
}

async function listAll(query: string, page: (token?: string) => Promise<{ messages: Array<{ id: string }>; nextPageToken?: string }>): Promise<string[]> {
  const ids: string[] = [];
  let token: string | undefined;
  do {
    const result = await page(token);
    for (const m of result.messages) ids.push(m.id);
    token = result.nextPageToken;
  } while (token);
  return ids;
}

/** Reads only the header block of a stored message (at most 64 KB) and checks each predicate. */
async function headersMatch(store: MailStore, file: string, match: Record<string, string>): Promise<boolean> {
  const handle = await open(join(store.dir, ...file.split('/')), 'r').catch(() => undefined);
  if (!handle) return false;
  let text: string;
  try {
    const buffer = Buffer.alloc(65536);
    const { bytesRead } = await handle.read(buffer, 0, buffer.length, 0);
    text = buffer.subarray(0, bytesRead).toString('utf8');
  } finally {
    await handle.close();
  }
  const end = text.search(/\r?\n\r?\n/);
  const headers = parseHeaders(end >= 0 ? text.slice(0, end) : text);
  return Object.entries(match).every(([name, want]) => {
    const values = headers.get(name.toLowerCase()) ?? [];
    const regex = /^\/(.+)\/([a-z]*)$/.exec(want);
    return values.some((value) => (regex ? new RegExp(regex[1]!, regex[2]).test(value) : value.toLowerCase().includes(want.toLowerCase())));
  });
}

function parseHeaders(block: string): Map<string, string[]> {
  const headers = new Map<string, string[]>();
  // Folded lines (starting with white space) continue the previous header.
  for (const line of block.replace(/\r?\n[ \t]+/g, ' ').split(/\r?\n/)) {
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const name = line.slice(0, colon).trim().toLowerCase();
    headers.set(name, [...(headers.get(name) ?? []), line.slice(colon + 1).trim()]);
  }
  return headers;
}
