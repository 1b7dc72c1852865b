#!/usr/bin/env node
// Production entry point: runs the compiled CLI bundle from dist/ so start-up never
// pays for TypeScript compilation, compiled from a V8 code cache when one fits.
// CommonJS (bin/package.json): an ES module entry point loads Node's ES module loader at every start, ~3 MB of RSS
// (~15 built-in modules) that an idle appliance does not otherwise need; import() still works from here.
'use strict';
const { createHash } = require('node:crypto');
const { closeSync, existsSync, fstatSync, openSync, readFileSync, readSync } = require('node:fs');
const { createRequire } = require('node:module');
const { homedir } = require('node:os');
const { dirname, join } = require('node:path');
const { setFlagsFromString } = require('node:v8');
const vm = require('node:vm');

// The appliance keeps V8's young generation at its initial size (1 MB semi-spaces) instead of letting it grow to
// 16 MB semi-spaces under the allocation burst of start-up (parsing 1,000 jobs), which V8 then never gives back:
// with 1,000 jobs RSS settles ~30 MB lower for ~10% more start-up CPU (npm run bench -- idle startup).
// An unknown flag is ignored, so a future V8 without it only loses the saving.
const starting = process.argv[2] === 'start';

/**
 * The V8 flags this file sets, and V8's defaults for them (Node 20, `node --v8-options`). V8 checks a code cache
 * against a hash of every flag that is not at its default, Node's own built-in modules' cache (in the node binary)
 * too: with one of these set, a built-in module loaded later is compiled from its source. Node's undici (global
 * Headers, Request, Response; the web app's first request) then cost ~46 instead of ~21 ms of CPU (x64, min of 6).
 * `withDefaultFlags` loads such a module with the defaults back for the moment. A default that a future V8 changes
 * only loses that saving.
 */
const V8_DEFAULTS = { 'semi-space-growth-factor': 2, 'heap-growing-percent': 0, 'interrupt-budget': 67_584 };
const flagsSet = new Map();
function setFlag(name, value) {
  setFlagsFromString(`--${name}=${value}`);
  flagsSet.set(name, value);
}
function withDefaultFlags(load) {
  for (const name of flagsSet.keys()) setFlagsFromString(`--${name}=${V8_DEFAULTS[name]}`);
  try {
    return load();
  } finally {
    for (const [name, value] of flagsSet) setFlagsFromString(`--${name}=${value}`);
  }
}

/**
 * The built-in modules `hearth start` loads anyway (its process.moduleLoadList at idle: the run store's files, the
 * pool's processes, the HTTP socket, its listen, the event-loop monitor), loaded before the flags below are set, so
 * from the node binary's code cache: ~10 ms less CPU a start (x64, min of 6; compiled from source otherwise).
 */
if (starting) for (const name of ['fs/promises', 'child_process', 'http', 'perf_hooks', 'dns', 'cluster']) require(`node:${name}`);

if (starting) setFlag('semi-space-growth-factor', 1);
// Once started (src/main.ts calls this after "hearth started"), V8 grows the old generation to 1.2× what a full GC
// left live instead of up to ~2.2×: at 1,000 jobs and 100k runs an hour of dashboard use let it reach 80 MB over
// 36 MB live before collecting (and committed pages stay resident); with 1.2× it stays under ~50 MB for ~1 s more
// GC in that hour (npm run bench -- history hour). Not during start-up: parsing 1,000 jobs would pay ~150 ms of GC.
// V8 checks a code cache against the flags it was made under: a cache this start writes is made first.
let cacheMade = Promise.resolve();
if (starting) globalThis[Symbol.for('hearth.afterStart')] = () => void cacheMade.then(() => setFlag('heap-growing-percent', 20));

