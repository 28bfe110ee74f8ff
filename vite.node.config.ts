// Builds the Node side: the `miya` CLI and the library entry, into dist/node/.
// Dependencies stay external (installed beside the package), except cli-progress, which only the
// CLI's progress bar uses: it is bundled into the CLI (with the little it requires) so that it is
// no dependency of the library.
// The MNIST digits are not bundled: src/data/mnistFile.ts reads dist/mnist-digits.bin.gz.
import { defineConfig } from 'vite';

export default defineConfig({
  build: {
    ssr: true,
    outDir: 'dist/node',
    emptyOutDir: true,
    target: 'node20',
    // the MIT notices of what is bundled into the CLI (cli-progress and what it requires)
    license: { fileName: 'THIRD-PARTY-LICENSES.md' },
    // for this checkout's stack traces; the package leaves them out (package.json "files")
    sourcemap: true,
    rollupOptions: {
      input: { cli: 'src/cli/run.ts', index: 'src/index.ts' },
      output: { format: 'es', entryFileNames: '[name].js', chunkFileNames: 'chunks/[name]-[hash].js' },
    },
  },
  // cli-progress and what it requires (tests/package.test.ts runs the CLI from a packed install)
  ssr: { noExternal: ['cli-progress', 'string-width', 'emoji-regex', 'is-fullwidth-code-point', 'strip-ansi', 'ansi-regex'] },
});
