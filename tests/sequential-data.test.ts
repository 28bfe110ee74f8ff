// CSV and MNIST data for "type": "sequential" models (issue 14), read as for the rnn and mlp model
// types: a model with a recurrent layer takes CSV windows of T rows ([n][T][I], the target the
// row after each window) and MNIST digits as 28 rows of 28 pixels; one of dense layers only takes
// CSV rows and 784 pixels ([n][I]). One target row a sample (returnSequences false). The shapes
// are checked against the file read by hand here; bad shapes are refused naming the JSON path
// (exit 2 from the CLI, nothing written).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, test } from 'vitest';
import { loadDataset } from '../src/data/load.js';
import { SpecError } from '../src/errors.js';
import { validateSpec } from '../src/spec/validate.js';
import { runSpec } from '../src/train/runSpec.js';
import { backendCases, describeBackends } from './backends.js';

const root = join(import.meta.dirname, '..');
const sineCsv = join(root, 'examples', 'sine.csv');
// examples/sine.csv by hand: a header "t,value", then 400 rows
const sine = readFileSync(sineCsv, 'utf8')
  .trim()
  .split('\n')
  .slice(1)
  .map((line) => line.split(',').map(Number));

const lstmOnSine = (extra: Record<string, unknown> = {}) => ({
  model: {
    type: 'sequential',
    inputSize: 1,
    layers: [
      { type: 'lstm', units: 8 },
      { type: 'dense', units: 1 },
    ],
  },
  loss: 'mse',
  optimizer: { type: 'adam', lr: 0.02 },
  data: { csv: sineCsv, inputs: ['value'], targets: ['value'], window: 16, test: 64 },
  batchSize: 32,
  shuffle: true,
  seed: 1,
  ...extra,
});
const lstmOnMnist = (extra: Record<string, unknown> = {}) => ({
  model: {
    type: 'sequential',
    inputSize: 28,
    layers: [
      { type: 'lstm', units: 32 },
      { type: 'dense', units: 10, activation: 'softmax' },
    ],
  },
  loss: 'crossEntropy',
  optimizer: { type: 'adam', lr: 0.01 },
  data: { dataset: 'mnist', train: 512, test: 128 },
  batchSize: 64,
  shuffle: true,
  seed: 1,
  ...extra,
});

test('CSV, a model with a recurrent layer: windows of 16 rows [n][16][1], each target the row after, the last 64 held out', async () => {
  const { train, test: held } = await loadDataset(validateSpec(lstmOnSine()));
  // 400 rows give 400 − 16 = 384 windows: 320 to train on, 64 held out
  expect([train.n, train.steps, train.features, train.outputs, held!.n]).toEqual([320, 16, 1, 1, 64]);
  expect(train.x.length).toBe(320 * 16);
  for (const s of [0, 1, 57, 319]) {
    for (let t = 0; t < 16; t++) expect(train.x[s * 16 + t]).toBe(sine[s + t][1]);
    expect(train.y[s]).toBe(sine[s + 16][1]);
  }
  expect(held!.x[0]).toBe(sine[320][1]);
  expect(held!.y[63]).toBe(sine[399][1]);
});

test('CSV, a sequential model of dense layers only: one row a sample [n][I], as for an MLP; two input columns', async () => {
  const spec = validateSpec({
    model: {
      type: 'sequential',
      inputSize: 2,
      layers: [
        { type: 'dense', units: 4, activation: 'tanh' },
        { type: 'dense', units: 1 },
      ],
    },
    loss: 'mse',
    optimizer: { type: 'sgd', lr: 0.1 },
    data: { csv: sineCsv, inputs: ['t', 'value'], targets: ['value'] },
  });
  const { train } = await loadDataset(spec);
  expect([train.n, train.steps, train.features, train.outputs]).toEqual([400, 1, 2, 1]);
  expect([train.x[2 * 123], train.x[2 * 123 + 1], train.y[123]]).toEqual([sine[123][0], sine[123][1], sine[123][1]]);
});

test('a dense layer before the LSTM (acting at every step) reads the same windows', async () => {
  const spec = lstmOnSine({
    model: {
      type: 'sequential',
      inputSize: 1,
      layers: [
        { type: 'dense', units: 4, activation: 'tanh' },
        { type: 'lstm', units: 8 },
        { type: 'dense', units: 1 },
      ],
    },
  });
  const { train } = await loadDataset(validateSpec(spec));
  expect([train.n, train.steps, train.features]).toEqual([320, 16, 1]);
});

