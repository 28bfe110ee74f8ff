// Each webgpu kernel against its float64 twin (the cpu reference, whose kernels
// tests/cpu-kernels.test.ts holds against plain loops), one line per case; and what holds on every
// backend: a product cut along K against the one-pass product, the loss's partial sums with the
// gradient written in the same pass against loss_grad's bits.
import { expect, test } from 'vitest';
import { type Backend, view } from '../src/backend.js';
import { CpuBackend } from '../src/cpu/backend.js';
import { type KernelParams, MATMUL_TILE_NAMES } from '../src/kernels.js';
import { matmul } from '../src/nn/ops.js';
import { normRelError } from '../src/verify/compare.js';
import { kernelError as against, matmulParams as mm, seededNumbers as rand } from '../src/verify/kernelChecks.js';
import { backendCases, describeBackends } from './backends.js';

const backends = await backendCases();

const elt = (rows: number, cols: number, act: KernelParams['act_backward']['act']) => ({ rows, cols, act, offZ: 0, offA: 0, offDA: 0, offDZ: 0 });
const loss = (rows: number, cols: number, l: KernelParams['loss_value']['loss'], parts = 1) => ({
  rows,
  cols,
  loss: l,
  offP: 0,
  offY: 0,
  offOut: 0,
  offPart: 0,
  parts,
});
const upd = (opt: KernelParams['update']['opt'], epsInside = true): KernelParams['update'] => ({
  n: 300,
  opt,
  epsInside,
  lr: 0.01,
  h1: 0.9,
  h2: 0.999,
  eps: 1e-8,
  bc1: 0.19,
  bc2: 0.002,
});

