// Sequential models (issue 14, first slice): stacks of dense, rnn, lstm and gru layers trained
// against Debian's PyTorch float64 (tests/oracle/torch_sequential.py: nn.Linear, nn.RNN, nn.LSTM,
// nn.GRU themselves, batch-first, both biases, h0 = c0 = 0), step by step over mini-batches with a
// short last batch: cpu to 1e-9, webgpu to float32 tolerance (as tests/pytorch-oracle.test.ts).
// Then the spec's errors (JSON paths), PyTorch's default initialisation, and a checkpoint that
// resumes a sequential run bit for bit.
import { beforeAll, describe, expect, test } from 'vitest';
import type { Backend } from '../src/backend.js';
import { CpuBackend } from '../src/cpu/backend.js';
import { SpecError } from '../src/errors.js';
import { decodeCheckpoint } from '../src/io/checkpoint.js';
import { importStateDict, pytorchExport } from '../src/io/export.js';
import { encodeSafetensors } from '../src/io/safetensors.js';
import { toStateDict } from '../src/io/stateDict.js';
import type { Act, LossKind } from '../src/kernels.js';
import { initialParams } from '../src/nn/init.js';
import { paramLayout } from '../src/nn/layout.js';
import type { OptimizerSpec, RunSpec, SequentialLayerSpec, SequentialSpec } from '../src/spec/types.js';
import { validateSpec } from '../src/spec/validate.js';
import { predict } from '../src/train/predict.js';
import { runSpec } from '../src/train/runSpec.js';
import { backendCases, describeBackends } from './backends.js';
import { mat, type R, rng, vec } from './oracle/random.js';
import { runOracle, tolerance, worstDifference } from './oracle/torch.js';

/** A layer without weights: [kind, units, returnSequences or activation] */
type L = ['dense', number, Act] | ['rnn', number, boolean, ('tanh' | 'relu')?] | ['lstm' | 'gru', number, boolean];
const GATES = { rnn: 1, lstm: 4, gru: 3 };

function stack(r: R, I: number, layers: L[], scale = 0.6): SequentialSpec {
  let fanIn = I;
  return {
    type: 'sequential',
    inputSize: I,
    layers: layers.map((l): SequentialLayerSpec => {
      const units = l[1],
        inSize = fanIn;
      fanIn = units;
      if (l[0] === 'dense') return { type: 'dense', units, activation: l[2], weights: mat(r, units, inSize, scale), bias: vec(r, units, 0.3) };
      const GH = GATES[l[0]] * units;
      return {
        type: l[0],
        units,
        returnSequences: l[2],
        ...(l[0] === 'rnn' ? { activation: l[3] ?? 'tanh' } : {}),
        weightIh: mat(r, GH, inSize, scale),
        weightHh: mat(r, GH, units, scale),
        biasIh: vec(r, GH, 0.3),
        biasHh: vec(r, GH, 0.3),
      };
    }),
  };
}

interface Case {
  name: string;
  spec: RunSpec;
}

function seqCase(
  name: string,
  seed: number,
  I: number,
  T: number,
  layers: L[],
  loss: LossKind,
  optimizer: OptimizerSpec,
  n: number,
  rest: Partial<RunSpec>,
): Case {
  const r = rng(seed);
  const model = stack(r, I, layers);
  const O = layers[layers.length - 1][1];
  const recurrent = layers.filter((l) => l[0] !== 'dense');
  const sequenceIn = recurrent.length > 0,
    sequenceOut = sequenceIn && recurrent[recurrent.length - 1][2] === true;
  const target = (i: number, t: number) => (loss === 'crossEntropy' ? Array.from({ length: O }, (_, c) => (c === (i + t) % O ? 1 : 0)) : vec(r, O, 0.8));
  const x = Array.from({ length: n }, () => (sequenceIn ? Array.from({ length: T }, () => vec(r, I, 1)) : vec(r, I, 1)));
  const y = Array.from({ length: n }, (_, i) => (sequenceOut ? Array.from({ length: T }, (_, t) => target(i, t)) : target(i, 0)));
  return { name, spec: { model, loss, optimizer, data: { x, y } as RunSpec['data'], ...rest } };
}

