// One-file ESM build of the benchmark (TF.js included, only Dawn's 'webgpu' left external) for
// a GPU machine without node_modules: see ../shared/gpu/pack.sh and bench/RESULTS.md.
import { defineConfig } from 'vite';

export default defineConfig({
  build: {
    ssr: 'bench/entry.ts',
    outDir: 'dist/gpu',
    emptyOutDir: true,
    target: 'node20',
    rollupOptions: {
      output: {
        entryFileNames: 'bench.mjs',
        inlineDynamicImports: true,
      },
    },
  },
  ssr: { noExternal: true, external: ['webgpu'] },
});
