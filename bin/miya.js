#!/usr/bin/env node
// The `miya` command: runs the built CLI (dist/node, written by `npm ci` / `npm run build`).
import { existsSync } from 'node:fs';

const cli = new URL('../dist/node/cli.js', import.meta.url);
if (!existsSync(cli)) {
  process.stderr.write('miya: dist/node/cli.js is missing: run `npm run build` (npm ci does it too)\n');
  process.exit(1);
}
await import(cli.href);
