// `miya explain` for a sequential model: the hand-worked LSTM and GRU steps (examples/one-lstm-step.json,
// one-gru-step.json) told gate by gate, each number as PyTorch float64 computed it (the examples'
// expected numbers, tests/oracle/worked_steps.py), the arithmetic written out with the weights, and
// the device's numbers beside the reference's on webgpu; a stack of every recurrent kind with
// returnSequences and a batch of several samples is told layer by layer, step by step.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { expect, test } from 'vitest';
import { CpuBackend } from '../src/cpu/backend.js';
import { fmt, fmtList } from '../src/explain/format.js';
import { tellStep } from '../src/explain/story.js';
import { validateSpec } from '../src/spec/validate.js';
import { traceStep } from '../src/verify/trace.js';
import { workedExamples } from '../src/verify/workedExamples.js';
import { backendCases, testBackends } from './backends.js';

const example = (name: string) => workedExamples.find((e) => e.name === name)!.spec as { expect: { tensors: Record<string, number[]>; loss: number } };
const cases = await backendCases();

async function story(name: string, be: CpuBackend | undefined) {
  const spec = validateSpec(workedExamples.find((e) => e.name === name)!.spec);
  const ref = await traceStep(new CpuBackend(), spec);
  const dev = be && be.precision !== 'f64' ? await traceStep(be, spec) : undefined;
  return tellStep(spec, ref, dev);
}

testBackends(cases, "%s: explain tells the hand-worked LSTM step gate by gate with PyTorch's numbers", async (_, be) => {
  const text = await story('one-lstm-step', be as CpuBackend);
  const e = example('one-lstm-step').expect.tensors,
    H = 2;
  const gates = (t: number, k: number) => e[`layers.0.gates[t=${t}]`].slice(k * H, (k + 1) * H);
  for (const t of [1, 2]) {
    expect(text).toContain(`i = σ(a_i) = ${fmtList(gates(t, 0))}`);
    expect(text).toContain(`f = σ(a_f) = ${fmtList(gates(t, 1))}`);
    expect(text).toContain(`g = tanh(a_g) = ${fmtList(gates(t, 2))}`);
    expect(text).toContain(`o = σ(a_o) = ${fmtList(gates(t, 3))}`);
    expect(text).toContain(`c_${t} = ${fmtList(e[`layers.0.c[t=${t}]`])}`);
    expect(text).toContain(`h_${t} = ${fmtList(e[`layers.0.h[t=${t}]`])}`);
    ['i', 'f', 'g', 'o'].forEach((n, k) => expect(text).toContain(`da_${n} = ${fmtList(e[`layers.0.dgates[t=${t}]`].slice(k * H, (k + 1) * H))}`));
  }
  // step 1 written out: a_i[0] = W_ih[0]·x + b_ih[0] + b_hh[0] (h_0 = 0) = 0.5·1 + 0.1 + 0 = 0.6
  expect(text).toContain('a_i[0] = 0.5·1 + 0.1 + 0 = 0.6');
  // step 2's f gate row 1 (weight_ih row 3, weight_hh row 3): the numbers of the spec and h_1
  const h1 = e['layers.0.h[t=1]'];
  const af1 = 0.2 * 0.5 + 0.5 + (-0.1 * h1[0] + 0.3 * h1[1]) + 0;
  const factor = (v: number) => (v < 0 ? `(${fmt(v)})` : fmt(v));
  const terms = ['0.2·0.5', '0.5', `−0.1·${factor(h1[0])}`, `0.3·${factor(h1[1])}`, '0'];
  const line = terms.map((t, i) => (i === 0 ? t : t.startsWith('−') ? ` − ${t.slice(1)}` : ` + ${t}`)).join('');
  expect(text).toContain(`a_f[1] = ${line} = ${fmt(af1)}\n`);
  // dh_2 = dL/dŷ·W_head (the dense head above; h_2 is its input) = 2(ŷ − y)·W
  const dy = 2 * (e['layers.1.z'][0] - 0.4);
  expect(text).toContain(`dh_2 = ${fmtList([dy * 0.6, dy * -0.4])}`);
  expect(text).toContain(`loss = ${fmt(example('one-lstm-step').expect.loss)}`);
  if (be.precision !== 'f64') {
    expect(text).toMatch(/c_2 = \[.*\]\n {12}webgpu: \[.*\] {3}\|difference\| ≤ /);
    const diffs = [...text.matchAll(/\|difference\| ≤ ([\d.e+−-]+)/g)].map((m) => Number(m[1].replace('−', '-')));
    expect(diffs.length).toBeGreaterThanOrEqual(35);
    expect(Math.max(...diffs)).toBeLessThan(1e-5);
  } else {
    expect(text).not.toContain('|difference|');
  }
});

