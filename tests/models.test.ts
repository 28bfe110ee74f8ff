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
import type { WebGpuBackend } from '../src/webgpu/backend.js';
import { backendCases, describeBackends, webgpuTest } from './backends.js';

const specs = Array.from({ length: 20 }, (_, i) => validateSpec(randomSpec(i)));
const backends = await backendCases();
const gpuTest = await webgpuTest();

/**
 * A 2-3-1 MLP (tanh, then identity), mse, SGD, 5 samples in batches of 2 (the third one short,
 * row 4 alone), 6 steps, and its losses worked here by hand in float64: the forward pass, the
 * gradient of each batch's mean and the update written out, batch by batch.
 */
const miniBatches = (() => {
  type P = { W1: number[][]; b1: number[]; W2: number[]; b2: number };
  const init: P = {
    W1: [
      [0.5, -0.3],
      [0.2, 0.8],
      [-0.6, 0.1],
    ],
    b1: [0.1, -0.2, 0.05],
    W2: [0.7, -0.4, 0.3],
    b2: 0.2,
  };
  const x = [
      [0.5, -1],
      [1, 0.25],
      [-0.5, 0.75],
      [0.3, 0.3],
      [-1, -0.2],
    ],
    y = [0.4, -0.3, 0.9, 0.1, -0.6],
    lr = 0.1;
  const spec = validateSpec({
    model: {
      type: 'mlp',
      inputSize: 2,
      layers: [
        { units: 3, activation: 'tanh', weights: init.W1, bias: init.b1 },
        { units: 1, activation: 'identity', weights: [init.W2], bias: [init.b2] },
      ],
    },
    loss: 'mse',
    optimizer: { type: 'sgd', lr },
    data: { x, y: y.map((v) => [v]) },
    batchSize: 2,
    steps: 6,
  });
  const forward = (p: P, r: number) => {
    const a1 = p.W1.map((w, j) => Math.tanh(w[0] * x[r][0] + w[1] * x[r][1] + p.b1[j]));
    return { a1, yh: a1.reduce((s, a, j) => s + p.W2[j] * a, p.b2) };
  };
  /** mse over the batch's rows (one output): the mean of (ŷ − y)² */
  const loss = (p: P, rows: number[]) => rows.reduce((s, r) => s + (forward(p, r).yh - y[r]) ** 2, 0) / rows.length;
  const step = (p: P, rows: number[]): P => {
    const g: P = { W1: p.W1.map((w) => w.map(() => 0)), b1: [0, 0, 0], W2: [0, 0, 0], b2: 0 };
    for (const r of rows) {
      const { a1, yh } = forward(p, r),
        dy = (2 * (yh - y[r])) / rows.length;
      g.b2 += dy;
      a1.forEach((a, j) => {
        g.W2[j] += dy * a;
        const dz = dy * p.W2[j] * (1 - a * a);
        g.b1[j] += dz;
        g.W1[j][0] += dz * x[r][0];
        g.W1[j][1] += dz * x[r][1];
      });
    }
    return {
      W1: p.W1.map((w, j) => w.map((v, i) => v - lr * g.W1[j][i])),
      b1: p.b1.map((v, j) => v - lr * g.b1[j]),
      W2: p.W2.map((v, j) => v - lr * g.W2[j]),
      b2: p.b2 - lr * g.b2,
    };
  };
  const batches = [[0, 1], [2, 3], [4], [0, 1], [2, 3], [4]];
  /** each step's loss, computed before its update */
  const byHand = () => {
    let p = init;
    return batches.map((rows) => {
      const l = loss(p, rows);
      p = step(p, rows);
      return l;
    });
  };
  return { spec, byHand };
})();

describe('the cpu reference', () => {
  test.each(specs.map((s) => [describeSpec(s), s] as const))('gradient check: %s', async (_, spec) => {
    expect(await gradientCheck(spec)).toBeLessThan(TOLERANCE.gradCheck);
  });
});

describeBackends(
  backends.filter((b) => b.name !== 'cpu'),
  '%s against the reference',
  (_, be) => {
    test.each(specs.map((s) => [describeSpec(s), s] as const))('%s', async (_n, spec) => {
      const worst = await compareWithReference(be, spec);
      expect(worst.error, worst.tensor).toBeLessThanOrEqual(TOLERANCE.randomGpu);
    });
  },
);

describeBackends(backends, 'training on %s', (_, be) => {
  test('MLP batch 6 learns: loss falls over 30 steps', async () => {
    const spec = { ...randomSpec(0), steps: 30, optimizer: { type: 'adam', lr: 0.02 } };
    const r = await runSpec(spec, { backend: be });
    expect(r.losses).toHaveLength(30);
    expect(r.losses[29]).toBeLessThan(r.losses[0] * 0.7);
  });

  test("mini-batches: batchSize 2 of 5 samples runs 3 batches a pass, the last one short: each step's loss is the loss of its rows, as worked here by hand", async () => {
    const r = await runSpec(miniBatches.spec, { backend: be });
    const want = miniBatches.byHand();
    expect(r.losses).toHaveLength(6);
    const tol = be.name === 'cpu' ? 1e-13 : 1e-5;
    r.losses.forEach((l, i) => expect(Math.abs(l - want[i]), `step ${i + 1}: ${l}, by hand ${want[i]}`).toBeLessThanOrEqual(tol * want[i]));
  });

  test('two runs of one spec are bitwise equal', async () => {
    const spec = { ...randomSpec(3), steps: 5 };
    const a = await runSpec(spec, { backend: be });
    const b = await runSpec(spec, { backend: be });
    expect(JSON.stringify(b)).toBe(JSON.stringify(a));
  });
});

