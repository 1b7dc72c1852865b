import { stat } from 'node:fs/promises';
import { homedir } from 'node:os';
import { basename, extname, isAbsolute, resolve } from 'node:path';
import { z } from 'zod';
import { NonRetriableError } from '../../core/errors.js';
import type { KnowledgeBase } from '../../knowledge/knowledge-base.js';
import { FORMAT_BY_EXTENSION } from '../../knowledge/normalize.js';
import { scanFolder, scanJsonl } from '../../knowledge/sources.js';
import { SOURCE_PATTERN } from '../../knowledge/stages.js';
import { lazy } from '../../core/lazy.js';
import { abortError, durationParam, parseParams, validateParams } from '../params.js';
import type { ActionContext, ActionDefinition } from '../types.js';

/**
 * The knowledge store's actions: `ingest.files` (a folder of notes),
 * `ingest.jsonl` (one document per line) and `knowledge.optimize` (the
 * maintenance job). Progress goes to the run's log; the output is the sync
 * report, so a later task (or `hearth runs --json`) sees what changed.
 */

/** How the actions reach the store; the appliance passes its KnowledgeService. */
export interface KnowledgeAccess {
  store(): Promise<KnowledgeBase>;
}

const DEFAULT_MAX_FILE_BYTES = 5 * 1024 * 1024;
const DEFAULT_KEEP_VERSIONS_MS = 60 * 60 * 1000;

const sourceName = () => z.string().regex(SOURCE_PATTERN, 'use 1-63 letters, digits, ".", "-" or "_", starting with a letter or digit');
const KNOWN_EXTENSIONS = Object.keys(FORMAT_BY_EXTENSION);

const pathParam = () => z.string({ error: 'expected a path (a string)' }).min(1, 'must not be empty');

/** Built on first use (src/core/lazy.ts): an appliance that does not use this action never builds it. */
const filesParams = lazy(() =>
  z.strictObject({
    path: pathParam(),
    source: sourceName().optional(),
    extensions: z
      .array(
        z
          .string()
          .transform((ext) => (ext.startsWith('.') ? ext : `.${ext}`).toLowerCase())
          .refine((ext) => KNOWN_EXTENSIONS.includes(ext), { error: `must be one of ${KNOWN_EXTENSIONS.join(', ')}` }),
      )
      .min(1)
      .optional(),
    maxFileSize: z.number().int().min(1).default(DEFAULT_MAX_FILE_BYTES),
  }),
);

/** Built on first use (src/core/lazy.ts): an appliance that does not use this action never builds it. */
const jsonlParams = lazy(() =>
  z.strictObject({
    path: pathParam(),
    source: sourceName().optional(),
    /** Documents no longer in the file are deleted (the file is a full export, not a log). */
    removeMissing: z.boolean().default(false),
  }),
);

/** Built on first use (src/core/lazy.ts): an appliance that does not use this action never builds it. */
const optimizeParams = lazy(() =>
  z.strictObject({
    /** Table versions younger than this are kept (a search running right now may still read them). */
    keepVersions: durationParam().default(DEFAULT_KEEP_VERSIONS_MS),
  }),
);

export function createIngestActions(knowledge: KnowledgeAccess | undefined): ActionDefinition[] {
  const store = async (): Promise<KnowledgeBase> => {
    if (!knowledge) throw new NonRetriableError('this Hearth was started without a knowledge store (only the appliance started by `hearth start` has one)');
    return knowledge.store();
  };
  return [
    {
      name: 'ingest.files',
      validate: (params) => validateParams(filesParams(), params),
      execute: async (raw, ctx) => {
        const params = parseParams(filesParams(), raw, 'ingest.files');
        const folder = resolveParamPath(params.path, ctx);
        await requireKind(folder, 'directory', params.path);
        const source = params.source ?? defaultSource(folder);
        const scan = await scanFolder(folder, { maxFileBytes: params.maxFileSize, ...(params.extensions ? { extensions: params.extensions } : {}) });
        ctx.log(`${source}: scanned ${folder}: ${scan.items.length} files`);
        for (const skipped of scan.skipped) ctx.log(`${source}: skipped ${skipped.path}: ${skipped.reason}`);
        return sync(await store(), source, scan.items, true, ctx);
      },
    },
    {
      name: 'ingest.jsonl',
      validate: (params) => validateParams(jsonlParams(), params),
      execute: async (raw, ctx) => {
        const params = parseParams(jsonlParams(), raw, 'ingest.jsonl');
        const file = resolveParamPath(params.path, ctx);
        await requireKind(file, 'file', params.path);
        const source = params.source ?? defaultSource(file);
        const scan = await scanJsonl(file);
        ctx.log(`${source}: read ${file}: ${scan.items.length} documents`);
        for (const bad of scan.invalid.slice(0, 20)) ctx.log(`${source}: skipped line ${bad.line}: ${bad.reason}`);
        if (scan.invalid.length > 20) ctx.log(`${source}: ... and ${scan.invalid.length - 20} more invalid lines`);
        const report = await sync(await store(), source, scan.items, params.removeMissing, ctx);
        return { ...report, invalidLines: scan.invalid.length };
      },
    },
    {
      name: 'knowledge.optimize',
      validate: (params) => validateParams(optimizeParams(), params),
      execute: async (raw, ctx) => {
        const params = parseParams(optimizeParams(), raw, 'knowledge.optimize');
        return (await store()).optimize({ keepVersionsMs: params.keepVersions, progress: ctx.log });
      },
    },
  ];
}

async function sync(store: KnowledgeBase, source: string, items: Parameters<KnowledgeBase['sync']>[1], removeMissing: boolean, ctx: ActionContext) {
  try {
    return await store.sync(source, items, { removeMissing, progress: ctx.log, signal: ctx.signal });
  } catch (error) {
    if (ctx.signal.aborted) throw abortError(ctx.signal);
    throw error;
  }
}

/** `~/notes` is the home folder; relative paths are read from hearth.yaml's folder. */
function resolveParamPath(path: string, ctx: ActionContext): string {
  const home = ctx.env.HOME || homedir();
  const expanded = path === '~' ? home : path.startsWith('~/') ? `${home}${path.slice(1)}` : path;
  return isAbsolute(expanded) ? expanded : resolve(ctx.configDir, expanded);
}

async function requireKind(path: string, kind: 'file' | 'directory', asWritten: string): Promise<void> {
  const info = await stat(path).catch(() => undefined);
  if (!info) throw new NonRetriableError(`${asWritten}: ${path} does not exist`);
  if (kind === 'directory' ? !info.isDirectory() : !info.isFile()) throw new NonRetriableError(`${asWritten}: ${path} is not a ${kind}`);
}

/** The folder or file name, made a valid source name: `~/My Notes` → `my-notes`. */
function defaultSource(path: string): string {
  const name = basename(path, extname(path))
    .toLowerCase()
    .replace(/[^a-z0-9_.-]+/g, '-')
    .replace(/^[^a-z0-9]+/, '')
    .slice(0, 63);
  return name || 'files';
}