testBackends(cases, "%s: explain tells the hand-worked GRU step gate by gate with PyTorch's numbers", async (_, be) => {
  const text = await story('one-gru-step', be as CpuBackend);
  const e = example('one-gru-step').expect.tensors,
    H = 2;
  for (const t of [1, 2]) {
    const g = e[`layers.0.gates[t=${t}]`];
    expect(text).toContain(`r = ${fmtList(g.slice(0, H))}`);
    expect(text).toContain(`z = ${fmtList(g.slice(H, 2 * H))}`);
    expect(text).toContain(`n = ${fmtList(g.slice(2 * H))}`);
    expect(text).toContain(`h_${t} = ${fmtList(e[`layers.0.h[t=${t}]`])}`);
    ['r', 'z', 'n'].forEach((n, k) => expect(text).toContain(`d${n} = ${fmtList(e[`layers.0.dgx[t=${t}]`].slice(k * H, (k + 1) * H))}`));
  }
  // step 2: h_2 = (1 − z) ⊙ n + z ⊙ h_1, written with the numbers
  const g2 = e['layers.0.gates[t=2]'],
    h1 = e['layers.0.h[t=1]'];
  expect(text).toContain(`h_2 = (1 − z) ⊙ n + z ⊙ h_1 = [(1 − ${fmt(g2[2])})·${fmt(g2[4])} + ${fmt(g2[2])}·(${fmt(h1[0])})`);
  expect(text).toContain('n = tanh(X_n + r ⊙ Gh_n) = tanh([−0.5 + ');
  // dh_2 = dL/dŷ·W_head = 2(ŷ − y)·[0.7, −0.5]
  const dy = 2 * (e['layers.1.z'][0] - 0.2);
  expect(text).toContain(`dh_2 = ${fmtList([dy * 0.7, dy * -0.5])}`);
  if (be.precision !== 'f64') expect(text).toMatch(/dn = \[.*\]\n {11}webgpu: /);
});

