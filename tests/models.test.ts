// Whole models on every backend present: random networks of every kind against the float64
// reference, finite-difference checks of the reference, determinism and one submission a step.
import { describe, expect, test } from 'vitest';
import { runSpec } from '../src/train/runSpec.js';
import { validateSpec } from '../src/spec/validate.js';
import { TOLERANCE } from '../src/verify/compare.js';
import { gradientCheck } from '../src/verify/gradCheck.js';
import { describeSpec, randomSpec } from '../src/verify/randomSpecs.js';
import { compareWithReference } from '../src/verify/verify.js';
import type { Backend } from '../src/backend.js';
import { createBackend } from '../src/backends.js';
import { WebGpuBackend } from '../src/webgpu/backend.js';
import { presentBackends, webgpuBackend } from './backends.js';

const specs = Array.from({ length: 20 }, (_, i) => validateSpec(randomSpec(i)));
const backends = await presentBackends();

describe('the cpu reference', () => {
  test.each(specs.map((s) => [describeSpec(s), s] as const))('gradient check: %s', async (_, spec) => {
    expect(await gradientCheck(spec)).toBeLessThan(TOLERANCE.gradCheck);
  });
});

describe.each(backends.filter(([n]) => n !== 'cpu'))('%s against the reference', (_, be) => {
  test.each(specs.map((s) => [describeSpec(s), s] as const))('%s', async (_n, spec) => {
    const worst = await compareWithReference(be, spec);
    expect(worst.error, worst.tensor).toBeLessThanOrEqual(TOLERANCE.randomGpu);
  });
});

describe.each(backends)('training on %s', (_, be) => {
  test('MLP batch 6 learns: loss falls over 30 steps', async () => {
    const spec = { ...randomSpec(0), steps: 30, optimizer: { type: 'adam', lr: 0.02 } };
    const r = await runSpec(spec, { backend: be });
    expect(r.losses).toHaveLength(30);
    expect(r.losses[29]).toBeLessThan(r.losses[0] * 0.7);
  });

  test('mini-batches: batchSize 2 of 5 samples runs 3 batches a pass, the last one short', async () => {
    const spec = { ...randomSpec(0), steps: 6, batchSize: 2 };
    const x = Array.from({ length: 5 }, (_v, i) => (spec.data as { x: number[][] }).x[0].map((v) => v + i / 10));
    const y = Array.from({ length: 5 }, () => (spec.data as { y: number[][] }).y[0]);
    const r = await runSpec({ ...spec, data: { x, y } }, { backend: be });
    expect(r.losses.every(Number.isFinite)).toBe(true);
    expect(r.losses[0]).not.toBe(r.losses[1]);
  });

  test('two runs of one spec are bitwise equal', async () => {
    const spec = { ...randomSpec(3), steps: 5 };
    const a = await runSpec(spec, { backend: be });
    const b = await runSpec(spec, { backend: be });
    expect(JSON.stringify(b)).toBe(JSON.stringify(a));
  });
});

test('a webgpu training step is one submission', async () => {
  const be = await webgpuBackend();
  if (!be) return expect(process.env.CI).toBeFalsy();
  const gpu = be as unknown as WebGpuBackend;
  const before = gpu.submissions;
  await runSpec({ ...randomSpec(1), steps: 7 }, { backend: be });
  // 7 steps, plus the uploads of parameters and data before them, then the reads (which submit nothing pending)
  expect(gpu.submissions - before).toBe(7);
});

// Networks with sums long enough to cut in ranges of 16 (K 36…48)
const wide = (() => {
  const r = (n: number, seed: number) => Array.from({ length: n }, (_v, i) => Math.sin(seed * 7.1 + i * 1.3));
  const mlp = validateSpec({
    model: { type: 'mlp', inputSize: 40, layers: [{ units: 48, activation: 'tanh' }, { units: 36, activation: 'sigmoid' }, { units: 3, activation: 'identity' }] },
    loss: 'mse', optimizer: { type: 'adam', lr: 0.01 }, steps: 3, seed: 2,
    data: { x: Array.from({ length: 6 }, (_v, i) => r(40, i)), y: Array.from({ length: 6 }, (_v, i) => r(3, i + 9)) },
  });
  const rnn = validateSpec({
    model: { type: 'rnn', inputSize: 40, hiddenSize: 44, outputSize: 2, activation: 'tanh', outputActivation: 'identity' },
    loss: 'mse', optimizer: { type: 'rmsprop', lr: 0.01 }, steps: 3, seed: 3,
    data: { x: Array.from({ length: 5 }, (_v, i) => [r(40, i), r(40, i + 5), r(40, i + 10)]), y: Array.from({ length: 5 }, (_v, i) => r(2, i + 20)) },
  });
  return { mlp, rnn };
})();

