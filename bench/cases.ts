// The benchmark cases: matmul shapes and training-step models, full and --quick sizes.
import type { RunSpec } from '../src/spec/types.js';

import { MATMUL_TILE_NAMES, type MatmulTile } from '../src/kernels.js';

export interface MatmulCase {
  suite: 'matmul' | 'tiles';
  name: string;
  M: number;
  N: number;
  K: number;
  transA?: boolean;
  transB?: boolean;
  /** A fixed tile shape (the `tiles` suite compares Miya's tile shapes; peers skip it). */
  tile?: MatmulTile;
  /** One workgroup tile buffer instead of two (the `tiles` suite compares). */
  singleBuffer?: boolean;
  /** Operands read as vec4s (the `tiles` suite compares; its sizes are multiples of 4). */
  vec4?: boolean;
  /** A fixed number of K ranges (split-K; 1: none), also for the `tiles` suite. */
  splits?: number;
  /** The epilogue in a pass of its own (true) or at the end of the product (false), also for the `tiles` suite. */
  separateEpilogue?: boolean;
  /** With a bias and a sigmoid written beside Z, as a dense layer's forward pass does. */
  epilogue?: boolean;
}
export interface StepCase {
  suite: 'mlp' | 'rnn' | 'lstm' | 'gru' | 'small';
  name: string;
  spec: RunSpec;
  T: number;
  flopsPerStep: number;
  steps: number;
}
export type BenchCase = MatmulCase | StepCase;

const mm = (M: number, N: number, K: number): MatmulCase => ({ suite: 'matmul', name: `${M}x${N}x${K}`, M, N, K });

// A training step costs ~6 flops per multiply-accumulate of the forward pass (forward, and the
// two products of the backward pass).
function mlpCase(inputs: number, hidden: number, depth: number, outputs: number, batch: number): StepCase {
  const layers = [...Array(depth).fill(hidden), outputs].map((units, i) => ({ units, activation: i === depth ? 'identity' : 'sigmoid' }));
  const sizes = [inputs, ...layers.map((l) => l.units)];
  let macs = 0;
  for (let i = 1; i < sizes.length; i++) macs += sizes[i - 1] * sizes[i];
  return {
    suite: 'mlp',
    name: `${inputs}-${hidden}x${depth}-${outputs} b${batch}`,
    steps: 10,
    T: 1,
    flopsPerStep: 6 * batch * macs,
    spec: {
      model: { type: 'mlp', inputSize: inputs, layers } as RunSpec['model'],
      loss: 'mse',
      optimizer: { type: 'rmsprop', lr: 1e-3 },
      data: { x: [[0]], y: [[0]] },
      batchSize: batch,
      seed: 1,
    },
  };
}

function rnnCase(inputs: number, hidden: number, T: number, batch: number): StepCase {
  const macs = T * (inputs * hidden + hidden * hidden) + hidden * 10;
  return {
    suite: 'rnn',
    name: `in${inputs} h${hidden} T${T} b${batch}`,
    steps: 5,
    T,
    flopsPerStep: 6 * batch * macs,
    spec: {
      model: { type: 'rnn', inputSize: inputs, hiddenSize: hidden, outputSize: 10, activation: 'tanh', outputActivation: 'identity' },
      loss: 'mse',
      optimizer: { type: 'rmsprop', lr: 1e-3 },
      data: { x: [[[0]]], y: [[0]] },
      batchSize: batch,
      seed: 1,
    },
  };
}

// A stack of `layers` LSTM or GRU layers (sequential model; all but the last return their
// sequences) and a dense head of 10 outputs, mse: issue 14's recurrent benchmark. A layer of G
// gates does G·H·(in + H) multiply-adds a step.
function recurrentCase(kind: 'lstm' | 'gru', inputs: number, hidden: number, layers: number, T: number, batch: number): StepCase {
  const G = kind === 'lstm' ? 4 : 3;
  let macs = hidden * 10;
  for (let l = 0; l < layers; l++) macs += T * G * hidden * ((l === 0 ? inputs : hidden) + hidden);
  const stack = Array.from({ length: layers }, (_, l) => ({ type: kind, units: hidden, returnSequences: l < layers - 1 }));
  return {
    suite: kind,
    name: `in${inputs} h${hidden}x${layers} T${T} b${batch}`,
    steps: 5,
    T,
    flopsPerStep: 6 * batch * macs,
    spec: {
      model: { type: 'sequential', inputSize: inputs, layers: [...stack, { type: 'dense', units: 10, activation: 'identity' }] },
      loss: 'mse',
      optimizer: { type: 'rmsprop', lr: 1e-3 },
      data: { x: [[[0]]], y: [[0]] },
      batchSize: batch,
      seed: 1,
    },
  };
}

