// An independent oracle (issue 18, "a wrong optimizer passes"): Debian's PyTorch (python3-torch,
// /usr/bin/python3, float64) trains the same small specs as Miya, from the same explicit initial
// weights and the same mini-batches, with torch.nn modules, F.mse_loss / F.cross_entropy and
// torch.optim (tests/oracle/torch_oracle.py; RMSprop with ε inside the root, Miya's default, is
// written there by hand from PyTorch's documented rule). Every optimizer and option, every loss
// with every output activation, MLPs and RNNs, several steps over mini-batches with a short last
// batch, shuffled and not (PyTorch is handed each epoch's order as Miya's epochOrder draws it: its
// generator is Miya's own). Miya's cpu backend must agree with PyTorch step by step (each step's
// loss, the final parameters and the last gradients) to 1e-9; the webgpu backend (float32) to
// WEBGPU_RTOL. One Python process trains every case. Without python3 and torch the tests fail:
// CI installs Debian's python3-torch (.ci/run).
import { expect, test } from 'vitest';
import type { Backend } from '../src/backend.js';
import { type Act, ACTIVATIONS, LOSSES, type LossKind, OPTIMIZERS } from '../src/kernels.js';
import type { MlpSpec, OptimizerSpec, RnnSpec, RunSpec } from '../src/spec/types.js';
import { epochOrder } from '../src/train/trainer.js';
import { runSpec } from '../src/train/runSpec.js';
import { backendCases, describeBackends } from './backends.js';
import { mat, type R, rng, vec } from './oracle/random.js';
import { oracleBeforeAll, tolerance, worstDifference } from './oracle/torch.js';

// ---- the cases ------------------------------------------------------------------------------

function mlp(r: R, inputSize: number, layers: [number, Act][], scale = 0.8): MlpSpec {
  let fanIn = inputSize;
  return {
    type: 'mlp',
    inputSize,
    layers: layers.map(([units, activation]) => {
      const l = { units, activation, weights: mat(r, units, fanIn, scale), bias: vec(r, units, 0.3) };
      fanIn = units;
      return l;
    }),
  };
}

function rnn(r: R, I: number, H: number, O: number, activation: Act, outputActivation: Act, scale = 0.6): RnnSpec {
  return {
    type: 'rnn',
    inputSize: I,
    hiddenSize: H,
    outputSize: O,
    activation,
    outputActivation,
    weights: {
      inputWeights: mat(r, H, I, scale),
      recurrentWeights: mat(r, H, H, scale),
      hiddenBias: vec(r, H, 0.2),
      outputWeights: mat(r, O, H, scale),
      outputBias: vec(r, O, 0.2),
    },
  };
}

/** Targets: one-hot classes for crossEntropy (soft ones when asked), values in (0.1, 0.9) otherwise. */
function targets(r: R, n: number, outputs: number, loss: LossKind, soft = false): number[][] {
  return Array.from({ length: n }, (_, i) => {
    if (loss !== 'crossEntropy') return Array.from({ length: outputs }, () => r(0.1, 0.9));
    if (soft) {
      const p = Array.from({ length: outputs }, () => r(0.1, 1));
      const s = p.reduce((a, b) => a + b);
      return p.map((v) => v / s);
    }
    return Array.from({ length: outputs }, (_v, c) => (c === i % outputs ? 1 : 0));
  });
}

/** webgpuRtol: this case's float32 tolerance where it needs its own (logits near 800). */
interface Case {
  name: string;
  spec: RunSpec;
  webgpuRtol?: number;
}

function mlpCase(
  name: string,
  seed: number,
  layers: [number, Act][],
  loss: LossKind,
  optimizer: OptimizerSpec,
  n: number,
  rest: Partial<RunSpec> & { soft?: boolean },
): Case {
  const r = rng(seed),
    inputSize = 3;
  const model = mlp(r, inputSize, layers);
  const { soft, ...more } = rest;
  const x = Array.from({ length: n }, () => vec(r, inputSize, 1));
  return { name, spec: { model, loss, optimizer, data: { x, y: targets(r, n, layers[layers.length - 1][0], loss, soft) }, ...more } };
}

