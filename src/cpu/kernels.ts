// The float64 reference of every GPU kernel: same names, same parameters, same buffers as
// shaders/*.wgsl. This file is the definition of what each kernel computes.
import {
  type ColSumParams,
  type EltParams,
  type KernelBuffers,
  type KernelName,
  type KernelParams,
  type GatherParams,
  type LossParams,
  type MatmulParams,
  type UpdateParams,
  type GradNormParams,
  splitRange,
} from '../kernels.js';
import { actDf, actF } from './activation.js';
import { gru_cell, gru_cell_backward, lstm_cell, lstm_cell_backward } from './recurrent.js';
import { dropout } from './dropout.js';
import { embedding, embedding_backward } from './embedding.js';

type F = Float64Array;

// Z[M][N] = op(A)·op(B) + Bias + Add; A: [M][K] (or [K][M] transA), B: [K][N] (or [N][K] transB).
// The definition: Z[m][n] = Σ_k op(A)[m][k]·op(B)[k][n], summed from k = 0 upwards, then + Bias[n]
// + Add[m][n], then ⊙ f'(D[m][n]) (mulDeriv), and Act = f(Z). For speed the sums are register-blocked 4×4 over (m, n), on rows of
// op(A) and columns of op(B) laid out contiguous in k (copied into panels when they are not); each
// sum still runs over k in order, so the result is the plain triple loop's to the bit.
export function matmul(p: MatmulParams, b: KernelBuffers<F>['matmul']): void {
  const { M, N, K } = p;
  const A = p.aFromAct ? b.Act! : p.aFromZ ? b.Z : b.A!;
  if ((p.splits ?? 1) > 1) {
    matmulPartials(p, A, b.B, b.Z);
    return;
  }
  const [a, oa] = p.transA ? panel(0, A, p.offA, M, K, 1, M) : [A, p.offA];
  const [w, ow] = p.transB ? [b.B, p.offB] : panel(1, b.B, p.offB, N, K, 1, N);
  const out = (m: number, n: number, acc: number) => finish(p, b, m, n, acc);
  const m4 = M - (M % 4),
    n4 = N - (N % 4);
  for (let m = 0; m < m4; m += 4) {
    const r0 = oa + m * K,
      r1 = r0 + K,
      r2 = r1 + K,
      r3 = r2 + K;
    for (let n = 0; n < n4; n += 4) {
      const c0 = ow + n * K,
        c1 = c0 + K,
        c2 = c1 + K,
        c3 = c2 + K;
      let s00 = 0,
        s01 = 0,
        s02 = 0,
        s03 = 0,
        s10 = 0,
        s11 = 0,
        s12 = 0,
        s13 = 0;
      let s20 = 0,
        s21 = 0,
        s22 = 0,
        s23 = 0,
        s30 = 0,
        s31 = 0,
        s32 = 0,
        s33 = 0;
      for (let k = 0; k < K; k++) {
        const a0 = a[r0 + k],
          a1 = a[r1 + k],
          a2 = a[r2 + k],
          a3 = a[r3 + k];
        const w0 = w[c0 + k],
          w1 = w[c1 + k],
          w2 = w[c2 + k],
          w3 = w[c3 + k];
        s00 += a0 * w0;
        s01 += a0 * w1;
        s02 += a0 * w2;
        s03 += a0 * w3;
        s10 += a1 * w0;
        s11 += a1 * w1;
        s12 += a1 * w2;
        s13 += a1 * w3;
        s20 += a2 * w0;
        s21 += a2 * w1;
        s22 += a2 * w2;
        s23 += a2 * w3;
        s30 += a3 * w0;
        s31 += a3 * w1;
        s32 += a3 * w2;
        s33 += a3 * w3;
      }
      out(m, n, s00);
      out(m, n + 1, s01);
      out(m, n + 2, s02);
      out(m, n + 3, s03);
      out(m + 1, n, s10);
      out(m + 1, n + 1, s11);
      out(m + 1, n + 2, s12);
      out(m + 1, n + 3, s13);
      out(m + 2, n, s20);
      out(m + 2, n + 1, s21);
      out(m + 2, n + 2, s22);
      out(m + 2, n + 3, s23);
      out(m + 3, n, s30);
      out(m + 3, n + 1, s31);
      out(m + 3, n + 2, s32);
      out(m + 3, n + 3, s33);
    }
    for (let i = m; i < m + 4; i++) for (let n = n4; n < N; n++) out(i, n, dot(a, oa + i * K, w, ow + n * K, K));
  }
  for (let m = m4; m < M; m++) for (let n = 0; n < N; n++) out(m, n, dot(a, oa + m * K, w, ow + n * K, K));
}

