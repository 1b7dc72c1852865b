#!/usr/bin/env node
/**
 * Bundles the compiled CLI (dist/cli/main.js and everything it imports) into
 * dist/hearth.mjs. One file instead of ~300 modules roughly halves start-up
 * time on an SD card and saves the module-graph memory; bin/hearth.js runs it.
 * Modules that users' `module` actions import at run time are not affected.
 */
import { build } from 'esbuild';
import { resolve } from 'node:path';

const root = resolve(import.meta.dirname, '..');
await build({
  entryPoints: [resolve(root, 'dist/cli/main.js')],
  outfile: resolve(root, 'dist/hearth.mjs'),
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  // Native or heavy optional modules stay external and load from node_modules when needed.
  external: ['@lancedb/*', '@huggingface/*', 'onnxruntime-node', 'apache-arrow', 'systeminformation', 'playwright-core',
    // Vendor SDKs are loaded lazily by the jobs that use them.
    '@slack/*', '@googleapis/*', 'google-auth-library', '@elastic/*', 'nodemailer', 'postal-mime', 'html-to-text', 'sql.js'],
  banner: { js: "import { createRequire as __hearthRequire } from 'node:module'; const require = __hearthRequire(import.meta.url);" },
  legalComments: 'none',
  minify: true,
  keepNames: true,
  sourcemap: 'linked',
  logLevel: 'warning',
});