function rnnCase(
  name: string,
  seed: number,
  act: Act,
  outAct: Act,
  loss: LossKind,
  optimizer: OptimizerSpec,
  n: number,
  rest: Partial<RunSpec> & { outputBiasShift?: number },
): Case {
  const r = rng(seed),
    I = 2,
    H = 3,
    O = 3,
    T = 4;
  const { outputBiasShift = 0, ...more } = rest;
  const model = rnn(r, I, H, O, act, outAct);
  model.weights!.outputBias = model.weights!.outputBias!.map((b) => b + outputBiasShift);
  const x = Array.from({ length: n }, () => Array.from({ length: T }, () => vec(r, I, 1)));
  return { name, spec: { model, loss, optimizer, data: { x, y: targets(r, n, O, loss) }, ...more } };
}

/**
 * Logits near 800, where exp() overflows: a softmax or a cross-entropy that does not subtract the
 * row's largest logit first gives Inf/NaN. x ≈ (1, 1) and weights ≈ 400 put the 3 logits near 800,
 * 790 and 805; the classes vary so that the loss is not ≈ 0.
 */
function largeLogitCase(name: string, act: Act, loss: LossKind, optimizer: OptimizerSpec): Case {
  const r = rng(77);
  const x = Array.from({ length: 6 }, () => [1 + r(-0.01, 0.01), 1 + r(-0.01, 0.01)]);
  const y = loss === 'crossEntropy' ? x.map((_, i) => [0, 1, 2].map((c) => (c === i % 3 ? 1 : 0))) : x.map(() => [0.3, 0.1, 0.6]);
  const model: MlpSpec = {
    type: 'mlp',
    inputSize: 2,
    layers: [
      {
        units: 3,
        activation: act,
        weights: [
          [400, 399.5],
          [395, 394.8],
          [402, 402.5],
        ],
        bias: [0.5, 0.1, -0.3],
      },
    ],
  };
  // float32 holds a logit near 800 to ±3e-5 (its spacing there is 6.1e-5), and the softmax turns
  // that into relative errors of the same size in the probabilities: 1e-3 here, 1e-4 elsewhere
  return { name, spec: { model, loss, optimizer, data: { x, y }, batchSize: 4, steps: 4 }, webgpuRtol: 1e-3 };
}

/** Every loss with every output activation, each on one small MLP, the hidden activation and the optimizer (defaults) taking turns. */
function grid(): Case[] {
  const hidden: Act[] = ['sigmoid', 'tanh', 'relu', 'identity', 'square'];
  const optimizers: [string, OptimizerSpec][] = [
    ['sgd lr 0.3', { type: 'sgd', lr: 0.3 }],
    ['momentum (μ 0.9) lr 0.1', { type: 'momentum', lr: 0.1 }],
    ['rmsprop (ρ 0.9, ε 1e-8 inside √) lr 0.01', { type: 'rmsprop', lr: 0.01 }],
    ['adam (β 0.9, 0.999, ε 1e-8) lr 0.02', { type: 'adam', lr: 0.02 }],
  ];
  const out: Case[] = [];
  for (const loss of ['mse', 'halfMse', 'crossEntropy'] as const) {
    for (const act of ['identity', 'sigmoid', 'tanh', 'relu', 'square', 'softmax'] as const) {
      const i = out.length,
        h = hidden[i % hidden.length],
        [optName, opt] = optimizers[i % optimizers.length];
      out.push(
        mlpCase(
          `mlp 3-4-3 ${h}→${act}, ${loss}, ${optName}; batch 2 of 5, 4 steps`,
          100 + i,
          [
            [4, h],
            [3, act],
          ],
          loss,
          opt,
          5,
          { batchSize: 2, steps: 4 },
        ),
      );
    }
  }
  return out;
}

