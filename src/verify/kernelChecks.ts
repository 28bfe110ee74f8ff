// One kernel on a backend against the float64 reference, on seeded random inputs; and `miya
// verify`'s kernel rows: every kernel's cases of kernelCases.ts (every optimised matmul variant,
// every other kernel and its flags) at odd sizes that leave partial tiles and workgroups.
import type { Backend } from '../backend.js';
import { CpuBackend } from '../cpu/backend.js';
import { type KernelBuffers, type KernelName, type KernelParams, MATMUL_TILE_NAMES, type MatmulParams } from '../kernels.js';
import { normRelError } from './compare.js';
import { type KernelCase, kernelCases } from './kernelCases.js';
import { seededNumbers } from './seeded.js';

export { seededNumbers } from './seeded.js';
export { matmulParams } from './kernelCases.js';

/**
 * Runs kernel k on `be` and on the cpu reference with the same inputs (buffers of `sizes` floats,
 * seeded, or `given`); the worst ‖got − want‖/‖want‖ over the `outputs`.
 */
export async function kernelError<K extends KernelName>(
  be: Backend,
  k: K,
  p: KernelParams[K],
  sizes: Record<string, number>,
  outputs: string[],
  positive: string[] = [],
  given: Record<string, number[]> = {},
): Promise<number> {
  const ref = new CpuBackend();
  const inputs = Object.fromEntries(
    Object.entries(sizes).map(([name, n], i) => [name, given[name] ? Float64Array.from(given[name]) : seededNumbers(n, 7 + i * 101, positive.includes(name))]),
  );
  const bind = <B>(b: Backend<B>) =>
    Object.fromEntries(
      Object.entries(inputs).map(([name, data]) => {
        const buf = b.buffer(data.length, name);
        b.write(buf, data);
        return [name, buf];
      }),
    ) as KernelBuffers<B>[K];
  const gotBufs = bind(be),
    refBufs = bind(ref);
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

export interface KernelCheck {
  kernel: KernelName;
  name: string;
  error: number;
}

/**
 * Every kernel's cases (kernelCases.ts) on `be` against the reference, in the table's order;
 * `onGroup` is told as each group starts (a matmul tile shape, another kernel); `only`: these kernels' alone.
 */
export async function kernelChecks(be: Backend, onGroup?: (what: string) => void, only?: readonly KernelName[]): Promise<KernelCheck[]> {
  const out: KernelCheck[] = [];
  const cases = kernelCases(be.matmulTiles?.() ?? MATMUL_TILE_NAMES);
  let group = '';
  for (const kernel of Object.keys(cases) as KernelName[]) {
    if (only && !only.includes(kernel)) continue;
    for (const c of cases[kernel] as KernelCase<typeof kernel>[]) {
      const tile = kernel === 'matmul' ? (c.p as MatmulParams).tile : undefined;
      const g = kernel === 'matmul' ? `matmul kernels, ${tile ? `${tile} tile` : 'split-K'}` : `${kernel} kernel`;
      if (g !== group) {
        group = g;
        onGroup?.(g);
      }
      out.push({ kernel, name: c.name, error: await kernelError(be, kernel, c.p, c.sizes, c.outputs, c.positive, c.given) });
    }
  }
  return out;
}
