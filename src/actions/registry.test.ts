import { describe, expect, it } from 'vitest';
import { builtinActions, createActionRegistry } from './index.js';
import type { ActionDefinition } from './types.js';

const fake = (name: string): ActionDefinition => ({ name, validate: () => [], execute: async () => name });

describe('createActionRegistry', () => {
  it('finds actions by name and lists the names sorted', () => {
    const registry = createActionRegistry([fake('zeta'), fake('alpha')]);
    expect(registry.get('zeta')?.name).toBe('zeta');
    expect(registry.get('missing')).toBeUndefined();
    expect(registry.names()).toEqual(['alpha', 'zeta']);
  });

  it('refuses two actions with one name', () => {
    expect(() => createActionRegistry([fake('http'), fake('http')])).toThrow(/registered twice/);
  });

  it('holds the built-in actions', () => {
    expect(createActionRegistry(builtinActions()).names()).toEqual(['http', 'ingest.files', 'ingest.jsonl', 'ingest.slack', 'knowledge.optimize', 'module']);
  });
});
