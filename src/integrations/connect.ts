import type { ConnectionDef } from '../config/types.js';
import { UsageError, NotFoundError, errorMessage } from '../core/errors.js';
import { pickSecret } from '../secrets/store.js';
import type { SecretsStore, SecretValues } from '../secrets/store.js';

/**
 * Connect flows: how a person hands Hearth the secrets of a connection
 * (`connections:` in hearth.yaml), shared by the dashboard's Settings ›
 * Connections page and `hearth connect NAME`.
 *
 * One ConnectFlow per connection type, in the list passed to `Connections`
 * (main.ts and the CLI use `connectFlows()` below). To add a type (Gmail):
 *   1. write `src/integrations/<type>/connect-flow.ts` exporting a ConnectFlow:
 *        describe(connection) → what to paste (fields; `secret: true` ones go
 *                               to the SecretsStore), help lines, scopes needed
 *        check(connection, secrets, signal) → asks the service whether the
 *                               secrets work; says what is missing
 *        prepare?(connection, pasted) → optional: what to save instead of the
 *                               pasted fields (e.g. an OAuth code exchanged
 *                               for a refresh token)
 *   2. add it to `connectFlows()`.
 * Saving is generic (`Connections.save`): only the fields `describe` names
 * are accepted, values are stored in `<dataDir>/secrets/<name>.json` (0600)
 * and never returned, printed or logged; then `check` runs and its result is
 * shown. A value given in hearth.yaml (`${VAR}`) wins over a saved one
 * (pickSecret), and the page says so.
 */

export interface ConnectField {
  /** The settings key (`token`, `refreshToken`): the same name in hearth.yaml and in the secrets file. */
  key: string;
  label: string;
  /** Secrets are stored in the SecretsStore and never shown again; other fields too, but may be echoed. */
  secret: boolean;
  /** Optional fields may be left empty. */
  optional?: boolean;
  placeholder?: string;
}

export interface ConnectDescription {
  type: string;
  /** One line: what the connection is for. */
  summary: string;
  fields: ConnectField[];
  /** Steps to get the secret (creating an app, which token type), one line each. */
  help: string[];
  /** Scopes (or permissions) the jobs using this connection need. */
  scopes: string[];
}

export interface CheckResult {
  ok: boolean;
  /** One line: "connected to workspace Home as hearth-bot" or why not. */
  summary: string;
  /** Further lines (scopes granted, missing). */
  details: string[];
  missingScopes: string[];
}

export interface ConnectFlow {
  readonly type: string;
  describe(connection: ConnectionDef): ConnectDescription;
  /** Values: the effective settings (hearth.yaml's, else the saved secrets). */
  check(connection: ConnectionDef, values: SecretValues, signal?: AbortSignal): Promise<CheckResult>;
  /**
   * Optional: turns what was pasted into what is saved, before saving (e.g.
   * Gmail exchanging a pasted authorization `code` for a `refreshToken`).
   * Gets the fields `describe` names, non-empty and trimmed; returns the
   * secrets to merge into the store (an empty string deletes a key). Throw a
   * UsageError to refuse with a message the page and the CLI show.
   */
  prepare?(connection: ConnectionDef, values: SecretValues, signal?: AbortSignal): Promise<SecretValues>;
}

export interface ConnectionInfo {
  name: string;
  type: string;
  description: ConnectDescription;
  /** Secret keys saved in the SecretsStore (names only). */
  saved: string[];
  /** Keys hearth.yaml sets (names only): these win over saved ones. */
  fromConfig: string[];
  /** Every required field has a value from one or the other. */
  ready: boolean;
}

export interface ConnectionsOptions {
  /** The connections in force (re-read on every call, so a reload applies). */
  connections(): Record<string, ConnectionDef>;
  secrets: SecretsStore;
  flows: ConnectFlow[];
}

export class Connections {
  private readonly flows: Map<string, ConnectFlow>;