const sgd = (lr: number): OptimizerSpec => ({ type: 'sgd', lr }),
  adam = (lr: number): OptimizerSpec => ({ type: 'adam', lr });
const cases: Case[] = [
  seqCase(
    'lstm(3) → dense 2, mse, sgd; batch 2 of 5, T 4, 5 steps',
    1,
    2,
    4,
    [
      ['lstm', 3, false],
      ['dense', 2, 'identity'],
    ],
    'mse',
    sgd(0.5),
    5,
    { batchSize: 2, steps: 5 },
  ),
  seqCase(
    'gru(3) → dense 3 softmax, crossEntropy, adam; batch 3 of 5, T 4, 4 steps',
    2,
    2,
    4,
    [
      ['gru', 3, false],
      ['dense', 3, 'softmax'],
    ],
    'crossEntropy',
    adam(0.05),
    5,
    { batchSize: 3, steps: 4 },
  ),
  seqCase(
    'rnn tanh(4, sequences) → dense 2 at every step, mse on [batch][T][2], adam; batch 2 of 5, T 3, 5 steps',
    3,
    3,
    3,
    [
      ['rnn', 4, true, 'tanh'],
      ['dense', 2, 'identity'],
    ],
    'mse',
    adam(0.03),
    5,
    { batchSize: 2, steps: 5 },
  ),
  seqCase(
    'rnn relu(3) → dense 2 sigmoid, halfMse, momentum; whole batch of 4, T 3, 4 steps',
    4,
    2,
    3,
    [
      ['rnn', 3, false, 'relu'],
      ['dense', 2, 'sigmoid'],
    ],
    'halfMse',
    { type: 'momentum', lr: 0.3 },
    4,
    { steps: 4 },
  ),
  seqCase(
    'lstm(3, sequences) → gru(4) → dense 2, mse, adam; batch 2 of 5, T 4, 5 steps',
    5,
    2,
    4,
    [
      ['lstm', 3, true],
      ['gru', 4, false],
      ['dense', 2, 'identity'],
    ],
    'mse',
    adam(0.02),
    5,
    { batchSize: 2, steps: 5 },
  ),
  seqCase(
    'gru(3, sequences) → lstm(3, sequences) → dense 3 softmax, crossEntropy on [batch][T][3], sgd; batch 3 of 5, T 3, 4 steps',
    6,
    2,
    3,
    [
      ['gru', 3, true],
      ['lstm', 3, true],
      ['dense', 3, 'softmax'],
    ],
    'crossEntropy',
    sgd(0.5),
    5,
    { batchSize: 3, steps: 4 },
  ),
  seqCase(
    'lstm(2, sequences) last, mse on its h [batch][T][2], rmsprop; batch 2 of 4, T 5, 4 steps',
    7,
    3,
    5,
    [['lstm', 2, true]],
    'mse',
    { type: 'rmsprop', lr: 0.01 },
    4,
    { batchSize: 2, steps: 4 },
  ),
  seqCase('gru(3) last, mse, adam; batch 2 of 5, T 4, 5 steps', 8, 2, 4, [['gru', 3, false]], 'mse', adam(0.03), 5, { batchSize: 2, steps: 5 }),
  seqCase(
    'dense 4 tanh at every step → lstm(3) → dense 1, mse, sgd; batch 3 of 5, T 3, 4 steps',
    9,
    2,
    3,
    [
      ['dense', 4, 'tanh'],
      ['lstm', 3, false],
      ['dense', 1, 'identity'],
    ],
    'mse',
    sgd(0.4),
    5,
    { batchSize: 3, steps: 4 },
  ),
  seqCase(
    'dense only (no sequence): dense 4 relu → dense 2, mse, adam; batch 2 of 5, 4 steps',
    10,
    3,
    1,
    [
      ['dense', 4, 'relu'],
      ['dense', 2, 'identity'],
    ],
    'mse',
    adam(0.05),
    5,
    { batchSize: 2, steps: 4 },
  ),
  seqCase(
    'rnn relu(3, sequences) → rnn tanh(3, sequences) → dense 3, crossEntropy (softmax of ŷ) per step, adam; batch 2 of 4, T 3, 4 steps',
    11,
    2,
    3,
    [
      ['rnn', 3, true, 'relu'],
      ['rnn', 3, true, 'tanh'],
      ['dense', 3, 'identity'],
    ],
    'crossEntropy',
    adam(0.03),
    4,
    { batchSize: 2, steps: 4 },
  ),
  seqCase(
    'lstm(3) one step (T 1) → gru(2, sequences) → dense 2, mse, sgd; whole batch of 3, 3 steps',
    12,
    2,
    1,
    [
      ['lstm', 3, true],
      ['gru', 2, true],
      ['dense', 2, 'identity'],
    ],
    'mse',
    sgd(0.5),
    3,
    { steps: 3 },
  ),
];

