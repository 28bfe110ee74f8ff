// Each kernel of the float64 reference (src/cpu/kernels.ts, the `cpuKernels` table) against an
// independent computation written here as plain loops from the textbook formula. A kernel that
// sums documents the order of its sum (k from 0 upwards; split-K ranges each from k0 upwards, then
// the partials from s = 0; rows from 0; the loss's parts from w = 0), and the loops here sum in that
// order, so the comparison is to the bit: a sum taken in another order, off by one ulp anywhere,
// fails here. The backward kernels are also held against finite differences of the forward
// functions written here, so that a wrong derivative formula cannot pass by being copied.
import { describe, expect, test } from 'vitest';
import { CpuBackend } from '../src/cpu/backend.js';
import type { Act, KernelBuffers, KernelName, KernelParams, LossKind, MatmulParams } from '../src/kernels.js';
import { matmulParams } from '../src/verify/kernelCases.js';

type F = Float64Array;
const cpu = new CpuBackend();
const run = <K extends KernelName>(k: K, p: KernelParams[K], b: KernelBuffers<F>[K]) => cpu.run(k, p, b);

// ---- inputs: a xorshift sequence of full-precision numbers in ±[2⁻⁴, 2³), so that sums round differently in any other order

function numbers(n: number, seed: number, positive = false): F {
  let s = (seed * 2654435761) >>> 0 || 1;
  const next = () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 2 ** 32;
  };
  return Float64Array.from({ length: n }, () => {
    const v = (0.5 + (next() + next() / 2 ** 32) / 2) * 2 ** (Math.floor(next() * 7) - 3); // all 53 bits of the significand
    return positive || next() < 0.5 ? v : -v;
  });
}

/** got and want element by element with Object.is: the same bits (−0 ≠ +0, NaN only where NaN is wanted). */
function expectBits(got: ArrayLike<number>, want: ArrayLike<number>, what: string): void {
  expect(got.length, `${what}: length`).toBe(want.length);
  for (let i = 0; i < want.length; i++) {
    if (!Object.is(got[i], want[i])) expect(got[i], `${what}[${i}], ${ulps(got[i], want[i])} ulp from the plain loop's`).toBe(want[i]);
  }
}
function ulps(a: number, b: number): string {
  const bits = (x: number) => new BigInt64Array(Float64Array.of(x).buffer)[0];
  return String(bits(a) > bits(b) ? bits(a) - bits(b) : bits(b) - bits(a));
}
/** A sum is only pinned where its order matters: somewhere in these inputs the reversed order gives other bits. */
function orderMatters(terms: number[][]): boolean {
  return terms.some((t) => t.reduce((s, x) => s + x, 0) !== [...t].reverse().reduce((s, x) => s + x, 0));
}

// ---- the textbook functions

const f = (act: Act, z: number): number =>
  act === 'sigmoid' ? 1 / (1 + Math.exp(-z)) : act === 'tanh' ? Math.tanh(z) : act === 'relu' ? (z > 0 ? z : 0) : act === 'square' ? z * z : z;
/**
 * f′(z), from what a layer keeps: a = f(z) for sigmoid (a(1 − a)) and tanh (1 − a²), z for relu
 * (1 where z > 0) and square (2z). The fused backward product's D holds a, or z for square.
 */
const df = (act: Act, z: number, a: number): number =>
  act === 'sigmoid' ? a * (1 - a) : act === 'tanh' ? 1 - a * a : act === 'relu' ? (z > 0 ? 1 : 0) : act === 'square' ? 2 * z : 1;
/** The central difference of g at x. */
const central = (g: (x: number) => number, x: number, h = 1e-6) => (g(x + h) - g(x - h)) / (2 * h);
const ELEMENTWISE = ['identity', 'sigmoid', 'tanh', 'relu', 'square'] as const;
const DERIVATIVES = ['sigmoid', 'tanh', 'relu', 'square'] as const;

// ---- matmul and matmul_reduce

