// Held-out samples of CSV data (data.test: the last N, as TF.js's validationSplit takes the last
// ones): trained on the rest, evaluated on them; accuracy only where the targets are one-hot classes.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, test } from 'vitest';
import { CpuBackend } from '../src/cpu/backend.js';
import { loadDataset } from '../src/data/load.js';
import { SpecError } from '../src/errors.js';
import { validateSpec } from '../src/spec/validate.js';
import { predict } from '../src/train/predict.js';
import { runSpec } from '../src/train/runSpec.js';
import { type Evaluation, oneHot } from '../src/train/trainer.js';
import { backendCases, describeBackends } from './backends.js';

const root = join(import.meta.dirname, '..');
const dir = mkdtempSync(join(tmpdir(), 'miya-holdout-'));
const rows = Array.from({ length: 30 }, (_v, i) => [Math.sin(i), Math.cos(2 * i)]);
const csv = join(dir, 'points.csv');
writeFileSync(
  csv,
  [
    'a,b,y,low,high',
    ...rows.map(([a, b]) => {
      const y = 0.5 * a - 0.25 * b;
      return [a, b, y, +(y < 0), +(y >= 0)].join(',');
    }),
  ].join('\n') + '\n',
);
const regression = {
  model: {
    type: 'mlp',
    inputSize: 2,
    layers: [
      { units: 6, activation: 'tanh' },
      { units: 1, activation: 'identity' },
    ],
  },
  loss: 'mse',
  optimizer: { type: 'adam', lr: 0.05 },
  data: { csv, inputs: ['a', 'b'], targets: ['y'], test: 8 },
  batchSize: 11,
  epochs: 3,
  seed: 4,
};
const classes = {
  ...regression,
  model: {
    type: 'mlp',
    inputSize: 2,
    layers: [
      { units: 6, activation: 'tanh' },
      { units: 2, activation: 'softmax' },
    ],
  },
  loss: 'crossEntropy',
  data: { csv, inputs: ['a', 'b'], targets: ['low', 'high'], test: 8 },
};

test('the last data.test samples are held out, the rest trained on', async () => {
  const d = await loadDataset(validateSpec(regression));
  expect([d.train.n, d.test?.n]).toEqual([22, 8]);
  expect(Array.from(d.test!.x.subarray(0, 2))).toEqual(rows[22]);
  expect(Array.from(d.train.x.subarray(42, 44))).toEqual(rows[21]);
  await expect(loadDataset(validateSpec({ ...regression, data: { ...regression.data, test: 30 } }))).rejects.toThrow(SpecError);
  await expect(loadDataset(validateSpec({ ...regression, data: { ...regression.data, test: 30 } }))).rejects.toThrow(
    `data.test: expected fewer than the 30 samples of ${csv} (some must be left to train on), got 30`,
  );
  expect(() => validateSpec({ ...regression, data: { ...regression.data, test: 0 } })).toThrow('data.test: expected an integer ≥ 1, got 0');
});

test('accuracy is for one-hot classes only', () => {
  expect(oneHot([0, 1, 1, 0], 2)).toBe(true);
  expect(oneHot([0.5, 0.5], 2)).toBe(false);
  expect(oneHot([1, 1], 2)).toBe(false);
  expect(oneHot([1, 0.25], 1)).toBe(false);
});

describeBackends(await backendCases(), 'on %s', (name, be) => {
  test("regression: the held-out loss is the trained model's mse on the last samples, and there is no accuracy", async () => {
    const r = await runSpec(regression, { backend: be });
    expect(r.losses).toHaveLength(6); // 22 samples in batches of 11, 3 epochs
    expect(r.test).toEqual({ loss: expect.any(Number), samples: 8 });
    const layers = (r.params as { layers: { weights: number[][]; bias: number[] }[] }).layers;
    const params = Float64Array.from(layers.flatMap((l) => [...l.weights.flat(), ...l.bias]));
    const yhat = await predict(new CpuBackend(), validateSpec(regression), { n: 8, steps: 1, x: Float64Array.from(rows.slice(22).flat()) }, params);
    const mse = Array.from(yhat).reduce((s, v, i) => s + (v - (0.5 * rows[22 + i][0] - 0.25 * rows[22 + i][1])) ** 2, 0) / 8;
    expect(Math.abs(r.test!.loss - mse)).toBeLessThanOrEqual((name === 'cpu' ? 1e-12 : 1e-5) * mse + 1e-9);
  });

  test('classes: the held-out loss and accuracy', async () => {
    const r = await runSpec(classes, { backend: be });
    expect(r.test).toEqual({ loss: expect.any(Number), accuracy: expect.any(Number), samples: 8 });
    // against the trained model's own predictions for the 8 held-out rows, computed apart: the
    // share whose larger output is the row's class, and the mean cross-entropy of the softmax
    const layers = (r.params as { layers: { weights: number[][]; bias: number[] }[] }).layers;
    const params = Float64Array.from(layers.flatMap((l) => [...l.weights.flat(), ...l.bias]));
    const p = await predict(new CpuBackend(), validateSpec(classes), { n: 8, steps: 1, x: Float64Array.from(rows.slice(22).flat()) }, params);
    let right = 0,
      ce = 0;
    rows.slice(22).forEach(([a, b], i) => {
      const high = 0.5 * a - 0.25 * b >= 0 ? 1 : 0;
      if ((p[2 * i + 1] > p[2 * i] ? 1 : 0) === high) right++;
      ce -= Math.log(p[2 * i + high]);
    });
    expect(r.test!.accuracy).toBe(right / 8);
    expect(Math.abs(r.test!.loss - ce / 8)).toBeLessThanOrEqual((name === 'cpu' ? 1e-12 : 1e-5) * (ce / 8) + 1e-9);
  });

  test("an RNN's held-out set of 600 (evaluated in batches of 512 and 88): one number, in training and after, that a sample-by-sample forward pass gives", async () => {
    const progress: (Evaluation | undefined)[] = [];
    const r = await runSpec(windows, { backend: be, onProgress: (p) => progress.push(p.test) });
    const last = progress[progress.length - 1]!;
    // the last epoch's evaluation and the evaluation after training read the same parameters
    expect(r.test).toEqual(last);
    const want = forwardEachWindow(r.params as RnnParams);
    const tol = name === 'cpu' ? 1e-12 : 1e-5;
    expect(Math.abs(r.test!.loss - want.loss)).toBeLessThanOrEqual(tol * want.loss);
    if (name === 'cpu') expect(r.test!.accuracy).toBe(want.accuracy);
    else expect(Math.abs(r.test!.accuracy! - want.accuracy)).toBeLessThanOrEqual(2 / 600); // float32 near-ties
  });
});