interface Trained {
  name: string;
  losses: number[];
  params: unknown;
  grads: unknown;
  prediction: number[] | number[][];
}
let oracle: Map<string, Trained> | undefined;
let oracleError = 'not run';

beforeAll(() => {
  const run = runOracle<Trained>(
    'torch_sequential.py',
    cases.map((c) => ({ name: c.name, spec: c.spec })),
  );
  [oracle, oracleError] = [run.results, run.error];
}, 120_000);

test('PyTorch trains every sequential case, and every tensor of every case has a gradient', () => {
  if (!oracle) throw new Error(oracleError);
  expect([...oracle.keys()].sort()).toEqual(cases.map((c) => c.name).sort());
  for (const t of oracle.values()) {
    expect(t.losses.every(Number.isFinite), t.name).toBe(true);
    const layers = (t.grads as { layers: Record<string, number[] | number[][]>[] }).layers;
    layers.forEach((l, i) => {
      // with one time step h₀ = 0 is all W_hh ever meets: its gradient is 0 there, as in PyTorch
      for (const [k, g] of Object.entries(l))
        if (!(k === 'weightHh' && t.name.includes('(T 1)'))) expect(Math.max(...g.flat().map(Math.abs)), `${t.name}: layers[${i}].${k}`).toBeGreaterThan(1e-6);
    });
  }
});

describeBackends(await backendCases(), '%s against PyTorch (sequential)', (name: string, be: Backend) => {
  const { tol, scale } = tolerance[name];
  test.each(cases.map((c) => [c.name, c] as const))(`%s: every step's loss, the final parameters and the last gradients agree to ${tol}`, async (_n, c) => {
    if (!oracle) throw new Error(oracleError);
    const t = oracle.get(c.name)!;
    const r = await runSpec(c.spec, { backend: be });
    expect(r.losses).toHaveLength(t.losses.length);
    for (const [what, m, p] of [
      ['losses', r.losses, t.losses],
      ['params', r.params, t.params],
      ['grads', r.grads, t.grads],
    ] as const) {
      const w = worstDifference(m, p, scale, what);
      expect(w.error, `${what}: worst at ${w.at}: miya ${w.miya}, torch ${w.torch}`).toBeLessThanOrEqual(tol);
    }
  });
});

// predict (the forward pass alone, in batches): the initial model's outputs, [n][T][O] for a model
// that gives sequences (the device's rows are time-major within a batch and are put back per sample)
describeBackends(await backendCases(), '%s predict (sequential)', (name: string, be: Backend) => {
  const { tol, scale } = tolerance[name];
  test.each(cases.map((c) => [c.name, c] as const))(`%s: the initial model's predictions are PyTorch's to ${tol}`, async (_n, c) => {
    if (!oracle) throw new Error(oracleError);
    const t = oracle.get(c.name)!;
    const x = (c.spec.data as { x: number[][] | number[][][] }).x;
    const steps = Array.isArray(x[0][0]) ? (x[0] as number[][]).length : 1;
    const got = await predict(be, c.spec, { n: x.length, steps, x: Float64Array.from(x.flat(2) as number[]) });
    const want = (t.prediction as (number | number[])[]).flat(2) as number[];
    const w = worstDifference([Array.from(got)], [want], scale, 'prediction');
    expect(w.error, `worst at ${w.at}: miya ${w.miya}, torch ${w.torch}`).toBeLessThanOrEqual(tol);
  });
});

