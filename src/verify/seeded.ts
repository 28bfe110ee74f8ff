// Seeded inputs for the kernel checks: the same numbers on every backend and every run.

/** n numbers in (−1, 1), or (0.1, 1.1) when positive, from a Park–Miller sequence. */
export function seededNumbers(n: number, seed: number, positive = false): number[] {
  let s = seed;
  return Array.from({ length: n }, () => {
    s = (s * 16807) % 2147483647;
    const u = s / 2147483647;
    return positive ? u + 0.1 : 2 * u - 1;
  });
}
