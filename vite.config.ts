// Builds the browser library: dist/miya.js, an ES module exporting the public API (src/index.ts).
// MNIST digits are split into lazy chunks; Node-only modules are reached only behind runtime checks.
import { defineConfig } from 'vite';

export default defineConfig({
  build: {
    outDir: 'dist',
    emptyOutDir: false,
    target: 'es2022',
    lib: { entry: 'src/index.ts', formats: ['es'], fileName: () => 'miya.js' },
    rollupOptions: { external: [/^node:/, 'webgpu'] },
  },
});
