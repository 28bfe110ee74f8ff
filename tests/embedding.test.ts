// The embedding layer (nn.Embedding, issue 14): its kernels' float64 twins against plain loops,
// the webgpu kernels against the twins (and the backward's bits repeating run after run), models
// that start with an embedding trained against PyTorch float64 with class-index targets, the
// default N(0, 1) initialisation, and the spec's errors.
import { beforeAll, expect, test } from 'vitest';
import type { Backend } from '../src/backend.js';
import { embedding, embedding_backward } from '../src/cpu/embedding.js';
import { SpecError } from '../src/errors.js';
import type { EmbeddingParams } from '../src/kernels.js';
import { initialParams } from '../src/nn/init.js';
import { paramLayout } from '../src/nn/layout.js';
import type { RunSpec, SequentialSpec } from '../src/spec/types.js';
import { validateSpec } from '../src/spec/validate.js';
import { runSpec } from '../src/train/runSpec.js';
import { kernelError, seededNumbers } from '../src/verify/kernelChecks.js';
import { backendCases, describeBackends, testBackends } from './backends.js';
import { mat, rng, vec } from './oracle/random.js';
import { runOracle, tolerance, worstDifference } from './oracle/torch.js';

const backends = await backendCases();
const F = (v: number[]) => Float64Array.from(v);
const params = (rows: number, units: number, vocab: number, o: Partial<EmbeddingParams> = {}): EmbeddingParams => ({
  rows,
  units,
  vocab,
  offIdx: 0,
  offW: 0,
  offOut: 0,
  ...o,
});

test('embedding (cpu twin) gathers the rows the ids name, 0 for an id outside the vocabulary, at offsets', () => {
  const [V, D, R] = [5, 3, 7];
  const W = seededNumbers(2 + V * D, 1),
    ids = [4, 0, 0, 2, 7, -1, 1.5];
  const Idx = F([9, 9, 9, ...ids]),
    Out = new Float64Array(1 + R * D).fill(NaN);
  embedding(params(R, D, V, { offIdx: 3, offW: 2, offOut: 1 }), { Idx, W: F(W), Out });
  for (let r = 0; r < R; r++) {
    for (let d = 0; d < D; d++) {
      const id = ids[r],
        want = Number.isInteger(id) && id >= 0 && id < V ? W[2 + id * D + d] : 0;
      expect(Out[1 + r * D + d]).toBe(want);
    }
  }
  expect(Out[0]).toBeNaN(); // nothing written before offOut
});

test('embedding_backward (cpu twin) is the gradient of Σ dOut ⊙ embedding(W): plain loops and central differences', () => {
  const [V, D, R] = [6, 4, 9];
  const ids = [3, 1, 3, 0, 3, 5, 1, 9, 3]; // id 2 and 4 never appear (zero rows); 9 is outside
  const W = seededNumbers(V * D, 2),
    dOut = seededNumbers(R * D, 3);
  const dW = new Float64Array(V * D).fill(7); // stale values must be overwritten
  embedding_backward(params(R, D, V), { Idx: F(ids), dOut: F(dOut), dW });
  // plain loops: for each (v, d), the rows whose id is v, in order
  for (let v = 0; v < V; v++) {
    for (let d = 0; d < D; d++) {
      let s = 0;
      for (let r = 0; r < R; r++) if (ids[r] === v) s += dOut[r * D + d];
      expect(dW[v * D + d]).toBe(s);
    }
  }
  // central differences of L(W) = Σ dOut ⊙ embedding(W)
  const L = (w: number[]) => {
    const Out = new Float64Array(R * D);
    embedding(params(R, D, V), { Idx: F(ids), W: F(w), Out });
    return Out.reduce((s, o, i) => s + o * dOut[i], 0);
  };
  const e = 1e-6;
  for (let i = 0; i < V * D; i++) {
    const fd = (L(W.map((w, j) => (j === i ? w + e : w))) - L(W.map((w, j) => (j === i ? w - e : w)))) / (2 * e);
    expect(Math.abs(dW[i] - fd)).toBeLessThan(1e-8);
  }
});

