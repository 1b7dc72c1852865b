#!/usr/bin/env node
/**
 * Bundles the compiled CLI (dist/cli/main.js and everything it imports) into
 * dist/hearth.mjs. One file instead of ~300 modules roughly halves start-up
 * time on an SD card and saves the module-graph memory; bin/hearth.js runs it.
 * Modules that users' `module` actions import at run time are not affected.
 */
import { build } from 'esbuild';
import { readFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';

const root = resolve(import.meta.dirname, '..');

/**
 * V8 keeps a module's source for as long as its functions may still be compiled, and one character above U+00FF
 * makes the whole string two bytes per character: 1.2 MB more for this bundle. esbuild escapes such characters in
 * strings and regular expressions but copies tagged templates (the dashboard's html`…`) verbatim, so our own
 * files get them as \uXXXX escapes here. A template's cooked text (what html`` reads) is unchanged; its .raw
 * text would differ, and nothing in Hearth reads .raw.
 */
const asciiOnly = {
  name: 'ascii-only',
  setup(build) {
    build.onLoad({ filter: /[\\/]dist[\\/].*\.js$/ }, async (args) => {
      if (args.path.includes('node_modules')) return undefined;
      const text = await readFile(args.path, 'utf8');
      return { contents: text.replace(/[^\x00-\x7f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`), loader: 'js' };
    });
  },
};

/**
 * zod's namespace re-exports every locale's error messages (~260 KB of the bundle, a quarter of it) and Hearth uses
 * only English, zod's default: `z.locales` here has `en` alone.
 */
const zodEnglishOnly = {
  name: 'zod-english-only',
  setup(build) {
    build.onResolve({ filter: /^\.\.\/locales\/index\.js$/ }, (args) => {
      if (!/[\\/]node_modules[\\/]zod[\\/]v4[\\/](classic|core)[\\/]/.test(args.importer)) return undefined;
      return { path: resolve(args.resolveDir, '../locales/en.js'), namespace: 'zod-locales' };
    });
    build.onLoad({ filter: /.*/, namespace: 'zod-locales' }, (args) => ({
      contents: `export { default as en } from ${JSON.stringify(args.path)};`,
      resolveDir: root,
      loader: 'js',
    }));
  },
};

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
    '@slack/*', '@googleapis/*', 'google-auth-library', '@elastic/*', 'nodemailer', 'postal-mime', 'html-to-text', 'sql.js',
    // Hono's Node adapter loads with the first HTTP request (src/http/server.ts). Bundled, its `node:http2` import
    // would be hoisted to the top of this file and load http2 and tls at start (~2.4 MB of RSS) for nothing.
    '@hono/node-server'],
  banner: { js: "import { createRequire as __hearthRequire } from 'node:module'; const require = __hearthRequire(import.meta.url);" },
  legalComments: 'none',
  minify: true,
  keepNames: true,
  sourcemap: 'linked',
  logLevel: 'warning',
  plugins: [asciiOnly, zodEnglishOnly],
});

// The guard for the above: a non-ASCII character anywhere would double the source's memory (see asciiOnly).
const bundled = readFileSync(resolve(root, 'dist/hearth.mjs'), 'latin1');
const wide = /[^\x00-\x7f]/.exec(bundled);
if (wide) throw new Error(`dist/hearth.mjs has a non-ASCII byte at ${wide.index}: ${JSON.stringify(bundled.slice(Math.max(0, wide.index - 60), wide.index + 20))}`);
