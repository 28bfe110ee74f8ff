// Builds what the tests run as a user would (dist/node for the CLI, dist/miya.js and dist/web for
// the browser tests, dist/types for the package's consumers) once, before any test file starts, so
// that no two files build at once. A lock
// directory keeps two vitest processes on one checkout (e.g. two files run by hand at once) from
// building into the same dist/ together.
import { spawnSync } from 'node:child_process';
import { mkdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { build } from 'vite';

const root = join(import.meta.dirname, '..');
const LOCK = join(root, 'dist', '.build-lock');

export async function locked<T>(run: () => Promise<T>): Promise<T> {
  mkdirSync(join(LOCK, '..'), { recursive: true });
  for (;;) {
    try {
      mkdirSync(LOCK);
      break;
    } catch {
      // a lock older than 5 minutes was left by a killed build
      try {
        if (Date.now() - statSync(LOCK).mtimeMs > 300_000) rmSync(LOCK, { recursive: true, force: true });
      } catch {
        /* gone */
      }
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  try {
    return await run();
  } finally {
    rmSync(LOCK, { recursive: true, force: true });
  }
}

export default async function setup(): Promise<void> {
  await locked(async () => {
    for (const configFile of ['vite.node.config.ts', 'vite.config.ts', 'vite.web.config.ts']) {
      await build({ configFile, logLevel: 'error' });
    }
    // the declarations are emitted even while a file does not type-check (tsc --noEmit is the check)
    rmSync(join(root, 'dist', 'types'), { recursive: true, force: true });
    spawnSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', join(root, 'tsconfig.build.json')], { cwd: root, stdio: 'ignore' });
  });
}