// ---- the spec -------------------------------------------------------------------------------

const base = (): Record<string, unknown> => ({
  model: { type: 'sequential', inputSize: 2, layers: [{ type: 'lstm', units: 3, returnSequences: true }, { units: 1 }] },
  loss: 'mse',
  optimizer: { type: 'sgd', lr: 0.1 },
  data: {
    x: [
      [
        [1, 2],
        [3, 4],
      ],
      [
        [5, 6],
        [7, 8],
      ],
    ],
    y: [
      [[1], [2]],
      [[3], [4]],
    ],
  },
});
function specError(edit: (s: Record<string, any>) => void): string {
  const s = base() as Record<string, any>;
  edit(s);
  try {
    validateSpec(s);
  } catch (e) {
    expect(e).toBeInstanceOf(SpecError);
    return (e as Error).message;
  }
  throw new Error('the spec was accepted');
}

describe('the sequential spec', () => {
  test('a valid stack is accepted with its defaults (dense type and identity, returnSequences false, rnn tanh)', () => {
    const s = validateSpec(base());
    expect(s.model).toMatchObject({
      type: 'sequential',
      layers: [
        { type: 'lstm', units: 3, returnSequences: true },
        { type: 'dense', units: 1, activation: 'identity' },
      ],
    });
    const m = base().model as { layers: unknown[] };
    m.layers = [{ type: 'rnn', units: 2 }];
    const r = validateSpec({ ...base(), model: m, data: { x: [[[1, 2]]], y: [[0, 1]] } });
    expect(r.model).toMatchObject({ layers: [{ type: 'rnn', units: 2, returnSequences: false, activation: 'tanh' }] });
  });

  test('errors name the JSON path', () => {
    expect(
      specError((s) => {
        s.model.layers[0].weightIh = [
          [1, 2],
          [3, 4],
        ];
      }),
    ).toMatch(/^model\.layers\[0\]\.weightIh: expected 12 rows of 2 numbers \(4·units rows, gates i, f, g, o stacked as in nn\.LSTM\), got 2 rows/);
    expect(
      specError((s) => {
        s.model.layers[0].type = 'gru';
        s.model.layers[0].weightHh = Array(9).fill([1, 2]);
      }),
    ).toMatch(/^model\.layers\[0\]\.weightHh: expected 9 rows of 3 numbers, got 9 rows of 2/);
    expect(
      specError((s) => {
        s.model.layers[0].biasHh = [1, 2, 3];
      }),
    ).toMatch(/^model\.layers\[0\]\.biasHh: expected 12 numbers/);
    expect(
      specError((s) => {
        s.model.layers[1].weights = [[1, 2]];
      }),
    ).toMatch(/^model\.layers\[1\]\.weights: expected 1 rows of 3 numbers, got 1 rows of 2/);
    expect(
      specError((s) => {
        s.model.layers[0].returnSequence = true;
      }),
    ).toMatch(/^model\.layers\[0\]\.returnSequence: not a field of an lstm layer; did you mean "returnSequences"/);
    expect(
      specError((s) => {
        s.model.layers[0].activation = 'relu';
      }),
    ).toMatch(/^model\.layers\[0\]\.activation: not a field of an lstm layer .*is for rnn layers/);
    expect(
      specError((s) => {
        s.model.layers[0].type = 'rnn';
        s.model.layers[0].activation = 'sigmoid';
      }),
    ).toMatch(/^model\.layers\[0\]\.activation: expected one of "tanh", "relu"/);
    expect(
      specError((s) => {
        s.model.layers[1].type = 'conv';
      }),
    ).toMatch(/^model\.layers\[1\]\.type: expected one of "dense", "rnn", "lstm", "gru"/);
    expect(
      specError((s) => {
        s.model.hiddenSize = 3;
      }),
    ).toMatch(/^model\.hiddenSize: not a field of a sequential model/);
    // returnSequences: the targets are [batch][T][O]
    expect(
      specError((s) => {
        s.data.y = [[1], [2]];
      }),
    ).toMatch(/^data\.y\[0\]: expected 2 time steps of 1 numbers \(model\.layers\[0\] returns sequences, so each target is \[time\]\[1\]\)/);
    expect(
      specError((s) => {
        s.data.y[1] = [[1], [2], [3]];
      }),
    ).toMatch(/^data\.y\[1\]: expected 2 time steps/);
    expect(
      specError((s) => {
        s.data.y[1][1] = [1, 2];
      }),
    ).toMatch(/^data\.y\[1\]\[1\]: expected 1 numbers, got 2/);
    // the last step only: [batch][O]
    expect(
      specError((s) => {
        s.model.layers[0].returnSequences = false;
      }),
    ).toMatch(/^data\.y: expected 2 rows of 1 numbers, got 2 rows of 2/);
    expect(
      specError((s) => {
        s.data.x[1] = [[1, 2]];
      }),
    ).toMatch(/^data\.x\[1\]: expected 2 time steps like data\.x\[0\], got 1/);
    // CSV data gives one target per sample: a recurrent layer returning its sequence last is named
    expect(
      specError((s) => {
        s.data = { csv: 'a.csv' };
      }),
    ).toMatch(/^model\.layers\[0\]\.returnSequences: expected false for CSV data/);
  });
});