const mm = matmulParams;
type MatmulBufs = { A?: F; B: F; Z: F; Act?: F; Bias?: F; Add?: F; D?: F };
type Operands = { a: (m: number, k: number) => number; b: (k: number, n: number) => number };
function operands(p: MatmulParams, x: MatmulBufs): Operands {
  const A = p.aFromAct ? x.Act! : p.aFromZ ? x.Z : x.A!; // read before anything is written: the regions do not overlap
  return {
    a: (m, k) => A[p.offA + (p.transA ? k * p.M + m : m * p.K + k)],
    b: (k, n) => x.B[p.offB + (p.transB ? n * p.K + k : k * p.N + n)],
  };
}
/** The k ranges of split-K: ⌈K / S⌉ rounded up to a multiple of 16 each, the last one short or empty. */
function kRanges(K: number, S: number): [number, number][] {
  const chunk = 16 * Math.ceil(K / S / 16);
  return Array.from({ length: S }, (_v, s) => [Math.min(K, s * chunk), Math.min(K, (s + 1) * chunk)]);
}
/** Σ_{k0 ≤ k < k1} op(A)[m][k]·op(B)[k][n], k upwards from 0 + the first term. */
function dotRange(o: Operands, m: number, n: number, k0: number, k1: number): number {
  let s = 0;
  for (let k = k0; k < k1; k++) s += o.a(m, k) * o.b(k, n);
  return s;
}
/** z = sum + Bias[n] + Add[m][n], then ⊙ f′(D[m][n]), into Z; f(z) into Act. */
function epilogue(p: MatmulParams, x: MatmulBufs, out: { Z: F; Act?: F }, m: number, n: number, sum: number): void {
  let z = sum;
  if (p.hasBias) z = z + x.Bias![p.offBias + n];
  if (p.hasAdd) z = z + x.Add![p.offAdd + m * p.N + n];
  if (p.mulDeriv) {
    const d = x.D![p.offD + m * p.N + n];
    z = z * df(p.act, d, d);
  }
  out.Z[p.offZ + m * p.N + n] = z;
  if (p.writeAct) out.Act![p.offAct + m * p.N + n] = f(p.act, z);
}
/** What matmul leaves in Z and Act: the textbook triple loop (or the split-K partials). */
function plainMatmul(p: MatmulParams, x: MatmulBufs): { Z: F; Act?: F } {
  const out = { Z: x.Z.slice(), Act: x.Act?.slice() };
  const o = operands(p, x);
  for (let m = 0; m < p.M; m++) {
    for (let n = 0; n < p.N; n++) {
      if ((p.splits ?? 1) > 1) {
        kRanges(p.K, p.splits!).forEach(([k0, k1], s) => {
          out.Z[p.offZ + (s * p.M + m) * p.N + n] = dotRange(o, m, n, k0, k1);
        });
      } else {
        epilogue(p, x, out, m, n, dotRange(o, m, n, 0, p.K));
      }
    }
  }
  return out;
}
/** What matmul_reduce leaves: Σ_s Part[s][m][n] from s = 0 upwards, then the epilogue. */
function plainReduce(p: MatmulParams, x: MatmulBufs & { Part: F }): { Z: F; Act?: F } {
  const out = { Z: x.Z.slice(), Act: x.Act?.slice() };
  for (let m = 0; m < p.M; m++) {
    for (let n = 0; n < p.N; n++) {
      let s = 0;
      for (let sp = 0; sp < p.splits!; sp++) s += x.Part[(sp * p.M + m) * p.N + n];
      epilogue(p, x, out, m, n, s);
    }
  }
  return out;
}
/** Fresh buffers of random numbers (A, B, Bias, Add, D; Z and Act too, to see that only their own region is written). */
function matmulBuffers(p: MatmulParams, seed: number): MatmulBufs {
  const rows = p.splits && p.splits > 1 ? p.splits * p.M : p.M;
  const b: MatmulBufs = {
    B: numbers(p.offB + p.K * p.N, seed + 1),
    Z: numbers(p.offZ + rows * p.N + 3, seed + 2),
  };
  if (!p.aFromAct && !p.aFromZ) b.A = numbers(p.offA + p.M * p.K, seed);
  if (p.writeAct || p.aFromAct) b.Act = numbers(Math.max(p.offAct + p.M * p.N, p.aFromAct ? p.offA + p.M * p.K : 0) + 2, seed + 3);
  if (p.hasBias) b.Bias = numbers(p.offBias + p.N, seed + 4);
  if (p.hasAdd) b.Add = numbers(p.offAdd + p.M * p.N, seed + 5);
  if (p.mulDeriv) {
    // what f′ is given: a = f(z) (sigmoid, tanh, relu), or z itself (square)
    const z = numbers(p.offD + p.M * p.N, seed + 6);
    b.D = p.act === 'square' ? z : z.map((v) => f(p.act, v));
  }
  if (p.aFromZ) b.Z = numbers(Math.max(p.offZ + p.M * p.N, p.offA + p.M * p.K) + 3, seed + 2);
  return b;
}
const copies = (b: MatmulBufs): MatmulBufs => Object.fromEntries(Object.entries(b).map(([k, v]) => [k, v.slice()])) as MatmulBufs;

function checkMatmul(p: MatmulParams, seed = 1): void {
  const x = matmulBuffers(p, seed),
    want = plainMatmul(p, x),
    got = copies(x);
  run('matmul', p, got as KernelBuffers<F>['matmul']);
  const o = operands(p, x),
    terms = (m: number, n: number) => Array.from({ length: p.K }, (_v, k) => o.a(m, k) * o.b(k, n));
  if (p.K >= 3)
    expect(
      orderMatters(Array.from({ length: p.M * p.N }, (_v, i) => terms(Math.floor(i / p.N), i % p.N))),
      'inputs whose sums another order would change',
    ).toBe(true);
  expectBits(got.Z, want.Z, 'Z');
  if (want.Act) expectBits(got.Act!, want.Act, 'Act');
  for (const k of ['A', 'B', 'Bias', 'Add', 'D'] as const) if (x[k]) expectBits(got[k]!, x[k]!, `${k} (an input, unchanged)`);
}

