// A Vite plugin for the browser builds (the library's dist/miya.js and the playground): a source
// file with a `.browser.ts` twin beside it (src/webgpu/nodeGpu.ts → nodeGpu.browser.ts) is
// replaced by the twin, and an import of a Node module or of the `webgpu` package that is still
// reached from Miya's sources stops the build, naming the importer, so that the browser build bundles in esbuild,
// Vite, Rollup and webpack without special comments (ARCHITECTURE.md, "Builds").
import { existsSync } from 'node:fs';
import { builtinModules } from 'node:module';
import type { Plugin } from 'vite';

const NODE_ONLY = new Set(['webgpu', ...builtinModules]);

export function browserTwins(): Plugin {
  return {
    name: 'miya-browser-twins',
    enforce: 'pre',
    async resolveId(source, importer, options) {
      // a dependency's own guarded Node imports (TF.js's, in the playground) are Vite's to stub
      if ((source.startsWith('node:') || NODE_ONLY.has(source)) && !importer?.includes('/node_modules/')) {
        this.error(
          `browser build: ${importer ?? 'an entry'} imports '${source}', a Node-only module; give the importing file a .browser.ts twin (ARCHITECTURE.md, "Builds")`,
        );
      }
      const resolved = await this.resolve(source, importer, { ...options, skipSelf: true });
      if (!resolved || resolved.external || !resolved.id.endsWith('.ts') || resolved.id.endsWith('.browser.ts')) return resolved;
      const twin = resolved.id.replace(/\.ts$/, '.browser.ts');
      return existsSync(twin) ? twin : resolved;
    },
  };
}
