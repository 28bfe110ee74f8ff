// One kernel on a backend against the float64 reference, on seeded random inputs; and `miya
// verify`'s kernel rows: every optimised matmul variant (tile shapes, transpositions, fused
// epilogues, split-K) at odd sizes that leave partial tiles, which small networks never reach.
import type { Backend } from '../backend.js';
import { CpuBackend } from '../cpu/backend.js';
import { type KernelBuffers, type KernelName, type KernelParams, MATMUL_TILE_NAMES, type MatmulParams } from '../kernels.js';
import { normRelError } from './compare.js';

/** n numbers in (−1, 1), or (0.1, 1.1) when positive, from a Park–Miller sequence. */
export function seededNumbers(n: number, seed: number, positive = false): number[] {
  let s = seed;
  return Array.from({ length: n }, () => { s = (s * 16807) % 2147483647; const u = s / 2147483647; return positive ? u + 0.1 : 2 * u - 1; });
}

/**
 * Runs kernel k on `be` and on the cpu reference with the same inputs (buffers of `sizes` floats,
 * seeded, or `given`); the worst ‖got − want‖/‖want‖ over the `outputs`.
 */
export async function kernelError<K extends KernelName>(be: Backend, k: K, p: KernelParams[K], sizes: Record<string, number>,
  outputs: string[], positive: string[] = [], given: Record<string, number[]> = {}): Promise<number> {
  const ref = new CpuBackend();
  const inputs = Object.fromEntries(Object.entries(sizes).map(([name, n], i) =>
    [name, given[name] ? Float64Array.from(given[name]) : seededNumbers(n, 7 + i * 101, positive.includes(name))]));
  const bind = <B>(b: Backend<B>) => Object.fromEntries(Object.entries(inputs).map(([name, data]) => {
    const buf = b.buffer(data.length, name);
    b.write(buf, data);
    return [name, buf];
  })) as KernelBuffers<B>[K];
  const gotBufs = bind(be), refBufs = bind(ref);
  try {
    be.run(k, p, gotBufs);
    be.submit();
    ref.run(k, p, refBufs);
    let worst = 0;
    for (const o of outputs) {
      const g = await be.read((gotBufs as Record<string, unknown>)[o], 0, sizes[o]);
      const r = await ref.read((refBufs as Record<string, Float64Array>)[o], 0, sizes[o]);
      worst = Math.max(worst, normRelError(g, r));
    }
    return worst;
  } finally {
    for (const b of Object.values(gotBufs as Record<string, unknown>)) be.free(b);
  }
}

/** A matmul's parameters: the plain product unless `o` says otherwise. */
export const matmulParams = (M: number, N: number, K: number, o: Partial<MatmulParams> = {}): MatmulParams => ({
  M, N, K, transA: false, transB: false, act: 'identity', writeAct: false, hasBias: false, hasAdd: false, aFromAct: false, aFromZ: false, mulDeriv: false,
  offA: 0, offB: 0, offZ: 0, offAct: 0, offBias: 0, offAdd: 0, offD: 0, ...o,
});

export interface KernelCheck { name: string; error: number }

const TRANSPOSITIONS = [[false, false, 'A·B'], [false, true, 'A·Bᵀ'], [true, false, 'Aᵀ·B']] as const;

/** Every matmul variant a training step can use, each against the reference. */
export async function kernelChecks(be: Backend, onGroup?: (what: string) => void): Promise<KernelCheck[]> {
  const out: KernelCheck[] = [];
  const [M, N, K] = [131, 67, 37];
  for (const tile of be.matmulTiles?.() ?? MATMUL_TILE_NAMES) {
    onGroup?.(`matmul kernels, ${tile} tile`);
    for (const [transA, transB, how] of TRANSPOSITIONS) {
      const p = matmulParams(M, N, K, { transA, transB, tile, offA: 3, offB: 5, offZ: 1, hasBias: true, offBias: 2, act: 'tanh', writeAct: true });
      out.push({ name: `matmul ${tile} tile, ${how} + bias → tanh, ${M}×${N} from ${K}`,
        error: await kernelError(be, 'matmul', p, { A: 3 + M * K, B: 5 + K * N, Z: 1 + M * N, Act: M * N, Bias: 2 + N }, ['Z', 'Act']) });
    }
    // vec4 reads need multiples of 4: one more row and column of partial tiles, a dense layer's A·Bᵀ
    const [M4, N4, K4] = [M + 1, N + 1, K - 1];
    const v = matmulParams(M4, N4, K4, { transB: true, tile, vec4: true, offA: 4, offB: 8, offZ: 1, hasBias: true, offBias: 2, act: 'tanh', writeAct: true });
    out.push({ name: `matmul ${tile} tile, A·Bᵀ read as vec4s + bias → tanh, ${M4}×${N4} from ${K4}`,
      error: await kernelError(be, 'matmul', v, { A: 4 + M4 * K4, B: 8 + K4 * N4, Z: 1 + M4 * N4, Act: M4 * N4, Bias: 2 + N4 }, ['Z', 'Act']) });
    const d = matmulParams(M, N, K, { tile, act: 'sigmoid', mulDeriv: true, offD: 4 });
    out.push({ name: `matmul ${tile} tile, A·B ⊙ sigmoid′ (fused backward), ${M}×${N} from ${K}`,
      error: await kernelError(be, 'matmul', d, { A: M * K, B: K * N, Z: M * N, D: 4 + M * N }, ['Z'], ['D']) });
  }
  const [m, n, k, S] = [45, 70, 100, 3];
  onGroup?.('matmul kernels, split-K');
  const split = matmulParams(m, n, k, { transB: true, splits: S });
  out.push({ name: `matmul split-K: ${S} partial products of A·Bᵀ, ${m}×${n} from ${k}`,
    error: await kernelError(be, 'matmul', split, { A: m * k, B: n * k, Z: S * m * n }, ['Z']) });
  const reduce = matmulParams(m, n, k, { splits: S, hasAdd: true, act: 'tanh', writeAct: true });
  out.push({ name: `matmul_reduce: ${S} partials + add → tanh (a split RNN step)`,
    error: await kernelError(be, 'matmul_reduce', reduce, { Part: S * m * n, Z: m * n, Act: m * n, Add: m * n }, ['Z', 'Act']) });
  return out;
}