  constructor(private readonly options: ConnectionsOptions) {
    this.flows = new Map(options.flows.map((flow) => [flow.type, flow]));
  }

  async list(): Promise<ConnectionInfo[]> {
    const defs = Object.values(this.options.connections()).sort((a, b) => a.name.localeCompare(b.name));
    return Promise.all(defs.map((def) => this.info(def)));
  }

  async get(name: string): Promise<ConnectionInfo> {
    return this.info(this.def(name));
  }

  /**
   * The connection with its effective values: what the jobs use. Throws
   * NotFoundError for a name hearth.yaml does not declare.
   */
  async resolve(name: string): Promise<{ def: ConnectionDef; values: SecretValues }> {
    const def = this.def(name);
    const saved = await this.options.secrets.get(name);
    const values: SecretValues = {};
    const keys = new Set([...Object.keys(def.settings), ...Object.keys(saved)]);
    for (const key of keys) {
      const value = pickSecret(def.settings[key], saved[key]);
      if (value !== undefined) values[key] = value;
    }
    return { def, values };
  }

  /** Saves the given fields (unknown keys refused, empty ones ignored) and checks the result. */
  async save(name: string, values: Record<string, string | undefined>, signal?: AbortSignal): Promise<CheckResult> {
    const def = this.def(name);
    const flow = this.flow(def);
    const description = flow.describe(def);
    const allowed = new Map(description.fields.map((field) => [field.key, field]));
    const clean: SecretValues = {};
    for (const [key, raw] of Object.entries(values)) {
      const field = allowed.get(key);
      if (!field) throw new UsageError(`connection ${name} (${def.type}) has no field "${key}"; it takes ${[...allowed.keys()].join(', ')}`);
      const value = (raw ?? '').trim();
      if (value !== '') clean[key] = value;
    }
    if (Object.keys(clean).length === 0) throw new UsageError(`nothing to save for ${name}: give ${description.fields.filter((f) => !f.optional).map((f) => f.key).join(', ')}`);
    await this.options.secrets.set(name, flow.prepare ? await flow.prepare(def, clean, signal) : clean);
    return this.check(name, signal);
  }

  /** Asks the service whether the effective values work. Never throws for a refused secret: the result says so. */
  async check(name: string, signal?: AbortSignal): Promise<CheckResult> {
    const { def, values } = await this.resolve(name);
    const flow = this.flow(def);
    const missing = flow.describe(def).fields.filter((field) => !field.optional && !values[field.key]);
    if (missing.length > 0) {
      return { ok: false, summary: `not set up: ${missing.map((field) => field.key).join(', ')} missing`, details: [], missingScopes: [] };
    }
    try {
      return await flow.check(def, values, signal);
    } catch (error) {
      return { ok: false, summary: `could not check: ${errorMessage(error)}`, details: [], missingScopes: [] };
    }
  }

  /** Forgets every saved secret of the connection (values in hearth.yaml stay). */
  async forget(name: string): Promise<void> {
    this.def(name);
    await this.options.secrets.delete(name);
  }

  private async info(def: ConnectionDef): Promise<ConnectionInfo> {
    const description = this.flow(def).describe(def);
    const saved = await this.options.secrets.keys(def.name);
    const fromConfig = Object.keys(def.settings).filter((key) => def.settings[key] !== '' && description.fields.some((field) => field.key === key));
    const has = new Set([...saved, ...fromConfig]);
    return { name: def.name, type: def.type, description, saved, fromConfig, ready: description.fields.every((field) => field.optional || has.has(field.key)) };
  }

  private def(name: string): ConnectionDef {
    const def = this.options.connections()[name];
    if (!def) {
      throw new NotFoundError('connection', name);
    }
    return def;
  }

  private flow(def: ConnectionDef): ConnectFlow {
    const flow = this.flows.get(def.type);
    if (!flow) throw new Error(`no connect flow for connection type ${def.type}`);
    return flow;
  }
}