// Miya's tile shapes against each other at one large size, in the three transpositions a
// training step uses (forward x·Wᵀ, backward dZ·W, gradient dZᵀ·x), with double-buffered
// workgroup tiles (the default), with one buffer and with vec4 reads, and a dense layer's forward
// pass with its bias and sigmoid at the end of the product or in a pass of their own.
function tileCases(n: number): MatmulCase[] {
  const out: MatmulCase[] = [];
  for (const tile of MATMUL_TILE_NAMES) {
    for (const [transA, transB, how] of [
      [false, false, 'A·B'],
      [false, true, 'A·Bᵀ'],
      [true, false, 'Aᵀ·B'],
    ] as const) {
      out.push({ suite: 'tiles', name: `${n}³ ${how} ${tile}`, M: n, N: n, K: n, transA, transB, tile });
      out.push({ suite: 'tiles', name: `${n}³ ${how} ${tile} 1 buffer`, M: n, N: n, K: n, transA, transB, tile, singleBuffer: true });
      out.push({ suite: 'tiles', name: `${n}³ ${how} ${tile} vec4`, M: n, N: n, K: n, transA, transB, tile, vec4: true });
    }
    for (const separateEpilogue of [false, true]) {
      out.push({
        suite: 'tiles',
        name: `${n}³ A·Bᵀ+bias→sigmoid ${tile}${separateEpilogue ? ' apart' : ' fused'}`,
        M: n,
        N: n,
        K: n,
        transB: true,
        tile,
        epilogue: true,
        separateEpilogue,
      });
    }
  }
  return out;
}

// Split-K at the RNN's shapes (batch b, hidden h, T steps): a step h_t·Whᵀ, a BPTT step dz·Wh and
// the input weights' gradient dzᵀ·x over all steps, each whole and cut into 2…8 ranges of K.
function splitCases(b: number, h: number, T: number, i: number): MatmulCase[] {
  const out: MatmulCase[] = [];
  const shapes = [
    ['step', b, h, h, false, true],
    ['BPTT', b, h, h, false, false],
    ['dWx', h, i, T * b, true, false],
  ] as const;
  for (const [what, M, N, K, transA, transB] of shapes) {
    for (const tile of ['mid', 'small'] as const) {
      for (const splits of [1, 2, 4, 8]) out.push({ suite: 'tiles', name: `${what} ${M}x${N}x${K} ${tile} ÷${splits}`, M, N, K, transA, transB, tile, splits });
    }
  }
  return out;
}

export function benchCases(quick: boolean): BenchCase[] {
  const matmul = quick
    ? [mm(128, 128, 128), mm(256, 256, 256), mm(100, 77, 51)]
    : [256, 512, 1024, 2048, 4096, 8192].map((n) => mm(n, n, n)).concat([mm(1000, 777, 513)]);
  const mlp = quick ? [mlpCase(64, 128, 2, 32, 32)] : [mlpCase(256, 1024, 2, 256, 256), mlpCase(1024, 4096, 3, 1024, 1024)];
  const rnn = quick ? [rnnCase(16, 32, 8, 8)] : [rnnCase(64, 256, 32, 64), rnnCase(256, 1024, 64, 256)];
  // the size (2 layers, input 128, hidden 512, T 64, batch 128), and one the CPU contenders run in a full run too
  const recurrent = (kind: 'lstm' | 'gru') =>
    quick ? [recurrentCase(kind, 16, 32, 2, 8, 8)] : [recurrentCase(kind, 32, 128, 2, 16, 32), recurrentCase(kind, 128, 512, 2, 64, 128)];
  const small: StepCase = { ...mlpCase(3, 3, 1, 1, 1), suite: 'small', name: 'worked example 3-3-1, batch 1', steps: quick ? 100 : 1000 };
  const tiles = quick ? [...tileCases(128), ...splitCases(16, 64, 8, 16)] : [...tileCases(4096), ...splitCases(256, 1024, 64, 256)];
  return [...matmul, ...tiles, ...mlp, ...rnn, small, ...recurrent('lstm'), ...recurrent('gru')];
}