/** Runs `check` on the webgpu backend with its product plan replaced by `plan`. */
async function withPlan(plan: WebGpuBackend['matmulPlan'], check: (be: WebGpuBackend) => Promise<void>): Promise<void> {
  const be = await webgpuBackend();
  if (!be) return expect(process.env.CI).toBeFalsy();
  const gpu = be as unknown as WebGpuBackend;
  const real = gpu.matmulPlan;
  gpu.matmulPlan = plan;
  try {
    await check(gpu);
  } finally {
    gpu.matmulPlan = real;
  }
}

test('webgpu with its products cut along K (split-K) still matches the reference, and reruns bit for bit', async () => {
  const cuts: number[] = [];
  // these models are too small for the real plan to split anything: cut every product of K ≥ 32 in 3
  await withPlan((p) => ({ splits: p.K >= 32 ? (cuts.push(p.K), 3) : 1, separateEpilogue: false }), async (be) => {
    for (const spec of [wide.mlp, wide.rnn]) {
      const worst = await compareWithReference(be, spec);
      expect(worst.error, `${describeSpec(spec)}: ${worst.tensor}`).toBeLessThanOrEqual(TOLERANCE.randomGpu);
    }
    // the MLP's forward (K 40, 48, 36) and backward (36) products, the RNN's input projection (40),
    // steps, head and BPTT steps (44) were cut: ranges of 16, 16 and the rest
    expect([...new Set(cuts)].sort()).toEqual([36, 40, 44, 48]);
    expect(JSON.stringify(await runSpec(wide.rnn, { backend: be }))).toBe(JSON.stringify(await runSpec(wide.rnn, { backend: be })));
  });
});

test('a step whose products need an ever larger workspace is still one submission', async () => {
  if (!(await webgpuBackend())) return expect(process.env.CI).toBeFalsy();
  const be = (await createBackend('webgpu')) as unknown as WebGpuBackend; // a fresh one: no workspace yet
  const sizes: number[] = [];
  be.matmulPlan = (p) => { sizes.push(p.M * p.N); return { splits: 1, separateEpilogue: true }; };
  try {
    // a narrow first layer: the second layer's product needs a larger workspace than the first's
    const model = { ...wide.mlp.model, layers: [{ units: 12, activation: 'tanh' }, { units: 48, activation: 'sigmoid' }, { units: 3, activation: 'identity' }] };
    await runSpec({ ...wide.mlp, model, steps: 3 }, { backend: be as unknown as Backend });
    // so the workspace grew within the first step; the old one went without submitting it early
    expect(sizes.slice(0, 3)).toEqual([6 * 12, 6 * 48, 6 * 3]);
    expect(be.submissions).toBe(3);
    expect([...be.inventory().values()].map((v) => v.label)).toEqual(['workspace']);
  } finally {
    be.dispose();
  }
});

test('webgpu with every epilogue in a pass of its own still matches the reference', async () => {
  let separate = 0;
  await withPlan((p) => { if (p.hasBias || p.mulDeriv) separate++; return { splits: 1, separateEpilogue: true }; }, async (be) => {
    for (const spec of [wide.mlp, wide.rnn, ...specs.slice(0, 6)]) {
      const worst = await compareWithReference(be, spec);
      expect(worst.error, `${describeSpec(spec)}: ${worst.tensor}`).toBeLessThanOrEqual(TOLERANCE.randomGpu);
    }
    expect(separate).toBeGreaterThan(0);
  });
});