const TRANSPOSES = [
  [false, false],
  [true, false],
  [false, true],
  [true, true],
] as const;

describe('matmul: Z[m][n] = Σ_k op(A)[m][k]·op(B)[k][n], k from 0 upwards, to the bit', () => {
  // 4×4 register blocks, their partial rows and columns, and shapes that are all remainder
  test.each([
    [1, 1, 1],
    [3, 5, 7],
    [4, 4, 4],
    [8, 12, 33],
    [13, 6, 17],
    [65, 130, 17],
    [9, 11, 100],
  ])('%i×%i from %i, every transposition, with offsets', (M, N, K) => {
    for (const [transA, transB] of TRANSPOSES) checkMatmul(mm(M, N, K, { transA, transB, offA: 3, offB: 5, offZ: 1 }), M + N + K);
  });
  test.each(ELEMENTWISE)('+ bias + add, then %s written beside Z, every transposition', (act) => {
    for (const [transA, transB] of TRANSPOSES) {
      checkMatmul(mm(17, 19, 23, { transA, transB, act, writeAct: true, hasBias: true, hasAdd: true, offBias: 2, offAdd: 3, offAct: 4 }), 7);
    }
  });
  test.each(DERIVATIVES)('⊙ %s′(D) (backpropagation through the activation, fused), every transposition', (act) => {
    for (const [transA, transB] of TRANSPOSES) checkMatmul(mm(21, 18, 11, { transA, transB, act, mulDeriv: true, offD: 4, offZ: 2 }), 11);
  });
  test('the RNN step: A read from other rows of the Act buffer, + add → tanh written into it', () =>
    checkMatmul(mm(4, 6, 6, { transB: true, act: 'tanh', writeAct: true, hasAdd: true, aFromAct: true, offA: 0, offAct: 24 }), 13));
  test('the BPTT step: A read from other rows of the Z buffer, ⊙ tanh′ fused', () =>
    checkMatmul(mm(4, 6, 6, { act: 'tanh', mulDeriv: true, aFromZ: true, offA: 24, offZ: 0, offD: 3 }), 17));
  test('the fused derivative is f′: (A·B) ⊙ f′ matches the product times a central difference of f', () => {
    for (const act of DERIVATIVES) {
      const [M, N, K] = [5, 6, 7];
      const z = numbers(M * N, 31),
        D = act === 'square' ? z : z.map((v) => f(act, v));
      const A = numbers(M * K, 32),
        B = numbers(K * N, 33),
        Z = new Float64Array(M * N),
        plain = new Float64Array(M * N);
      run('matmul', mm(M, N, K, { act, mulDeriv: true }), { A, B, Z, D });
      run('matmul', mm(M, N, K), { A, B, Z: plain });
      for (let i = 0; i < M * N; i++) {
        expect(Math.abs(Z[i] - plain[i] * central((v) => f(act, v), z[i])), `${act} at z = ${z[i]}`).toBeLessThanOrEqual(
          1e-7 * Math.max(1, Math.abs(plain[i] * f(act, z[i]))),
        );
      }
    }
  });
});

