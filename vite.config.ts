// Builds the browser library: dist/miya.js, an ES module exporting the public API (src/index.ts),
// and beside it dist/miya-worker.js, the module worker that runInWorker starts (found at run time
// as new URL('./miya-worker.js', import.meta.url)). Both entries share their code through common
// chunks, so the worker adds little besides its own entry. Node-only files are replaced by their
// `.browser.ts` twins, and the build stops if a Node module or `webgpu` is still reached
// (tools/browserTwins.ts): the output names neither, so any bundler takes it as it is.
// The MNIST digits are one file beside the chunks, dist/mnist-digits.bin.gz, fetched on demand.
import { defineConfig } from 'vite';
import { browserTwins } from './tools/browserTwins.js';
import { cleanOutDirFiles } from './tools/cleanOutDir.js';
import { mnistDigits } from './tools/mnistDigits.js';

export default defineConfig({
  plugins: [browserTwins(), cleanOutDirFiles('dist'), mnistDigits()],
  build: {
    outDir: 'dist',
    // dist/node, dist/web and dist/types are other builds': only this build's files are cleaned
    emptyOutDir: false,
    target: 'es2022',
    // the MIT notices of what is bundled (papaparse, pure-rand, wgsl-preprocessor), shipped beside it
    license: { fileName: 'THIRD-PARTY-LICENSES.md' },
    lib: { entry: { miya: 'src/index.ts', 'miya-worker': 'src/worker/entry.ts' }, formats: ['es'], fileName: (_format, name) => `${name}.js` },
  },
});