// Windows of 3 rows of (a, b) with the class of the row after each (one-hot c0..c2): 697 windows,
// the last 600 held out, so the held-out set is evaluated as a batch of 512 and a short one of 88;
// a window of 3 steps lets a stale initial state show in the result.
const seqRows = Array.from({ length: 700 }, (_v, i) => [Math.sin(0.7 * i), Math.cos(1.3 * i)]);
const seqClass = (a: number, b: number) => (a + b > 0.5 ? 0 : a - b > 0 ? 1 : 2);
const seqCsv = join(dir, 'sequence.csv');
writeFileSync(seqCsv, ['a,b,c0,c1,c2', ...seqRows.map(([a, b]) => [a, b, ...[0, 1, 2].map((c) => +(seqClass(a, b) === c))].join(','))].join('\n') + '\n');
const windows = {
  model: { type: 'rnn', inputSize: 2, hiddenSize: 6, outputSize: 3, activation: 'tanh', outputActivation: 'softmax' },
  loss: 'crossEntropy',
  optimizer: { type: 'adam', lr: 0.05 },
  data: { csv: seqCsv, inputs: ['a', 'b'], targets: ['c0', 'c1', 'c2'], window: 3, test: 600 },
  batchSize: 40,
  epochs: 2,
  seed: 3,
};
type RnnParams = { inputWeights: number[][]; recurrentWeights: number[][]; hiddenBias: number[]; outputWeights: number[][]; outputBias: number[] };

/** The held-out windows' cross-entropy and accuracy, one window at a time in float64, from h_0 = 0 (README's RNN). */
function forwardEachWindow(p: RnnParams): { loss: number; accuracy: number } {
  let loss = 0,
    correct = 0;
  const first = seqRows.length - 3 - 600;
  for (let s = first; s < first + 600; s++) {
    let h = p.hiddenBias.map(() => 0);
    for (let t = 0; t < 3; t++) {
      const x = seqRows[s + t];
      h = p.hiddenBias.map((b, j) =>
        Math.tanh(b + p.inputWeights[j][0] * x[0] + p.inputWeights[j][1] * x[1] + h.reduce((acc, hk, k) => acc + p.recurrentWeights[j][k] * hk, 0)),
      );
    }
    const z = p.outputBias.map((b, o) => b + h.reduce((acc, hk, k) => acc + p.outputWeights[o][k] * hk, 0));
    const m = Math.max(...z),
      logSum = m + Math.log(z.reduce((acc, v) => acc + Math.exp(v - m), 0));
    const target = seqClass(...(seqRows[s + 3] as [number, number]));
    loss += logSum - z[target];
    if (z.indexOf(m) === target) correct++;
  }
  return { loss: loss / 600, accuracy: correct / 600 };
}

test('train prints the held-out loss of a regression, without an accuracy (its CSV named relative to the spec)', () => {
  const spec = join(dir, 'regression.json');
  // "points.csv" beside the spec, while miya runs from the repository's root
  writeFileSync(spec, JSON.stringify({ ...regression, data: { ...regression.data, csv: 'points.csv' } }));
  const r = spawnSync('node', [join(root, 'bin/miya.js'), 'train', spec, '--backend', 'cpu'], { cwd: root, encoding: 'utf8', timeout: 120_000 });
  expect(r.status, r.stderr).toBe(0);
  expect(r.stdout).toMatch(/^test: loss \d+\.\d{4} on 8 held-out samples$/m);
  expect(r.stderr).toMatch(/\| test loss \d+\.\d{4} \|/);
});

test("examples/sine-rnn.json forecasts its CSV series: the held-out windows' loss is near the noise's", () => {
  const r = spawnSync('node', [join(root, 'bin/miya.js'), 'train', join(root, 'examples/sine-rnn.json'), '--backend', 'cpu', '--json'], {
    cwd: dir,
    encoding: 'utf8',
    timeout: 120_000,
  });
  expect(r.status, r.stderr).toBe(0);
  const out = JSON.parse(r.stdout);
  expect(out.test.samples).toBe(64);
  expect(out.test.accuracy).toBeUndefined();
  // noise of σ 0.05 is 0.0025 of it; an untrained model's is about 1
  expect(out.test.loss).toBeLessThan(0.02);
});
