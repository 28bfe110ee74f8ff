// Error measures between a backend's tensors and the float64 reference (ARCHITECTURE.md,
// "One kernel, two twins": a GPU kernel differs from its float64 twin only by float32 rounding).

/** Largest elementwise relative error |x − r| / |r| (absolute where r is 0); NaN never matches. */
export function maxRelError(x: ArrayLike<number>, ref: ArrayLike<number>): number {
  if (x.length !== ref.length) return Infinity;
  let worst = 0;
  for (let i = 0; i < ref.length; i++) {
    if (!Number.isFinite(x[i]) || !Number.isFinite(ref[i])) return Infinity;
    const e = Math.abs(x[i] - ref[i]) / (ref[i] === 0 ? 1 : Math.abs(ref[i]));
    worst = Math.max(worst, e);
  }
  return worst;
}

/** ‖x − r‖ / ‖r‖ (‖x − r‖ where r is all zeros); NaN never matches. */
export function normRelError(x: ArrayLike<number>, ref: ArrayLike<number>): number {
  if (x.length !== ref.length) return Infinity;
  let d = 0,
    n = 0;
  for (let i = 0; i < ref.length; i++) {
    if (!Number.isFinite(x[i]) || !Number.isFinite(ref[i])) return Infinity;
    d += (x[i] - ref[i]) ** 2;
    n += ref[i] ** 2;
  }
  return n === 0 ? Math.sqrt(d) : Math.sqrt(d / n);
}

export const TOLERANCE = { workedCpu: 1e-12, workedGpu: 1e-5, kernelGpu: 1e-5, randomGpu: 1e-4, gradCheck: 1e-5 } as const;