describe('matmul split-K and matmul_reduce: ranges of K summed each from k0 upwards, then the partials from s = 0, to the bit', () => {
  test('the ranges: ⌈K / S⌉ rounded up to a multiple of 16, the last one short or empty', () => {
    expect(kRanges(83, 4)).toEqual([
      [0, 32],
      [32, 64],
      [64, 83],
      [83, 83],
    ]);
    expect(kRanges(100, 3)).toEqual([
      [0, 48],
      [48, 96],
      [96, 100],
    ]);
    // the kernel's partials: K = 3 cut in 2 has all of k in the first range and zeros in the second
    const A = Float64Array.of(1, 2, 3),
      B = Float64Array.of(4, 5, 6),
      Z = numbers(2, 1);
    run('matmul', mm(1, 1, 3, { splits: 2 }), { A, B, Z });
    expectBits(Z, [1 * 4 + 2 * 5 + 3 * 6, 0], 'Z');
  });
  test.each([
    [37, 70, 83, 4],
    [45, 70, 100, 3],
    [9, 40, 64, 5],
    [3, 5, 40, 2],
  ])('%i×%i from %i cut in %i: the partial products, every transposition, with offsets', (M, N, K, S) => {
    for (const [transA, transB] of TRANSPOSES) checkMatmul(mm(M, N, K, { transA, transB, splits: S, offA: 2, offB: 3, offZ: 5 }), S);
  });
  const reduce = (p: MatmulParams, seed: number) => {
    const x = { ...matmulBuffers({ ...p, splits: 1 }, seed), Part: numbers(p.splits! * p.M * p.N + 2, seed + 9) };
    delete x.A;
    delete (x as { B?: F }).B;
    const want = plainReduce(p, x),
      got = { ...copies(x), Part: x.Part.slice() };
    run('matmul_reduce', p, got as KernelBuffers<F>['matmul_reduce']);
    expectBits(got.Z, want.Z, 'Z');
    if (want.Act) expectBits(got.Act!, want.Act, 'Act');
    expectBits(got.Part, x.Part, 'Part (an input, unchanged)');
  };
  test.each(ELEMENTWISE)('matmul_reduce: 7 partials + bias + add, %s written beside, with offsets', (act) =>
    reduce(mm(17, 19, 23, { splits: 7, act, writeAct: true, hasBias: true, hasAdd: true, offZ: 1, offAct: 2, offBias: 3, offAdd: 4 }), 3),
  );
  test.each(DERIVATIVES)('matmul_reduce ⊙ %s′ (a split BPTT step)', (act) => reduce(mm(9, 40, 64, { splits: 5, act, mulDeriv: true, offD: 6 }), 5));
  test('partials then their reduction: the two-level sum to the bit, and the one-pass product to rounding', () => {
    const [M, N, K, S] = [6, 7, 90, 3];
    const A = numbers(M * K, 41),
      B = numbers(N * K, 42),
      Bias = numbers(N, 43);
    const Part = new Float64Array(S * M * N),
      Z = new Float64Array(M * N),
      one = new Float64Array(M * N);
    run('matmul', mm(M, N, K, { transB: true, splits: S }), { A, B, Z: Part });
    run('matmul_reduce', mm(M, N, K, { transB: true, splits: S, hasBias: true }), { Part, Z, Bias });
    run('matmul', mm(M, N, K, { transB: true, hasBias: true }), { A, B, Z: one, Bias });
    const o = operands(mm(M, N, K, { transB: true }), { A, B, Z });
    const want = Float64Array.from({ length: M * N }, (_v, i) => {
      const [m, n] = [Math.floor(i / N), i % N];
      let z = 0;
      for (const [k0, k1] of kRanges(K, S)) z += dotRange(o, m, n, k0, k1);
      return z + Bias[n];
    });
    expectBits(Z, want, 'Z');
    // two ways of rounding one sum: they differ at most by K ulps of Σ|terms| (and do differ somewhere)
    const bound = (i: number) =>
      K * 2 ** -52 * Array.from({ length: K }, (_v, k) => Math.abs(o.a(Math.floor(i / N), k) * o.b(k, i % N))).reduce((s, t) => s + t, 0);
    for (let i = 0; i < M * N; i++) expect(Math.abs(Z[i] - one[i]), `Z[${i}]`).toBeLessThanOrEqual(bound(i));
    expect(Array.from(Z).some((z, i) => z !== one[i])).toBe(true);
  });
});

// ---- element-wise and row-wise kernels

const elt = (rows: number, cols: number, act: Act, o: Partial<KernelParams['act_backward']> = {}): KernelParams['act_backward'] => ({
  rows,
  cols,
  act,
  offZ: 0,
  offA: 0,
  offDA: 0,
  offDZ: 0,
  ...o,
});

describe('act_backward: dZ = dA ⊙ f′(Z, A)', () => {
  test.each(ELEMENTWISE)('%s: the textbook derivative to the bit, and a central difference of f', (act) => {
    const [rows, cols] = [7, 9],
      n = rows * cols,
      p = elt(rows, cols, act, { offZ: 1, offA: 2, offDA: 3, offDZ: 4 });
    const z = numbers(n, 51),
      Z = new Float64Array(1 + n),
      A = new Float64Array(2 + n),
      dA = numbers(3 + n, 52),
      dZ = numbers(4 + n + 2, 53);
    Z.set(z, 1);
    A.set(
      z.map((v) => f(act, v)),
      2,
    );
    const want = dZ.slice();
    for (let i = 0; i < n; i++) want[4 + i] = dA[3 + i] * df(act, z[i], f(act, z[i]));
    run('act_backward', p, { Z, A, dA, dZ });
    expectBits(dZ, want, 'dZ');
    const ones = new Float64Array(n).fill(1),
      d = new Float64Array(n);
    run('act_backward', elt(rows, cols, act), { Z: z, A: z.map((v) => f(act, v)), dA: ones, dZ: d });
    for (let i = 0; i < n; i++)
      expect(Math.abs(d[i] - central((v) => f(act, v), z[i])), `at z = ${z[i]}`).toBeLessThanOrEqual(1e-7 * Math.max(1, Math.abs(f(act, z[i]))));
  });
});

