import { NonRetriableError } from '../core/errors.js';
import { createHttpAction } from './http.js';
import { moduleAction } from './module.js';
import { createIngestActions } from './ingest/index.js';
import type { KnowledgeAccess } from './ingest/index.js';
import { createSlackAction } from './ingest/slack.js';
import type { ConnectionResolver } from './ingest/slack.js';
import type { ActionDefinition } from './types.js';

export { createActionRegistry } from './registry.js';
export type { ActionContext, ActionDefinition, ActionParamIssue, ActionRegistry, ModuleContext, ModuleTask } from './types.js';

export interface BuiltinActionDeps {
  /** The knowledge store the ingest actions write to (the appliance's; absent when only validating a config). */
  knowledge?: KnowledgeAccess;
  /** The connections (hearth.yaml + saved secrets) the Slack and Gmail actions use. */
  connections?: ConnectionResolver;
}

/** The actions Hearth ships with. Shell tasks (`run:`) are not actions: the engine runs them with runShell. */
export function builtinActions(deps: BuiltinActionDeps = {}): ActionDefinition[] {
  const knowledge = deps.knowledge;
  const store = async () => {
    if (!knowledge) throw new NonRetriableError('this Hearth was started without a knowledge store (only the appliance started by `hearth start` has one)');
    return knowledge.store();
  };
  return [
    createHttpAction(),
    moduleAction,
    ...createIngestActions(deps.knowledge),
    createSlackAction({ store, ...(deps.connections ? { connections: deps.connections } : {}) }),
  ];
}
