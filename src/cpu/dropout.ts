// The dropout kernel's definition (shaders/dropout.wgsl is its GPU twin; parameters and the rule
// in src/kernels.ts, DropoutParams). The mask is drawn by a counter-based generator, an integer
// hash of (seed, step, layer, element) in u32 arithmetic (Math.imul and >>> here, u32 in WGSL),
// so both backends, and a resumed run, draw the same mask bit for bit without any state.
import type { DropoutParams, KernelBuffers } from '../kernels.js';

type F = Float64Array;

/** A 32-bit integer hash (the "lowbias32" constants): every input bit moves every output bit. */
export function mix32(x: number): number {
  x = (x ^ (x >>> 16)) >>> 0;
  x = Math.imul(x, 0x7feb352d) >>> 0;
  x = (x ^ (x >>> 15)) >>> 0;
  x = Math.imul(x, 0x846ca68b) >>> 0;
  return (x ^ (x >>> 16)) >>> 0;
}

/** The key of one layer's mask at one step: mix(mix(mix(seed) + step) + layer). */
export const dropoutKey = (seed: number, step: number, layer: number): number => mix32((mix32((mix32(seed >>> 0) + step) >>> 0) + layer) >>> 0);

/** Whether element i is kept: its 24 high hash bits ≥ threshold. */
export const dropoutKeeps = (key: number, i: number, threshold: number): boolean => mix32((key + i) >>> 0) >>> 8 >= threshold;

// Out[i] = In[i]·scale where kept, else 0, for i < n
export function dropout(p: DropoutParams, b: KernelBuffers<F>['dropout']): void {
  const key = dropoutKey(p.seed, p.step, p.layer);
  for (let i = 0; i < p.n; i++) b.Out[p.offOut + i] = dropoutKeeps(key, i, p.threshold) ? b.In[p.offIn + i] * p.scale : 0;
}