/** softmax of row r of z (c from 0: the max, Σ_c exp(z − max) from c = 0 upwards, exp(z − max) / Σ). */
function softmax(z: ArrayLike<number>, off: number, cols: number): number[] {
  let m = -Infinity;
  for (let c = 0; c < cols; c++) m = Math.max(m, z[off + c]);
  let s = 0;
  for (let c = 0; c < cols; c++) s += Math.exp(z[off + c] - m);
  return Array.from({ length: cols }, (_v, c) => Math.exp(z[off + c] - m) / s);
}

describe('softmax_rows and softmax_backward', () => {
  test('softmax_rows: A[r][c] = exp(Z[r][c] − max) / Σ_c exp(Z[r][c] − max), c from 0 upwards, to the bit; rows sum to 1', () => {
    const [rows, cols] = [5, 17],
      Z = numbers(3 + rows * cols, 61).map((v) => 4 * v),
      A = numbers(5 + rows * cols + 1, 62);
    const want = A.slice();
    for (let r = 0; r < rows; r++) want.set(softmax(Z, 3 + r * cols, cols), 5 + r * cols);
    run('softmax_rows', elt(rows, cols, 'softmax', { offZ: 3, offA: 5 }), { Z, A });
    expectBits(A, want, 'A');
    for (let r = 0; r < rows; r++) expect(Math.abs(A.slice(5 + r * cols, 5 + (r + 1) * cols).reduce((s, v) => s + v, 0) - 1)).toBeLessThan(1e-14);
    // large logits do not overflow
    const big = Float64Array.of(1000, 1001, 999),
      out = new Float64Array(3);
    run('softmax_rows', elt(1, 3, 'softmax'), { Z: big, A: out });
    expectBits(out, softmax([0, 1, -1], 0, 3), 'A of (1000, 1001, 999)');
  });
  test('softmax_backward: dZ = A ⊙ (dA − Σ_c dA·A), c from 0 upwards, to the bit, and central differences of Σ dA·softmax(z)', () => {
    const [rows, cols] = [5, 7],
      n = rows * cols;
    const z = numbers(n, 71),
      dAv = numbers(n, 72);
    const Av: number[] = [];
    for (let r = 0; r < rows; r++) Av.push(...softmax(z, r * cols, cols));
    const A = new Float64Array(2 + n),
      dA = new Float64Array(3 + n),
      dZ = numbers(4 + n + 1, 73);
    A.set(Av, 2);
    dA.set(dAv, 3);
    const want = dZ.slice();
    for (let r = 0; r < rows; r++) {
      let dot = 0;
      for (let c = 0; c < cols; c++) dot += dAv[r * cols + c] * Av[r * cols + c];
      for (let c = 0; c < cols; c++) want[4 + r * cols + c] = Av[r * cols + c] * (dAv[r * cols + c] - dot);
    }
    run('softmax_backward', elt(rows, cols, 'softmax', { offA: 2, offDA: 3, offDZ: 4 }), { A, dA, dZ });
    expectBits(dZ, want, 'dZ');
    for (let r = 0; r < rows; r++) {
      for (let c = 0; c < cols; c++) {
        const L = (v: number) => {
          const row = Array.from(z.slice(r * cols, (r + 1) * cols));
          row[c] = v;
          return softmax(row, 0, cols).reduce((s, a, j) => s + dAv[r * cols + j] * a, 0);
        };
        expect(Math.abs(dZ[4 + r * cols + c] - central(L, z[r * cols + c])), `dZ[${r}][${c}]`).toBeLessThanOrEqual(1e-8);
      }
    }
  });
});

describe('gather', () => {
  test('Out[t][r][i] = In[Idx[r]][t][i]: samples [n][steps][features] → batch [steps][rows][features]', () => {
    const [rows, T, I, n] = [5, 3, 4, 9],
      Idx = Float64Array.of(-1, 0, 8, 0, 3, 7, 3),
      In = numbers(2 + n * T * I, 81),
      Out = numbers(3 + T * rows * I + 1, 82);
    const want = Out.slice();
    for (let t = 0; t < T; t++)
      for (let r = 0; r < rows; r++) for (let i = 0; i < I; i++) want[3 + (t * rows + r) * I + i] = In[2 + (Idx[1 + r] * T + t) * I + i];
    run('gather', { rows, steps: T, features: I, offIdx: 1, offIn: 2, offOut: 3 }, { Idx, In, Out });
    expectBits(Out, want, 'Out');
  });
});