const cases: Case[] = [
  ...grid(),
  // optimizers' options, deeper MLPs, shuffling
  mlpCase(
    'mlp 3-5-2 relu→tanh, mse, momentum μ 0.5 lr 0.2; whole batch of 6, 5 steps',
    3,
    [
      [5, 'relu'],
      [2, 'tanh'],
    ],
    'mse',
    { type: 'momentum', lr: 0.2, momentum: 0.5 },
    6,
    { steps: 5 },
  ),
  mlpCase(
    'mlp 3-4-3 tanh→softmax, mse, rmsprop epsInsideSqrt false ρ 0.8 ε 1e-3 lr 0.02; batch 4 of 7, 6 steps',
    5,
    [
      [4, 'tanh'],
      [3, 'softmax'],
    ],
    'mse',
    { type: 'rmsprop', lr: 0.02, rho: 0.8, eps: 1e-3, epsInsideSqrt: false },
    7,
    { batchSize: 4, steps: 6 },
  ),
  mlpCase(
    'mlp 3-4-2 identity→square, mse, rmsprop epsInsideSqrt true ρ 0.95 ε 0.05 lr 0.02; batch 2 of 4, 6 steps',
    6,
    [
      [4, 'identity'],
      [2, 'square'],
    ],
    'mse',
    { type: 'rmsprop', lr: 0.02, rho: 0.95, eps: 0.05, epsInsideSqrt: true },
    4,
    { batchSize: 2, steps: 6 },
  ),
  mlpCase(
    'mlp 3-4-2 sigmoid→relu, mse, rmsprop epsInsideSqrt false ε 0.05 lr 0.02; batch 3 of 6, 6 steps',
    7,
    [
      [4, 'sigmoid'],
      [2, 'relu'],
    ],
    'mse',
    { type: 'rmsprop', lr: 0.02, eps: 0.05, epsInsideSqrt: false },
    6,
    { batchSize: 3, steps: 6 },
  ),
  mlpCase(
    'mlp 3-4-3 tanh→softmax, crossEntropy (logits), adam defaults lr 0.05; batch 4 of 10, shuffled, 8 steps',
    8,
    [
      [4, 'tanh'],
      [3, 'softmax'],
    ],
    'crossEntropy',
    { type: 'adam', lr: 0.05 },
    10,
    { batchSize: 4, steps: 8, shuffle: true, seed: 5 },
  ),
  mlpCase(
    'mlp 3-4-3 sigmoid→identity, crossEntropy (softmax of ŷ, soft targets), adam β1 0.8 β2 0.99 ε 1e-6 lr 0.03; batch 2 of 5, 6 steps',
    9,
    [
      [4, 'sigmoid'],
      [3, 'identity'],
    ],
    'crossEntropy',
    { type: 'adam', lr: 0.03, beta1: 0.8, beta2: 0.99, eps: 1e-6 },
    5,
    { batchSize: 2, steps: 6, soft: true },
  ),
  mlpCase(
    'mlp 3-4-3-2 sigmoid→tanh→identity, mse, adam ε 0.01 lr 0.02; batch 3 of 8, shuffled, 9 steps',
    10,
    [
      [4, 'sigmoid'],
      [3, 'tanh'],
      [2, 'identity'],
    ],
    'mse',
    { type: 'adam', lr: 0.02, eps: 0.01 },
    8,
    { batchSize: 3, steps: 9, shuffle: true, seed: 11 },
  ),
  mlpCase(
    'mlp 3-4-3-2 relu→softmax (hidden)→identity, halfMse, sgd lr 0.4; batch 2 of 4, shuffled, 6 steps',
    11,
    [
      [4, 'relu'],
      [3, 'softmax'],
      [2, 'identity'],
    ],
    'halfMse',
    { type: 'sgd', lr: 0.4 },
    4,
    { batchSize: 2, steps: 6, shuffle: true, seed: 3 },
  ),
  mlpCase(
    'mlp 3-4-3 square→tanh, crossEntropy (softmax of ŷ), momentum μ 0.8 lr 0.1; batch 3 of 7, 6 steps',
    12,
    [
      [4, 'square'],
      [3, 'tanh'],
    ],
    'crossEntropy',
    { type: 'momentum', lr: 0.1, momentum: 0.8 },
    7,
    { batchSize: 3, steps: 6 },
  ),
  // logits near 800: the max shift in softmax and cross-entropy
  largeLogitCase('large logits (≈800): mlp 2-3 softmax, crossEntropy, sgd lr 0.01; batch 4 of 6, 4 steps', 'softmax', 'crossEntropy', {
    type: 'sgd',
    lr: 0.01,
  }),
  largeLogitCase('large logits (≈800): mlp 2-3 identity, crossEntropy (softmax of ŷ), momentum lr 0.01; batch 4 of 6, 4 steps', 'identity', 'crossEntropy', {
    type: 'momentum',
    lr: 0.01,
  }),
  largeLogitCase('large logits (≈800): mlp 2-3 softmax, mse, sgd lr 0.1; batch 4 of 6, 4 steps', 'softmax', 'mse', { type: 'sgd', lr: 0.1 }),
  // RNNs (2 inputs, 3 hidden, 3 outputs, 4 time steps)
  rnnCase('rnn tanh (nn.RNN)→identity, mse, adam lr 0.02; batch 2 of 5, 6 steps', 21, 'tanh', 'identity', 'mse', { type: 'adam', lr: 0.02 }, 5, {
    batchSize: 2,
    steps: 6,
  }),
  rnnCase('rnn relu (nn.RNN)→sigmoid, halfMse, momentum lr 0.5; batch 3 of 6, 5 steps', 22, 'relu', 'sigmoid', 'halfMse', { type: 'momentum', lr: 0.5 }, 6, {
    batchSize: 3,
    steps: 5,
  }),
  rnnCase(
    'rnn sigmoid→softmax, crossEntropy (logits), rmsprop defaults lr 0.01; batch 2 of 6, shuffled, 7 steps',
    23,
    'sigmoid',
    'softmax',
    'crossEntropy',
    { type: 'rmsprop', lr: 0.01 },
    6,
    { batchSize: 2, steps: 7, shuffle: true, seed: 9 },
  ),
  rnnCase('rnn identity→tanh, mse, sgd lr 0.3; batch 4 of 5, 4 steps', 24, 'identity', 'tanh', 'mse', { type: 'sgd', lr: 0.3 }, 5, { batchSize: 4, steps: 4 }),
  rnnCase(
    'rnn square→identity, mse, rmsprop epsInsideSqrt false ρ 0.7 ε 0.02 lr 0.01; batch 3 of 5, 5 steps',
    25,
    'square',
    'identity',
    'mse',
    { type: 'rmsprop', lr: 0.01, rho: 0.7, eps: 0.02, epsInsideSqrt: false },
    5,
    { batchSize: 3, steps: 5 },
  ),
  rnnCase(
    'rnn tanh (nn.RNN)→softmax, mse, adam β1 0.7 β2 0.9 lr 0.05; whole batch of 4, shuffled, 5 steps',
    26,
    'tanh',
    'softmax',
    'mse',
    { type: 'adam', lr: 0.05, beta1: 0.7, beta2: 0.9 },
    4,
    { steps: 5, shuffle: true, seed: 2 },
  ),
  rnnCase(
    'rnn relu (nn.RNN)→relu, crossEntropy (softmax of ŷ), rmsprop ε 0.05 inside √ lr 0.02; batch 2 of 4, 5 steps',
    27,
    'relu',
    'relu',
    'crossEntropy',
    { type: 'rmsprop', lr: 0.02, eps: 0.05 },
    4,
    { batchSize: 2, steps: 5, outputBiasShift: 0.6 },
  ),
];

