// What the PyTorch oracle tests share (tests/pytorch-oracle.test.ts, tests/controls-oracle.test.ts,
// tests/sequential.test.ts): running one of the Python scripts here over every case at once (once
// before a file's tests: oracleBeforeAll), and comparing Miya's results
// with PyTorch's under the backend's tolerance.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, expect } from 'vitest';

/** Debian's python3-torch installs for the system Python (.ci/run installs it). */
export const PYTHON = '/usr/bin/python3';

/** cpu (float64) against PyTorch (float64): |miya − torch| ≤ CPU_TOL·max(1, |torch|). */
export const CPU_TOL = 1e-9;
/**
 * webgpu (float32) against PyTorch (float64): |miya − torch| ≤ WEBGPU_RTOL·(the largest |torch| of
 * the same tensor: weight matrix, bias or loss curve). Relative to the tensor rather than to each
 * element: an element near 0 (a saturated unit's gradient; a weight Adam moves by lr·m̂/√v̂ where
 * the gradient is noise-sized) carries the float32 rounding of the tensor's larger elements.
 */
export const WEBGPU_RTOL = 1e-4;

export const tolerance: Record<string, { tol: number; scale: (t: number, largest: number) => number }> = {
  cpu: { tol: CPU_TOL, scale: (t) => Math.max(1, Math.abs(t)) },
  webgpu: { tol: WEBGPU_RTOL, scale: (t, largest) => Math.max(Math.abs(t), largest) },
};

export interface OracleRun<T> {
  results?: Map<string, T>;
  error: string;
  seconds: number;
}

/**
 * Runs tests/oracle/`script` over `cases` (written to a JSON file) in one Python process; its
 * stdout is a JSON list of results, each with the case's name. `error` says why there are none.
 */
export function runOracle<T extends { name: string }>(script: string, cases: unknown[]): OracleRun<T> {
  const path = join(import.meta.dirname, script);
  const file = join(mkdtempSync(join(tmpdir(), 'miya-oracle-')), 'cases.json');
  writeFileSync(file, JSON.stringify(cases));
  const t0 = performance.now();
  const r = spawnSync(PYTHON, [path, file], { encoding: 'utf8', timeout: 120_000, maxBuffer: 2 ** 28, env: { ...process.env, OMP_NUM_THREADS: '1' } });
  const seconds = (performance.now() - t0) / 1000;
  if (r.error || r.status !== 0) {
    return {
      seconds,
      error: `${PYTHON} ${path} failed (Debian's python3-torch must be installed, as .ci/run does): ${r.error?.message ?? `exit ${r.status ?? r.signal}`}\n${r.stderr ?? ''}`,
    };
  }
  return { seconds, error: '', results: new Map((JSON.parse(r.stdout) as T[]).map((t) => [t.name, t])) };
}

/** PyTorch's results of a test file's cases, computed once before its tests (a vitest beforeAll). */
export interface Oracle<T> {
  /** Every case's result; throws saying why there are none (python3-torch missing, the script failed). */
  all(): Map<string, T>;
  /** One case's result; throws as `all`, or when PyTorch returned nothing for it. */
  get(name: string): T;
  /** How long the Python process ran. */
  seconds(): number;
}

/** Runs tests/oracle/`script` over `cases()` once, in a beforeAll of the calling test file. */
export function oracleBeforeAll<T extends { name: string }>(script: string, cases: () => unknown[]): Oracle<T> {
  let run: OracleRun<T> = { error: 'not run', seconds: 0 };
  beforeAll(() => {
    run = runOracle<T>(script, cases());
  }, 120_000);
  const all = () => {
    if (!run.results) throw new Error(run.error);
    return run.results;
  };
  return {
    all,
    seconds: () => run.seconds,
    get: (name) => {
      const t = all().get(name);
      if (!t) throw new Error(`PyTorch returned nothing for ${name}`);
      return t;
    },
  };
}

export interface Worst {
  error: number;
  at: string;
  miya: number;
  torch: number;
}

/**
 * The largest tolerance-scaled difference between two results of the same shape (nested arrays
 * and objects of numbers, the same keys on both sides). `scale(t, largest)` gets each PyTorch
 * number and the largest magnitude in its tensor (a weight matrix, a bias, the loss curve).
 */
export function worstDifference(
  miya: unknown,
  torch: unknown,
  scale: (t: number, largest: number) => number,
  at = '',
  worst: Worst = { error: 0, at: '', miya: 0, torch: 0 },
  tensorLargest?: number,
): Worst {
  if (Array.isArray(torch)) {
    if (!Array.isArray(miya) || miya.length !== torch.length)
      throw new Error(`${at}: shapes differ (${JSON.stringify(miya)?.slice(0, 80)} against ${torch.length} elements)`);
    const largest = tensorLargest ?? Math.max(...(torch.flat(2) as number[]).map(Math.abs));
    torch.forEach((t, i) => {
      const here = `${at}[${i}]`;
      if (typeof t !== 'number') return worstDifference(miya[i], t, scale, here, worst, largest);
      const m = miya[i] as number;
      const e = m === t ? 0 : Number.isFinite(m) ? Math.abs(m - t) / scale(t, largest) : Infinity;
      if (!(e <= worst.error)) Object.assign(worst, { error: e, at: here, miya: m, torch: t });
    });
  } else if (typeof torch === 'object' && torch !== null) {
    const keys = Object.keys(torch);
    expect(Object.keys(miya as object).sort(), at).toEqual(keys.sort());
    for (const k of keys) worstDifference((miya as Record<string, unknown>)[k], (torch as Record<string, unknown>)[k], scale, at ? `${at}.${k}` : k, worst);
  } else {
    throw new Error(`${at}: expected an array or an object, got ${JSON.stringify(torch)}`);
  }
  return worst;
}