// The rest of the definition above, given the sum: + Bias + Add, ⊙ f'(D), and Act = f(Z).
function finish(p: MatmulParams, b: Omit<KernelBuffers<F>['matmul_reduce'], 'Part'>, m: number, n: number, acc: number): void {
  const N = p.N;
  let z = acc;
  if (p.hasBias) z += b.Bias![p.offBias + n];
  if (p.hasAdd) z += b.Add![p.offAdd + m * N + n];
  if (p.mulDeriv) {
    const d = b.D![p.offD + m * N + n];
    z *= actDf(p.act, d, d);
  }
  b.Z[p.offZ + m * N + n] = z;
  if (p.writeAct) b.Act![p.offAct + m * N + n] = actF(p.act, z);
}

// Split-K partial products: Z[s][m][n] = Σ_{k in splitRange(K, splits, s)} op(A)[m][k]·op(B)[k][n], from k0 upwards
function matmulPartials(p: MatmulParams, A: F, B: F, Z: F): void {
  const { M, N, K } = p,
    S = p.splits!;
  const a = (m: number, k: number) => A[p.offA + (p.transA ? k * M + m : m * K + k)];
  const w = (k: number, n: number) => B[p.offB + (p.transB ? n * K + k : k * N + n)];
  for (let s = 0; s < S; s++) {
    const [k0, k1] = splitRange(K, S, s);
    for (let m = 0; m < M; m++) {
      for (let n = 0; n < N; n++) {
        let acc = 0;
        for (let k = k0; k < k1; k++) acc += a(m, k) * w(k, n);
        Z[p.offZ + (s * M + m) * N + n] = acc;
      }
    }
  }
}

// Z = Σ_s Part[s][m][n], s upwards from Part[0] (the partials start at element 0), then as matmul
export function matmul_reduce(p: MatmulParams, b: KernelBuffers<F>['matmul_reduce']): void {
  const MN = p.M * p.N;
  for (let i = 0; i < MN; i++) {
    let z = 0;
    for (let s = 0; s < p.splits!; s++) z += b.Part[s * MN + i];
    finish(p, b, Math.floor(i / p.N), i % p.N, z);
  }
}

function dot(a: F, ia: number, w: F, iw: number, K: number): number {
  let s = 0;
  for (let k = 0; k < K; k++) s += a[ia + k] * w[iw + k];
  return s;
}

// Two scratch panels (op(A)'s rows, op(B)'s columns), grown as needed and reused across calls.
const panels: F[] = [new Float64Array(0), new Float64Array(0)];

/** rows × K values of src (element [r][k] at off + r·sr + k·sk) copied row-contiguous: [panel, 0]. */
function panel(which: 0 | 1, src: F, off: number, rows: number, K: number, sr: number, sk: number): [F, number] {
  if (panels[which].length < rows * K) panels[which] = new Float64Array(rows * K);
  const dst = panels[which];
  for (let k = 0; k < K; k++) {
    const from = off + k * sk;
    for (let r = 0; r < rows; r++) dst[r * K + k] = src[from + r * sr];
  }
  return [dst, 0];
}

// dZ = dA ⊙ f'(Z, A), element-wise over [rows][cols]
export function act_backward(p: EltParams, b: KernelBuffers<F>['act_backward']): void {
  for (let i = 0; i < p.rows * p.cols; i++) {
    b.dZ[p.offDZ + i] = b.dA[p.offDA + i] * actDf(p.act, b.Z[p.offZ + i], b.A[p.offA + i]);
  }
}

// A[r][:] = softmax(Z[r][:])
export function softmax_rows(p: EltParams, b: KernelBuffers<F>['softmax_rows']): void {
  for (let r = 0; r < p.rows; r++) {
    const z0 = p.offZ + r * p.cols,
      a0 = p.offA + r * p.cols;
    let m = -Infinity;
    for (let c = 0; c < p.cols; c++) m = Math.max(m, b.Z[z0 + c]);
    let s = 0;
    for (let c = 0; c < p.cols; c++) s += Math.exp(b.Z[z0 + c] - m);
    for (let c = 0; c < p.cols; c++) b.A[a0 + c] = Math.exp(b.Z[z0 + c] - m) / s;
  }
}

// dZ[r][:] = A ⊙ (dA − Σ_c dA·A), the softmax Jacobian applied row by row
export function softmax_backward(p: EltParams, b: KernelBuffers<F>['softmax_backward']): void {
  for (let r = 0; r < p.rows; r++) {
    const base = r * p.cols;
    let dot = 0;
    for (let c = 0; c < p.cols; c++) dot += b.dA[p.offDA + base + c] * b.A[p.offA + base + c];
    for (let c = 0; c < p.cols; c++) {
      b.dZ[p.offDZ + base + c] = b.A[p.offA + base + c] * (b.dA[p.offDA + base + c] - dot);
    }
  }
}