// ---- initialisation -------------------------------------------------------------------------

test("omitted weights take PyTorch's default initialisation: U(±1/√H) for every recurrent tensor, U(±1/√in) for a Linear's weight and bias", () => {
  const model: SequentialSpec = {
    type: 'sequential',
    inputSize: 5,
    layers: [
      { type: 'gru', units: 16, returnSequences: false },
      { type: 'dense', units: 4, activation: 'identity' },
    ],
  };
  const layout = paramLayout(model);
  const flat = initialParams(model, layout, 7);
  const bound: Record<string, number> = { 'layers.0': 1 / 4, 'layers.1': 1 / 4 };
  for (const p of layout) {
    const v = Array.from(flat.subarray(p.off, p.off + p.rows * p.cols));
    const k = bound[p.name.split('.').slice(0, 2).join('.')];
    expect(Math.max(...v.map(Math.abs)), p.name).toBeLessThanOrEqual(k);
    // spread over the range (a uniform draw, not zeros or a narrower law)
    expect(Math.max(...v.map(Math.abs)), p.name).toBeGreaterThan(0.6 * k);
  }
  expect(layout.map((p) => `${p.name} [${p.shape.join(', ')}]`)).toEqual([
    'layers.0.weight_ih_l0 [48, 5]',
    'layers.0.weight_hh_l0 [48, 16]',
    'layers.0.bias_ih_l0 [48]',
    'layers.0.bias_hh_l0 [48]',
    'layers.1.weight [4, 16]',
    'layers.1.bias [4]',
  ]);
  // the same seed, the same values; a given tensor leaves the others' values as they were
  const given = structuredClone(model);
  (given.layers[1] as { bias?: number[] }).bias = [1, 2, 3, 4];
  const again = initialParams(given, layout, 7);
  const b = layout.find((p) => p.name === 'layers.1.bias')!;
  expect(Array.from(again.subarray(b.off, b.off + 4))).toEqual([1, 2, 3, 4]);
  expect(Array.from(again.subarray(0, b.off))).toEqual(Array.from(flat.subarray(0, b.off)));
});

// ---- checkpoints ----------------------------------------------------------------------------

