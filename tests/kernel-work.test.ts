// The work a profile divides by a kernel's time: flops of products, the bytes each launch must move.
import { expect, test } from 'vitest';
import { kernelWork } from '../src/kernelWork.js';
import type { MatmulParams } from '../src/kernels.js';
import { rates } from '../bench/profile.js';

const product = (o: Partial<MatmulParams>): MatmulParams => ({
  M: 256,
  N: 1024,
  K: 1024,
  transA: false,
  transB: true,
  act: 'identity',
  hasBias: false,
  hasAdd: false,
  writeAct: false,
  aFromAct: false,
  aFromZ: false,
  mulDeriv: false,
  offA: 0,
  offB: 0,
  offZ: 0,
  offAct: 0,
  offBias: 0,
  offAdd: 0,
  offD: 0,
  ...o,
});

test.each([
  ['a product: A, B and Z once', 'matmul', product({}), 2 * 256 * 1024 * 1024, 4 * (256 * 1024 + 1024 * 1024 + 256 * 1024)],
  ['split-K in 4: four partial Z', 'matmul', product({ splits: 4 }), 2 * 256 * 1024 * 1024, 4 * (256 * 1024 + 1024 * 1024 + 4 * 256 * 1024)],
  [
    'their reduction with add → tanh',
    'matmul_reduce',
    product({ splits: 4, hasAdd: true, writeAct: true, act: 'tanh' }),
    3 * 256 * 1024,
    4 * (4 + 1 + 2) * 256 * 1024,
  ],
  [
    'a product with bias → sigmoid',
    'matmul',
    product({ M: 8, N: 3, K: 7, hasBias: true, writeAct: true, act: 'sigmoid' }),
    2 * 8 * 3 * 7,
    4 * (8 * 7 + 7 * 3 + 8 * 3 + 8 * 3 + 3),
  ],
  [
    'Adam over 10 parameters: P, G, m, v',
    'update',
    { n: 10, opt: 'adam', epsInside: false, lr: 1, h1: 0.9, h2: 0.999, eps: 1e-8, bc1: 1, bc2: 1 },
    0,
    4 * 7 * 10,
  ],
  ['column sums of 16384×1024', 'col_sum', { rows: 16384, cols: 1024, offM: 0, offOut: 0 }, 0, 4 * (16384 * 1024 + 1024)],
  ['a gathered RNN batch', 'gather', { rows: 8, steps: 3, features: 2, offIdx: 0, offIn: 0, offOut: 0 }, 0, 4 * (2 * 8 * 3 * 2 + 8)],
  [
    'the loss with its gradient',
    'loss_partial',
    { rows: 4, cols: 2, loss: 'mse', offP: 0, offY: 0, offOut: 0, offPart: 0, parts: 2, withGrad: true },
    0,
    4 * (3 * 8 + 2),
  ],
] as const)('%s', (_, kernel, params, flops, bytes) => {
  expect(kernelWork(kernel, params as never)).toEqual({ flops, bytes });
});

test('rates: GFLOP/s where there are flops, GB/s always', () => {
  expect(rates(2, 4e9, 6e6)).toBe('   2000.0 GFLOP/s       3.0 GB/s');
  expect(rates(1, 0, 2e6)).toBe(`${' '.repeat(17)}       2.0 GB/s`);
});
