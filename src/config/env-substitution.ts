/**
 * `${VAR}` and `${VAR:default}` in config values, filled from the environment.
 * `$${` is a literal `${` (so shell scripts in `run:` can still use `${x#y}`).
 * A default is used when the variable is unset or empty; a variable that is
 * unset and has no default is a problem the caller reports with a location.
 */
export type EnvLookup = Record<string, string | undefined>;

export type SubstitutionResult =
  | { ok: true; value: string }
  | { ok: false; problems: string[] };

/**
 * Whether `substituteEnv` would put an environment value into `text` (a `${` that is not `$${`).
 * The config loader remembers such values (`EnvSubstitutions`) so the dashboard can show the
 * reference as written instead of the value, which may be a secret.
 */
export function referencesEnv(text: string): boolean {
  let i = 0;
  while (i < text.length) {
    if (text.startsWith('$${', i)) i += 3;
    else if (text.startsWith('${', i)) return true;
    else i += 1;
  }
  return false;
}

/** Config values that came from `${VAR}` substitution: path (JSON of its segments) → the text as written. */
export class EnvSubstitutions {
  /** By path id (a value substituted twice is recorded once), with the path kept parsed: under() runs per task. */
  private readonly written = new Map<string, { path: ReadonlyArray<string | number>; text: string }>();

  record(path: ReadonlyArray<string | number>, text: string): void {
    this.written.set(JSON.stringify(path), { path: [...path], text });
  }

  /** The substituted values under `prefix`, with paths relative to it. */
  under(prefix: ReadonlyArray<string | number>): Array<{ path: Array<string | number>; written: string }> {
    const out: Array<{ path: Array<string | number>; written: string }> = [];
    for (const { path, text } of this.written.values()) {
      if (path.length >= prefix.length && prefix.every((segment, i) => path[i] === segment)) out.push({ path: path.slice(prefix.length), written: text });
    }
    return out;
  }
}

const REFERENCE = /^([A-Za-z_][A-Za-z0-9_]*)(?::([\s\S]*))?$/;

export function substituteEnv(text: string, env: EnvLookup): SubstitutionResult {
  if (!text.includes('${')) return { ok: true, value: text };
  const problems: string[] = [];
  let out = '';
  let i = 0;
  while (i < text.length) {
    if (text.startsWith('$${', i)) {
      out += '${';
      i += 3;
      continue;
    }
    if (!text.startsWith('${', i)) {
      out += text[i];
      i += 1;
      continue;
    }
    const close = text.indexOf('}', i + 2);
    if (close < 0) {
      problems.push('unterminated "${" (write "$${" for a literal "${")');
      break;
    }
    const inner = text.slice(i + 2, close);
    const resolved = resolveReference(inner, env);
    if (typeof resolved === 'string') {
      out += resolved;
    } else {
      problems.push(resolved.problem);
    }
    i = close + 1;
  }
  return problems.length > 0 ? { ok: false, problems } : { ok: true, value: out };
}

function resolveReference(inner: string, env: EnvLookup): string | { problem: string } {
  const match = REFERENCE.exec(inner);
  if (!match) {
    return {
      problem: `invalid variable reference "\${${inner}}" (use \${NAME} or \${NAME:default}; write "$\${" for a literal "\${")`,
    };
  }
  const name = match[1]!;
  const fallback = match[2];
  const value = env[name];
  if (value !== undefined && (value !== '' || fallback === undefined)) return value;
  if (fallback !== undefined) return fallback;
  return { problem: `environment variable ${name} is not set (write \${${name}:default} to give a default)` };
}
