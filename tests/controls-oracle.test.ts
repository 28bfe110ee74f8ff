// The training controls against PyTorch float64 (tests/oracle/torch_controls.py, which reuses
// torch_oracle.py's models and loss): weight decay with every optimizer (torch.optim's
// weight_decay), AdamW, Nesterov, clip_grad_norm_ and clip_grad_value_, StepLR, ExponentialLR,
// CosineAnnealingLR and ReduceLROnPlateau each with a warmup, and early stopping written from the
// README. Small random MLPs and RNNs; every step's loss and rate, the final parameters and the
// last gradients agree to 1e-9 on the cpu backend and to float32 tolerance on webgpu; the
// held-out losses after each epoch, and the epochs early stopping stops at and restores, too.
import { writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, test } from 'vitest';
import type { Backend } from '../src/backend.js';
import type { Act, LossKind } from '../src/kernels.js';
import type { OptimizerSpec, RunSpec } from '../src/spec/types.js';
import { runSpec } from '../src/train/runSpec.js';
import { backendCases, describeBackends } from './backends.js';
import { mat, type R, rng, vec } from './oracle/random.js';
import { oracleBeforeAll, tolerance, worstDifference } from './oracle/torch.js';

interface Arrays {
  x: number[][] | number[][][];
  y: number[][];
}
interface Case {
  name: string;
  spec: RunSpec;
  train: Arrays;
  test?: Arrays;
}

const dir = mkdtempSync(join(tmpdir(), 'miya-controls-oracle-'));
const targets = (r: R, n: number, outputs: number, loss: LossKind) =>
  Array.from({ length: n }, (_, i) =>
    loss === 'crossEntropy' ? Array.from({ length: outputs }, (_v, c) => (c === i % outputs ? 1 : 0)) : Array.from({ length: outputs }, () => r(0.1, 0.9)),
  );

/** An MLP 3-5-2 (hidden `act`) on n inline samples; with `held` > 0 the data is a CSV whose last `held` samples are held out. */
function mlpCase(name: string, seed: number, act: Act, loss: LossKind, optimizer: OptimizerSpec, rest: Partial<RunSpec>, n = 7, held = 0): Case {
  const r = rng(seed);
  const model = {
    type: 'mlp' as const,
    inputSize: 3,
    layers: [
      { units: 5, activation: act, weights: mat(r, 5, 3, 0.9), bias: vec(r, 5, 0.3) },
      { units: 2, activation: 'identity' as Act, weights: mat(r, 2, 5, 0.9), bias: vec(r, 2, 0.3) },
    ],
  };
  const x = Array.from({ length: n + held }, () => vec(r, 3, 1.5)),
    y = targets(r, n + held, 2, loss);
  const base = { model, loss, optimizer, batchSize: 3, steps: 8, ...rest } as RunSpec;
  if (held === 0) return { name, spec: { ...base, data: { x, y } }, train: { x, y } };
  const file = join(dir, `${seed}.csv`);
  writeFileSync(file, ['a,b,c,p,q', ...x.map((v, i) => [...v, ...y[i]].join(','))].join('\n') + '\n');
  return {
    name,
    spec: { ...base, data: { csv: file, inputs: ['a', 'b', 'c'], targets: ['p', 'q'], test: held } },
    train: { x: x.slice(0, n), y: y.slice(0, n) },
    test: { x: x.slice(n), y: y.slice(n) },
  };
}

/** An RNN (2 inputs, 4 hidden, 2 outputs, 5 time steps) on 6 inline samples. */
function rnnCase(name: string, seed: number, act: 'tanh' | 'relu', optimizer: OptimizerSpec, rest: Partial<RunSpec>): Case {
  const r = rng(seed),
    I = 2,
    H = 4,
    O = 2,
    T = 5,
    n = 6;
  const model = {
    type: 'rnn' as const,
    inputSize: I,
    hiddenSize: H,
    outputSize: O,
    activation: act,
    outputActivation: 'identity' as Act,
    weights: {
      inputWeights: mat(r, H, I, 1.2),
      recurrentWeights: mat(r, H, H, 1.2),
      hiddenBias: vec(r, H, 0.3),
      outputWeights: mat(r, O, H, 1.2),
      outputBias: vec(r, O, 0.3),
    },
  };
  const x = Array.from({ length: n }, () => Array.from({ length: T }, () => vec(r, I, 1.5))),
    y = targets(r, n, O, 'mse');
  return { name, spec: { model, loss: 'mse', optimizer, data: { x, y }, batchSize: 4, steps: 8, ...rest }, train: { x, y } };
}

