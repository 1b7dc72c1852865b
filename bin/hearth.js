#!/usr/bin/env node
// Production entry point: runs the compiled CLI from dist/ so start-up never
// pays for TypeScript compilation. `npm install` builds dist/ (prepare script).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { setFlagsFromString } from 'node:v8';

// The appliance keeps V8's young generation at its initial size (1 MB semi-spaces) instead of letting it grow to
// 16 MB semi-spaces under the allocation burst of start-up (parsing 1,000 jobs), which V8 then never gives back:
// with 1,000 jobs RSS settles ~30 MB lower for ~10% more start-up CPU (npm run bench -- idle startup).
// An unknown flag is ignored, so a future V8 without it only loses the saving.
if (process.argv[2] === 'start') setFlagsFromString('--semi-space-growth-factor=1');

const entry = new URL('../dist/hearth.mjs', import.meta.url);
if (!existsSync(fileURLToPath(entry))) {
  process.stderr.write('hearth: dist/ is missing; run `npm run build` (or `npm install`) first\n');
  process.exit(1);
}
await import(entry.href);
