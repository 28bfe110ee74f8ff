// `miya verify`'s kernel rows cover every kernel of src/kernels.ts (embedding, dropout, grad_norm,
// the class-index losses, the LSTM/GRU cells among them), and a row fails when its kernel is
// wrong: here, on any machine, a backend that is the float64 twin except for one kernel, whose
// outputs it scales by 1 + 1e−4 (a float32 kernel's error is about 1e−7); and on webgpu, a device
// whose WGSL has one line broken in each of five kernels (patched in memory, never on disk).
// tests/verify-kernels.test.ts runs all the rows on webgpu with the shaders as they are.
import { expect, test } from 'vitest';
import { CpuBackend } from '../src/cpu/backend.js';
import { cpuKernels } from '../src/cpu/kernels.js';
import { type KernelBuffers, type KernelName, type KernelParams, MATMUL_TILE_NAMES } from '../src/kernels.js';
import { TOLERANCE } from '../src/verify/compare.js';
import { kernelCases } from '../src/verify/kernelCases.js';
import { kernelChecks } from '../src/verify/kernelChecks.js';
import { createBackend } from '../src/backends.js';
import { shaderFiles } from '../src/webgpu/shaders.js';
import { webgpuTest } from './backends.js';

const KERNELS = Object.keys(cpuKernels) as KernelName[];

test('the kernel table has cases for every kernel both backends implement, each naming its kernel first', () => {
  const cases = kernelCases(MATMUL_TILE_NAMES);
  expect(new Set(Object.keys(cases))).toEqual(new Set(KERNELS));
  for (const k of KERNELS) {
    expect(cases[k].length, k).toBeGreaterThan(0);
    for (const c of cases[k]) expect(c.name.split(/[ ,:]/)[0], c.name).toBe(k);
  }
  for (const k of [
    'embedding',
    'embedding_backward',
    'dropout',
    'grad_norm_partial',
    'grad_norm_total',
    'lstm_cell',
    'lstm_cell_backward',
    'gru_cell',
    'gru_cell_backward',
  ] as const) {
    expect(cases[k].length, k).toBeGreaterThan(0);
  }
  // the class-index forms of crossEntropy, forward (with its gradient) and gradient alone
  expect(cases.loss_partial.some((c) => c.p.classIndex && c.p.withGrad)).toBe(true);
  expect(cases.loss_grad.some((c) => c.p.classIndex)).toBe(true);
});

/** The float64 twin, except that after `broken` runs every buffer it was given is scaled by 1 + 1e−4. */
class OneKernelBroken extends CpuBackend {
  constructor(private broken: KernelName) {
    super();
  }
  override run<K extends KernelName>(kernel: K, params: KernelParams[K], buffers: KernelBuffers<Float64Array>[K]): void {
    super.run(kernel, params, buffers);
    if (kernel !== this.broken) return;
    for (const b of Object.values(buffers as Record<string, Float64Array | undefined>)) if (b) for (let i = 0; i < b.length; i++) b[i] *= 1 + 1e-4;
  }
}

test.each(KERNELS)('a wrong %s fails its verify rows and no other', async (k) => {
  const rows = await kernelChecks(new OneKernelBroken(k));
  const mine = rows.filter((r) => r.kernel === k),
    others = rows.filter((r) => r.kernel !== k);
  expect(mine.length).toBeGreaterThan(0);
  for (const r of mine) expect(r.error, r.name).toBeGreaterThan(TOLERANCE.kernelGpu);
  for (const r of others) expect(r.error, r.name).toBe(0);
  expect(new Set(rows.map((r) => r.kernel))).toEqual(new Set(KERNELS));
});

// one line of WGSL each, as a slip would change it: [shader file, the line's text, broken]
const BREAKS: [keyof typeof shaderFiles, string, string][] = [
  ['dropout', 'v = In[p.offIn + i] * p.scale;', 'v = In[p.offIn + i];'], // the kept values unscaled
  ['embedding', 'if (ids[k] == fv) {', 'if (ids[k] == fv + 1.0) {'], // the next id's rows summed
  ['grad_norm', 's += Part[p.offPart + w];', 's += Part[p.offPart + w + 1u];'], // the total's parts shifted by one
  ['recurrent', 'let f = sigmoid(G[g0 + H]);', 'let f = sigmoid(G[g0]);'], // the LSTM's forget gate read from the input gate's rows
  ['loss', 'let t = select(0.0, 1.0, c == y);', 'let t = select(0.0, 1.0, c == y + 1u);'], // the class-index target one class off
];
const gpuTest = await webgpuTest();
gpuTest(
  "verify's rows fail for a kernel whose WGSL has one line broken, and pass for the kernels beside it in the same files",
  async () => {
    const saved = BREAKS.map(([f]) => [f, shaderFiles[f]] as const);
    let be: Awaited<ReturnType<typeof createBackend>> | undefined;
    try {
      for (const [f, line, broken] of BREAKS) {
        expect(shaderFiles[f], `${f}.wgsl has the line`).toContain(line);
        shaderFiles[f] = shaderFiles[f].replace(line, broken);
      }
      be = await createBackend('webgpu'); // a device of its own: no pipeline compiled from the good WGSL
      const rows = await kernelChecks(be, undefined, [
        'dropout',
        'embedding',
        'embedding_backward',
        'grad_norm_partial',
        'grad_norm_total',
        'lstm_cell',
        'gru_cell',
        'loss_partial',
        'loss_grad',
        'gather',
      ]);
      const failed = rows.filter((r) => !(r.error <= TOLERANCE.kernelGpu)).map((r) => r.name);
      expect(failed).toEqual([
        'loss_partial crossEntropy, class-index targets + gradient, 300×6 in 7 parts',
        'loss_grad crossEntropy, class-index targets, 30×6',
        "grad_norm_total, 300 parts (more than a workgroup's 256 lanes)",
        'lstm_cell, batch 7 × H 43',
        'embedding_backward, 300 ids (repeated) into 40 rows of 7',
        'dropout p 0.45, 70001 values at step 4e9',
      ]);
      expect(rows.length - failed.length).toBe(10); // one-hot losses (6), grad_norm_partial, gru_cell, embedding, gather
    } finally {
      for (const [f, text] of saved) shaderFiles[f] = text;
      be?.dispose();
    }
  },
  300_000,
);