describe('col_sum (bias gradients): Out[c] = Σ_r M[r][c], r from 0 upwards, to the bit', () => {
  test.each([
    [37, 70],
    [1000, 37],
    [3, 5],
    [1, 4],
    [64, 16],
  ])('%i×%i, with offsets', (rows, cols) => {
    const M = numbers(3 + rows * cols, rows + cols),
      Out = numbers(2 + cols + 1, 91);
    const want = Out.slice();
    for (let c = 0; c < cols; c++) {
      let s = 0;
      for (let r = 0; r < rows; r++) s += M[3 + r * cols + c];
      want[2 + c] = s;
    }
    if (rows >= 30) expect(orderMatters(Array.from({ length: cols }, (_v, c) => Array.from({ length: rows }, (_w, r) => M[3 + r * cols + c])))).toBe(true);
    run('col_sum', { rows, cols, offM: 3, offOut: 2 }, { M, Out });
    expectBits(Out, want, 'Out');
  });
});

// ---- the loss

const lossP = (rows: number, cols: number, loss: LossKind, parts: number, o: Partial<KernelParams['loss_partial']> = {}): KernelParams['loss_partial'] => ({
  rows,
  cols,
  loss,
  offP: 0,
  offY: 0,
  offOut: 0,
  offPart: 0,
  parts,
  ...o,
});
/** The loss of one row: Σ_c (P − Y)² (mse forms), or Σ_c Y·(logsumexp(P) − P) (cross-entropy on logits), c from 0 upwards. */
function rowLoss(loss: LossKind, P: ArrayLike<number>, Y: ArrayLike<number>, o: number, cols: number): number[] {
  if (loss === 'crossEntropy') {
    const l = lse(P, o, cols);
    return Array.from({ length: cols }, (_v, c) => Y[o + c] * (l - P[o + c]));
  }
  return Array.from({ length: cols }, (_v, c) => (P[o + c] - Y[o + c]) ** 2);
}
function lse(P: ArrayLike<number>, o: number, cols: number): number {
  let m = -Infinity;
  for (let c = 0; c < cols; c++) m = Math.max(m, P[o + c]);
  let e = 0;
  for (let c = 0; c < cols; c++) e += Math.exp(P[o + c] - m);
  return m + Math.log(e);
}
/** Part w: the row losses' terms of rows [w·R, (w+1)·R) ∩ [0, rows), R = ⌈rows / parts⌉, summed in one running sum from 0. */
function plainParts(loss: LossKind, P: F, Y: F, rows: number, cols: number, parts: number): number[] {
  const R = Math.ceil(rows / parts);
  return Array.from({ length: parts }, (_v, w) => {
    let s = 0;
    for (let r = Math.min(rows, w * R); r < Math.min(rows, (w + 1) * R); r++) for (const t of rowLoss(loss, P, Y, r * cols, cols)) s += t;
    return s;
  });
}
/** The textbook loss: mse the mean over batch and outputs of (ŷ − y)², halfMse half that, crossEntropy the batch mean of −Σ y·log softmax(ŷ). */
function textbookLoss(loss: LossKind, P: ArrayLike<number>, Y: ArrayLike<number>, rows: number, cols: number): number {
  let s = 0;
  for (let r = 0; r < rows; r++) {
    if (loss === 'crossEntropy') {
      const sm = softmax(P, r * cols, cols);
      for (let c = 0; c < cols; c++) s -= Y[r * cols + c] * Math.log(sm[c]);
    } else for (let c = 0; c < cols; c++) s += (P[r * cols + c] - Y[r * cols + c]) ** 2;
  }
  return loss === 'crossEntropy' ? s / rows : loss === 'halfMse' ? s / 2 / (rows * cols) : s / (rows * cols);
}
/** dLoss/dP: 2(P − Y)/n (mse), (P − Y)/n (halfMse), (softmax(P) − Y)/rows with softmax = exp(P − logsumexp) (crossEntropy). */
function textbookGrad(loss: LossKind, P: F, Y: F, rows: number, cols: number): F {
  const n = rows * cols;
  return Float64Array.from({ length: n }, (_v, i) => {
    if (loss === 'mse') return (2 * (P[i] - Y[i])) / n;
    if (loss === 'halfMse') return (P[i] - Y[i]) / n;
    const r = Math.floor(i / cols);
    return (Math.exp(P[i] - lse(P, r * cols, cols)) - Y[i]) / rows;
  });
}
/** Targets: non-negative, and for crossEntropy rows that sum to 1 (a distribution over the classes). */
function targets(loss: LossKind, rows: number, cols: number, seed: number): F {
  const y = numbers(rows * cols, seed, true);
  if (loss !== 'crossEntropy') return y;
  for (let r = 0; r < rows; r++) {
    const s = y.slice(r * cols, (r + 1) * cols).reduce((a, b) => a + b, 0);
    for (let c = 0; c < cols; c++) y[r * cols + c] /= s;
  }
  return y;
}
const LOSS_KINDS = ['mse', 'halfMse', 'crossEntropy'] as const;