const cases: Case[] = [
  mlpCase('sgd, weight decay 0.05', 1, 'tanh', 'mse', { type: 'sgd', lr: 0.2, weightDecay: 0.05 }, {}),
  mlpCase('momentum, weight decay 0.02', 2, 'sigmoid', 'halfMse', { type: 'momentum', lr: 0.1, momentum: 0.8, weightDecay: 0.02 }, {}),
  mlpCase('momentum Nesterov, weight decay 0.01', 3, 'relu', 'mse', { type: 'momentum', lr: 0.1, nesterov: true, weightDecay: 0.01 }, {}),
  mlpCase('momentum Nesterov, no weight decay', 4, 'tanh', 'crossEntropy', { type: 'momentum', lr: 0.2, momentum: 0.7, nesterov: true }, {}),
  mlpCase('rmsprop (ε inside √), weight decay 0.03', 5, 'tanh', 'mse', { type: 'rmsprop', lr: 0.01, weightDecay: 0.03 }, {}),
  mlpCase(
    "rmsprop (torch's ε outside √), weight decay 0.03",
    6,
    'sigmoid',
    'mse',
    { type: 'rmsprop', lr: 0.01, epsInsideSqrt: false, eps: 1e-4, weightDecay: 0.03 },
    {},
  ),
  mlpCase('adam, weight decay 0.01 (L2)', 7, 'tanh', 'crossEntropy', { type: 'adam', lr: 0.03, weightDecay: 0.01 }, {}),
  mlpCase('adamw, default weight decay 0.01', 8, 'relu', 'mse', { type: 'adamw', lr: 0.03 }, {}),
  mlpCase('adamw, weight decay 0.2, β 0.8/0.99', 9, 'tanh', 'mse', { type: 'adamw', lr: 0.05, beta1: 0.8, beta2: 0.99, weightDecay: 0.2 }, {}),
  mlpCase('sgd, clipNorm 0.2', 10, 'tanh', 'mse', { type: 'sgd', lr: 0.5, clipNorm: 0.2 }, {}),
  mlpCase('adamw, clipNorm 0.3', 11, 'sigmoid', 'crossEntropy', { type: 'adamw', lr: 0.05, weightDecay: 0.1, clipNorm: 0.3 }, {}),
  mlpCase('adam, clipValue 0.05', 12, 'tanh', 'mse', { type: 'adam', lr: 0.03, clipValue: 0.05 }, {}),
  mlpCase('momentum, clipValue 0.02, weight decay 0.1', 13, 'relu', 'mse', { type: 'momentum', lr: 0.1, clipValue: 0.02, weightDecay: 0.1 }, {}),
  mlpCase(
    'sgd, step schedule (every 3, γ 0.5), warmup 3',
    14,
    'tanh',
    'mse',
    { type: 'sgd', lr: 0.3 },
    { schedule: { type: 'step', every: 3, gamma: 0.5, warmup: 3 } },
  ),
  mlpCase(
    'adam, exponential schedule (γ 0.8), warmup 2',
    15,
    'tanh',
    'mse',
    { type: 'adam', lr: 0.05 },
    { schedule: { type: 'exponential', gamma: 0.8, warmup: 2 } },
  ),
  mlpCase(
    'momentum, cosine schedule (5 steps, min 0.01: held there after), warmup 2',
    16,
    'sigmoid',
    'mse',
    { type: 'momentum', lr: 0.2 },
    { schedule: { type: 'cosine', steps: 5, min: 0.01, warmup: 2 } },
  ),
  rnnCase(
    'rnn tanh, adam, clipNorm 0.5, cosine schedule (8 steps), warmup 3',
    21,
    'tanh',
    { type: 'adam', lr: 0.05, clipNorm: 0.5 },
    { schedule: { type: 'cosine', steps: 8, warmup: 3 } },
  ),
  rnnCase(
    'rnn relu, momentum Nesterov, clipValue 0.1, weight decay 0.01, step schedule',
    22,
    'relu',
    { type: 'momentum', lr: 0.05, nesterov: true, clipValue: 0.1, weightDecay: 0.01 },
    { schedule: { type: 'step', every: 2, gamma: 0.7 } },
  ),
  rnnCase('rnn tanh, adamw, clipNorm 0.1', 23, 'tanh', { type: 'adamw', lr: 0.02, clipNorm: 0.1 }, { steps: 6 }),
  // a held-out set (CSV data.test): plateau and early stopping
  mlpCase(
    'adamw, plateau (factor 0.5, patience 1, minDelta 0.05), warmup 4',
    31,
    'tanh',
    'mse',
    { type: 'adamw', lr: 0.05 },
    { steps: 24, schedule: { type: 'plateau', factor: 0.5, patience: 1, minDelta: 0.05, warmup: 4 } },
    9,
    4,
  ),
  mlpCase(
    'sgd, plateau (factor 0.5, patience 1, minDelta 0.002), early stopping (patience 4, restoreBest)',
    32,
    'tanh',
    'mse',
    { type: 'sgd', lr: 1 },
    { steps: 150, schedule: { type: 'plateau', factor: 0.5, patience: 1, minDelta: 0.002 }, earlyStopping: { patience: 4, minDelta: 1e-3 } },
    9,
    4,
  ),
  mlpCase(
    'momentum, exponential schedule, early stopping (patience 2, minDelta 0.01, restoreBest false)',
    33,
    'sigmoid',
    'mse',
    { type: 'momentum', lr: 0.5 },
    { steps: 60, schedule: { type: 'exponential', gamma: 0.97 }, earlyStopping: { patience: 2, minDelta: 0.01, restoreBest: false } },
    9,
    4,
  ),
];

