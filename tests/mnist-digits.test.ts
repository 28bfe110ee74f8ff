// The MNIST digits Miya ships (dist/mnist-digits.bin.gz, one file made by tools/mnistDigits.ts)
// decode to exactly the samples of the `mnist` package's JSON, in its order: read here straight
// from the JSON files, a path that shares no code with the encoder or the decoder.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { expect, test } from 'vitest';
import { mnistSamples } from '../src/data/mnist.js';

test("the shipped digits are the mnist package's 10,000 samples, every pixel and label equal", async () => {
  const require = createRequire(import.meta.url);
  const { pixels, labels } = await mnistSamples();
  let k = 0,
    mismatched = 0;
  for (let d = 0; d < 10; d++) {
    const data = (JSON.parse(readFileSync(require.resolve(`mnist/src/digits/${d}.json`), 'utf8')) as { data: number[] }).data;
    for (let s = 0; s + 784 <= data.length; s += 784, k++) {
      if (labels[k] !== d) mismatched++;
      for (let i = 0; i < 784; i++) if (pixels[k * 784 + i] !== data[s + i]) mismatched++;
    }
  }
  expect(k).toBe(10000);
  expect(labels.length).toBe(k);
  expect(mismatched).toBe(0);
});