describeBackends(
  backends.filter((b) => b.name !== 'cpu'),
  'embedding kernels on %s against the float64 twin',
  (_, be) => {
    // 300 rows × 7 units: a partial workgroup forward; vocab 40 × 7 backward; repeated and unused ids; offsets
    const [V, D, R] = [40, 7, 300];
    const ids = Array.from({ length: R + 5 }, (_, r) => (r < 5 ? 0 : ((r * 7) % 37) + (r % 3 === 0 ? 2 : 0)));
    test('embedding: every row to float32 rounding', async () => {
      const err = await kernelError(
        be,
        'embedding',
        params(R, D, V, { offIdx: 5, offW: 3, offOut: 11 }),
        { Idx: R + 5, W: 3 + V * D, Out: 11 + R * D },
        ['Out'],
        [],
        { Idx: ids },
      );
      expect(err).toBeLessThan(1e-6);
    });
    test('embedding_backward: every gradient row to float32 tolerance, and the same bits on a second run', async () => {
      const p = params(R, D, V, { offIdx: 5, offW: 2, offOut: 4 });
      const err = await kernelError(be, 'embedding_backward', p, { Idx: R + 5, dOut: 4 + R * D, dW: 2 + V * D }, ['dW'], [], { Idx: ids });
      expect(err).toBeLessThan(1e-5);
      const runOnce = async () => {
        const [Idx, dOut, dW] = [be.buffer(R + 5, 'Idx'), be.buffer(4 + R * D, 'dOut'), be.buffer(2 + V * D, 'dW')];
        be.write(Idx, ids);
        be.write(dOut, seededNumbers(4 + R * D, 9));
        be.run('embedding_backward', p, { Idx, dOut, dW });
        be.submit();
        const out = await be.read(dW, 0, 2 + V * D);
        [Idx, dOut, dW].forEach((b) => be.free(b));
        return Array.from(out);
      };
      expect(await runOnce()).toEqual(await runOnce());
    });
    test('embedding_backward with more than 256 units (two blocks of a row) and ids past a 256-id chunk', async () => {
      const [v, d, rows] = [3, 300, 520];
      const few = seededNumbers(rows, 5, true).map((u) => Math.min(v - 1, Math.floor((u - 0.1) * v))); // ids 0…2, no period
      const err = await kernelError(be, 'embedding_backward', params(rows, d, v, { offOut: 1 }), { Idx: rows, dOut: 1 + rows * d, dW: v * d }, ['dW'], [], {
        Idx: few,
      });
      expect(err).toBeLessThan(1e-5);
    });
  },
);

// ---- models with an embedding, against PyTorch float64 -----------------------------------------

/** embedding(V, D) → layers, token ids x [n][T], class-index targets [n][T] (or [n]). */
function tokenCase(
  name: string,
  seed: number,
  V: number,
  D: number,
  rest: SequentialSpec['layers'],
  opts: { T: number; n: number; perStep: boolean; batchSize: number; steps: number; optimizer: RunSpec['optimizer'] },
) {
  const r = rng(seed);
  let fanIn = D;
  const layers: SequentialSpec['layers'] = [
    { type: 'embedding', vocab: V, units: D, weights: mat(r, V, D, 1) },
    ...rest.map((l) => {
      const inSize = fanIn;
      if (l.type === 'dense') {
        fanIn = l.units;
        return { ...l, weights: mat(r, l.units, inSize, 0.6), bias: vec(r, l.units, 0.3) };
      }
      if (l.type === 'lstm' || l.type === 'gru' || l.type === 'rnn') {
        const GH = { rnn: 1, lstm: 4, gru: 3 }[l.type] * l.units;
        fanIn = l.units;
        return { ...l, weightIh: mat(r, GH, inSize, 0.6), weightHh: mat(r, GH, l.units, 0.6), biasIh: vec(r, GH, 0.3), biasHh: vec(r, GH, 0.3) };
      }
      return l;
    }),
  ];
  const O = (rest[rest.length - 1] as { units: number }).units;
  const x = Array.from({ length: opts.n }, (_, i) => Array.from({ length: opts.T }, (_, t) => (i * 3 + t * 5 + (i >> 1)) % V));
  const y = x.map((s, i) => (opts.perStep ? s.map((id, t) => (id + t + i) % O) : (s[0] + i) % O));
  const spec = {
    model: { type: 'sequential', layers },
    loss: 'crossEntropy',
    optimizer: opts.optimizer,
    data: { x, y },
    batchSize: opts.batchSize,
    steps: opts.steps,
  } as unknown as RunSpec;
  return { name, spec };
}