interface Trained {
  name: string;
  losses: number[];
  lrs: number[];
  params: unknown;
  grads: unknown;
  evaluations: { epoch: number; loss: number }[];
  stoppedEpoch: number | null;
  bestEpoch: number;
  clipActive: boolean;
}
const oracle = oracleBeforeAll<Trained>('torch_controls.py', () => cases.map((c) => ({ name: c.name, spec: c.spec, train: c.train, test: c.test })));
const torchResult = (name: string): Trained => oracle.get(name);

test('the cases exercise what they name: clipping changes gradients, the schedules change the rate, plateau reduces it, early stopping stops', () => {
  for (const c of cases) {
    const t = torchResult(c.name),
      o = c.spec.optimizer;
    expect(t.losses.every(Number.isFinite), c.name).toBe(true);
    if (o.clipNorm !== undefined || o.clipValue !== undefined) expect(t.clipActive, `${c.name}: clipping acts`).toBe(true);
    if (c.spec.schedule) expect(new Set(t.lrs).size, `${c.name}: the rate changes`).toBeGreaterThan(2);
    if (c.spec.schedule?.type === 'plateau') expect(t.lrs[t.lrs.length - 1], `${c.name}: the plateau reduces the rate`).toBeLessThan(c.spec.optimizer.lr);
    if (c.spec.earlyStopping) {
      expect(t.stoppedEpoch, `${c.name}: stops early`).not.toBeNull();
      expect(t.bestEpoch, `${c.name}: the best epoch is not the first`).toBeGreaterThan(1);
    }
  }
  const types = new Set(cases.map((c) => c.spec.optimizer.type));
  for (const o of ['sgd', 'momentum', 'rmsprop', 'adam', 'adamw']) expect(types.has(o as never), o).toBe(true);
  for (const s of ['step', 'exponential', 'cosine', 'plateau'])
    expect(
      cases.some((c) => c.spec.schedule?.type === s && (s === 'plateau' || c.spec.schedule.warmup)),
      s,
    ).toBe(true);
});

describeBackends(await backendCases(), 'training controls on %s against PyTorch', (name: string, be: Backend) => {
  const { scale, tol } = tolerance[name];
  test.each(cases.map((c) => [c.name, c] as const))(
    "%s: every step's loss and rate, the final parameters, the last gradients, the held-out losses",
    async (_n, c) => {
      const t = torchResult(c.name);
      const r = await runSpec(c.spec, { backend: be });
      expect(r.losses).toHaveLength(t.losses.length);
      for (const [what, m, p] of [
        ['losses', r.losses, t.losses],
        ['lrs', r.lrs, t.lrs],
        ['params', r.params, t.params],
        ['grads', r.grads, t.grads],
      ] as const) {
        const w = worstDifference(m, p, scale, what);
        expect(w.error, `${what}: worst at ${w.at}: miya ${w.miya}, torch ${w.torch}`).toBeLessThanOrEqual(tol);
      }
      const held = r.history.filter((h) => h.testLoss !== undefined).map((h) => ({ epoch: h.epoch, loss: h.testLoss! }));
      expect(held.map((h) => h.epoch)).toEqual(t.evaluations.map((e) => e.epoch));
      const w = worstDifference(
        held.map((h) => h.loss),
        t.evaluations.map((e) => e.loss),
        scale,
        'held-out',
      );
      expect(w.error, `held-out losses: worst at ${w.at}`).toBeLessThanOrEqual(tol);
      if (c.spec.earlyStopping) {
        expect(r.earlyStopping?.stoppedEpoch).toBe(t.stoppedEpoch);
        expect(r.earlyStopping?.bestEpoch).toBe(t.bestEpoch);
      }
    },
  );
});