/** Each epoch's sample order as Miya draws it (only a shuffled spec needs them: Python cannot reproduce Miya's generator). */
function ordersOf(spec: RunSpec): number[][] | undefined {
  if (!spec.shuffle) return undefined;
  const n = spec.data && 'x' in spec.data ? spec.data.x.length : 0;
  const perEpoch = Math.ceil(n / Math.min(spec.batchSize ?? n, n));
  return Array.from({ length: Math.ceil(spec.steps! / perEpoch) }, (_, e) => Array.from(epochOrder(n, true, spec.seed ?? 0, e)));
}

// ---- PyTorch, once for every case -----------------------------------------------------------

interface Trained {
  name: string;
  losses: number[];
  params: unknown;
  grads: unknown;
}
const oracle = oracleBeforeAll<Trained>('torch_oracle.py', () => cases.map((c) => ({ name: c.name, spec: c.spec, orders: ordersOf(c.spec) })));
const torchResult = (name: string): Trained => oracle.get(name);

// ---- comparison -----------------------------------------------------------------------------

/** Each tensor of a result shaped as runSpec's params ({layers: [{weights, bias}]}, or an RNN's named tensors), flattened. */
function tensorsOf(v: unknown): [string, number[]][] {
  const o = v as { layers?: { weights: number[][]; bias: number[] }[] } & Record<string, number[] | number[][]>;
  if (o.layers)
    return o.layers.flatMap(
      (l, i) =>
        [
          [`layers[${i}].weights`, l.weights.flat()],
          [`layers[${i}].bias`, l.bias],
        ] as [string, number[]][],
    );
  return Object.entries(o).map(([k, t]) => [k, (t as (number | number[])[]).flat()]);
}

test("Debian's PyTorch (/usr/bin/python3 with torch, float64) trains every case in one process", () => {
  const all = oracle.all();
  expect([...all.keys()].sort()).toEqual(cases.map((c) => c.name).sort());
  for (const t of all.values()) {
    expect(t.losses.every(Number.isFinite), t.name).toBe(true);
    // no degenerate case (a dead relu output trains nothing): every tensor has a gradient
    for (const [name, g] of tensorsOf(t.grads)) expect(Math.max(...g.map(Math.abs)), `${t.name}: the last step's ${name} gradient`).toBeGreaterThan(1e-6);
  }
  console.log(`PyTorch oracle: ${cases.length} cases in ${oracle.seconds().toFixed(1)} s`);
});