test('explain tells a stack (lstm sequences → gru → rnn → dense softmax) on a batch of 3, every layer and step', async () => {
  const r = (i: number) => Math.sin(1 + i);
  const spec = validateSpec({
    model: {
      type: 'sequential',
      inputSize: 2,
      layers: [
        { type: 'lstm', units: 3, returnSequences: true },
        { type: 'gru', units: 2, returnSequences: true },
        { type: 'rnn', units: 2, activation: 'tanh' },
        { type: 'dense', units: 3, activation: 'softmax' },
      ],
    },
    loss: 'crossEntropy',
    optimizer: { type: 'adam', lr: 0.01 },
    seed: 3,
    data: {
      x: [0, 1, 2].map((b) => [0, 1, 2, 3].map((t) => [r(b * 8 + t * 2), r(b * 8 + t * 2 + 1)])),
      y: [
        [1, 0, 0],
        [0, 1, 0],
        [0, 0, 1],
      ],
    },
  });
  const ref = await traceStep(new CpuBackend(), spec);
  const text = tellStep(spec, ref);
  expect(text).toMatch(/^One training step of a sequential model \(2 in; lstm 3 \(sequences\) → gru 2 \(sequences\) → rnn 2 → dense 3; 4 steps\)/);
  for (const layer of [
    'layer 1 (lstm, nn.LSTM, layers.0)',
    'layer 2 (gru, nn.GRU, layers.1)',
    'layer 3 (rnn, nn.RNN, layers.2)',
    'layer 4 (dense, nn.Linear, layers.3)',
  ]) {
    expect(text.split(layer)).toHaveLength(3); // once forward, once backward
  }
  for (const t of [1, 2, 3, 4]) expect(text).toContain(`dh_${t} = `);
  // the LSTM's dh_t recomputed by the story agrees with its own da_o = dh ⊙ tanh(c) ⊙ o(1 − o) (batch row 0, unit 0)
  const dh1 = Number([...text.matchAll(/dh_1 = \[\[([^,\]]+)/g)].at(-1)![1].replace(/−/g, '-')); // the LSTM's, told last
  const g = ref.forward.get('layers.0.gates[t=1]')!,
    c = ref.forward.get('layers.0.c[t=1]')!,
    dgo = ref.backward.get('layers.0.dgates[t=1]')![9];
  expect(Math.abs(dgo)).toBeGreaterThan(1e-6);
  expect(Math.abs(dh1 * Math.tanh(c[0]) * g[9] * (1 - g[9]) - dgo) / Math.abs(dgo)).toBeLessThan(1e-4); // dh_1 printed to 6 digits
});

test("explain tells an embedding and a dropout layer by their own tensors (ids in, rows out; the mask's zeros), with the gradients through them", async () => {
  const spec = validateSpec({
    model: {
      type: 'sequential',
      layers: [
        { type: 'embedding', vocab: 4, units: 2 },
        { type: 'lstm', units: 2, returnSequences: true },
        { type: 'dropout', rate: 0.5 },
        { type: 'dense', units: 3, activation: 'softmax' },
      ],
    },
    loss: 'crossEntropy',
    optimizer: { type: 'sgd', lr: 0.1 },
    seed: 1,
    data: { x: [[0, 3, 1]], y: [[2, 0, 1]] },
  });
  const ref = await traceStep(new CpuBackend(), spec);
  const text = tellStep(spec, ref);
  expect(text).toMatch(/^One training step of a sequential model \(token ids; embedding 2 → lstm 2 \(sequences\) → dropout 0\.5 → dense 3; 3 steps\)/);
  // the embedding's out is the weight's rows 0, 3, 1
  const w = ref.before.get('layers.0.weight')!;
  expect(text).toContain(`out = [${[0, 3, 1].map((id) => fmtList(w.subarray(id * 2, id * 2 + 2))).join(', ')}]`);
  expect(text).toContain('layer 3 (dropout, nn.Dropout, layers.2):');
  expect(text).toContain('out = in ⊙ mask / (1 − 0.5) while training');
  // class-index targets: dL/dlogits = (softmax − one-hot(y)) / rows, the dense layer's δ
  expect(text).toContain(`dL/dlogits = [${[0, 1, 2].map((r) => fmtList(ref.backward.get('layers.3.dz')!.subarray(r * 3, r * 3 + 3))).join(', ')}]`);
  expect(text).not.toContain('NaN');
  // the LSTM's dh_3 comes through the dropout: its dout ⊙ mask/(1 − p), the mask read off out/in
  const dout = ref.backward.get('layers.2.dout')!,
    out = ref.forward.get('layers.2.out')!,
    h3 = ref.forward.get('layers.1.h[t=3]')!;
  const dh3 = [0, 1].map((j) => dout[4 + j] * (out[4 + j] / h3[j]));
  expect(text).toContain(`dh_3 = ${fmtList(dh3)}`);
  expect(text).toContain('dL/d layers.0.weight = ');
});

test('miya explain examples/one-gru-step.json --backend cpu prints the story (exit 0)', () => {
  const r = spawnSync('node', [join(import.meta.dirname, '..', 'bin/miya.js'), 'explain', 'examples/one-gru-step.json', '--backend', 'cpu'], {
    cwd: join(import.meta.dirname, '..'),
    encoding: 'utf8',
    timeout: 120_000,
  });
  expect(r.status, r.stderr).toBe(0);
  expect(r.stdout).toContain('layer 1 (gru, nn.GRU, layers.0):');
  expect(r.stdout).toContain('n = tanh(X_n + r ⊙ Gh_n)');
});
