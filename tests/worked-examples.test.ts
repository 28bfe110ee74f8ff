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

// The LSTM and GRU steps' numbers (examples/one-lstm-step.json, one-gru-step.json; written by PyTorch
// float64, tests/oracle/worked_steps.py) checked once more by plain loops written here: the
// forward (gates, c, h, ŷ, loss) to 1e-12, the gradients by central finite differences of the
// same loops, and the new parameters as p − lr·g.
type Step = {
  layers: [
    { type: 'lstm' | 'gru'; units: number; weightIh: number[][]; weightHh: number[][]; biasIh: number[]; biasHh: number[] },
    { weights: number[][]; bias: number[] },
  ];
};
const sigmoid = (v: number) => 1 / (1 + Math.exp(-v));

/** The step by the equations (one sample, returnSequences false, a dense identity head, mse). */
function plainStep(m: Step, xs: number[][], y: number[]) {
  const [rec, head] = m.layers,
    H = rec.units;
  const dot = (w: number[], v: number[]) => w.reduce((s, wk, k) => s + wk * v[k], 0);
  const lin = (W: number[][], b: number[], v: number[]) => W.map((row, j) => dot(row, v) + b[j]);
  let h = new Array(H).fill(0),
    c = new Array(H).fill(0);
  const tensors: Record<string, number[]> = {};
  xs.forEach((x, t) => {
    const X = lin(rec.weightIh, rec.biasIh, x),
      G = lin(rec.weightHh, rec.biasHh, h);
    if (rec.type === 'lstm') {
      const a = X.map((v, k) => v + G[k]);
      const i = a.slice(0, H).map(sigmoid),
        f = a.slice(H, 2 * H).map(sigmoid),
        g = a.slice(2 * H, 3 * H).map(Math.tanh),
        o = a.slice(3 * H).map(sigmoid);
      c = c.map((cj, j) => f[j] * cj + i[j] * g[j]);
      h = o.map((oj, j) => oj * Math.tanh(c[j]));
      tensors[`layers.0.gates[t=${t + 1}]`] = [...i, ...f, ...g, ...o];
      tensors[`layers.0.c[t=${t + 1}]`] = c;
    } else {
      const r = Array.from({ length: H }, (_, j) => sigmoid(X[j] + G[j]));
      const z = Array.from({ length: H }, (_, j) => sigmoid(X[H + j] + G[H + j]));
      const n = Array.from({ length: H }, (_, j) => Math.tanh(X[2 * H + j] + r[j] * G[2 * H + j]));
      h = h.map((hj, j) => (1 - z[j]) * n[j] + z[j] * hj);
      tensors[`layers.0.gates[t=${t + 1}]`] = [...r, ...z, ...n];
    }
    tensors[`layers.0.h[t=${t + 1}]`] = h;
  });
  const out = lin(head.weights, head.bias, h);
  tensors['layers.1.z'] = out;
  return { tensors, loss: out.reduce((s, v, k) => s + (v - y[k]) ** 2, 0) / out.length };
}

const stepExamples = workedExamples.filter((e) => e.name === 'one-lstm-step' || e.name === 'one-gru-step');

test.each(stepExamples.map((e) => [e.name, e.spec] as const))('%s: the stored numbers agree with plain loops and finite differences', (_, raw) => {
  const spec = raw as unknown as {
    model: Step;
    data: { x: number[][][]; y: number[][] };
    optimizer: { lr: number };
    expect: { loss: number; tensors: Record<string, number[]>; grads: Record<string, number[]>; params: Record<string, number[]> };
  };
  expect(stepExamples).toHaveLength(2);
  const run = (m: Step) => plainStep(m, spec.data.x[0], spec.data.y[0]);
  const { tensors, loss } = run(spec.model);
  expect(Math.abs(loss - spec.expect.loss)).toBeLessThan(1e-12);
  for (const [name, values] of Object.entries(tensors)) {
    const want = spec.expect.tensors[name];
    expect(want, name).toBeDefined();
    values.forEach((v, k) => expect(Math.abs(v - want[k]), `${name}[${k}]`).toBeLessThan(1e-12));
  }
  // every parameter, nudged both ways in a copy of the spec's model
  const [rec, head] = spec.model.layers;
  const where: [string, number[] | number[][]][] = [
    ['layers.0.weight_ih_l0', rec.weightIh],
    ['layers.0.weight_hh_l0', rec.weightHh],
    ['layers.0.bias_ih_l0', rec.biasIh],
    ['layers.0.bias_hh_l0', rec.biasHh],
    ['layers.1.weight', head.weights],
    ['layers.1.bias', head.bias],
  ];
  where.forEach(([name], w) => {
    const size = spec.expect.grads[name].length;
    for (let k = 0; k < size; k++) {
      const at = (delta: number) => {
        const m = structuredClone(spec.model);
        const [r2, h2] = m.layers;
        const t = [r2.weightIh, r2.weightHh, r2.biasIh, r2.biasHh, h2.weights, h2.bias][w];
        if (Array.isArray(t[0])) {
          const cols = (t[0] as number[]).length;
          (t as number[][])[Math.floor(k / cols)][k % cols] += delta;
        } else (t as number[])[k] += delta;
        return run(m).loss;
      };
      const e = 1e-6,
        numeric = (at(e) - at(-e)) / (2 * e),
        g = spec.expect.grads[name][k];
      expect(Math.abs(numeric - g), `${name}[${k}]: finite difference ${numeric}, stored ${g}`).toBeLessThan(1e-8);
      const flat = (where[w][1] as (number | number[])[]).flat() as number[];
      expect(Math.abs(spec.expect.params[name][k] - (flat[k] - spec.optimizer.lr * g))).toBeLessThan(1e-15);
    }
  });
});
