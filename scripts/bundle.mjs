#!/usr/bin/env node
/**
 * Bundles the compiled CLI (dist/cli/entry.js and everything it imports) into
 * dist/hearth.cjs. One file instead of ~300 modules roughly halves start-up
 * time on an SD card and saves the module-graph memory; bin/hearth.js runs it.
 * CommonJS, not an ES module, so bin/hearth.js can compile it from a V8 code
 * cache (vm.Script cachedData; Node 20 has no code cache for ES modules).
 * Modules that users' `module` actions import at run time are not affected.
 */
import { build } from 'esbuild';
import { readFile, writeFile } from 'node:fs/promises';
import { resolve, sep } from 'node:path';

const root = resolve(import.meta.dirname, '..');
const dist = resolve(root, 'dist') + sep;

/**
 * import() of what stays outside the bundle (the externals below, node: modules, a `module` action's file) becomes
 * a call of `__hearthImport`, which bin/hearth.js passes in: an import() in a script compiled from a code cache
 * fails on Node 20 ("A dynamic import callback was not specified": V8 drops the script's host options when it
 * deserializes it). Relative imports are left for esbuild to bundle. Only Hearth's own compiled files are
 * rewritten; the build fails if an import() is left in the output.
 */
const importTrampoline = {
  name: 'hearth-import-trampoline',
  setup(plugin) {
    plugin.onLoad({ filter: /\.js$/ }, async (args) => {
      if (!args.path.startsWith(dist) || args.path.includes(`${sep}node_modules${sep}`)) return undefined;
      const text = await readFile(args.path, 'utf8');
      return { contents: text.replace(/(?<![\w$.])import\((?!\s*['"]\.)/g, '__hearthImport('), loader: 'js' };
    });
  },
};

const result = await build({
  entryPoints: [resolve(root, 'dist/cli/entry.js')],
  outfile: resolve(root, 'dist/hearth.cjs'),
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  // Native or heavy optional modules stay external and load from node_modules when needed.
  external: ['@lancedb/*', '@huggingface/*', 'onnxruntime-node', 'apache-arrow', 'systeminformation', 'playwright-core',
    // Vendor SDKs are loaded lazily by the jobs that use them.
    '@slack/*', '@googleapis/*', 'google-auth-library', '@elastic/*', 'nodemailer', 'postal-mime', 'html-to-text', 'sql.js'],
  // The sources are ES modules: import.meta.url is the bundle's own URL (a CommonJS script has no import.meta).
  define: { 'import.meta.url': '__hearthBundleUrl' },
  banner: { js: "var __hearthBundleUrl = require('node:url').pathToFileURL(__filename).href;" },
  legalComments: 'none',
  minify: true,
  keepNames: true,
  sourcemap: 'linked',
  logLevel: 'warning',
  plugins: [importTrampoline],
  write: false,
});
for (const file of result.outputFiles) {
  if (file.path.endsWith('.cjs') && /(?<![\w$.])import\(/.test(file.text)) {
    throw new Error(`${file.path}: an import() is left in the bundle; it would fail when compiled from the code cache`);
  }
}
await Promise.all(result.outputFiles.map((file) => writeFile(file.path, file.contents)));