describe('loss_partial, loss_value and loss_grad, for each loss', () => {
  // 300 rows in 7 parts of 43 (the last one 42); 3 rows in 5 parts (two empty); one part
  test.each(
    LOSS_KINDS.flatMap(
      (l) =>
        [
          [l, 300, 6, 7],
          [l, 3, 4, 5],
          [l, 40, 10, 1],
        ] as const,
    ),
  )("loss_partial %s, %i×%i rows in %i parts: each part's rows and columns in one running sum, to the bit", (loss, rows, cols, parts) => {
    const n = rows * cols,
      P = numbers(2 + n, 101),
      Y = new Float64Array(3 + n),
      Part = numbers(4 + parts + 1, 102);
    Y.set(targets(loss, rows, cols, 103), 3);
    const want = Part.slice();
    want.set(plainParts(loss, P.subarray(2), Y.subarray(3), rows, cols, parts), 4);
    run('loss_partial', lossP(rows, cols, loss, parts, { offP: 2, offY: 3, offPart: 4 }), { P, Y, Part });
    expectBits(Part, want, 'Part');
    if (rows >= 40)
      expect(orderMatters([Array.from({ length: rows }, (_v, r) => rowLoss(loss, P.subarray(2), Y.subarray(3), r * cols, cols)).flat()])).toBe(true);
  });
  test.each(LOSS_KINDS)('loss_partial %s with the gradient: the same parts, and the textbook gradient at offOut', (loss) => {
    const [rows, cols, parts] = [70, 9, 3],
      n = rows * cols;
    const P = numbers(n, 111),
      Y = targets(loss, rows, cols, 112),
      Part = new Float64Array(parts),
      Out = numbers(2 + n + 1, 113);
    const want = Out.slice();
    want.set(textbookGrad(loss, P, Y, rows, cols), 2);
    run('loss_partial', lossP(rows, cols, loss, parts, { offOut: 2, withGrad: true }), { P, Y, Part, Out });
    expectBits(Part, plainParts(loss, P, Y, rows, cols, parts), 'Part');
    expectBits(Out, want, 'Out');
  });
  test.each(LOSS_KINDS)('loss_value %s: Σ_w Part[w] from w = 0, normalised, to the bit', (loss) => {
    const [rows, cols, parts] = [300, 6, 257],
      Part = numbers(1 + parts, 121, true),
      Out = numbers(4, 122);
    let s = 0;
    for (let w = 0; w < parts; w++) s += Part[1 + w];
    const want = Out.slice();
    want[2] = loss === 'crossEntropy' ? s / rows : loss === 'halfMse' ? (0.5 * s) / (rows * cols) : s / (rows * cols);
    expect(orderMatters([Array.from(Part.subarray(1))])).toBe(true);
    run('loss_value', lossP(rows, cols, loss, parts, { offPart: 1, offOut: 2 }), { Part, Out });
    expectBits(Out, want, 'Out');
  });
  test.each(LOSS_KINDS)(
    'loss_partial then loss_value %s: in one part, the textbook running sum to the bit; in parts, the textbook loss to rounding',
    (loss) => {
      const [rows, cols] = [50, 7],
        P = numbers(rows * cols, 131),
        Y = targets(loss, rows, cols, 132);
      const value = (parts: number) => {
        const Part = new Float64Array(parts),
          Out = new Float64Array(1);
        run('loss_partial', lossP(rows, cols, loss, parts), { P, Y, Part });
        run('loss_value', lossP(rows, cols, loss, parts), { Part, Out });
        return Out[0];
      };
      let s = 0;
      for (let r = 0; r < rows; r++) for (const t of rowLoss(loss, P, Y, r * cols, cols)) s += t;
      const n = rows * cols;
      expect(value(1)).toBe(loss === 'crossEntropy' ? s / rows : loss === 'halfMse' ? (0.5 * s) / n : s / n);
      const want = textbookLoss(loss, P, Y, rows, cols);
      for (const parts of [1, 4, 13]) expect(Math.abs(value(parts) - want)).toBeLessThanOrEqual(1e-14 * want);
    },
  );
  test('a hand-worked case: mse of ŷ (0.5, 0.2) against (1, 0) is 0.145, halfMse 0.0725; cross-entropy of logits (0, ln 3) against class 1 is ln(4/3)', () => {
    const value = (loss: LossKind, P: number[], Y: number[]) => {
      const Part = new Float64Array(1),
        Out = new Float64Array(1);
      run('loss_partial', lossP(1, 2, loss, 1), { P: Float64Array.from(P), Y: Float64Array.from(Y), Part });
      run('loss_value', lossP(1, 2, loss, 1), { Part, Out });
      return Out[0];
    };
    expect(value('mse', [0.5, 0.2], [1, 0])).toBeCloseTo(0.145, 15);
    expect(value('halfMse', [0.5, 0.2], [1, 0])).toBeCloseTo(0.0725, 15);
    expect(value('crossEntropy', [0, Math.log(3)], [0, 1])).toBeCloseTo(Math.log(4 / 3), 15);
  });
  test.each(LOSS_KINDS)('loss_grad %s: the textbook gradient to the bit, and central differences of the textbook loss', (loss) => {
    const [rows, cols] = [6, 5],
      n = rows * cols,
      P = numbers(1 + n, 141),
      Y = new Float64Array(2 + n),
      Out = numbers(3 + n + 1, 142);
    const y = targets(loss, rows, cols, 143);
    Y.set(y, 2);
    const want = Out.slice();
    want.set(textbookGrad(loss, P.subarray(1), y, rows, cols), 3);
    run('loss_grad', lossP(rows, cols, loss, 1, { offP: 1, offY: 2, offOut: 3 }), { P, Y, Out });
    expectBits(Out, want, 'Out');
    for (let i = 0; i < n; i++) {
      const L = (v: number) => {
        const p = P.slice(1);
        p[i] = v;
        return textbookLoss(loss, p, y, rows, cols);
      };
      expect(Math.abs(Out[3 + i] - central(L, P[1 + i], 1e-5)), `dL/dP[${i}]`).toBeLessThanOrEqual(1e-8);
    }
  });
});