function logSumExp(P: F, off: number, cols: number): number {
  let m = -Infinity;
  for (let c = 0; c < cols; c++) m = Math.max(m, P[off + c]);
  let e = 0;
  for (let c = 0; c < cols; c++) e += Math.exp(P[off + c] - m);
  return m + Math.log(e);
}

/** The rows of part w of `parts`: [w·R, min(rows, (w+1)·R)), R = ⌈rows / parts⌉. */
export const lossPartRows = (rows: number, parts: number, w: number): [number, number] => {
  const per = Math.ceil(rows / parts);
  return [Math.min(rows, w * per), Math.min(rows, (w + 1) * per)];
};

// Part[w] = Σ over the rows of part w of the row losses: Σ_c (P − Y)² (mse forms) or
// Σ_c Y·(logsumexp(P) − P) (crossEntropy on logits; logsumexp(P) − P[Y[r]] with classIndex, the
// one-hot row's sum to the bit); withGrad: loss_grad's Out as well
export function loss_partial(p: LossParams, b: KernelBuffers<F>['loss_partial']): void {
  for (let w = 0; w < p.parts; w++) {
    const [r0, r1] = lossPartRows(p.rows, p.parts, w);
    let s = 0;
    for (let r = r0; r < r1; r++) {
      const o = r * p.cols;
      if (p.loss === 'crossEntropy') {
        const lse = logSumExp(b.P, p.offP + o, p.cols);
        if (p.classIndex) s += lse - b.P[p.offP + o + b.Y[p.offY + r]];
        else for (let c = 0; c < p.cols; c++) s += b.Y[p.offY + o + c] * (lse - b.P[p.offP + o + c]);
      } else {
        for (let c = 0; c < p.cols; c++) {
          const d = b.P[p.offP + o + c] - b.Y[p.offY + o + c];
          s += d * d;
        }
      }
    }
    b.Part[p.offPart + w] = s;
  }
  if (p.withGrad) loss_grad(p, { P: b.P, Y: b.Y, Out: b.Out! });
}

// Out[0] = the loss: Σ_w Part[w] over rows·cols (mse), half that (halfMse) or over rows (crossEntropy)
export function loss_value(p: LossParams, b: KernelBuffers<F>['loss_value']): void {
  let s = 0;
  for (let w = 0; w < p.parts; w++) s += b.Part[p.offPart + w];
  const n = p.rows * p.cols;
  b.Out[p.offOut] = p.loss === 'crossEntropy' ? s / p.rows : p.loss === 'halfMse' ? (0.5 * s) / n : s / n;
}

// Out = dLoss/dP, same shape as P (crossEntropy with classIndex: Y[r]'s one-hot row as the target)
export function loss_grad(p: LossParams, b: KernelBuffers<F>['loss_grad']): void {
  const n = p.rows * p.cols;
  if (p.loss === 'crossEntropy') {
    for (let r = 0; r < p.rows; r++) {
      const o = r * p.cols;
      const lse = logSumExp(b.P, p.offP + o, p.cols);
      for (let c = 0; c < p.cols; c++) {
        const y = p.classIndex ? (c === b.Y[p.offY + r] ? 1 : 0) : b.Y[p.offY + o + c];
        b.Out[p.offOut + o + c] = (Math.exp(b.P[p.offP + o + c] - lse) - y) / p.rows;
      }
    }
    return;
  }
  const k = p.loss === 'halfMse' ? 1 : 2;
  for (let i = 0; i < n; i++) b.Out[p.offOut + i] = (k * (b.P[p.offP + i] - b.Y[p.offY + i])) / n;
}

// Out[c] = Σ_r M[r][c]
// Out[t][r][i] = In[Idx[r]][t][i]: samples [n][steps][features] → batch [steps][rows][features]
export function gather(p: GatherParams, b: KernelBuffers<F>['gather']): void {
  const { rows, steps: T, features: I } = p;
  for (let t = 0; t < T; t++) {
    for (let r = 0; r < rows; r++) {
      const src = p.offIn + (b.Idx[p.offIdx + r] * T + t) * I;
      const dst = p.offOut + (t * rows + r) * I;
      for (let i = 0; i < I; i++) b.Out[dst + i] = b.In[src + i];
    }
  }
}

