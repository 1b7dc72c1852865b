import { createRequire } from 'node:module';
import type * as Yaml from 'yaml';

/**
 * The yaml package, loaded the first time a file is parsed. A restart whose
 * config is unchanged builds it from the config tree cache and never parses
 * YAML, and yaml's module (its ~430 functions, node classes, tag tables)
 * would otherwise be evaluated at every start and kept for the life of an idle
 * appliance (issue 13, item 7). Required, not bundled: the start-up bundle's
 * code cache then holds none of its bytecode either (V8 materializes every
 * cached function at start), and `require` stays synchronous for the parsers
 * that call it. Resolved from this file, or from the bundle's own URL
 * (node_modules beside dist/, where the other outside packages load from).
 */
let lib: typeof Yaml | undefined;

export function yamlLib(): typeof Yaml {
  lib ??= createRequire(import.meta.url)('yaml') as typeof Yaml;
  return lib;
}
