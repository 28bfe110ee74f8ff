// crossEntropy with class-index targets (PyTorch's CrossEntropyLoss form, issue 14): the loss
// kernels against plain loops written here, on every backend; the same numbers to the bit as the
// one-hot targets they stand for; a sequential model trained on either form; and the data's errors.
import { expect, test } from 'vitest';
import type { Backend } from '../src/backend.js';
import { CpuBackend } from '../src/cpu/backend.js';
import { SpecError } from '../src/errors.js';
import { lossValue } from '../src/nn/ops.js';
import type { RunSpec } from '../src/spec/types.js';
import { validateSpec } from '../src/spec/validate.js';
import { runSpec } from '../src/train/runSpec.js';
import { seededNumbers } from '../src/verify/kernelChecks.js';
import { backendCases, describeBackends, testBackends } from './backends.js';
import { mat, rng, vec } from './oracle/random.js';
import { runOracle, tolerance, worstDifference } from './oracle/torch.js';

const backends = await backendCases();

/** The loss and its gradient of logits P [rows][cols] against classes y, by plain loops in float64. */
function reference(P: number[], y: number[], cols: number): { loss: number; grad: number[] } {
  const rows = y.length,
    grad: number[] = [];
  let loss = 0;
  for (let r = 0; r < rows; r++) {
    const row = P.slice(r * cols, (r + 1) * cols),
      m = Math.max(...row);
    const e = row.map((v) => Math.exp(v - m)),
      s = e.reduce((a, b) => a + b, 0);
    loss += -Math.log(e[y[r]] / s);
    for (let c = 0; c < cols; c++) grad.push((e[c] / s - (c === y[r] ? 1 : 0)) / rows);
  }
  return { loss: loss / rows, grad };
}

/** loss_partial (with its gradient) and loss_value on `be`, for targets Y of `ycols` columns. */
async function run(be: Backend, P: number[], Y: number[], rows: number, cols: number, ycols: number) {
  const buf = (data: number[] | number, label: string) => {
    const b = be.buffer(typeof data === 'number' ? data : data.length, label);
    if (typeof data !== 'number') be.write(b, data);
    return b;
  };
  const p = buf(P, 'P'),
    y = buf(Y, 'Y'),
    out = buf(1, 'out'),
    parts = buf(256, 'parts'),
    grad = buf(rows * cols, 'grad');
  lossValue(
    be,
    'crossEntropy',
    rows,
    { buf: p, off: 0, rows, cols },
    { buf: y, off: 0, rows, cols: ycols, classIndex: ycols === 1 },
    { buf: out, off: 0, rows: 1, cols: 1 },
    { buf: parts, off: 0, rows: 1, cols: 256 },
    { buf: grad, off: 0, rows, cols },
  );
  be.submit();
  const res = { loss: (await be.read(out, 0, 1))[0], grad: await be.read(grad, 0, rows * cols) };
  for (const b of [p, y, out, parts, grad]) be.free(b);
  return res;
}

// 600 rows of 7 classes: several partial sums, a last part shorter than the rest
const [rows, cols] = [600, 7];
const P = seededNumbers(rows * cols, 5).map((v) => 4 * v);
const classes = Array.from({ length: rows }, (_, r) => (r * 5 + (r >> 3)) % cols);
const oneHot = classes.flatMap((c) => Array.from({ length: cols }, (_, j) => (j === c ? 1 : 0)));

testBackends(backends, 'class-index crossEntropy on %s: loss and gradient as plain loops compute them', async (name, be) => {
  const got = await run(be, P, classes, rows, cols, 1),
    want = reference(P, classes, cols);
  const tol = be.precision === 'f64' ? 1e-12 : 1e-5;
  expect(Math.abs(got.loss - want.loss) / want.loss).toBeLessThan(tol);
  let worst = 0;
  want.grad.forEach((g, i) => {
    worst = Math.max(worst, Math.abs(got.grad[i] - g));
  });
  expect(worst, name).toBeLessThan(tol / rows);
});