// On cpu these would run the reference against itself: webgpu only.
describeBackends(
  backends.filter((b) => b.name !== 'cpu'),
  'kernels on %s against the float64 reference',
  (_, be) => {
    const tol = 1e-5;
    test.each([
      [1, 1, 1],
      [3, 5, 7],
      [64, 64, 64],
      [65, 130, 17],
      [100, 77, 51],
    ])('matmul %ix%ix%i', async (M, N, K) =>
      expect(await against(be, 'matmul', mm(M, N, K), { A: M * K, B: K * N, Z: M * N }, ['Z'])).toBeLessThanOrEqual(tol),
    );
    test('matmul transA', async () =>
      expect(await against(be, 'matmul', mm(33, 20, 70, { transA: true }), { A: 70 * 33, B: 70 * 20, Z: 33 * 20 }, ['Z'])).toBeLessThanOrEqual(tol));
    test('matmul transB', async () =>
      expect(await against(be, 'matmul', mm(20, 33, 70, { transB: true }), { A: 20 * 70, B: 33 * 70, Z: 20 * 33 }, ['Z'])).toBeLessThanOrEqual(tol));
    test.each(MATMUL_TILE_NAMES)('matmul tile %s, every transposition, odd sizes', async (tile) => {
      for (const [transA, transB] of [
        [false, false],
        [true, false],
        [false, true],
        [true, true],
      ]) {
        const [M, N, K] = [131, 67, 37];
        expect(
          await against(
            be,
            'matmul',
            mm(M, N, K, { transA, transB, tile, offA: 3, offB: 5, offZ: 1, hasBias: true, offBias: 2, act: 'tanh', writeAct: true }),
            { A: 3 + M * K, B: 5 + K * N, Z: 1 + M * N, Act: M * N, Bias: 2 + N },
            ['Z', 'Act'],
          ),
        ).toBeLessThanOrEqual(tol);
      }
    });
    test.each(MATMUL_TILE_NAMES)("matmul tile %s with one workgroup buffer (the benchmarks' comparison), every transposition", async (tile) => {
      for (const [transA, transB] of [
        [false, false],
        [true, false],
        [false, true],
        [true, true],
      ]) {
        expect(
          await against(be, 'matmul', mm(70, 131, 45, { transA, transB, tile, singleBuffer: true }), { A: 70 * 45, B: 45 * 131, Z: 70 * 131 }, ['Z']),
        ).toBeLessThanOrEqual(tol);
      }
    });
    test('matmul transA transB + offsets', async () =>
      expect(
        await against(be, 'matmul', mm(9, 11, 13, { transA: true, transB: true, offA: 5, offB: 3, offZ: 2 }), { A: 5 + 117, B: 3 + 143, Z: 2 + 99 }, ['Z']),
      ).toBeLessThanOrEqual(tol));
    test.each(['sigmoid', 'tanh', 'relu', 'square', 'identity'] as const)('matmul + bias + add + %s', async (act) =>
      expect(
        await against(
          be,
          'matmul',
          mm(17, 19, 23, { transB: true, act, writeAct: true, hasBias: true, hasAdd: true }),
          { A: 17 * 23, B: 19 * 23, Z: 17 * 19, Act: 17 * 19, Bias: 19, Add: 17 * 19 },
          ['Z', 'Act'],
        ),
      ).toBeLessThanOrEqual(tol),
    );
    test.each(['sigmoid', 'tanh', 'relu', 'square'] as const)('matmul ⊙ %s′ (backpropagation through it, fused), every tile', async (act) => {
      for (const tile of MATMUL_TILE_NAMES) {
        expect(
          await against(
            be,
            'matmul',
            mm(21, 18, 11, { act, mulDeriv: true, offD: 4, offZ: 2, tile }),
            { A: 21 * 11, B: 11 * 18, Z: 2 + 21 * 18, D: 4 + 21 * 18 },
            ['Z'],
          ),
        ).toBeLessThanOrEqual(tol);
      }
    });
    test('matmul reading A from other rows of the Z buffer, derivative fused (BPTT step)', async () =>
      expect(
        await against(be, 'matmul', mm(4, 6, 6, { act: 'tanh', mulDeriv: true, aFromZ: true, offA: 24, offZ: 0, offD: 3 }), { B: 36, Z: 48, D: 3 + 24 }, ['Z']),
      ).toBeLessThanOrEqual(tol));
    test('matmul reading A from the Act buffer (RNN step)', async () =>
      expect(
        await against(
          be,
          'matmul',
          mm(4, 6, 6, { transB: true, act: 'tanh', writeAct: true, aFromAct: true, offA: 0, offAct: 24 }),
          { B: 36, Z: 24, Act: 48 },
          ['Z', 'Act'],
        ),
      ).toBeLessThanOrEqual(tol));
    test.each(MATMUL_TILE_NAMES)('matmul split-K partial products, tile %s, every transposition, ranges of 16 and a short last one', async (tile) => {
      for (const [transA, transB] of [
        [false, false],
        [true, false],
        [false, true],
        [true, true],
      ]) {
        const [M, N, K, S] = [37, 70, 83, 4]; // ranges of 32: 32, 32, 19 and an empty fourth
        expect(
          await against(
            be,
            'matmul',
            mm(M, N, K, { transA, transB, tile, splits: S, offA: 2, offB: 3, offZ: 5 }),
            { A: 2 + M * K, B: 3 + K * N, Z: 5 + S * M * N },
            ['Z'],
          ),
        ).toBeLessThanOrEqual(tol);
      }
    });
    test.each(MATMUL_TILE_NAMES)(
      "matmul tile %s reading its operands as vec4s: every transposition with partial tiles, the scalar reads' bits (what tuning relies on), splits, an unaligned call",
      async (tile) => {
        const [M, N, K] = [132, 68, 36];
        const sizes = { A: 4 + M * K, B: 8 + K * N, Z: 1 + M * N, Act: M * N, Bias: 2 + N };
        const A = rand(sizes.A, 11),
          B = rand(sizes.B, 12),
          Bias = rand(sizes.Bias, 13);
        const product = async (p: KernelParams['matmul']) => {
          const bufs = {
            A: be.buffer(sizes.A, 'A'),
            B: be.buffer(sizes.B, 'B'),
            Z: be.buffer(sizes.Z, 'Z'),
            Act: be.buffer(sizes.Act, 'Act'),
            Bias: be.buffer(sizes.Bias, 'Bias'),
          };
          be.write(bufs.A, A);
          be.write(bufs.B, B);
          be.write(bufs.Bias, Bias);
          be.run('matmul', p, bufs);
          const out = [...(await be.read(bufs.Z, 0, sizes.Z)), ...(await be.read(bufs.Act, 0, sizes.Act))];
          for (const b of Object.values(bufs)) be.free(b);
          return out;
        };
        for (const [transA, transB] of [
          [false, false],
          [true, false],
          [false, true],
          [true, true],
        ]) {
          const p = mm(M, N, K, { transA, transB, tile, offA: 4, offB: 8, offZ: 1, hasBias: true, offBias: 2, act: 'tanh', writeAct: true });
          expect(await against(be, 'matmul', { ...p, vec4: true }, sizes, ['Z', 'Act'], [], { A, B, Bias })).toBeLessThanOrEqual(tol);
          expect(await product({ ...p, vec4: true }), `${transA} ${transB}`).toEqual(await product(p));
        }
        // split-K ranges (of 48) start on multiples of 4: the RNN step's A·Bᵀ and the input weights' Aᵀ·B
        for (const [transA, transB] of [
          [false, true],
          [true, false],
        ]) {
          expect(
            await against(be, 'matmul', mm(M, N, 100, { transA, transB, tile, vec4: true, splits: 3 }), { A: M * 100, B: 100 * N, Z: 3 * M * N }, ['Z']),
          ).toBeLessThanOrEqual(tol);
        }
        // offA 3: vec4 asked for but impossible, so the scalar reads
        expect(
          await against(
            be,
            'matmul',
            mm(M, N, K, { tile, vec4: true, offA: 3, hasBias: true, offBias: 2, act: 'tanh', writeAct: true }),
            { A: 3 + M * K, B: K * N, Z: M * N, Act: M * N, Bias: 2 + N },
            ['Z', 'Act'],
          ),
        ).toBeLessThanOrEqual(tol);
      },
    );
    test.each(['sigmoid', 'tanh', 'relu', 'square', 'identity'] as const)('matmul_reduce: 3 partials + bias + add, %s written beside', async (act) =>
      expect(
        await against(
          be,
          'matmul_reduce',
          mm(17, 19, 23, { splits: 3, act, writeAct: true, hasBias: true, hasAdd: true, offZ: 1, offAct: 2, offBias: 3, offAdd: 4 }),
          { Part: 3 * 17 * 19, Z: 1 + 17 * 19, Act: 2 + 17 * 19, Bias: 3 + 19, Add: 4 + 17 * 19 },
          ['Z', 'Act'],
        ),
      ).toBeLessThanOrEqual(tol),
    );
    test('matmul_reduce ⊙ tanh′ (a BPTT step split)', async () =>
      expect(
        await against(be, 'matmul_reduce', mm(9, 40, 64, { splits: 5, act: 'tanh', mulDeriv: true, offD: 6 }), { Part: 5 * 9 * 40, Z: 9 * 40, D: 6 + 9 * 40 }, [
          'Z',
        ]),
      ).toBeLessThanOrEqual(tol));
    test.each(['sigmoid', 'tanh', 'relu', 'square', 'identity'] as const)('act_backward %s', async (act) =>
      expect(await against(be, 'act_backward', elt(7, 9, act), { Z: 63, A: 63, dA: 63, dZ: 63 }, ['dZ'])).toBeLessThanOrEqual(tol),
    );
    test('gather (RNN batch, time-major)', async () =>
      expect(
        await against(be, 'gather', { rows: 5, steps: 3, features: 4, offIdx: 1, offIn: 2, offOut: 3 }, { Idx: 6, In: 2 + 9 * 12, Out: 3 + 60 }, ['Out'], [], {
          Idx: [0, 8, 0, 3, 7, 3],
        }),
      ).toBeLessThanOrEqual(tol));
    test('softmax_rows', async () => expect(await against(be, 'softmax_rows', elt(5, 7, 'softmax'), { Z: 35, A: 35 }, ['A'])).toBeLessThanOrEqual(tol));
    test('softmax_backward', async () =>
      expect(await against(be, 'softmax_backward', elt(5, 7, 'softmax'), { A: 35, dA: 35, dZ: 35 }, ['dZ'])).toBeLessThanOrEqual(tol));
    test.each(['mse', 'halfMse', 'crossEntropy'] as const)('loss_partial %s (rows split into parts, the last one short)', async (l) =>
      expect(await against(be, 'loss_partial', loss(300, 6, l, 7), { P: 1800, Y: 1800, Part: 7 }, ['Part'], ['Y'])).toBeLessThanOrEqual(tol),
    );
    test.each(['mse', 'halfMse', 'crossEntropy'] as const)('loss_partial %s with the gradient written in the same pass', async (l) =>
      expect(
        await against(
          be,
          'loss_partial',
          { ...loss(300, 6, l, 7), offOut: 2, withGrad: true },
          { P: 1800, Y: 1800, Part: 7, Out: 2 + 1800 },
          ['Part', 'Out'],
          ['Y'],
        ),
      ).toBeLessThanOrEqual(tol),
    );
    test.each(['mse', 'halfMse', 'crossEntropy'] as const)('loss_value %s', async (l) =>
      expect(await against(be, 'loss_value', loss(300, 6, l, 257), { Part: 257, Out: 1 }, ['Out'])).toBeLessThanOrEqual(tol),
    );
    test.each(['mse', 'halfMse', 'crossEntropy'] as const)('loss_grad %s', async (l) =>
      expect(await against(be, 'loss_grad', loss(30, 6, l), { P: 180, Y: 180, Out: 180 }, ['Out'], ['Y'])).toBeLessThanOrEqual(tol),
    );
    test.each([
      [37, 70],
      [1000, 37],
      [3, 5],
      [64, 16],
    ])('col_sum %i×%i', async (rows, cols) =>
      expect(await against(be, 'col_sum', { rows, cols, offM: 3, offOut: 2 }, { M: 3 + rows * cols, Out: 2 + cols }, ['Out'])).toBeLessThanOrEqual(tol),
    );
    test.each([
      ['sgd', true],
      ['momentum', true],
      ['rmsprop', true],
      ['rmsprop', false],
      ['adam', true],
    ] as const)('update %s (eps inside %s)', async (opt, inside) =>
      expect(await against(be, 'update', upd(opt, inside), { P: 300, G: 300, S1: 300, S2: 300 }, ['P', 'S1', 'S2'], ['S1', 'S2'])).toBeLessThanOrEqual(tol),
    );
  },
);