test('the cases cover every optimizer and option, every loss with every output activation, every hidden activation, MLPs and RNNs', () => {
  const specs = cases.map((c) => c.spec);
  const outputAct = (s: RunSpec) =>
    s.model.type === 'rnn' ? s.model.outputActivation : (s.model.layers[s.model.layers.length - 1] as { activation?: string }).activation;
  for (const o of OPTIMIZERS)
    expect(
      specs.some((s) => s.optimizer.type === o),
      o,
    ).toBe(true);
  for (const k of ['momentum', 'rho', 'eps', 'beta1', 'beta2'] as const)
    expect(
      specs.some((s) => s.optimizer[k] !== undefined),
      k,
    ).toBe(true);
  for (const inside of [true, false, undefined])
    expect(
      specs.some((s) => s.optimizer.type === 'rmsprop' && s.optimizer.epsInsideSqrt === inside),
      `epsInsideSqrt ${inside}`,
    ).toBe(true);
  for (const loss of LOSSES) {
    for (const act of ACTIVATIONS)
      expect(
        specs.some((s) => s.model.type === 'mlp' && s.loss === loss && outputAct(s) === act),
        `${loss} on ${act}`,
      ).toBe(true);
    expect(
      specs.some((s) => s.model.type === 'rnn' && s.loss === loss),
      `rnn ${loss}`,
    ).toBe(true);
  }
  const mlpHidden = new Set(specs.flatMap((s) => (s.model.type === 'mlp' ? s.model.layers.slice(0, -1).map((l) => l.activation) : [])));
  for (const act of ACTIVATIONS) expect(mlpHidden.has(act), `mlp hidden ${act}`).toBe(true);
  for (const act of ACTIVATIONS.filter((a) => a !== 'softmax'))
    expect(
      specs.some((s) => s.model.type === 'rnn' && s.model.activation === act),
      `rnn ${act}`,
    ).toBe(true);
  for (const o of OPTIMIZERS)
    expect(
      specs.some((s) => s.model.type === 'rnn' && s.optimizer.type === o),
      `rnn ${o}`,
    ).toBe(true);
  expect(specs.some((s) => s.shuffle && s.model.type === 'rnn') && specs.some((s) => s.shuffle && s.model.type === 'mlp'), 'shuffled mlp and rnn').toBe(true);
  // mini-batches: a short last batch, and runs longer than one epoch
  expect(
    specs.some((s) => {
      const n = (s.data as { x: unknown[] }).x.length;
      return s.batchSize! < n && n % s.batchSize! !== 0 && s.steps! > Math.ceil(n / s.batchSize!);
    }),
  ).toBe(true);
});

test('the shuffled cases are shuffled: each epoch passed to PyTorch is a permutation, not 0..n-1, and differs from the last', () => {
  const shuffled = cases.filter((c) => c.spec.shuffle);
  expect(shuffled.length).toBeGreaterThanOrEqual(3);
  for (const c of shuffled) {
    const orders = ordersOf(c.spec)!;
    expect(orders.length, c.name).toBeGreaterThanOrEqual(2);
    for (const [e, o] of orders.entries()) {
      expect(
        [...o].sort((a, b) => a - b),
        c.name,
      ).toEqual(o.map((_, i) => i));
      if (e > 0) expect(o, `${c.name}: epoch ${e}`).not.toEqual(orders[e - 1]);
    }
    expect(
      orders.some((o) => o.some((v, i) => v !== i)),
      c.name,
    ).toBe(true);
  }
});

describeBackends(await backendCases(), '%s against PyTorch', (name: string, be: Backend) => {
  const { scale } = tolerance[name];
  const tolOf = (c: Case) => (name === 'webgpu' ? (c.webgpuRtol ?? tolerance.webgpu.tol) : tolerance[name].tol);
  const title = (c: Case) =>
    `${c.name}: every step's loss, the final parameters and the last gradients agree to ${tolOf(c)}${name === 'webgpu' ? ' relative (float32)' : ''}`;
  test.each(cases.map((c) => [title(c), c] as const))('%s', async (_title, c) => {
    const t = torchResult(c.name),
      tol = tolOf(c);
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
