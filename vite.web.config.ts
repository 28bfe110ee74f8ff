// Builds the playground (web/) into dist/web/, with relative paths so that it can be served from
// any folder; `npx vite web` serves it for development. It bundles Miya's sources itself, so it
// takes the browser twins (tools/browserTwins.ts) in the page and in its workers, and carries its
// own copy of the MNIST digits beside its chunks (dist/web is not part of the package).
import { defineConfig } from 'vite';
import { browserTwins } from './tools/browserTwins.js';
import { mnistDigits } from './tools/mnistDigits.js';

export default defineConfig({
  root: 'web',
  base: './',
  plugins: [browserTwins(), mnistDigits('assets/mnist-digits.bin.gz')],
  worker: { format: 'es', plugins: () => [browserTwins()] },
  build: { outDir: '../dist/web', emptyOutDir: true, target: 'es2022' },
});