const cases = [
  tokenCase(
    'embedding(7, 3) → lstm(4, sequences) → dense 7, class indices [batch][T], adam; batch 3 of 5, T 4, 4 steps',
    21,
    7,
    3,
    [
      { type: 'lstm', units: 4, returnSequences: true },
      { type: 'dense', units: 7, activation: 'identity' },
    ],
    { T: 4, n: 5, perStep: true, batchSize: 3, steps: 4, optimizer: { type: 'adam', lr: 0.05 } },
  ),
  tokenCase(
    'embedding(5, 2) → gru(3) → dense 4 softmax, class indices [batch], sgd; batch 2 of 5, T 3, 5 steps',
    22,
    5,
    2,
    [
      { type: 'gru', units: 3, returnSequences: false },
      { type: 'dense', units: 4, activation: 'softmax' },
    ],
    { T: 3, n: 5, perStep: false, batchSize: 2, steps: 5, optimizer: { type: 'sgd', lr: 0.5 } },
  ),
  tokenCase(
    'embedding(6, 3) → dense 5 at every step (no recurrent layer), class indices [batch][T], momentum; whole batch of 4, T 3, 3 steps',
    23,
    6,
    3,
    [{ type: 'dense', units: 5, activation: 'identity' }],
    { T: 3, n: 4, perStep: true, batchSize: 4, steps: 3, optimizer: { type: 'momentum', lr: 0.3 } },
  ),
];

interface Trained {
  name: string;
  losses: number[];
  params: unknown;
  grads: unknown;
}
let oracle: Map<string, Trained> | undefined;
let oracleError = 'not run';
beforeAll(() => {
  const run = runOracle<Trained>('torch_sequential.py', cases);
  [oracle, oracleError] = [run.results, run.error];
}, 120_000);

describeBackends(backends, '%s against PyTorch (nn.Embedding, CrossEntropyLoss on class indices)', (name: string, be: Backend) => {
  const { tol, scale } = tolerance[name];
  test.each(cases.map((c) => [c.name, c] as const))(`%s: every step's loss, the final parameters and the last gradients agree to ${tol}`, async (_n, c) => {
    if (!oracle) throw new Error(oracleError);
    const t = oracle.get(c.name)!;
    const r = await runSpec(c.spec, { backend: be });
    expect(r.losses).toHaveLength(t.losses.length);
    for (const [what, m, p] of [
      ['losses', r.losses, t.losses],
      ['params', r.params, t.params],
      ['grads', r.grads, t.grads],
    ] as const) {
      const w = worstDifference(m, p, scale, what);
      expect(w.error, `${what}: worst at ${w.at}: miya ${w.miya}, torch ${w.torch}`).toBeLessThanOrEqual(tol);
    }
  });
});

testBackends(backends, 'a run with an embedding repeats bit for bit on %s', async (_, be) => {
  const c = cases[0];
  const a = await runSpec(c.spec, { backend: be }),
    b = await runSpec(c.spec, { backend: be });
  expect(a.losses).toEqual(b.losses);
  expect(a.params).toEqual(b.params);
});

