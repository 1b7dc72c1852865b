#!/usr/bin/env node
// Production entry point: runs the compiled CLI bundle from dist/ so start-up never
// pays for TypeScript compilation, compiled from a V8 code cache when one fits.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setFlagsFromString } from 'node:v8';
import vm from 'node:vm';

// The appliance keeps V8's young generation at its initial size (1 MB semi-spaces) instead of letting it grow to
// 16 MB semi-spaces under the allocation burst of start-up (parsing 1,000 jobs), which V8 then never gives back:
// with 1,000 jobs RSS settles ~30 MB lower for ~10% more start-up CPU (npm run bench -- idle startup).
// An unknown flag is ignored, so a future V8 without it only loses the saving.
const starting = process.argv[2] === 'start';
if (starting) setFlagsFromString('--semi-space-growth-factor=1');
// Once started (src/main.ts calls this after "hearth started"), V8 grows the old generation to 1.2× what a full GC
// left live instead of up to ~2.2×: at 1,000 jobs and 100k runs an hour of dashboard use let it reach 80 MB over
// 36 MB live before collecting (and committed pages stay resident); with 1.2× it stays under ~50 MB for ~1 s more
// GC in that hour (npm run bench -- history hour). Not during start-up: parsing 1,000 jobs would pay ~150 ms of GC.
// V8 checks a code cache against the flags it was made under: a cache this start writes is made first.
let cacheMade = Promise.resolve();
if (starting) globalThis[Symbol.for('hearth.afterStart')] = () => void cacheMade.then(() => setFlagsFromString('--heap-growing-percent=20'));

const bundle = fileURLToPath(new URL('../dist/hearth.cjs', import.meta.url));
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
process.exitCode = await hearth.main(process.argv.slice(2));

/**
 * Compiles and runs the bundle; returns its exports. In a function so the source text and the cache's bytes
 * (~1.3 MB each) are not kept for the life of the process; the script itself is kept only until it writes a cache.
 */
function loadBundle() {
  const source = readFileSync(bundle, 'utf8');
  // Only `hearth start` uses it: it runs with its own V8 flag (above), and V8 rejects a cache made under other flags.
  const setting = process.env.HEARTH_CODE_CACHE;
  const cacheDir = !starting || setting === 'off' ? undefined : setting || cacheHome();
  const cacheFile = cacheDir && join(cacheDir, 'code-cache.bin');
  const key = cacheFile && `hearth-code-cache 1 ${process.version} ${process.arch} ${createHash('sha256').update(source).digest('hex')}`;
  const cachedData = cacheFile && readCache(cacheFile, key);
  let script = new vm.Script(`(function (exports, require, module, __filename, __dirname, __hearthImport) {${source}\n})`, {
    filename: bundle,
    ...(cachedData && { cachedData }),
  });
  // How this start compiled, for the "hearth started" log line: off, missing, rejected (rebuilt) or used.
  globalThis[Symbol.for('hearth.codeCache')] = !cacheFile ? 'off' : !cachedData ? 'missing' : script.cachedDataRejected ? 'rejected' : 'used';
  const module = { exports: {} };
  // The bundle's import() of what it does not contain (LanceDB, vendor SDKs, node: modules, `module` actions) comes
  // here (scripts/bundle.mjs): from this ES module, bare names resolve from the same node_modules.
  script.runInThisContext()(module.exports, createRequire(bundle), module, bundle, dirname(bundle), (specifier) => import(specifier));
  const exported = module.exports;
  if (cacheFile && (!cachedData || script.cachedDataRejected)) {
    // Late enough that start-up's functions are compiled, early enough that V8 has not flushed them.
    let made;
    cacheMade = new Promise((resolve) => (made = resolve));
    setTimeout(() => {
      const data = script.createCachedData();
      script = undefined;
      made();
      exported.saveCodeCache(cacheFile, key, data).catch((error) => {
        process.stderr.write(`hearth: cannot write the code cache ${cacheFile}: ${error.message}\n`);
      });
    }, 3_000).unref();
  }
  return exported;
}

function cacheHome() {
  const base = process.env.XDG_CACHE_HOME || (homedir() && join(homedir(), '.cache'));
  return base ? join(base, 'hearth') : undefined;
}

/** The cache's data if it was written for this key, else undefined. */
function readCache(file, expected) {
  let data;
  try {
    data = readFileSync(file);
  } catch {
    return undefined;
  }
  const newline = data.indexOf(10);
  return newline > 0 && data.toString('utf8', 0, newline) === expected ? data.subarray(newline + 1) : undefined;
}
