// The embedding kernels' float64 definitions (shaders/embedding.wgsl is their GPU twin; the
// parameters are in src/kernels.ts, EmbeddingParams). W: [vocab][units], Idx: one id a row.
import type { EmbeddingParams, KernelBuffers } from '../kernels.js';

type F = Float64Array;

/** The row of W an id names, or −1 for an id outside 0…vocab−1 (the GPU reads it as u32 and compares). */
const rowOf = (id: number, vocab: number) => (Number.isInteger(id) && id >= 0 && id < vocab ? id : -1);

// Out[r][d] = W[Idx[r]][d]; 0 for an id outside the vocabulary
export function embedding(p: EmbeddingParams, b: KernelBuffers<F>['embedding']): void {
  const D = p.units;
  for (let r = 0; r < p.rows; r++) {
    const v = rowOf(b.Idx[p.offIdx + r], p.vocab),
      o = p.offOut + r * D;
    for (let d = 0; d < D; d++) b.Out[o + d] = v < 0 ? 0 : b.W[p.offW + v * D + d];
  }
}

// dW[v][d] = 0 + Σ_{r ascending, Idx[r] = v} dOut[r][d]: every element summed from 0 in the rows'
// order, as each GPU thread (one a (v, d)) walks the ids in order; no atomics, the same bits every run
export function embedding_backward(p: EmbeddingParams, b: KernelBuffers<F>['embedding_backward']): void {
  const D = p.units;
  b.dW.fill(0, p.offW, p.offW + p.vocab * D);
  for (let r = 0; r < p.rows; r++) {
    const v = rowOf(b.Idx[p.offIdx + r], p.vocab);
    if (v < 0) continue;
    const o = p.offOut + r * D,
      w = p.offW + v * D;
    for (let d = 0; d < D; d++) b.dW[w + d] += b.dOut[o + d];
  }
}
