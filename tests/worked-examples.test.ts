// The hand-worked stories, reproduced on every backend present: float64 to 1e-12 on cpu,
// 1e-5 relative on webgpu, and the numbers as the stories print them.
import { expect, test } from 'vitest';
import { runSpec } from '../src/train/runSpec.js';
import { verifyWorkedExample } from '../src/verify/verify.js';
import { workedExamples } from '../src/verify/workedExamples.js';
import { backendCases, describeBackends } from './backends.js';

const backends = await backendCases();

describeBackends(backends, 'worked examples on %s', (_, be) => {
  test.each(workedExamples.map((e) => [e.name, e.spec] as const))('%s', async (name, spec) => {
    const rows = await verifyWorkedExample(be, name, spec);
    expect(rows.length).toBeGreaterThan(3);
    expect(rows.filter((r) => !r.ok)).toEqual([]);
  });

  test('single neuron via runSpec: loss 576, dL/dw 1344, SGD w = −10.44', async () => {
    const r = await runSpec(workedExamples[0].spec, { backend: be });
    const tol = be.name === 'cpu' ? 1e-12 : 1e-5;
    expect(r.losses[0]).toBeCloseTo(576, 9);
    const p = r.params as { layers: { weights: number[][] }[] };
    const g = r.grads as { layers: { weights: number[][] }[] };
    expect(Math.abs(g.layers[0].weights[0][0] - 1344) / 1344).toBeLessThan(tol);
    expect(Math.abs(p.layers[0].weights[0][0] + 10.44) / 10.44).toBeLessThan(tol);
  });

  test('RNN via runSpec: prediction loss 0.2157, Wx → 0.514', async () => {
    const r = await runSpec(workedExamples[4].spec, { backend: be });
    const p = r.params as Record<string, number[][]>;
    expect(r.losses[0]).toBeCloseTo(0.215746331760032, 5);
    expect(p.inputWeights[0][0]).toBeCloseTo(0.5142612585924454, 5);
    expect(p.recurrentWeights[0][0]).toBeCloseTo(0.3118878214851431, 5);
  });
});