// ---- the optimizer step

const hyper = { lr: 0.01, h1: 0.9, h2: 0.999, eps: 1e-8 };
type Update = KernelParams['update'];
/**
 * One textbook step on parameter p with gradient g and state s1, s2 (PyTorch's rules, README "The run spec"):
 * sgd p − lr·g; momentum v = μv + g, p − lr·v; rmsprop s = ρs + (1 − ρ)g², p − lr·g/√(s + ε) (TF.js) or
 * p − lr·g/(√s + ε) (PyTorch); adam m = β1·m + (1 − β1)g, v = β2·v + (1 − β2)g², p − lr·(m/bc1)/(√(v/bc2) + ε).
 */
function textbookStep(u: Update, p: number, g: number, s1: number, s2: number): [number, number, number] {
  switch (u.opt) {
    case 'sgd':
      return [p - u.lr * g, s1, s2];
    case 'momentum': {
      const v = u.h1 * s1 + g;
      return [p - u.lr * v, v, s2];
    }
    case 'rmsprop': {
      const s = u.h1 * s1 + (1 - u.h1) * g * g;
      return [p - (u.epsInside ? (u.lr * g) / Math.sqrt(s + u.eps) : (u.lr * g) / (Math.sqrt(s) + u.eps)), s, s2];
    }
    case 'adam': {
      const m = u.h1 * s1 + (1 - u.h1) * g,
        v = u.h2 * s2 + (1 - u.h2) * g * g;
      return [p - (u.lr * (m / u.bc1)) / (Math.sqrt(v / u.bc2) + u.eps), m, v];
    }
  }
}

describe('update: one optimizer step over n parameters', () => {
  test.each([
    ['sgd', true],
    ['momentum', true],
    ['rmsprop', true],
    ['rmsprop', false],
    ['adam', true],
  ] as const)('%s (ε inside the root: %s): three steps, parameters and state, to the bit', (opt, epsInside) => {
    const n = 300;
    // buffers one longer than n: nothing past n is written
    const P = numbers(n + 1, 151),
      S1 = numbers(n + 1, 152),
      S2 = numbers(n + 1, 153, true);
    if (opt === 'rmsprop') S1.set(numbers(n + 1, 152, true));
    const want = [P.slice(), S1.slice(), S2.slice()];
    for (let t = 1; t <= 3; t++) {
      const u: Update = { n, opt, epsInside, ...hyper, bc1: 1 - hyper.h1 ** t, bc2: 1 - hyper.h2 ** t };
      const G = numbers(n + 1, 160 + t);
      for (let i = 0; i < n; i++) [want[0][i], want[1][i], want[2][i]] = textbookStep(u, want[0][i], G[i], want[1][i], want[2][i]);
      run('update', u, { P, G, S1, S2 });
      expectBits(P, want[0], `P after step ${t}`);
      expectBits(S1, want[1], `S1 after step ${t}`);
      expectBits(S2, want[2], `S2 after step ${t}`);
    }
  });
  test("Adam's first step from zero state moves each parameter by lr·g/(|g| + ε): lr against the gradient's sign", () => {
    const n = 50,
      P = new Float64Array(n),
      G = numbers(n, 171),
      S1 = new Float64Array(n),
      S2 = new Float64Array(n);
    run('update', { n, opt: 'adam', epsInside: false, ...hyper, bc1: 1 - hyper.h1, bc2: 1 - hyper.h2 }, { P, G, S1, S2 });
    for (let i = 0; i < n; i++) expect(P[i]).toBeCloseTo(-hyper.lr * Math.sign(G[i]), 8);
  });
});
