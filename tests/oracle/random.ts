// Seeded numbers for the oracle tests' explicit weights and data (mulberry32: a few lines, and the
// same stream on every machine, so a case is the same case wherever it runs).
export function rng(seed: number): (lo?: number, hi?: number) => number {
  let a = seed >>> 0;
  return (lo = -1, hi = 1) => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return lo + (hi - lo) * (((t ^ (t >>> 14)) >>> 0) / 4294967296);
  };
}
export type R = ReturnType<typeof rng>;
export const mat = (r: R, rows: number, cols: number, s: number) => Array.from({ length: rows }, () => Array.from({ length: cols }, () => r(-s, s)));
export const vec = (r: R, n: number, s: number) => Array.from({ length: n }, () => r(-s, s));
