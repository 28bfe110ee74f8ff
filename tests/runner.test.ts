// The webgpu runner keeps one prepared dispatch (uniforms, bind group, workgroup count) per
// distinct kernel call and finds it again from the call's parameters and buffers: a step records
// no new ones after the first, and a call that differs in anything, a compile-time choice
// included, never gets another call's dispatch.
import { expect } from 'vitest';
import { CpuBackend } from '../src/cpu/backend.js';
import type { Backend } from '../src/backend.js';
import type { MatmulParams } from '../src/kernels.js';
import type { ModelSpec } from '../src/spec/types.js';
import type { Dataset } from '../src/data/dataset.js';
import { Session } from '../src/train/session.js';
import { normRelError } from '../src/verify/compare.js';
import { matmulParams, seededNumbers } from '../src/verify/kernelChecks.js';
import { webgpuTest } from './backends.js';

const gpuTest = await webgpuTest();

/** Z and Act of one product on fixed buffers, for each activation in turn, on one backend. */
async function productsOn<B>(be: Backend<B>, acts: MatmulParams['act'][]): Promise<Float64Array[]> {
  const [M, N, K] = [9, 7, 5];
  const bufs = { A: be.buffer(M * K, 'A'), B: be.buffer(K * N, 'B'), Z: be.buffer(M * N, 'Z'), Act: be.buffer(M * N, 'Act'), Bias: be.buffer(N, 'Bias') };
  be.write(bufs.A, seededNumbers(M * K, 1));
  be.write(bufs.B, seededNumbers(K * N, 2));
  be.write(bufs.Bias, seededNumbers(N, 3));
  const out: Float64Array[] = [];
  for (const act of acts) {
    be.run('matmul', matmulParams(M, N, K, { act, writeAct: true, hasBias: true }), bufs);
    out.push(await be.read(bufs.Act, 0, M * N));
  }
  for (const b of Object.values(bufs)) be.free(b);
  return out;
}

gpuTest('a call that differs from a recorded one only in its activation (a compile-time flag) runs its own variant', async (be) => {
  const acts: MatmulParams['act'][] = ['tanh', 'sigmoid', 'tanh', 'relu'];
  const [want, got] = [await productsOn(new CpuBackend(), acts), await productsOn(be, acts)];
  got.forEach((g, i) => expect(normRelError(g, want[i]), acts[i]).toBeLessThan(1e-5));
  expect(normRelError(got[0], got[1])).toBeGreaterThan(0.1); // tanh and sigmoid are far apart here
});

gpuTest('after its first step, a training step prepares no new dispatches (nothing grows step by step)', async (be) => {
  const model: ModelSpec = { type: 'rnn', inputSize: 3, hiddenSize: 16, outputSize: 2, activation: 'tanh', outputActivation: 'identity' };
  const data: Dataset = { n: 6, steps: 4, features: 3, outputs: 2, x: Float64Array.from(seededNumbers(72, 4)), y: Float64Array.from(seededNumbers(12, 5)) };
  // adam: its bias corrections are uniforms that change every step, written rather than re-prepared
  const s = new Session(be, { model, loss: 'mse', optimizer: { type: 'adam', lr: 0.01 }, batchSize: 3, seed: 1, historySize: 8 }, data);
  s.step(s.batches.at(0), 0);
  s.step(s.batches.at(1), 1);
  const prepared = be.preparedDispatches();
  for (let i = 2; i < 8; i++) s.step(s.batches.at(i % 2), i);
  await be.sync();
  expect(be.preparedDispatches()).toBe(prepared);
  const losses = await s.readLosses(0, 8);
  expect(losses.every(Number.isFinite)).toBe(true);
  s.dispose();
});
