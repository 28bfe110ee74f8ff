// Builds the browser library: dist/miya.js, an ES module exporting the public API (src/index.ts),
// and beside it dist/miya-worker.js, the module worker that runInWorker starts (found at run time
// as new URL('./miya-worker.js', import.meta.url)). Both entries share their code through common
// chunks, so the worker adds little besides its own entry (2.7 kB; miya.js 39 kB and the shared
// chunk 111 kB) and the MNIST digits are not built twice.
// MNIST digits are split into lazy chunks; Node-only modules are reached only behind runtime checks.
import { defineConfig } from 'vite';

export default defineConfig({
  build: {
    outDir: 'dist',
    emptyOutDir: false,
    target: 'es2022',
    lib: { entry: { miya: 'src/index.ts', 'miya-worker': 'src/worker/entry.ts' }, formats: ['es'], fileName: (_format, name) => `${name}.js` },
    rollupOptions: { external: [/^node:/, 'webgpu'] },
  },
});
