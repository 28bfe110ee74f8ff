// Held-out samples of CSV data (data.test: the last N, as TF.js's validationSplit takes the last
// ones): trained on the rest, evaluated on them; accuracy only where the targets are one-hot classes.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { CpuBackend } from '../src/cpu/backend.js';
import { loadDataset } from '../src/data/load.js';
import { SpecError } from '../src/errors.js';
import { validateSpec } from '../src/spec/validate.js';
import { predict } from '../src/train/predict.js';
import { runSpec } from '../src/train/runSpec.js';
import { oneHot } from '../src/train/trainer.js';
import { presentBackends } from './backends.js';

const root = join(import.meta.dirname, '..');
const dir = mkdtempSync(join(tmpdir(), 'miya-holdout-'));
const rows = Array.from({ length: 30 }, (_v, i) => [Math.sin(i), Math.cos(2 * i)]);
const csv = join(dir, 'points.csv');
writeFileSync(csv, ['a,b,y,low,high', ...rows.map(([a, b]) => { const y = 0.5 * a - 0.25 * b; return [a, b, y, +(y < 0), +(y >= 0)].join(','); })].join('\n') + '\n');
const regression = {
  model: { type: 'mlp', inputSize: 2, layers: [{ units: 6, activation: 'tanh' }, { units: 1, activation: 'identity' }] },
  loss: 'mse', optimizer: { type: 'adam', lr: 0.05 }, data: { csv, inputs: ['a', 'b'], targets: ['y'], test: 8 }, batchSize: 11, epochs: 3, seed: 4,
};
const classes = { ...regression, model: { type: 'mlp', inputSize: 2, layers: [{ units: 6, activation: 'tanh' }, { units: 2, activation: 'softmax' }] },
  loss: 'crossEntropy', data: { csv, inputs: ['a', 'b'], targets: ['low', 'high'], test: 8 } };

test('the last data.test samples are held out, the rest trained on', async () => {
  const d = await loadDataset(validateSpec(regression));
  expect([d.train.n, d.test?.n]).toEqual([22, 8]);
  expect(Array.from(d.test!.x.subarray(0, 2))).toEqual(rows[22]);
  expect(Array.from(d.train.x.subarray(42, 44))).toEqual(rows[21]);
  await expect(loadDataset(validateSpec({ ...regression, data: { ...regression.data, test: 30 } }))).rejects.toThrow(SpecError);
  await expect(loadDataset(validateSpec({ ...regression, data: { ...regression.data, test: 30 } }))).rejects
    .toThrow(`data.test: expected fewer than the 30 samples of ${csv} (some must be left to train on), got 30`);
  expect(() => validateSpec({ ...regression, data: { ...regression.data, test: 0 } })).toThrow('data.test: expected an integer ≥ 1, got 0');
});

test('accuracy is for one-hot classes only', () => {
  expect(oneHot([0, 1, 1, 0], 2)).toBe(true);
  expect(oneHot([0.5, 0.5], 2)).toBe(false);
  expect(oneHot([1, 1], 2)).toBe(false);
  expect(oneHot([1, 0.25], 1)).toBe(false);
});

describe.each(await presentBackends())('on %s', (name, be) => {
  test('regression: the held-out loss is the trained model\'s mse on the last samples, and there is no accuracy', async () => {
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
    expect(r.test!.accuracy! * 8).toBe(Math.round(r.test!.accuracy! * 8));
  });
});

test('train prints the held-out loss of a regression, without an accuracy (its CSV named relative to the spec)', () => {
  const spec = join(dir, 'regression.json');
  // "points.csv" beside the spec, while miya runs from the repository's root
  writeFileSync(spec, JSON.stringify({ ...regression, data: { ...regression.data, csv: 'points.csv' } }));
  const r = spawnSync('node', [join(root, 'bin/miya.js'), 'train', spec, '--backend', 'cpu'], { cwd: root, encoding: 'utf8', timeout: 120_000 });
  expect(r.status, r.stderr).toBe(0);
  expect(r.stdout).toMatch(/^test: loss \d+\.\d{4} on 8 held-out samples$/m);
  expect(r.stderr).toMatch(/\| test loss \d+\.\d{4} \|/);
});

test('examples/sine-rnn.json forecasts its CSV series: the held-out windows\' loss is near the noise\'s', () => {
  const r = spawnSync('node', [join(root, 'bin/miya.js'), 'train', join(root, 'examples/sine-rnn.json'), '--backend', 'cpu', '--json'], { cwd: dir, encoding: 'utf8', timeout: 120_000 });
  expect(r.status, r.stderr).toBe(0);
  const out = JSON.parse(r.stdout);
  expect(out.test.samples).toBe(64);
  expect(out.test.accuracy).toBeUndefined();
  // noise of σ 0.05 is 0.0025 of it; an untrained model's is about 1
  expect(out.test.loss).toBeLessThan(0.02);
});
