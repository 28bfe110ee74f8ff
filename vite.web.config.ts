// Builds the playground (web/) into dist/web/, with relative paths so that it can be served from
// any folder; `npx vite web` serves it for development.
import { defineConfig } from 'vite';

export default defineConfig({
  root: 'web',
  base: './',
  build: { outDir: '../dist/web', emptyOutDir: true, target: 'es2022' },
});
