import type { ActionDefinition, ActionRegistry } from './types.js';

/** Builds a lookup over the given actions. Two actions with one name is a wiring bug, so it throws. */
export function createActionRegistry(defs: ActionDefinition[]): ActionRegistry {
  const byName = new Map<string, ActionDefinition>();
  for (const def of defs) {
    if (byName.has(def.name)) throw new Error(`action "${def.name}" is registered twice`);
    byName.set(def.name, def);
  }
  return {
    get: (name) => byName.get(name),
    names: () => [...byName.keys()].sort(),
  };
}
