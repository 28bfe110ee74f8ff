// The webgpu backend's choice of tile, split-K and where the epilogue runs for the products of the benchmark models: a plain
// function of the shape, so the same model always sums in the same order.
import { expect, test } from 'vitest';
import { view } from '../src/backend.js';
import { CpuBackend } from '../src/cpu/backend.js';
import { matmul } from '../src/nn/ops.js';
import { matmulPlan, matmulTile } from '../src/webgpu/kernels.js';
import { matmulParams } from '../src/verify/kernelCases.js';

const mm = matmulParams;
const plan = (M: number, N: number, K: number) => {
  const p = matmulPlan(mm(M, N, K));
  return `${matmulTile(mm(M, N, K))} ÷${p.splits}, epilogue ${p.separateEpilogue ? 'apart' : 'fused'}`;
};

test.each([
  ['RNN step h·Whᵀ and BPTT step dz·Wh, batch 256, hidden 1024', 256, 1024, 1024, 'small ÷4, epilogue fused'],
  ['RNN dWx = dzᵀ·x over 64 steps (hidden 1024, input 256)', 1024, 256, 16384, 'small ÷4, epilogue fused'],
  ['RNN dWh = dzᵀ·h over 64 steps: 65,536 threads already', 1024, 1024, 16384, 'mid ÷1, epilogue apart'],
  ['RNN input projection, K 256: too short to cut', 16384, 1024, 256, 'big ÷1, epilogue apart'],
  ['MLP 1024-4096 layer, batch 1024: 128×128 tiles are never cut', 1024, 4096, 4096, 'big ÷1, epilogue apart'],
  ['MLP output layer 4096→1024, batch 1024', 1024, 1024, 4096, 'mid ÷1, epilogue apart'],
  ['small RNN dWh (hidden 256, 32 steps × 64): K 2048 in 8 ranges of 256', 256, 256, 2048, 'small ÷8, epilogue fused'],
  ['MNIST layer 784→128, batch 64: too little work', 64, 128, 784, 'small ÷1, epilogue fused'],
])('%s: %i×%i from K %i → %s', (_, M, N, K, want) => expect(plan(M, N, K)).toBe(want));

test('a product whose split-K workspace one buffer could not hold runs in one pass', async () => {
  const [M, N, K] = [20, 20, 64]; // A and B fit where the 4 partials would not
  const run = async (floats: number) => {
    const be = new CpuBackend();
    Object.defineProperty(be, 'bufferLimit', { value: { floats, what: 'a test limit' } });
    const a = be.buffer(M * K, 'a'),
      b = be.buffer(K * N, 'b'),
      z = be.buffer(M * N, 'z');
    be.write(
      a,
      Array.from({ length: M * K }, (_v, i) => Math.sin(i) / 3),
    );
    be.write(
      b,
      Array.from({ length: K * N }, (_v, i) => Math.cos(i) / 7),
    );
    matmul(be, { z: view(z, 0, M, N), a: view(a, 0, M, K), b: view(b, 0, K, N), splits: 4 });
    return { z: await be.read(z, 0, M * N), workspace: [...be.inventory().values()].some((v) => v.label === 'workspace') };
  };
  const [roomy, tight] = [await run(4 * M * N), await run(4 * M * N - 1)];
  expect([roomy.workspace, tight.workspace]).toEqual([true, false]);
  // the same product either way, summed in a different order
  expect(Math.max(...tight.z.map((v, i) => Math.abs(v - roomy.z[i])))).toBeLessThan(1e-15);
});
