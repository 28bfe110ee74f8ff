// The least work a kernel launch must do: its multiply-adds (counted as 2 flops) for products, and
// the bytes it must move if each input is read once and each output written once (float32 on the
// GPU). A profile divides these by measured times: GFLOP/s for products, effective GB/s for every
// kernel, which says how far a memory-bound kernel is from the device's bandwidth.
import type { KernelName, KernelParams, MatmulParams, OptKind } from './kernels.js';

export interface KernelWork {
  flops: number;
  bytes: number;
}

const FLOAT = 4;
/** Bias read, Add read, Act written and D read (floats), as a product's epilogue flags ask. */
const epilogueFloats = (p: MatmulParams) => p.M * p.N * (+p.hasAdd + +p.writeAct + +p.mulDeriv) + (p.hasBias ? p.N : 0);
/** Floats an update touches per parameter: P read and written, G read, each state tensor read and written. */
const UPDATE_FLOATS: Record<OptKind, number> = { sgd: 3, momentum: 5, rmsprop: 5, adam: 7 };

export function kernelWork<K extends KernelName>(kernel: K, params: KernelParams[K]): KernelWork {
  const work = (floats: number, flops = 0) => ({ flops, bytes: FLOAT * floats });
  switch (kernel) {
    case 'matmul': {
      const p = params as MatmulParams,
        s = p.splits ?? 1;
      return work(p.M * p.K + p.K * p.N + s * p.M * p.N + epilogueFloats(p), 2 * p.M * p.N * p.K);
    }
    case 'matmul_reduce': {
      const p = params as MatmulParams,
        s = p.splits ?? 1;
      return work(s * p.M * p.N + p.M * p.N + epilogueFloats(p), (s - 1) * p.M * p.N);
    }
    case 'act_backward':
    case 'softmax_backward': {
      // dA and the activation's value read, dZ written
      const p = params as KernelParams['act_backward'];
      return work(3 * p.rows * p.cols);
    }
    case 'softmax_rows': {
      const p = params as KernelParams['softmax_rows'];
      return work(2 * p.rows * p.cols);
    }
    case 'loss_partial': {
      const p = params as KernelParams['loss_partial'];
      return work((p.withGrad ? 3 : 2) * p.rows * p.cols + p.parts);
    }
    case 'loss_value':
      return work((params as KernelParams['loss_value']).parts + 1);
    case 'loss_grad': {
      const p = params as KernelParams['loss_grad'];
      return work(3 * p.rows * p.cols);
    }
    case 'col_sum': {
      const p = params as KernelParams['col_sum'];
      return work(p.rows * p.cols + p.cols);
    }
    case 'gather': {
      const p = params as KernelParams['gather'];
      return work(2 * p.rows * p.steps * p.features + p.rows);
    }
    case 'update': {
      const p = params as KernelParams['update'];
      return work(UPDATE_FLOATS[p.opt] * p.n);
    }
    case 'grad_norm_partial': {
      // G read, one partial sum written per part
      const p = params as KernelParams['grad_norm_partial'];
      return work(p.n + p.parts, 2 * p.n);
    }
    case 'grad_norm_total':
      return work((params as KernelParams['grad_norm_total']).parts + 1);
    case 'embedding': {
      // ids read, a row of W read and written out per id
      const p = params as KernelParams['embedding'];
      return work(p.rows + 2 * p.rows * p.units);
    }
    case 'embedding_backward': {
      // ids and dOut read, dW written (each id read once per (v, d) in fact)
      const p = params as KernelParams['embedding_backward'];
      return work(p.rows + p.rows * p.units + p.vocab * p.units, p.rows * p.units);
    }
    case 'dropout':
      return work(2 * (params as KernelParams['dropout']).n);
  }
  throw new Error(`kernelWork: unknown kernel ${kernel}`);
}