export function col_sum(p: ColSumParams, b: KernelBuffers<F>['col_sum']): void {
  for (let c = 0; c < p.cols; c++) {
    let s = 0;
    for (let r = 0; r < p.rows; r++) s += b.M[p.offM + r * p.cols + c];
    b.Out[p.offOut + c] = s;
  }
}

// One optimizer step over n flat parameters (rules in shaders/optimizers.wgsl; README.md "The run spec" states them).
// Each element: the loss gradient clipped (by the global norm's factor, or to ±clip), then weight
// decay (L2 into the gradient, or AdamW's decoupled shrink of p), then the optimizer's rule.
export function update(p: UpdateParams, b: KernelBuffers<F>['update']): void {
  const { P, G } = b;
  const wd = p.wd ?? 0,
    clip = p.clip ?? 0;
  const factor = p.clipMode === 'norm' ? Math.min(1, clip / (Math.sqrt(b.Norm![p.offNorm ?? 0]) + 1e-6)) : 1;
  for (let i = 0; i < p.n; i++) {
    let g = G[i];
    if (p.clipMode === 'norm') g *= factor;
    else if (p.clipMode === 'value') g = Math.min(Math.max(g, -clip), clip);
    if (wd !== 0) {
      if (p.decoupled) P[i] *= 1 - p.lr * wd;
      else g += wd * P[i];
    }
    if (p.opt === 'sgd') {
      P[i] -= p.lr * g;
    } else if (p.opt === 'momentum') {
      const v = p.h1 * b.S1![i] + g;
      b.S1![i] = v;
      P[i] -= p.lr * (p.nesterov ? g + p.h1 * v : v);
    } else if (p.opt === 'rmsprop') {
      const s = p.h1 * b.S1![i] + (1 - p.h1) * g * g;
      b.S1![i] = s;
      P[i] -= p.epsInside ? (p.lr * g) / Math.sqrt(s + p.eps) : (p.lr * g) / (Math.sqrt(s) + p.eps);
    } else {
      const m = p.h1 * b.S1![i] + (1 - p.h1) * g;
      const v = p.h2 * b.S2![i] + (1 - p.h2) * g * g;
      b.S1![i] = m;
      b.S2![i] = v;
      P[i] -= (p.lr * (m / p.bc1)) / (Math.sqrt(v / p.bc2) + p.eps);
    }
  }
}

// The global gradient norm's square in a fixed order (shaders/grad_norm.wgsl sums the same way):
// part w of `parts` takes the range [w·R, min(n, (w+1)·R)), R = ⌈n / parts⌉; in it, lane t of 256
// sums elements t, t+256, t+512, … in order, and the 256 lane sums are added as a tree (lane t +=
// lane t + h for h = 128, 64, …, 1).
const LANES = 256;
function laneTree(s: Float64Array): number {
  for (let h = LANES / 2; h > 0; h >>= 1) for (let t = 0; t < h; t++) s[t] += s[t + h];
  return s[0];
}
// Part[offPart + w] = Σ G[i]² over part w
export function grad_norm_partial(p: GradNormParams, b: KernelBuffers<F>['grad_norm_partial']): void {
  const per = Math.ceil(p.n / p.parts),
    s = new Float64Array(LANES);
  for (let w = 0; w < p.parts; w++) {
    const r0 = Math.min(p.n, w * per),
      r1 = Math.min(p.n, r0 + per);
    s.fill(0);
    for (let t = 0; t < LANES; t++) for (let i = r0 + t; i < r1; i += LANES) s[t] += b.G[i] * b.G[i];
    b.Part[p.offPart + w] = laneTree(s);
  }
}
// Part[offOut] = Σ_w Part[offPart + w], lane t taking w = t, t+256, …, then the tree
export function grad_norm_total(p: GradNormParams, b: KernelBuffers<F>['grad_norm_total']): void {
  const s = new Float64Array(LANES);
  for (let t = 0; t < LANES; t++) for (let w = t; w < p.parts; w += LANES) s[t] += b.Part[p.offPart + w];
  b.Part[p.offOut] = laneTree(s);
}

type CpuKernel<K extends KernelName> = (p: KernelParams[K], b: KernelBuffers<F>[K]) => void;
export const cpuKernels: { [K in KernelName]: CpuKernel<K> } = {
  matmul,
  matmul_reduce,
  act_backward,
  softmax_rows,
  softmax_backward,
  loss_partial,
  loss_value,
  loss_grad,
  col_sum,
  gather,
  update,
  grad_norm_partial,
  grad_norm_total,
  lstm_cell,
  lstm_cell_backward,
  gru_cell,
  gru_cell_backward,
  embedding,
  embedding_backward,
  dropout,
};
