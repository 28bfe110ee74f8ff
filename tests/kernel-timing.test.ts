// Kernel timing on the webgpu backend (timestamp queries, used by `miya bench --profile`): every
// kernel of a training step is stamped, in order, and timing changes no number of the step.
import { expect } from 'vitest';
import { byVariant } from '../bench/profile.js';
import { Session } from '../src/train/session.js';
import { webgpuTest } from './backends.js';

const gpuTest = await webgpuTest();

gpuTest('one timed MLP step: every kernel stamped in order, the same loss and parameters as untimed', async (be) => {
  expect(be.canTimeKernels, 'timestamp-query on this adapter (SwiftShader has it)').toBe(true);
  const model = {
    type: 'mlp' as const,
    inputSize: 5,
    layers: [
      { units: 7, activation: 'tanh' as const },
      { units: 3, activation: 'identity' as const },
    ],
  };
  const data = {
    n: 8,
    steps: 1,
    features: 5,
    outputs: 3,
    x: Float64Array.from({ length: 40 }, (_, i) => Math.sin(i)),
    y: Float64Array.from({ length: 24 }, (_, i) => Math.cos(i)),
  };
  const run = async (timed: boolean) => {
    const s = new Session(be, { model, loss: 'mse', optimizer: { type: 'adam', lr: 0.1 }, batchSize: 8, seed: 3, historySize: 1 }, data);
    if (timed) be.startTiming();
    s.step(s.batches.at(0), 0);
    const times = timed ? await be.stopTiming() : [];
    const out = { loss: (await s.readLosses(0, 1))[0], params: await s.readParams(), times };
    s.dispose();
    return out;
  };
  const [plain, timed] = [await run(false), await run(true)];
  expect(timed.loss).toBe(plain.loss);
  expect(timed.params).toEqual(plain.params);
  const kernels = timed.times.map((t) => t.kernel.split(':')[0]);
  expect(kernels.slice(0, 4)).toEqual(['gather', 'gather', 'matmul', 'matmul']);
  // the loss's partial sums write its gradient in the same pass
  expect(kernels.slice(4, 6)).toEqual(['loss_partial', 'loss_value']);
  expect(kernels[kernels.length - 1]).toBe('update');
  expect(new Set(kernels)).toEqual(new Set(['gather', 'matmul', 'loss_partial', 'loss_value', 'act_backward', 'col_sum', 'update']));
  expect(timed.times.every((t) => Number.isFinite(t.ms) && t.ms >= 0)).toBe(true);
  // each launch carries its work: the products' flops add up to this step's 2·M·N·K over its five
  // products (x·W1ᵀ 8×7 from 5, a1·W2ᵀ 8×3 from 7, dW2 3×7 from 8, dA1 8×7 from 3, dW1 7×5 from 8)
  const products = timed.times.filter((t) => t.kernel.startsWith('matmul'));
  expect(products.reduce((f, t) => f + t.work.flops, 0)).toBe(2 * (8 * 7 * 5 + 8 * 3 * 7 + 3 * 7 * 8 + 8 * 7 * 3 + 7 * 5 * 8));
  expect(timed.times.every((t) => t.work.bytes > 0)).toBe(true);
  const rows = byVariant(timed.times);
  expect(rows.reduce((f, r) => f + r[3], 0)).toBe(products.reduce((f, t) => f + t.work.flops, 0));
  expect(rows.reduce((n, [, k]) => n + k, 0)).toBe(timed.times.length);
  expect(rows.map(([, , ms]) => ms)).toEqual([...rows.map(([, , ms]) => ms)].sort((a, b) => b - a));
});

gpuTest('an RNN step backpropagates through time in one matmul per step, the derivative fused in', async (be) => {
  const T = 6;
  const model = { type: 'rnn' as const, inputSize: 2, hiddenSize: 8, outputSize: 2, activation: 'tanh' as const, outputActivation: 'identity' as const };
  const data = { n: 4, steps: T, features: 2, outputs: 2, x: Float64Array.from({ length: 4 * T * 2 }, (_, i) => Math.sin(i)), y: new Float64Array(8) };
  const s = new Session(be, { model, loss: 'mse', optimizer: { type: 'sgd', lr: 0.1 }, batchSize: 4, seed: 1, historySize: 1 }, data);
  be.startTiming();
  s.step(s.batches.at(0), 0);
  const kernels = (await be.stopTiming()).map((t) => t.kernel);
  s.dispose();
  expect(kernels.filter((k) => k.startsWith('matmul:') && k.includes('MUL_DERIV'))).toHaveLength(T);
  expect(kernels.filter((k) => k.startsWith('act_backward'))).toHaveLength(0);
  // forward: x·Wxᵀ for all steps, T recurrent steps, the head; backward: head grads, T fused steps, dWx, dWh
  expect(kernels.filter((k) => k.startsWith('matmul:'))).toHaveLength(1 + T + 1 + 1 + T + 2);
});