describeBackends(backends, 'kernels on %s', (_, be) => {
  // uncut (1) on cpu would be the reference against itself
  test.each(be.name === 'cpu' ? [2, 3, 7] : [1, 2, 3, 7])(
    'matmul cut into %i K ranges (partials, then the reduction) = the one-pass product, RNN step aliasing',
    async (splits) => {
      // h_{t+1} = tanh(h_t·Whᵀ + zx): A is read from the buffer the activation is written to
      const [B, H] = [5, 40],
        ref = new CpuBackend();
      const run = async <T>(b: Backend<T>, s?: number) => {
        const h = b.buffer(3 * B * H, 'h'),
          w = b.buffer(H * H, 'w'),
          z = b.buffer(B * H, 'z'),
          zx = b.buffer(B * H, 'zx');
        b.write(h, rand(3 * B * H, 3));
        b.write(w, rand(H * H, 4));
        b.write(zx, rand(B * H, 5));
        matmul(b, {
          z: view(z, 0, B, H),
          a: view(h, B * H, B, H),
          b: view(w, 0, H, H),
          transB: true,
          add: view(zx, 0, B, H),
          activation: 'tanh',
          act: view(h, 2 * B * H, B, H),
          splits: s,
        });
        b.submit();
        const out = [...(await b.read(z, 0, B * H)), ...(await b.read(h, 0, 3 * B * H))];
        for (const x of [h, w, z, zx]) b.free(x);
        return Float64Array.from(out);
      };
      expect(normRelError(await run(be, splits), await run(ref, 1))).toBeLessThanOrEqual(be.name === 'cpu' ? 1e-15 : 1e-5);
    },
  );
  test.each(['mse', 'halfMse', 'crossEntropy'] as const)("loss_partial %s with the gradient gives loss_grad's bits", async (l) => {
    const [rows, cols] = [70, 9];
    const P = be.buffer(rows * cols, 'P'),
      Y = be.buffer(rows * cols, 'Y'),
      Part = be.buffer(3, 'Part'),
      G = be.buffer(rows * cols, 'G');
    be.write(P, rand(rows * cols, 21));
    be.write(Y, rand(rows * cols, 22).map(Math.abs));
    try {
      be.run('loss_grad', loss(rows, cols, l), { P, Y, Out: G });
      const apart = await be.read(G, 0, rows * cols);
      be.write(G, new Float64Array(rows * cols));
      be.run('loss_partial', { ...loss(rows, cols, l, 3), withGrad: true }, { P, Y, Part, Out: G });
      expect(await be.read(G, 0, rows * cols)).toEqual(apart);
    } finally {
      for (const b of [P, Y, Part, G]) be.free(b);
    }
  });
});
