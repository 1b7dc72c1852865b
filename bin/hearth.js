#!/usr/bin/env node
// Production entry point: runs the compiled CLI from dist/ so start-up never
// pays for TypeScript compilation. `npm install` builds dist/ (prepare script).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const entry = new URL('../dist/hearth.mjs', import.meta.url);
if (!existsSync(fileURLToPath(entry))) {
  process.stderr.write('hearth: dist/ is missing; run `npm run build` (or `npm install`) first\n');
  process.exit(1);
}
await import(entry.href);
