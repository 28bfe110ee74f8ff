// Predictions for new inputs: the worked examples' hand-worked ŷ, batches past the first, the same
// numbers on every backend present, and `miya predict` on a checkpoint with CSV and JSON inputs.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { readCheckpointFile } from '../src/cli/checkpointFile.js';
import { CpuBackend } from '../src/cpu/backend.js';
import { RunError } from '../src/errors.js';
import { validateSpec } from '../src/spec/validate.js';
import { predict } from '../src/train/predict.js';
import { backendCases, describeBackends, webgpuTest } from './backends.js';

const root = join(import.meta.dirname, '..');
const miya = (...args: string[]) => spawnSync('node', [join(root, 'bin/miya.js'), ...args], { cwd: root, encoding: 'utf8', timeout: 120_000 });
const backends = await backendCases();
const gpuTest = await webgpuTest();
const close = (got: ArrayLike<number>, want: ArrayLike<number>, rel: number) =>
  Array.from(want).forEach((w, i) => expect(Math.abs(got[i] - w), `element ${i}`).toBeLessThanOrEqual(rel * Math.max(1, Math.abs(w))));

// a tanh layer of 3 and a linear output, weights given, so that ŷ can be written out here
const small = validateSpec({
  model: {
    type: 'mlp',
    inputSize: 2,
    layers: [
      {
        units: 3,
        activation: 'tanh',
        weights: [
          [0.5, -0.25],
          [0.125, 0.75],
          [-0.5, 0.375],
        ],
        bias: [0.1, -0.2, 0.05],
      },
      { units: 1, activation: 'identity', weights: [[1.5, -0.5, 0.25]], bias: [0.3] },
    ],
  },
  loss: 'mse',
  optimizer: { type: 'sgd', lr: 0.1 },
  data: { x: [[0, 0]], y: [[0]] },
});
const byHand = (a: number, b: number) =>
  0.3 + 1.5 * Math.tanh(0.5 * a - 0.25 * b + 0.1) - 0.5 * Math.tanh(0.125 * a + 0.75 * b - 0.2) + 0.25 * Math.tanh(-0.5 * a + 0.375 * b + 0.05);

describeBackends(backends, 'predict on %s', (name, be) => {
  const rel = name === 'cpu' ? 1e-12 : 1e-5;
  test("the worked examples' predictions: the 3-3-1 MLP's a2 ≈ 0.5070, the 3-day RNN's 0.736", async () => {
    const mlp = validateSpec((await import('../examples/mlp-3-3-1-sigmoid.json')).default);
    const rnn = validateSpec((await import('../examples/rnn-3-day-bptt.json')).default);
    // the stories' arithmetic (README: z1[0] is 0.08, the story's one slip)
    const σ = (z: number) => 1 / (1 + Math.exp(-z));
    const a1 = [σ(0.1 * 0.5 + 0.2 * 0.2 - 0.1 * 0.1), σ(0.3 * 0.5 - 0.2 * 0.2 + 0.5 * 0.1 + 0.1), σ(-0.4 * 0.5 + 0.1 * 0.2 + 0.2 * 0.1 - 0.1)];
    const a2 = σ(0.2 * a1[0] - 0.3 * a1[1] + 0.1 * a1[2] + 0.05);
    expect(a2).toBeCloseTo(0.507, 4);
    close(await predict(be, mlp, { n: 1, steps: 1, x: Float64Array.of(0.5, 0.2, 0.1) }), [a2], rel);
    const h = [0.5, 1.0, 0.8].reduce((h1, x) => σ(0.5 * x + 0.3 * h1 + 0.1), 0);
    expect(0.8 * h + 0.2).toBeCloseTo(0.736, 3);
    close(await predict(be, rnn, { n: 1, steps: 3, x: Float64Array.of(0.5, 1.0, 0.8) }), [0.8 * h + 0.2], rel);
  });

  test('2,500 inputs (three batches) predict what the network computes by hand for each', async () => {
    const n = 2500,
      x = Float64Array.from({ length: 2 * n }, (_v, i) => Math.sin(i * 0.37) * 2);
    const got = await predict(be, small, { n, steps: 1, x });
    close(
      got,
      Array.from({ length: n }, (_v, i) => byHand(x[2 * i], x[2 * i + 1])),
      rel,
    );
  });
});

test('a prediction that overflows is an error naming the sample, not a number', async () => {
  const x = Float64Array.of(0, 0, 1e308, 1e308);
  const linear = validateSpec({
    ...small,
    model: { type: 'mlp', inputSize: 2, layers: [{ units: 1, activation: 'identity', weights: [[1e10, 1e10]], bias: [0] }] },
  });
  await expect(predict(new CpuBackend(), linear, { n: 2, steps: 1, x })).rejects.toThrow(RunError);
  await expect(predict(new CpuBackend(), linear, { n: 2, steps: 1, x })).rejects.toThrow('prediction of sample 2 is +Inf (output 1)');
});

