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
import { dirname, resolve, sep } from 'node:path';

const root = resolve(import.meta.dirname, '..');
const dist = resolve(root, 'dist') + sep;
const BUNDLE = resolve(root, 'dist/hearth.cjs');
const WEB_BUNDLE = resolve(root, 'dist/hearth-web.cjs');
const YAML_BUNDLE = resolve(root, 'dist/hearth-yaml.cjs');

/**
 * Hearth's own compiled files get two rewrites on their way into the bundle (one onLoad: esbuild takes the first
 * plugin's contents only):
 *
 * - import() of what stays outside the bundle (the externals below, node: modules, a `module` action's file)
 *   becomes a call of `__hearthImport` (Hono's Node adapter, bundled, excepted), which bin/hearth.js passes in: an import() in a script compiled from a code
 *   cache fails on Node 20 ("A dynamic import callback was not specified": V8 drops the script's host options when
 *   it deserializes it). Relative imports are left for esbuild to bundle. The build fails if an import() is left.
 * - ASCII only: V8 keeps a script's source for as long as its functions may still be compiled, and one character
 *   above U+00FF makes the whole string two bytes per character: 1.2 MB more for this bundle. esbuild escapes such
 *   characters in strings and regular expressions but copies tagged templates (the dashboard's html`…`) verbatim,
 *   so they become \uXXXX escapes here. A template's cooked text (what html`` reads) is unchanged; its .raw text
 *   would differ, and nothing in Hearth reads .raw. The build fails on any non-ASCII byte.
 */