test('MNIST, a model with a recurrent layer: each digit as 28 steps of its 28 pixel rows, the same digits and one-hot labels an MLP gets', async () => {
  const seq = await loadDataset(validateSpec(lstmOnMnist()));
  const mlp = await loadDataset(
    validateSpec({ ...lstmOnMnist(), model: { type: 'sequential', inputSize: 784, layers: [{ type: 'dense', units: 10, activation: 'softmax' }] } }),
  );
  expect([seq.train.n, seq.train.steps, seq.train.features, seq.train.outputs, seq.test!.n]).toEqual([512, 28, 28, 10, 128]);
  expect([mlp.train.steps, mlp.train.features]).toEqual([1, 784]);
  // step t of sample i is row t of its image: pixels t·28 … t·28 + 27 of the flat 784
  for (const i of [0, 7, 511]) {
    for (const [t, j] of [
      [0, 0],
      [13, 14],
      [27, 27],
      [20, 3],
    ])
      expect(seq.train.x[(i * 28 + t) * 28 + j]).toBe(mlp.train.x[i * 784 + t * 28 + j]);
  }
  expect(seq.train.x).toEqual(mlp.train.x);
  expect(seq.train.y).toEqual(mlp.train.y);
  for (let i = 0; i < 512; i++) expect(seq.train.y.subarray(i * 10, i * 10 + 10).reduce((a, b) => a + b, 0)).toBe(1);
  // the validated spec records how the digits are read
  expect(validateSpec(lstmOnMnist()).data).toMatchObject({ dataset: 'mnist', sequential: true });
});

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

describeBackends(await backendCases(), 'a sequential LSTM trains on CSV and MNIST data (%s)', (name, be) => {
  test('on sine.csv: 60 steps, the loss falls to a tenth, held-out loss reported', async () => {
    const r = await runSpec(lstmOnSine({ steps: 60 }), { backend: be });
    expect(r.losses).toHaveLength(60);
    expect(mean(r.losses.slice(-10))).toBeLessThan(0.1 * mean(r.losses.slice(0, 5)));
    expect(r.test!.samples).toBe(64);
    expect(r.test!.loss).toBeLessThan(0.05);
  });

  test(
    'on MNIST rows as steps: 20 steps, the loss falls from ln 10',
    async () => {
      const r = await runSpec(lstmOnMnist({ steps: 20, batchSize: 32, optimizer: { type: 'adam', lr: 0.02 } }), { backend: be });
      expect(Math.abs(r.losses[0] - Math.log(10))).toBeLessThan(0.1);
      expect(mean(r.losses.slice(-5))).toBeLessThan(mean(r.losses.slice(0, 5)) - 0.3);
      expect(r.test!.samples).toBe(128);
      expect(r.test!.accuracy).toBeGreaterThan(0.2); // chance is 0.1
    },
    name === 'webgpu' ? 240_000 : 120_000,
  );
});

