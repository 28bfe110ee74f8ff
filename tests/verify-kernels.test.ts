// `miya verify` checks every optimised matmul variant on the device, not only the small networks', and every other kernel.
import { expect } from 'vitest';
import { cpuKernels } from '../src/cpu/kernels.js';
import { verifyAll } from '../src/verify/verify.js';
import { webgpuTest } from './backends.js';

const gpuTest = await webgpuTest();

gpuTest(
  'verify on webgpu has a row for each tile × transposition, vec4 reads, each fused backward and split-K, then for every other kernel, all within tolerance',
  async (be) => {
    const rows = (await verifyAll(be, { random: 0 })).filter((r) => r.check === 'kernel');
    expect(rows.slice(0, 22).map((r) => r.tensor.split(',')[0])).toEqual([
      'matmul big tile',
      'matmul big tile',
      'matmul big tile',
      'matmul big tile',
      'matmul big tile',
      'matmul big16 tile',
      'matmul big16 tile',
      'matmul big16 tile',
      'matmul big16 tile',
      'matmul big16 tile',
      'matmul mid tile',
      'matmul mid tile',
      'matmul mid tile',
      'matmul mid tile',
      'matmul mid tile',
      'matmul small tile',
      'matmul small tile',
      'matmul small tile',
      'matmul small tile',
      'matmul small tile',
      'matmul split-K: 3 partial products of A·Bᵀ',
      'matmul_reduce: 3 partials + add → tanh (a split RNN step)',
    ]);
    // then every other kernel, each named first (tests/verify-new-kernels.test.ts: the table has them all, and a wrong one fails)
    expect(rows).toHaveLength(61);
    expect(new Set(rows.map((r) => r.tensor.split(/[ ,:]/)[0]))).toEqual(new Set(Object.keys(cpuKernels)));
    for (const r of rows) expect(r.error, r.tensor).toBeLessThanOrEqual(1e-5);
    expect(rows.every((r) => r.ok && r.error > 0)).toBe(true); // float32 against float64: never exactly equal
  },
  400_000,
); // 22 products of up to 132×68 and 39 smaller kernels on SwiftShader: three to four minutes on two busy cores