describe('miya predict', () => {
  const dir = mkdtempSync(join(tmpdir(), 'miya-predict-'));
  const rows = Array.from({ length: 30 }, (_v, i) => [Math.sin(i), Math.cos(2 * i), 0.5 * Math.sin(i) - 0.25 * Math.cos(2 * i)]);
  writeFileSync(join(dir, 'train.csv'), ['p,q,target', ...rows.map((r) => r.join(','))].join('\n') + '\n');
  writeFileSync(
    join(dir, 'spec.json'),
    JSON.stringify({
      model: {
        type: 'mlp',
        inputSize: 2,
        layers: [
          { units: 4, activation: 'tanh' },
          { units: 1, activation: 'identity' },
        ],
      },
      loss: 'mse',
      optimizer: { type: 'adam', lr: 0.05 },
      data: { csv: join(dir, 'train.csv'), inputs: ['p', 'q'], targets: ['target'] },
      steps: 20,
      seed: 2,
    }),
  );
  const ckpt = join(dir, 'model.safetensors');
  // new inputs: the columns in another order, another column beside them, no target
  writeFileSync(join(dir, 'new.csv'), 'note,q,p\n1,0.5,0.25\n2,-1,2\n3,0,0\n');
  const inputs = [
    [0.25, 0.5],
    [2, -1],
    [0, 0],
  ];

  test("prints the model's predictions for the named input columns, as CSV and as JSON, the numbers the library gives", async () => {
    expect(miya('train', join(dir, 'spec.json'), '--backend', 'cpu', '--checkpoint', ckpt, '--json').status).toBe(0);
    const csv = miya('predict', ckpt, join(dir, 'new.csv'), '--backend', 'cpu');
    expect(csv.status, csv.stderr).toBe(0);
    const c = await readCheckpointFile(ckpt);
    const want = await predict(new CpuBackend(), c.spec, { n: 3, steps: 1, x: Float64Array.from(inputs.flat()) }, c.params);
    expect(csv.stdout).toBe(['target', ...Array.from(want, String)].join('\n') + '\n');
    writeFileSync(join(dir, 'new.json'), JSON.stringify({ x: inputs }));
    const json = miya('predict', ckpt, join(dir, 'new.json'), '--backend', 'cpu', '--json');
    expect(json.status, json.stderr).toBe(0);
    expect(JSON.parse(json.stdout)).toEqual({ backend: 'cpu', device: expect.any(String), outputs: ['target'], predictions: Array.from(want, (v) => [v]) });
  });

  gpuTest('--backend webgpu predicts the same numbers, within float32 rounding', async () => {
    if (!existsSync(ckpt)) expect(miya('train', join(dir, 'spec.json'), '--backend', 'cpu', '--checkpoint', ckpt, '--json').status).toBe(0);
    const c = await readCheckpointFile(ckpt);
    const want = await predict(new CpuBackend(), c.spec, { n: 3, steps: 1, x: Float64Array.from(inputs.flat()) }, c.params);
    writeFileSync(join(dir, 'new.json'), JSON.stringify({ x: inputs }));
    const gpu = miya('predict', ckpt, join(dir, 'new.json'), '--backend', 'webgpu', '--json');
    expect(gpu.status, gpu.stderr).toBe(0);
    expect(JSON.parse(gpu.stdout).backend).toBe('webgpu');
    close(JSON.parse(gpu.stdout).predictions.flat(), want, 1e-5);
  });

  test.each([
    ['no INPUT', () => [ckpt], /^miya predict: INPUT: expected the path of the inputs to predict from \(\.csv or \.json\)\n$/],
    [
      'a CSV without an input column',
      () => {
        writeFileSync(join(dir, 'no-q.csv'), 'p\n1\n');
        return [ckpt, join(dir, 'no-q.csv')];
      },
      /no-q\.csv: expected a column "q" \(an input of the model's spec\), got columns p\n$/,
    ],
    [
      'a JSON sample of the wrong width',
      () => {
        writeFileSync(join(dir, 'wide.json'), '[[1, 2], [1, 2, 3]]');
        return [ckpt, join(dir, 'wide.json')];
      },
      /wide\.json: x\[1\]: expected 2 numbers, got 3\n$/,
    ],
    [
      'a JSON file of something else',
      () => {
        writeFileSync(join(dir, 'other.json'), '{"rows": []}');
        return [ckpt, join(dir, 'other.json')];
      },
      /other\.json: expected \{"x": \[samples\]\} or the array of samples alone\n$/,
    ],
  ])('bad input (%s) exits 2 naming the file and what was expected', (_, args, message) => {
    const r = miya('predict', ...args(), '--backend', 'cpu');
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stdout).toBe('');
  });

  test("an RNN reads CSV inputs in windows of T rows: --window, else the spec's, else bad input", () => {
    const rnnCkpt = join(dir, 'rnn.safetensors');
    expect(miya('train', 'examples/rnn-3-day-bptt.json', '--backend', 'cpu', '--checkpoint', rnnCkpt, '--json').status).toBe(0);
    writeFileSync(join(dir, 'days.csv'), 'day\n0.5\n1.0\n0.8\n0.1\n');
    writeFileSync(
      join(dir, 'days.json'),
      JSON.stringify([
        [[0.5], [1.0], [0.8]],
        [[1.0], [0.8], [0.1]],
      ]),
    );
    const windows = miya('predict', rnnCkpt, join(dir, 'days.csv'), '--window', '3', '--backend', 'cpu');
    expect(windows.status, windows.stderr).toBe(0);
    expect(windows.stdout).toBe(miya('predict', rnnCkpt, join(dir, 'days.json'), '--backend', 'cpu').stdout);
    expect(windows.stdout.trim().split('\n')).toHaveLength(3); // the header and two windows
    const none = miya('predict', rnnCkpt, join(dir, 'days.csv'), '--backend', 'cpu');
    expect(none.status).toBe(2);
    expect(none.stderr).toContain('--window: an RNN reads CSV inputs in windows of T rows: give --window T (the spec has no data.window)');
  });
});