test.each([
  [
    'a recurrent model on CSV without a window',
    lstmOnSine({ data: { csv: sineCsv, inputs: ['value'], targets: ['value'] } }),
    'data.window: a model with a recurrent layer on CSV data needs a window of T rows',
  ],
  [
    'a window for dense layers only',
    lstmOnSine({ model: { type: 'sequential', inputSize: 1, layers: [{ type: 'dense', units: 1 }] } }),
    'data.window: no window for a sequential model of dense layers only',
  ],
  [
    "inputSize other than the CSV's input columns",
    lstmOnSine({
      model: {
        type: 'sequential',
        inputSize: 3,
        layers: [
          { type: 'lstm', units: 8 },
          { type: 'dense', units: 1 },
        ],
      },
    }),
    'model.inputSize: expected 1 (the input columns of',
  ],
  [
    "outputs other than the CSV's target columns",
    lstmOnSine({
      model: {
        type: 'sequential',
        inputSize: 1,
        layers: [
          { type: 'lstm', units: 8 },
          { type: 'dense', units: 2 },
        ],
      },
    }),
    'model.layers[1].units: expected 1 outputs',
  ],
  [
    'returnSequences true on CSV',
    lstmOnSine({
      model: {
        type: 'sequential',
        inputSize: 1,
        layers: [
          { type: 'gru', units: 8, returnSequences: true },
          { type: 'dense', units: 1 },
        ],
      },
    }),
    'model.layers[0].returnSequences: expected false for CSV data',
  ],
  [
    'returnSequences true on MNIST',
    lstmOnMnist({
      model: {
        type: 'sequential',
        inputSize: 28,
        layers: [
          { type: 'lstm', units: 8 },
          { type: 'lstm', units: 8, returnSequences: true },
          { type: 'dense', units: 10, activation: 'softmax' },
        ],
      },
    }),
    'model.layers[1].returnSequences: expected false for MNIST data',
  ],
  [
    '784 inputs for MNIST rows',
    lstmOnMnist({
      model: {
        type: 'sequential',
        inputSize: 784,
        layers: [
          { type: 'lstm', units: 8 },
          { type: 'dense', units: 10 },
        ],
      },
    }),
    'model.inputSize: expected 28 for MNIST rows (28 time steps of 28 pixels), got 784',
  ],
  [
    '28 inputs for MNIST without a recurrent layer',
    lstmOnMnist({ model: { type: 'sequential', inputSize: 28, layers: [{ type: 'dense', units: 10 }] } }),
    'model.inputSize: expected 784 for MNIST (784 pixels), got 28',
  ],
  [
    '5 outputs for MNIST',
    lstmOnMnist({
      model: {
        type: 'sequential',
        inputSize: 28,
        layers: [
          { type: 'lstm', units: 8 },
          { type: 'dense', units: 5 },
        ],
      },
    }),
    "model: expected 10 outputs for MNIST's 10 classes, got 5",
  ],
  [
    'an embedding on CSV',
    lstmOnSine({
      model: {
        type: 'sequential',
        layers: [
          { type: 'embedding', vocab: 5, units: 4 },
          { type: 'lstm', units: 8 },
          { type: 'dense', units: 1 },
        ],
      },
    }),
    'model.layers[0].type: expected a layer that reads numbers for CSV data',
  ],
  [
    'data.sequential false for an LSTM on MNIST',
    lstmOnMnist({ data: { dataset: 'mnist', train: 512, test: 128, sequential: false } }),
    'data.sequential: expected true for a sequential model with a recurrent layer',
  ],
])('refused with the JSON path: %s', async (_, spec, message) => {
  const e = await (async () => loadDataset(validateSpec(spec)))().then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(SpecError);
  expect((e as Error).message.startsWith(message), (e as Error).message).toBe(true);
});

test('the CLI: shape errors exit 2 with one line naming the JSON path, and write no checkpoint', () => {
  const dir = mkdtempSync(join(tmpdir(), 'miya-seqdata-'));
  const cases: [unknown, string][] = [
    [lstmOnSine({ data: { csv: sineCsv, inputs: ['value'], targets: ['value'] } }), 'data.window:'],
    [
      lstmOnSine({
        model: {
          type: 'sequential',
          inputSize: 1,
          layers: [
            { type: 'lstm', units: 8, returnSequences: true },
            { type: 'dense', units: 1 },
          ],
        },
      }),
      'model.layers[0].returnSequences:',
    ],
    [
      lstmOnMnist({
        model: {
          type: 'sequential',
          inputSize: 784,
          layers: [
            { type: 'gru', units: 8 },
            { type: 'dense', units: 10 },
          ],
        },
      }),
      'model.inputSize:',
    ],
  ];
  cases.forEach(([spec, path], i) => {
    const file = join(dir, `bad-${i}.json`),
      ckpt = join(dir, `bad-${i}.safetensors`);
    writeFileSync(file, JSON.stringify(spec));
    const r = spawnSync('node', [join(root, 'bin/miya.js'), 'train', file, '--backend', 'cpu', '--checkpoint', ckpt], {
      cwd: root,
      encoding: 'utf8',
      timeout: 120_000,
    });
    expect(r.status, r.stderr).toBe(2);
    const lines = r.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain(path);
    expect(existsSync(ckpt)).toBe(false);
  });
});

test('the examples: examples/sine-lstm.json and examples/mnist-lstm.json validate and load as described', async () => {
  const sineSpec = JSON.parse(readFileSync(join(root, 'examples', 'sine-lstm.json'), 'utf8'));
  sineSpec.data.csv = sineCsv; // the CLI resolves it beside the spec
  const s = await loadDataset(validateSpec(sineSpec));
  expect([s.train.n, s.train.steps, s.test!.n]).toEqual([320, 16, 64]);
  const m = await loadDataset(validateSpec(JSON.parse(readFileSync(join(root, 'examples', 'mnist-lstm.json'), 'utf8'))));
  expect([m.train.n, m.train.steps, m.train.features, m.test!.n]).toEqual([8000, 28, 28, 2000]);
});