/**
 * TurboFan, V8's optimizing compiler, only for code that is really hot. With V8's default interrupt budget (how much
 * bytecode a function runs before V8 considers tiering it up) a start tiered up two bundle functions (esbuild's
 * keepNames helper and zod's schema constructor, called a few thousand times at import) and the first housekeeping
 * pass a minute later five more (the event-id ledger's prune walks 400 days of hourly buckets): enough to page in
 * the optimizing compiler (~3.5 MB of the node binary) and to give its background thread a malloc arena, all of
 * which stays resident for the life of an appliance that is otherwise idle. `hearth start` runs with a 15x budget:
 * idle RSS with ten jobs 60 -> 56 MB, a 1,000-job start ~30 ms less CPU (npm run bench -- idle); code that is hot
 * in service (runs, page renders) still reaches TurboFan after a few ms more of work. Set before the bundle is
 * compiled: V8 keys its code cache by the flags. A --interrupt-budget given to node itself is left as it is.
 */
if (starting && !process.execArgv.some((arg) => arg.startsWith('--interrupt-budget'))) setFlag('interrupt-budget', 1_013_760);

const bundle = join(__dirname, '..', 'dist', 'hearth.cjs');
if (!existsSync(bundle)) {
  process.stderr.write('hearth: dist/ is missing; run `npm run build` (or `npm install`) first\n');
  process.exit(1);
}

// The code cache: V8's compiled bytecode of the bundle, written a few seconds after `hearth start` (so it holds the
// functions start-up ran) and read by every later start; compiling the 1.2 MB bundle and the functions start-up
// calls is ~75 ms of CPU otherwise (npm run bench -- idle startup). V8 checks its version, flags and the source's
// length; the key adds the bundle's content, Node and the architecture. HEARTH_CODE_CACHE=off disables it;
// HEARTH_CODE_CACHE=<dir> moves it (default $XDG_CACHE_HOME/hearth or ~/.cache/hearth: the data dir under systemd).
const hearth = loadBundle();
hearth.main(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});

/**
 * Compiles and runs the bundle; returns its exports. In a function so the source text and the cache's bytes
 * (~1 MB each) are not kept for the life of the process; the script itself is kept only until it writes a cache.
 */
function loadBundle() {
  const module = { exports: {} };
  const requireHere = createRequire(bundle);
  const loaded = new Map();
  // The bundle's import() of what it does not contain (LanceDB, vendor SDKs, node: modules, `module` actions) comes
  // here (scripts/bundle.mjs): from this file, bare names resolve from the same node_modules.
  const importHere = (specifier) => import(specifier);
  // The bundles loaded when first needed (scripts/bundle.mjs): dist/hearth-web.cjs (the web app, with the first HTTP
  // request) and dist/hearth-yaml.cjs (the YAML parser, with the first parse). `shared()` gives the main bundle's
  // modules one imports (one instance of each: its `hearth-shared:` requires are answered from them).
  const loadLazy = (name, shared) => {
    if (loaded.has(name)) return loaded.get(name);
    const file = join(__dirname, '..', 'dist', `hearth-${name}.cjs`);
    const table = shared();
    const requireShared = (id) => {
      if (!id.startsWith('hearth-shared:')) return requireHere(id);
      const found = table[id.slice('hearth-shared:'.length)];
      if (!found) throw new Error(`${file} imports ${id}, which dist/hearth.cjs does not hand over: rebuild with npm run build`);
      return found;
    };
    // Node's undici, which the web app needs at once (@hono/node-server extends Request and Response at import, and
    // Hono's Context makes a Headers for every answer), from the node binary's code cache (withDefaultFlags above).
    if (name === 'web') withDefaultFlags(() => globalThis.Headers);
    const side = { exports: {} };
    compileAndRun(file, `code-cache-${name}.bin`, `hearth.${name}CodeCache`, (run) => run(side.exports, requireShared, side, file, dirname(file), importHere), () => module.exports);
    loaded.set(name, side.exports);
    return side.exports;
  };
  compileAndRun(bundle, 'code-cache.bin', 'hearth.codeCache', (run) => run(module.exports, requireHere, module, bundle, dirname(bundle), importHere, loadLazy), () => module.exports);
  return module.exports;
}

/**
 * Compiles `file` (from the code cache `cacheName` when its key fits), runs it with `run`, and writes the cache a
 * few seconds later if it was missing or rejected; the state (off, missing, rejected or used) goes to
 * globalThis[Symbol.for(`state`)] for the log. `hearth()` gives the main bundle's exports (saveCodeCache).
 */
