// Runs one case on one backend: validate against the float64 reference first, then time
// (warm-up, several repetitions, the median).
import type { Backend } from '../src/backend.js';
import { CpuBackend } from '../src/cpu/backend.js';
import type { Dataset } from '../src/train/session.js';
import { Session } from '../src/train/session.js';
import { matmul } from '../src/nn/ops.js';
import { normRelError } from '../src/verify/compare.js';
import type { BenchCase, MatmulCase, StepCase } from './cases.js';

export interface BenchResult { suite: string; case: string; backend: string; ms?: number; msPerStep?: number; gflops: number; validation: string }

async function settle<B>(be: Backend<B>): Promise<void> {
  const gpu = be as unknown as { sync?: () => Promise<void> };
  if (gpu.sync) await gpu.sync();
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

function random(n: number, seed: number): Float64Array {
  const out = new Float64Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) { s = (Math.imul(s, 1664525) + 1013904223) >>> 0; out[i] = s / 2 ** 32 - 0.5; }
  return out;
}

async function benchMatmul<B>(be: Backend<B>, c: MatmulCase, reps: number): Promise<BenchResult> {
  const a = random(c.M * c.K, 1), b = random(c.K * c.N, 2);
  const A = be.buffer(a.length, 'A'), Bm = be.buffer(b.length, 'B'), Z = be.buffer(c.M * c.N, 'Z');
  be.write(A, a); be.write(Bm, b);
  const run = () => matmul(be, { z: { buf: Z, off: 0, rows: c.M, cols: c.N }, a: { buf: A, off: 0, rows: c.M, cols: c.K }, b: { buf: Bm, off: 0, rows: c.K, cols: c.N } });
  run(); be.submit();
  // float64 spot check of 64 rows' worth of entries (or all when small)
  const rows = Math.min(c.M, 8);
  const got = await be.read(Z, 0, rows * c.N);
  const ref = new Float64Array(rows * c.N);
  for (let m = 0; m < rows; m++) for (let k = 0; k < c.K; k++) { const x = a[m * c.K + k]; for (let n = 0; n < c.N; n++) ref[m * c.N + n] += x * b[k * c.N + n]; }
  const err = normRelError(got, ref);
  if (!(err < 1e-4)) throw new Error(`matmul ${c.name} on ${be.name}: wrong result (‖err‖ = ${err})`);
  const times: number[] = [];
  // enough launches per repetition to last ~10 ms on a fast GPU, at most 50
  const inner = be.name === 'cpu' ? 1 : Math.min(50, Math.max(1, Math.round(2e10 / (2 * c.M * c.N * c.K))));
  for (let r = 0; r < reps; r++) {
    const t0 = performance.now();
    for (let i = 0; i < inner; i++) { run(); be.submit(); }
    await settle(be);
    times.push((performance.now() - t0) / inner);
  }
  for (const x of [A, Bm, Z]) be.free(x);
  const ms = median(times);
  return { suite: 'matmul', case: c.name, backend: be.name, ms, gflops: (2 * c.M * c.N * c.K) / ms / 1e6, validation: `rows 0-${rows - 1} vs float64: ${err.toExponential(1)}` };
}

function syntheticData(c: StepCase): Dataset {
  const m = c.spec.model;
  const batch = c.spec.batchSize!;
  const T = m.type === 'rnn' ? 8 * Math.max(1, Math.round(c.flopsPerStep / 6 / batch / (m.inputSize * m.hiddenSize + m.hiddenSize * m.hiddenSize) / 8)) : 1;
  const features = m.inputSize;
  const outputs = m.type === 'mlp' ? m.layers[m.layers.length - 1].units : m.outputSize;
  return { n: batch, x: random(batch * T * features, 3), y: random(batch * outputs, 4), steps: T, features, outputs };
}

async function benchStep<B>(be: Backend<B>, c: StepCase, reps: number): Promise<BenchResult> {
  const data = syntheticData(c);
  const cfg = { model: c.spec.model, loss: c.spec.loss, optimizer: c.spec.optimizer, batchSize: data.n, seed: 1, historySize: 1 };
  const s = new Session(be, cfg, data);
  let validation = 'loss finite';
  s.step(s.batches[0], 0);
  const first = (await s.readLosses(0, 1))[0];
  if (!Number.isFinite(first)) throw new Error(`${c.name} on ${be.name}: loss is ${first}`);
  if (be.name !== 'cpu' && c.flopsPerStep < 2e9) {
    const ref = new Session(new CpuBackend(), cfg, data);
    ref.step(ref.batches[0], 0);
    const want = (await ref.readLosses(0, 1))[0];
    const e = Math.abs(first - want) / Math.abs(want);
    if (!(e < 1e-4)) throw new Error(`${c.name} on ${be.name}: first loss ${first} vs reference ${want}`);
    validation = `first loss vs float64: ${e.toExponential(1)}`;
    ref.dispose();
  }
  const steps = be.name === 'cpu' ? 1 : c.steps;
  const times: number[] = [];
  for (let r = 0; r < reps; r++) {
    const t0 = performance.now();
    for (let i = 0; i < steps; i++) s.step(s.batches[0], 0);
    await settle(be);
    times.push((performance.now() - t0) / steps);
  }
  s.dispose();
  const ms = median(times);
  return { suite: c.suite, case: c.name, backend: be.name, msPerStep: ms, gflops: c.flopsPerStep / ms / 1e6, validation };
}

export async function runCase<B>(be: Backend<B>, c: BenchCase, reps: number): Promise<BenchResult> {
  return c.suite === 'matmul' ? benchMatmul(be, c, reps) : benchStep(be, c, reps);
}