const ownSources = {
  name: 'hearth-own-sources',
  setup(plugin) {
    plugin.onLoad({ filter: /\.js$/ }, async (args) => {
      if (!args.path.startsWith(dist) || args.path.includes(`${sep}node_modules${sep}`)) return undefined;
      const text = await readFile(args.path, 'utf8');
      const contents = text
        .replace(/(?<![\w$.])import\((?!\s*['"](?:\.|@hono\/node-server['"]))/g, '__hearthImport(')
        .replace(/[^\x00-\x7f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
      return { contents, loader: 'js' };
    });
  },
};

/**
 * zod's namespace re-exports every locale's error messages (~260 KB of the bundle, a quarter of it) and Hearth uses
 * only English, zod's default: `z.locales` here has `en` alone.
 */
const zodEnglishOnly = {
  name: 'zod-english-only',
  setup(plugin) {
    plugin.onResolve({ filter: /^\.\.\/locales\/index\.js$/ }, (args) => {
      if (!/[\\/]node_modules[\\/]zod[\\/]v4[\\/](classic|core)[\\/]/.test(args.importer)) return undefined;
      return { path: resolve(args.resolveDir, '../locales/en.js'), namespace: 'zod-locales' };
    });
    plugin.onLoad({ filter: /.*/, namespace: 'zod-locales' }, (args) => ({
      contents: `export { default as en } from ${JSON.stringify(args.path)};`,
      resolveDir: root,
      loader: 'js',
    }));
  },
};

/**
 * Hono's Node adapter is bundled (it is still evaluated only with the first HTTP request, src/http/server.ts):
 * imported as an outside ES module, Node's loader spent ~15-25 ms of that first request resolving and linking it.
 * It goes in without `node:http2`, which it imports only to test `instanceof Http2ServerRequest` and for one close
 * code (Hearth serves HTTP/1.1 from node:http), so no import of http2 (~2.4 MB with tls) can reach the start-up
 * path; Node's undici still loads http2 itself once the first request touches Request.
 */
const honoWithoutHttp2 = {
  name: 'hono-without-http2',
  setup(plugin) {
    plugin.onResolve({ filter: /^node:http2$/ }, (args) => {
      if (!/[\\/]node_modules[\\/]@hono[\\/]node-server[\\/]/.test(args.importer)) return undefined;
      return { path: 'node:http2', namespace: 'hearth-no-http2' };
    });
    plugin.onLoad({ filter: /.*/, namespace: 'hearth-no-http2' }, () => ({
      contents: 'export class Http2ServerRequest {}\nexport const constants = { NGHTTP2_NO_ERROR: 0 };\n',
      loader: 'js',
    }));
  },
};

/**
 * The web app (Hono, its Node adapter, the routes, the dashboard's pages) is a second file, dist/hearth-web.cjs,
 * which bin/hearth.js compiles (from its own V8 code cache) with the first HTTP request. V8 keeps a script's whole
 * source alive while any of its functions may still be compiled lazily: the web part out of dist/hearth.cjs is that
 * much less source held by an appliance nobody has looked at yet.
 *
 * One instance of every module: the web bundle contains only the files the main bundle does not. An import of any
 * file the main bundle has (the engine, stores, core/errors.js for instanceof, zod, ...) is left external as
 * `hearth-shared:<file>`, and the main bundle hands those modules' namespaces to the web bundle when it loads it
 * (`__hearthLazy("web", ...)`, bin/hearth.js). The build fails if a file ends up in both.
 *
 * The three import()s of the web part (WEB_ENTRIES) become, in the main bundle, a call of `__hearthLazy` with the
 * shared modules, which returns the web bundle's exports; still evaluated only when the first request runs them.
 */
const WEB_ENTRIES = [
  { name: 'httpApp', importer: `http${sep}dashboard${sep}compose.js`, specifier: './http-app.js' },
  { name: 'assets', importer: `http${sep}dashboard${sep}compose.js`, specifier: './assets.js' },
  { name: 'nodeServer', importer: `http${sep}server.js`, specifier: '@hono/node-server' },
];

/** A file's key in the shared table: its path under dist/ or under its node_modules (the same in both builds). */
const sharedKey = (file) => {
  const at = file.lastIndexOf(`node_modules${sep}`);
  return (at >= 0 ? file.slice(at) : file.startsWith(dist) ? file.slice(dist.length) : file).split(sep).join('/');
};

/** Main bundle: the web part's import()s call `__hearthLazy`; `shared` is the table of modules it hands over. */
const webStub = (shared) => ({
  name: 'hearth-web-stub',
  setup(plugin) {
    plugin.onResolve({ filter: /^(\.\/http-app\.js|\.\/assets\.js|@hono\/node-server)$/ }, (args) => {
      const entry = WEB_ENTRIES.find((e) => e.specifier === args.path && args.importer === dist + e.importer);
      return entry && args.kind === 'dynamic-import' ? { path: entry.name, namespace: 'hearth-web' } : undefined;
    });
    plugin.onLoad({ filter: /.*/, namespace: 'hearth-web' }, (args) => ({
      contents: `module.exports = __hearthLazy("web", () => require("hearth-web-shared").modules)[${JSON.stringify(args.path)}];\n`,
      resolveDir: root,
      loader: 'js',
    }));
    plugin.onResolve({ filter: /^hearth-web-shared$/ }, () => ({ path: 'shared', namespace: 'hearth-web-shared' }));
    plugin.onLoad({ filter: /.*/, namespace: 'hearth-web-shared' }, () => ({
      contents: [
        ...shared.map(({ file }, i) => `import * as m${i} from ${JSON.stringify(file)};`),
        `export const modules = {${shared.map(({ key }, i) => `${JSON.stringify(key)}: m${i}`).join(', ')}};`,
      ].join('\n'),
      resolveDir: root,
      loader: 'js',
    }));
  },
});

/**
 * The YAML parser (112 KB of the bundle) is a third file, dist/hearth-yaml.cjs, loaded the first time a YAML
 * function is called: a restart with an unchanged hearth.yaml reads the config tree cache and never parses YAML,
 * so an idle appliance does not hold it. Hearth's own files import these wrappers instead; a name not listed here
 * fails the build (esbuild: no matching export).
 */
const YAML_NAMES = ['LineCounter', 'isAlias', 'isMap', 'isScalar', 'isSeq', 'parse', 'parseDocument', 'visit'];
const lazyYaml = {
  name: 'hearth-lazy-yaml',
  setup(plugin) {
    plugin.onResolve({ filter: /^yaml$/ }, (args) => (args.importer.startsWith(dist) ? { path: 'yaml', namespace: 'hearth-lazy-yaml' } : undefined));
    plugin.onLoad({ filter: /.*/, namespace: 'hearth-lazy-yaml' }, () => ({
      contents: [
        'let yaml;',
        'const wrap = (name) => function (...args) {',
        '  const real = (yaml ??= __hearthLazy("yaml", () => ({})))[name];',
        '  return new.target ? Reflect.construct(real, args) : real.apply(this, args);',
        '};',
        ...YAML_NAMES.map((name) => `export const ${name} = wrap(${JSON.stringify(name)});`),
      ].join('\n'),
      resolveDir: root,
      loader: 'js',
    }));
  },
};

/** Web bundle: every file the main bundle has stays outside it, as `hearth-shared:<key>`; `used` collects them. */
const shareWithMain = (mainFiles, used) => ({
  name: 'hearth-share-with-main',
  setup(plugin) {
    plugin.onResolve({ filter: /.*/ }, async (args) => {
      if (args.pluginData?.sharing || args.namespace !== 'file' || args.path.startsWith('node:')) return undefined;
      const resolved = await plugin.resolve(args.path, { kind: args.kind, importer: args.importer, resolveDir: args.resolveDir, pluginData: { sharing: true } });
      if (resolved.errors.length > 0 || resolved.external || resolved.namespace !== 'file' || !mainFiles.has(resolved.path)) return undefined;
      const key = sharedKey(resolved.path);
      used.set(key, resolved.path);
      return { path: `hearth-shared:${key}`, external: true };
    });
  },
});

const common = {
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  absWorkingDir: root,
  // Native or heavy optional modules stay external and load from node_modules when needed.
  external: ['@lancedb/*', '@huggingface/*', 'onnxruntime-node', 'apache-arrow', 'systeminformation', 'playwright-core',
    // Vendor SDKs are loaded lazily by the jobs that use them.
    '@slack/*', '@googleapis/*', 'google-auth-library', '@elastic/*', 'nodemailer', 'postal-mime', 'html-to-text', 'sql.js'],
  // The sources are ES modules: import.meta.url is the bundle's own URL (a CommonJS script has no import.meta).
  define: { 'import.meta.url': '__hearthBundleUrl' },
  banner: { js: "var __hearthBundleUrl = require('node:url').pathToFileURL(__filename).href;" },
  legalComments: 'none',
  minify: true,
  // No keepNames: it wraps every function and class in a `name`-setting call at load (a few thousand at start, the
  // hottest code of a start), and those calls and their closures were ~1 MB of an idle appliance's RSS (53.0 -> 51.9 MB,
  // npm run bench -- idle). Nothing in Hearth reads a function's or class's name: errors set `name` themselves.
  keepNames: false,
  sourcemap: 'linked',
  logLevel: 'warning',
  metafile: true,
  write: false,
};
const mainOptions = (shared) => ({
  ...common,
  entryPoints: [resolve(root, 'dist/cli/entry.js')],
  outfile: BUNDLE,
  plugins: [webStub(shared), lazyYaml, ownSources, zodEnglishOnly, honoWithoutHttp2],
});
/** The files of a build's output (not the virtual modules of the plugins above), absolute. */
const inputFiles = (result) =>
  new Set(Object.keys(result.metafile.inputs).filter((input) => !/^[\w-]+:/.test(input)).map((input) => resolve(root, input)));

// 1. What the main bundle holds without the web part; 2. the web bundle, without those files; 3. the main bundle
// with the table of the files the web bundle imports from it (no new files: they are all in the main bundle already).
const mainFiles = inputFiles(await build(mainOptions([])));
const used = new Map();
const web = await build({
  ...common,
  stdin: {
    // Each specifier is relative to its importer's directory; the entry's imports are resolved from dist/.
    contents: WEB_ENTRIES.map(({ name, importer, specifier }) =>
      `export * as ${name} from ${JSON.stringify(specifier.startsWith('./') ? `./${dirname(importer).split(sep).join('/')}/${specifier.slice(2)}` : specifier)};`).join('\n'),
    resolveDir: dist,
    sourcefile: 'hearth-web-entry.js',
  },
  outfile: WEB_BUNDLE,
  plugins: [shareWithMain(mainFiles, used), ownSources, honoWithoutHttp2],
});
const yaml = await build({
  ...common,
  stdin: { contents: `export { ${YAML_NAMES.join(', ')} } from 'yaml';`, resolveDir: root, sourcefile: 'hearth-yaml-entry.js' },
  outfile: YAML_BUNDLE,
});
const shared = [...used].sort(([a], [b]) => a.localeCompare(b)).map(([key, file]) => ({ key, file }));
const main = await build(mainOptions(shared));
const both = [...inputFiles(web)].filter((file) => inputFiles(main).has(file));
if (both.length > 0) throw new Error(`in both bundles (two instances at run time): ${both.join(', ')}`);

for (const result of [main, web, yaml]) {
  for (const file of result.outputFiles) {
    if (!file.path.endsWith('.cjs')) continue;
    if (/(?<![\w$.])import\(/.test(file.text)) throw new Error(`${file.path}: an import() is left in the bundle; it would fail when compiled from the code cache`);
    // The guard for ownSources' ASCII rewrite: a non-ASCII character anywhere would double the source's memory.
    const wide = /[^\x00-\x7f]/.exec(file.text);
    if (wide) throw new Error(`${file.path} has a non-ASCII character at ${wide.index}: ${JSON.stringify(file.text.slice(Math.max(0, wide.index - 60), wide.index + 20))}`);
  }
}
if (process.env.HEARTH_BUNDLE_META) (await import("node:fs")).writeFileSync(process.env.HEARTH_BUNDLE_META, JSON.stringify(main.metafile));
await Promise.all([...main.outputFiles, ...web.outputFiles, ...yaml.outputFiles].map((file) => writeFile(file.path, file.contents)));