function compileAndRun(file, cacheName, state, run, hearth) {
  // The bundle is ASCII (scripts/bundle.mjs checks): its bytes are its text, hashed as they are.
  const bytes = readOutsideMalloc(file);
  const source = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString('latin1');
  // Only `hearth start` uses it: it runs with its own V8 flag (above), and V8 rejects a cache made under other flags.
  const setting = process.env.HEARTH_CODE_CACHE;
  const cacheDir = !starting || setting === 'off' ? undefined : setting || cacheHome();
  const cacheFile = cacheDir && join(cacheDir, cacheName);
  const key = cacheFile && `hearth-code-cache 1 ${process.version} ${process.arch} ${createHash('sha256').update(bytes).digest('hex')}`;
  const cachedData = cacheFile && readCache(cacheFile, key);
  let script = new vm.Script(`(function (exports, require, module, __filename, __dirname, __hearthImport, __hearthLazy) {${source}\n})`, {
    filename: file,
    ...(cachedData && { cachedData }),
  });
  globalThis[Symbol.for(state)] = !cacheFile ? 'off' : !cachedData ? 'missing' : script.cachedDataRejected ? 'rejected' : 'used';
  run(script.runInThisContext());
  if (cacheFile && (!cachedData || script.cachedDataRejected)) {
    // Late enough that start-up's (or the first request's) functions are compiled, early enough that V8 has not
    // flushed them.
    let made;
    const done = new Promise((resolve) => (made = resolve));
    // A cache made once the heap flag is set (afterStart) would not fit a load before it: wait for all of them.
    cacheMade = Promise.all([cacheMade, done]);
    setTimeout(() => {
      const data = script.createCachedData();
      script = undefined;
      made();
      hearth().saveCodeCache(cacheFile, key, data).catch((error) => {
        process.stderr.write(`hearth: cannot write the code cache ${cacheFile}: ${error.message}\n`);
      });
    }, 3_000).unref();
  }
}

function cacheHome() {
  const base = process.env.XDG_CACHE_HOME || (homedir() && join(homedir(), '.cache'));
  return base ? join(base, 'hearth') : undefined;
}

/** The cache's data if it was written for this key, else undefined. */
function readCache(file, expected) {
  let data;
  try {
    const bytes = readOutsideMalloc(file);
    data = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
  } catch {
    return undefined;
  }
  const newline = data.indexOf(10);
  if (newline <= 0 || data.toString('utf8', 0, newline) !== expected) return undefined;
  // V8 copies cached data that does not start 8-byte aligned (a malloc block of its size): moved to a boundary.
  const start = data.byteOffset + newline + 1;
  const aligned = Math.ceil(start / 8) * 8;
  const length = data.length - newline - 1;
  if (aligned + length > data.buffer.byteLength) return data.subarray(newline + 1);
  new Uint8Array(data.buffer).copyWithin(aligned, start, start + length);
  return Buffer.from(data.buffer, aligned, length);
}

/**
 * A file's bytes in memory that is not malloc's: a WebAssembly.Memory, which V8 maps and unmaps itself. The bundle
 * (~1 MB), its code cache (~1.2 MB) and hashing the bundle's text (a 3 MB UTF-8 buffer) were malloc blocks large
 * enough for glibc to mmap and, once freed, to raise its mmap threshold to their size for the rest of the process
 * (and its trim threshold to twice that): every later block below ~3 MB then came from the main heap, which kept
 * ~2 MB more resident at idle (what MALLOC_MMAP_THRESHOLD_ in the systemd unit also prevents; npm run bench -- idle).
 * Falls back to readFileSync where such a memory cannot be had.
 */
function readOutsideMalloc(file) {
  const fd = openSync(file, 'r');
  try {
    const size = fstatSync(fd).size;
    let bytes;
    try {
      // 8 bytes to spare: readCache aligns the code cache within them.
      bytes = new Uint8Array(new WebAssembly.Memory({ initial: Math.ceil((size + 8) / 65_536) }).buffer, 0, size);
    } catch {
      return readFileSync(fd);
    }
    let read = 0;
    while (read < size) {
      const count = readSync(fd, bytes, read, size - read, read);
      if (count === 0) break;
      read += count;
    }
    return bytes.subarray(0, read);
  } finally {
    closeSync(fd);
  }
}