test("a sequential run checkpointed at step 3 and resumed ends bit for bit where the uninterrupted run ends (cpu), with PyTorch's names in the file", async () => {
  const spec = validateSpec({ ...cases[4].spec, optimizer: { type: 'adam', lr: 0.02 }, steps: 7 });
  const whole = await runSpec(spec, { backend: new CpuBackend() });
  let saved: Uint8Array | undefined;
  await runSpec(spec, {
    backend: new CpuBackend(),
    steps: 3,
    checkpoint: {
      every: 3,
      where: 'memory',
      save: async (b) => {
        saved = b;
      },
    },
  });
  const ckpt = await decodeCheckpoint(saved!, 'seq.ckpt');
  expect(ckpt.step).toBe(3);
  const names = [...toStateDict(spec.model, ckpt.params, ckpt.dtype).keys()];
  expect(names).toEqual([
    'layers.0.weight_ih_l0',
    'layers.0.weight_hh_l0',
    'layers.0.bias_ih_l0',
    'layers.0.bias_hh_l0',
    'layers.1.weight_ih_l0',
    'layers.1.weight_hh_l0',
    'layers.1.bias_ih_l0',
    'layers.1.bias_hh_l0',
    'layers.2.weight',
    'layers.2.bias',
  ]);
  const resumed = await runSpec(spec, { backend: new CpuBackend(), resume: { checkpoint: ckpt, from: 'seq.ckpt' } });
  expect(resumed.losses).toEqual(whole.losses);
  expect(resumed.params).toEqual(whole.params);
  expect(resumed.grads).toEqual(whole.grads);
});

// ---- PyTorch state dicts ----------------------------------------------------------------------

test("a sequential model's state dict (PyTorch's names) imports back as its spec with every layer's weights; export --pytorch writes it (tests/export-sequential.test.ts loads it in PyTorch)", async () => {
  const spec = validateSpec(cases[4].spec);
  const layout = paramLayout(spec.model);
  const flat = Float64Array.from({ length: layout.reduce((s, p) => s + p.rows * p.cols, 0) }, (_, i) => Math.fround(Math.sin(i)));
  const bytes = await encodeSafetensors(toStateDict(spec.model, flat, 'F32'), { spec: JSON.stringify(spec) });
  const back = await importStateDict(bytes, 'torch.safetensors');
  expect(back.model.type).toBe('sequential');
  expect(initialParams(back.model, paramLayout(back.model), 0)).toEqual(flat);
  // optimizer state of zeros (at most Adam's two buffers): export also writes train.py's state
  const ckpt = {
    spec,
    params: flat,
    state: [flat.map(() => 0), flat.map(() => 0)],
    optimizerT: 0,
    losses: new Float64Array(0),
    step: 0,
    dtype: 'F32' as const,
    backend: 'cpu',
    device: 'cpu',
  };
  expect([...(await pytorchExport(ckpt)).keys()]).toEqual(expect.arrayContaining(['model.safetensors', 'miya_model.py']));
});

// ---- the shape of a step on the device ----------------------------------------------------------

test("an LSTM layer's step: x·W_ihᵀ once, then per time step one h·W_hhᵀ product and one lstm_cell forward, one lstm_cell_backward and one dG·W_hh product backward; one submission", async () => {
  const T = 4,
    spec = validateSpec(
      seqCase(
        'count',
        30,
        2,
        T,
        [
          ['lstm', 3, false],
          ['dense', 2, 'identity'],
        ],
        'mse',
        sgd(0.1),
        5,
        { steps: 1 },
      ).spec,
    );
  const cpu = new CpuBackend(),
    counts = new Map<string, number>();
  const count = (k: string) => counts.set(k, (counts.get(k) ?? 0) + 1);
  const be = new Proxy(cpu, {
    get(target, key, receiver) {
      if (key === 'run')
        return (k: string, p: unknown, b: unknown) => {
          count(k);
          return (target.run as (...a: unknown[]) => void)(k, p, b);
        };
      if (key === 'submit')
        return () => {
          count('submit');
          target.submit();
        };
      return Reflect.get(target, key, receiver);
    },
  }) as Backend;
  await runSpec(spec, { backend: be });
  expect(counts.get('lstm_cell')).toBe(T);
  expect(counts.get('lstm_cell_backward')).toBe(T);
  // LSTM: 1 (x·W_ihᵀ) + T (steps) forward, T − 1 (dG·W_hh) + 2 (dW_ih, dW_hh) backward; dense: 1 forward, dW and dx
  expect(counts.get('matmul')).toBe(1 + T + (T - 1) + 2 + 3);
  expect(counts.get('submit')).toBe(1);
});