testBackends(backends, "class-index targets on %s give the one-hot targets' loss and gradient to the bit", async (_, be) => {
  const a = await run(be, P, classes, rows, cols, 1),
    b = await run(be, P, oneHot, rows, cols, cols);
  expect(a.loss).toBe(b.loss);
  expect(Array.from(a.grad)).toEqual(Array.from(b.grad));
});

/** A small LSTM whose last layer returns sequences, with targets as class indices or one-hot rows. */
function seqSpec(indices: boolean): RunSpec {
  const T = 4,
    n = 6,
    O = 3,
    I = 2;
  const x = Array.from({ length: n }, (_, i) => Array.from({ length: T }, (_, t) => [Math.sin(i + t), Math.cos(2 * i - t)]));
  const cls = (i: number, t: number) => (i * 2 + t) % O;
  const y = Array.from({ length: n }, (_, i) =>
    Array.from({ length: T }, (_, t) => (indices ? cls(i, t) : Array.from({ length: O }, (_, c) => (c === cls(i, t) ? 1 : 0)))),
  );
  return {
    model: {
      type: 'sequential',
      inputSize: I,
      layers: [
        { type: 'lstm', units: 5, returnSequences: true },
        { type: 'dense', units: O, activation: 'softmax' },
      ],
    },
    loss: 'crossEntropy',
    optimizer: { type: 'adam', lr: 0.05 },
    data: { x, y } as RunSpec['data'],
    steps: 6,
    batchSize: 4,
    seed: 3,
  } as RunSpec;
}

testBackends(backends, 'a sequence model on %s trains to the same bits on class indices [batch][T] as on one-hot targets', async (_, be) => {
  const a = await runSpec(seqSpec(true), { backend: be }),
    b = await runSpec(seqSpec(false), { backend: be });
  expect(a.losses).toEqual(b.losses);
  expect(a.params).toEqual(b.params);
  expect(a.losses[5]).toBeLessThan(a.losses[0]);
});

test('class-index targets [batch] for a model that gives one output per sample', async () => {
  const spec = seqSpec(true) as RunSpec & { data: { y: unknown[] } };
  (spec.model as { layers: { returnSequences?: boolean }[] }).layers[0].returnSequences = false;
  spec.data.y = [0, 1, 2, 0, 1, 2];
  const a = await runSpec(spec, { backend: new CpuBackend() });
  spec.data.y = [0, 1, 2, 0, 1, 2].map((c) => [0, 1, 2].map((j) => (j === c ? 1 : 0)));
  const b = await runSpec(spec, { backend: new CpuBackend() });
  expect(a.losses).toEqual(b.losses);
});

test('a class index out of range, not an integer, or with another loss is refused naming the sample and step', () => {
  const errorOf = (f: (s: RunSpec & { data: { y: unknown[][] } }) => void) => {
    const s = seqSpec(true) as RunSpec & { data: { y: unknown[][] } };
    f(s);
    try {
      validateSpec(s);
    } catch (e) {
      expect(e).toBeInstanceOf(SpecError);
      return (e as Error).message;
    }
    return 'accepted';
  };
  expect(
    errorOf((s) => {
      s.data.y[4][2] = 3;
    }),
  ).toMatch(/^data\.y\[4\]\[2\]: expected a class index, an integer from 0 to 2 .*got 3/);
  expect(
    errorOf((s) => {
      s.data.y[1][0] = -1;
    }),
  ).toMatch(/^data\.y\[1\]\[0\]: .*got -1/);
  expect(
    errorOf((s) => {
      s.data.y[2][3] = 0.5;
    }),
  ).toMatch(/^data\.y\[2\]\[3\]: .*got 0\.5/);
  expect(
    errorOf((s) => {
      s.data.y[5] = [0, 1];
    }),
  ).toMatch(/^data\.y\[5\]: expected 4 class indices/);
  expect(
    errorOf((s) => {
      s.loss = 'mse';
    }),
  ).toMatch(/^data\.y\[0\]: expected 4 time steps of 3 numbers/); // class indices are crossEntropy's only
  expect(errorOf(() => {})).toBe('accepted');
});

