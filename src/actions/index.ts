import { createHttpAction } from './http.js';
import { moduleAction } from './module.js';
import { createIngestActions } from './ingest/index.js';
import type { KnowledgeAccess } from './ingest/index.js';
import type { ActionDefinition } from './types.js';

export { createActionRegistry } from './registry.js';
export type { ActionContext, ActionDefinition, ActionParamIssue, ActionRegistry, ModuleContext, ModuleTask } from './types.js';

export interface BuiltinActionDeps {
  /** The knowledge store the ingest actions write to (the appliance's; absent when only validating a config). */
  knowledge?: KnowledgeAccess;
}

/** The actions Hearth ships with. Shell tasks (`run:`) are not actions: the engine runs them with runShell. */
export function builtinActions(deps: BuiltinActionDeps = {}): ActionDefinition[] {
  return [createHttpAction(), moduleAction, ...createIngestActions(deps.knowledge)];
}