test("an embedding's omitted weights are N(0, 1) from the seed (nn.Embedding's default), the rest as before", () => {
  const model: SequentialSpec = {
    type: 'sequential',
    inputSize: 1,
    layers: [
      { type: 'embedding', vocab: 200, units: 50 },
      { type: 'dense', units: 3, activation: 'identity' },
    ],
  };
  const layout = paramLayout(model);
  expect(layout.map((p) => `${p.name} [${p.shape.join(', ')}]`)).toEqual(['layers.0.weight [200, 50]', 'layers.1.weight [3, 50]', 'layers.1.bias [3]']);
  const w = Array.from(initialParams(model, layout, 5).subarray(0, 200 * 50));
  const mean = w.reduce((a, b) => a + b, 0) / w.length,
    sd = Math.sqrt(w.reduce((a, b) => a + (b - mean) ** 2, 0) / w.length);
  expect(Math.abs(mean)).toBeLessThan(0.03); // 10,000 draws: the mean's sd is 0.01
  expect(Math.abs(sd - 1)).toBeLessThan(0.03);
  expect(w.filter((v) => Math.abs(v) > 3).length / w.length).toBeLessThan(0.006); // a normal's tail (0.27%), not a uniform's
  expect(Array.from(initialParams(model, layout, 5))).toEqual(Array.from(initialParams(model, layout, 5)));
  expect(initialParams(model, layout, 6)[0]).not.toBe(w[0]);
});

function specError(edit: (s: Record<string, any>) => void): string {
  const s = JSON.parse(JSON.stringify(cases[0].spec));
  edit(s);
  try {
    validateSpec(s);
  } catch (e) {
    expect(e).toBeInstanceOf(SpecError);
    return (e as Error).message;
  }
  return 'accepted';
}

test('the spec: ids out of range name the sample and step; the embedding first only, without inputSize; weights [vocab][units]', () => {
  expect(specError(() => {})).toBe('accepted');
  expect(
    specError((s) => {
      s.model.inputSize = 1;
    }),
  ).toBe('accepted'); // as a checkpoint keeps the validated spec
  expect(
    specError((s) => {
      s.data.x[3][2] = 7;
    }),
  ).toMatch(/^data\.x\[3\]\[2\]: expected a token id, an integer from 0 to 6 .*got 7$/);
  expect(
    specError((s) => {
      s.data.x[1][0] = -1;
    }),
  ).toMatch(/^data\.x\[1\]\[0\]: .*got -1$/);
  expect(
    specError((s) => {
      s.data.x[0][1] = 2.5;
    }),
  ).toMatch(/^data\.x\[0\]\[1\]: .*got 2\.5$/);
  expect(
    specError((s) => {
      s.data.x[2] = [[1], [2], [3], [4]];
    }),
  ).toMatch(/^data\.x\[2\]\[0\]: expected a token id/);
  expect(
    specError((s) => {
      s.model.inputSize = 3;
    }),
  ).toMatch(/^model\.inputSize: no inputSize with an embedding first layer/);
  expect(
    specError((s) => {
      s.model.layers.splice(1, 0, { type: 'embedding', vocab: 4, units: 3 });
    }),
  ).toMatch(/^model\.layers\[1\]\.type: an embedding only as the first layer/);
  expect(
    specError((s) => {
      s.model.layers[0].weights.pop();
    }),
  ).toMatch(/^model\.layers\[0\]\.weights/);
  expect(
    specError((s) => {
      s.model.layers[0].vocab = 0;
    }),
  ).toMatch(/^model\.layers\[0\]\.vocab/);
  expect(
    specError((s) => {
      s.model.layers[0].returnSequences = true;
    }),
  ).toMatch(/^model\.layers\[0\]\.returnSequences: .*recurrent layers/);
});
