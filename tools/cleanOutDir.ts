// The browser library build writes into dist/ beside dist/node, dist/web and dist/types, so Vite
// may not empty the folder; this plugin removes the files (not folders) at the top of it that the
// build just written does not hold, so that no stale chunk is packed or served. It runs after the
// new files are written: a test reading dist/ meanwhile never finds miya.js or the digits missing.
import { type Dirent, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Plugin } from 'vite';

export function cleanOutDirFiles(outDir: string): Plugin {
  return {
    name: 'miya-clean-out-dir-files',
    apply: 'build',
    writeBundle(_options, bundle) {
      let entries: Dirent[] = [];
      try {
        entries = readdirSync(outDir, { withFileTypes: true });
      } catch {
        return;
      }
      for (const e of entries) if (e.isFile() && !(e.name in bundle)) rmSync(join(outDir, e.name), { force: true });
    },
  };
}
