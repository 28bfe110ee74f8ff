// Node: the MNIST digits file (dist/mnist-digits.bin.gz, tools/mnistDigits.ts) read from the
// package. This module sits in dist/node/chunks/ when built and in src/data/ in this checkout, so
// the file is looked for in the folders above it, as `<folder>/mnist-digits.bin.gz` or
// `<folder>/dist/mnist-digits.bin.gz`. The browser build uses mnistFile.browser.ts.
import { readFile } from 'node:fs/promises';
import { RunError } from '../errors.js';

export const MNIST_FILE = 'mnist-digits.bin.gz';

export async function mnistFileBytes(): Promise<Uint8Array> {
  const tried: string[] = [];
  for (let up = './'; up.length <= 12; up += '../') {
    for (const rel of [up + MNIST_FILE, up + 'dist/' + MNIST_FILE]) {
      const url = new URL(rel, import.meta.url);
      try {
        return new Uint8Array(await readFile(url));
      } catch (e) {
        if ((e as { code?: string }).code !== 'ENOENT') throw new RunError(`MNIST: ${url.pathname}: ${(e as Error).message}`);
        tried.push(url.pathname);
      }
    }
  }
  throw new RunError(`MNIST: the digits file ${MNIST_FILE} is missing (looked for ${tried.join(', ')}); run npm run build`);
}