// ---- the mlp and rnn model types take class indices [batch] too, against PyTorch float64 ----

const r = rng(31);
const mlpCase = {
  name: 'mlp 3 → 5 tanh → 4 softmax, class indices [batch], momentum; batch 3 of 7, 4 steps',
  spec: {
    model: {
      type: 'mlp',
      inputSize: 3,
      layers: [
        { units: 5, activation: 'tanh', weights: mat(r, 5, 3, 0.7), bias: vec(r, 5, 0.3) },
        { units: 4, activation: 'softmax', weights: mat(r, 4, 5, 0.7), bias: vec(r, 4, 0.3) },
      ],
    },
    loss: 'crossEntropy',
    optimizer: { type: 'momentum', lr: 0.2 },
    data: { x: Array.from({ length: 7 }, () => vec(r, 3, 1)), y: [0, 3, 1, 2, 3, 0, 1] },
    batchSize: 3,
    steps: 4,
  } as unknown as RunSpec,
};
const rnnCase = {
  name: 'rnn 2 → 4 → 3 identity, class indices [batch], adam; batch 2 of 5, T 3, 4 steps',
  spec: {
    model: {
      type: 'rnn',
      inputSize: 2,
      hiddenSize: 4,
      outputSize: 3,
      weights: {
        inputWeights: mat(r, 4, 2, 0.6),
        recurrentWeights: mat(r, 4, 4, 0.6),
        hiddenBias: vec(r, 4, 0.3),
        outputWeights: mat(r, 3, 4, 0.6),
        outputBias: vec(r, 3, 0.3),
      },
    },
    loss: 'crossEntropy',
    optimizer: { type: 'adam', lr: 0.05 },
    data: { x: Array.from({ length: 5 }, () => Array.from({ length: 3 }, () => vec(r, 2, 1))), y: [2, 0, 1, 1, 2] },
    batchSize: 2,
    steps: 4,
  } as unknown as RunSpec,
};
const oneHotOf = (s: RunSpec, O: number): RunSpec =>
  ({ ...s, data: { ...(s.data as object), y: (s.data as { y: number[] }).y.map((c) => Array.from({ length: O }, (_, j) => (j === c ? 1 : 0))) } }) as RunSpec;

interface Trained {
  name: string;
  losses: number[];
  params: unknown;
  grads: unknown;
}
const oracle = runOracle<Trained>('torch_oracle.py', [mlpCase, rnnCase]);

describeBackends(backends, '%s: mlp and rnn models on class indices against PyTorch (CrossEntropyLoss on class indices)', (name: string, be: Backend) => {
  const { tol, scale } = tolerance[name];
  test.each([
    [mlpCase.name, mlpCase, 4],
    [rnnCase.name, rnnCase, 3],
  ] as const)(`%s: losses, parameters and gradients agree to ${tol}, and are the one-hot run's bits`, async (_n, c, O) => {
    if (!oracle.results) throw new Error(oracle.error);
    const t = oracle.results.get(c.name)!;
    const got = await runSpec(c.spec, { backend: be });
    for (const [what, m, p] of [
      ['losses', got.losses, t.losses],
      ['params', got.params, t.params],
      ['grads', got.grads, t.grads],
    ] as const) {
      const w = worstDifference(m, p, scale, what);
      expect(w.error, `${what}: worst at ${w.at}: miya ${w.miya}, torch ${w.torch}`).toBeLessThanOrEqual(tol);
    }
    const hot = await runSpec(oneHotOf(c.spec, O), { backend: be });
    expect(got.losses).toEqual(hot.losses);
    expect(got.params).toEqual(hot.params);
  });
});

test("an mlp's class index out of range is refused naming the sample", () => {
  const s = JSON.parse(JSON.stringify(mlpCase.spec));
  s.data.y[5] = 4;
  expect(() => validateSpec(s)).toThrow(/^data\.y\[5\]: expected a class index, an integer from 0 to 3 .*got 4$/);
});