gpuTest('a webgpu training step is one submission', async (gpu) => {
  const before = gpu.submissions;
  await runSpec({ ...randomSpec(1), steps: 7 }, { backend: gpu as unknown as Backend });
  // 7 steps, plus the uploads of parameters and data before them, then the reads (which submit nothing pending)
  expect(gpu.submissions - before).toBe(7);
});

// Networks with sums long enough to cut in ranges of 16 (K 36…48)
const wide = (() => {
  const r = (n: number, seed: number) => Array.from({ length: n }, (_v, i) => Math.sin(seed * 7.1 + i * 1.3));
  const mlp = validateSpec({
    model: {
      type: 'mlp',
      inputSize: 40,
      layers: [
        { units: 48, activation: 'tanh' },
        { units: 36, activation: 'sigmoid' },
        { units: 3, activation: 'identity' },
      ],
    },
    loss: 'mse',
    optimizer: { type: 'adam', lr: 0.01 },
    steps: 3,
    seed: 2,
    data: { x: Array.from({ length: 6 }, (_v, i) => r(40, i)), y: Array.from({ length: 6 }, (_v, i) => r(3, i + 9)) },
  });
  const rnn = validateSpec({
    model: { type: 'rnn', inputSize: 40, hiddenSize: 44, outputSize: 2, activation: 'tanh', outputActivation: 'identity' },
    loss: 'mse',
    optimizer: { type: 'rmsprop', lr: 0.01 },
    steps: 3,
    seed: 3,
    data: { x: Array.from({ length: 5 }, (_v, i) => [r(40, i), r(40, i + 5), r(40, i + 10)]), y: Array.from({ length: 5 }, (_v, i) => r(2, i + 20)) },
  });
  return { mlp, rnn };
})();

/** Runs `check` on the webgpu backend with its product plan replaced by `plan`. */
async function withPlan(gpu: WebGpuBackend, plan: WebGpuBackend['matmulPlan'], check: (be: WebGpuBackend) => Promise<void>): Promise<void> {
  const real = gpu.matmulPlan;
  gpu.matmulPlan = plan;
  try {
    await check(gpu);
  } finally {
    gpu.matmulPlan = real;
  }
}

gpuTest('webgpu with its products cut along K (split-K) still matches the reference, and reruns bit for bit', async (gpu) => {
  const cuts: number[] = [];
  // these models are too small for the real plan to split anything: cut every product of K ≥ 32 in 3
  await withPlan(
    gpu,
    (p) => {
      if (p.K >= 32) cuts.push(p.K);
      return { splits: p.K >= 32 ? 3 : 1, separateEpilogue: false };
    },
    async (be) => {
      for (const spec of [wide.mlp, wide.rnn]) {
        const worst = await compareWithReference(be, spec);
        expect(worst.error, `${describeSpec(spec)}: ${worst.tensor}`).toBeLessThanOrEqual(TOLERANCE.randomGpu);
      }
      // the MLP's forward (K 40, 48, 36) and backward (36) products, the RNN's input projection (40),
      // steps, head and BPTT steps (44) were cut: ranges of 16, 16 and the rest
      expect([...new Set(cuts)].sort()).toEqual([36, 40, 44, 48]);
      expect(JSON.stringify(await runSpec(wide.rnn, { backend: be }))).toBe(JSON.stringify(await runSpec(wide.rnn, { backend: be })));
    },
  );
});

gpuTest('a step whose products need an ever larger workspace is still one submission', async () => {
  const be = (await createBackend('webgpu')) as unknown as WebGpuBackend; // a fresh one: no workspace yet
  const sizes: number[] = [];
  be.matmulPlan = (p) => {
    sizes.push(p.M * p.N);
    return { splits: 1, separateEpilogue: true };
  };
  try {
    // a narrow first layer: the second layer's product needs a larger workspace than the first's
    const model = {
      ...wide.mlp.model,
      layers: [
        { units: 12, activation: 'tanh' },
        { units: 48, activation: 'sigmoid' },
        { units: 3, activation: 'identity' },
      ],
    };
    await runSpec({ ...wide.mlp, model, steps: 3 }, { backend: be as unknown as Backend });
    // so the workspace grew within the first step; the old one went without submitting it early
    expect(sizes.slice(0, 3)).toEqual([6 * 12, 6 * 48, 6 * 3]);
    expect(be.submissions).toBe(3);
    expect([...be.inventory().values()].map((v) => v.label)).toEqual(['workspace']);
  } finally {
    be.dispose();
  }
});

gpuTest('webgpu with every epilogue in a pass of its own still matches the reference', async (gpu) => {
  let separate = 0;
  await withPlan(
    gpu,
    (p) => {
      if (p.hasBias || p.mulDeriv) separate++;
      return { splits: 1, separateEpilogue: true };
    },
    async (be) => {
      for (const spec of [wide.mlp, wide.rnn, ...specs.slice(0, 6)]) {
        const worst = await compareWithReference(be, spec);
        expect(worst.error, `${describeSpec(spec)}: ${worst.tensor}`).toBeLessThanOrEqual(TOLERANCE.randomGpu);
      }
      expect(separate).toBeGreaterThan(0);
    },
  );
});
