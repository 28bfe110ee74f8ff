// The float64 reference of every GPU kernel: same names, same parameters, same buffers as
// shaders/*.wgsl. This file is the definition of what each kernel computes.
import type {
  ColSumParams, EltParams, KernelBuffers, KernelName, KernelParams, GatherParams, LossParams, MatmulParams, UpdateParams,
} from '../kernels.js';
import { actDf, actF } from './activation.js';

type F = Float64Array;

// Z[M][N] = op(A)·op(B) + Bias + Add; A: [M][K] (or [K][M] transA), B: [K][N] (or [N][K] transB)
export function matmul(p: MatmulParams, b: KernelBuffers<F>['matmul']): void {
  const { M, N, K } = p;
  const sAm = p.transA ? 1 : K, sAk = p.transA ? M : 1;
  const sBk = p.transB ? 1 : N, sBn = p.transB ? K : 1;
  const A = p.aFromAct ? b.Act! : b.A!;
  const row = new Float64Array(N);
  for (let m = 0; m < M; m++) {
    row.fill(0);
    for (let k = 0; k < K; k++) {
      const a = A[p.offA + m * sAm + k * sAk];
      const bk = p.offB + k * sBk;
      for (let n = 0; n < N; n++) row[n] += a * b.B[bk + n * sBn];
    }
    for (let n = 0; n < N; n++) {
      let z = row[n];
      if (p.hasBias) z += b.Bias![p.offBias + n];
      if (p.hasAdd) z += b.Add![p.offAdd + m * N + n];
      b.Z[p.offZ + m * N + n] = z;
      if (p.writeAct) b.Act![p.offAct + m * N + n] = actF(p.act, z);
    }
  }
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
    const z0 = p.offZ + r * p.cols, a0 = p.offA + r * p.cols;
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

// Out[0] = loss(P, Y): mse, ½·mse (means over rows·cols) or softmax cross-entropy of logits P (mean over rows)
export function loss_value(p: LossParams, b: KernelBuffers<F>['loss_value']): void {
  let s = 0;
  for (let r = 0; r < p.rows; r++) {
    const o = r * p.cols;
    if (p.loss === 'crossEntropy') {
      const lse = logSumExp(b.P, p.offP + o, p.cols);
      for (let c = 0; c < p.cols; c++) s += b.Y[p.offY + o + c] * (lse - b.P[p.offP + o + c]);
    } else {
      for (let c = 0; c < p.cols; c++) { const d = b.P[p.offP + o + c] - b.Y[p.offY + o + c]; s += d * d; }
    }
  }
  const n = p.rows * p.cols;
  b.Out[p.offOut] = p.loss === 'crossEntropy' ? s / p.rows : p.loss === 'halfMse' ? (0.5 * s) / n : s / n;
}

// Out = dLoss/dP, same shape as P
export function loss_grad(p: LossParams, b: KernelBuffers<F>['loss_grad']): void {
  const n = p.rows * p.cols;
  if (p.loss === 'crossEntropy') {
    for (let r = 0; r < p.rows; r++) {
      const o = r * p.cols;
      const lse = logSumExp(b.P, p.offP + o, p.cols);
      for (let c = 0; c < p.cols; c++) {
        b.Out[p.offOut + o + c] = (Math.exp(b.P[p.offP + o + c] - lse) - b.Y[p.offY + o + c]) / p.rows;
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

// One optimizer step over n flat parameters (rules in shaders/optimizers.wgsl and DESIGN.md)
export function update(p: UpdateParams, b: KernelBuffers<F>['update']): void {
  const { P, G } = b;
  for (let i = 0; i < p.n; i++) {
    const g = G[i];
    if (p.opt === 'sgd') {
      P[i] -= p.lr * g;
    } else if (p.opt === 'momentum') {
      const v = p.h1 * b.S1![i] + g;
      b.S1![i] = v;
      P[i] -= p.lr * v;
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

type CpuKernel<K extends KernelName> = (p: KernelParams[K], b: KernelBuffers<F>[K]) => void;
export const cpuKernels: { [K in KernelName]: CpuKernel<K> } = {
  matmul, act_backward, softmax_rows, softmax_backward, loss_value, loss_grad, col_sum, gather, update,
};
