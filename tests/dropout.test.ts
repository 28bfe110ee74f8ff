// The dropout layer (nn.Dropout, issue 14): the counter-based mask against the same hash written
// here with BigInt arithmetic, the kept fraction and the scale; the webgpu kernel drawing the same
// mask bit for bit; rate 0 the same bits as no dropout; the backward against central differences
// with the step's mask; a resumed run the uninterrupted one bit for bit; off in evaluation and
// predict; and the spec's errors.
import { expect, test } from 'vitest';
import type { Backend } from '../src/backend.js';
import { CpuBackend } from '../src/cpu/backend.js';
import { dropout } from '../src/cpu/dropout.js';
import { SpecError } from '../src/errors.js';
import { decodeCheckpoint } from '../src/io/checkpoint.js';
import { type DropoutParams, dropoutThreshold } from '../src/kernels.js';
import { seedKey } from '../src/nn/dropout.js';
import type { RunSpec, SequentialLayerSpec } from '../src/spec/types.js';
import { validateSpec } from '../src/spec/validate.js';
import { predict } from '../src/train/predict.js';
import { runSpec } from '../src/train/runSpec.js';
import { Session } from '../src/train/session.js';
import { inlineDataset } from '../src/data/inline.js';
import { backendCases, testBackends } from './backends.js';
import { mat, rng, vec } from './oracle/random.js';

const backends = await backendCases();

// lowbias32 again, in BigInt: an independent statement of the u32 arithmetic the kernels share
const M32 = (1n << 32n) - 1n;
function mixBig(x: bigint): bigint {
  x = (x ^ (x >> 16n)) & M32;
  x = (x * 0x7feb352dn) & M32;
  x = (x ^ (x >> 15n)) & M32;
  x = (x * 0x846ca68bn) & M32;
  return (x ^ (x >> 16n)) & M32;
}
const keptBig = (seed: number, step: number, layer: number, i: number, threshold: number) => {
  const key = mixBig((mixBig((mixBig(BigInt(seed)) + BigInt(step)) & M32) + BigInt(layer)) & M32);
  return Number(mixBig((key + BigInt(i)) & M32) >> 8n) >= threshold;
};

const dp = (n: number, rate: number, o: Partial<DropoutParams> = {}): DropoutParams => ({
  n,
  threshold: dropoutThreshold(rate),
  scale: 1 / (1 - rate),
  seed: 12345,
  step: 7,
  layer: 2,
  offIn: 0,
  offOut: 0,
  ...o,
});

test('dropout (cpu twin): the mask is the hash of (seed, step, layer, element), kept values scaled by 1/(1 − p), about 1 − p kept', () => {
  const n = 100_000,
    rate = 0.3,
    x = Float64Array.from({ length: n }, (_, i) => 1 + (i % 13) / 7);
  const out = new Float64Array(n);
  dropout(dp(n, rate), { In: x, Out: out });
  let kept = 0;
  for (let i = 0; i < n; i++) {
    const k = keptBig(12345, 7, 2, i, dropoutThreshold(rate));
    expect(out[i]).toBe(k ? x[i] * (1 / (1 - rate)) : 0);
    kept += +k;
  }
  // binomial: sd √(n·p·(1 − p)) ≈ 145 kept values; 5 sd
  expect(Math.abs(kept / n - 0.7)).toBeLessThan(0.0073);
  // another step, layer or seed: another mask
  for (const o of [{ step: 8 }, { layer: 3 }, { seed: 12346 }]) {
    const other = new Float64Array(n);
    dropout(dp(n, rate, o), { In: x, Out: other });
    const same = other.reduce((s, v, i) => s + +((v === 0) === (out[i] === 0)), 0) / n;
    expect(same).toBeLessThan(0.65); // independent masks agree on p² + (1 − p)² = 58%
  }
  // rate 0 keeps everything, scale 1: the input's bits
  const id = new Float64Array(n);
  dropout(dp(n, 0), { In: x, Out: id });
  expect(Array.from(id)).toEqual(Array.from(x));
});

testBackends(backends, "dropout on %s draws the cpu twin's mask bit for bit (at offsets, a partial workgroup, a large step)", async (_, be) => {
  const n = 70_001,
    rate = 0.45,
    p = dp(n, rate, { offIn: 3, offOut: 5, step: 4_000_000_000, seed: seedKey(2 ** 40 + 9) });
  const x = Array.from({ length: n + 3 }, (_, i) => ((i * 37) % 101) / 50 - 1);
  const In = be.buffer(n + 3, 'In'),
    Out = be.buffer(n + 5, 'Out');
  be.write(In, x);
  be.run('dropout', p, { In, Out });
  be.submit();
  const got = await be.read(Out, 5, n);
  be.free(In);
  be.free(Out);
  const want = new Float64Array(n + 5);
  dropout(p, { In: Float64Array.from(x), Out: want });
  let differ = 0;
  for (let i = 0; i < n; i++) if ((got[i] === 0) !== (want[5 + i] === 0) && x[3 + i] !== 0) differ++;
  expect(differ).toBe(0);
  const f32 = (v: number) => Math.fround(v);
  for (let i = 0; i < n; i += 97) expect(got[i]).toBe(be.precision === 'f64' || want[5 + i] === 0 ? want[5 + i] : f32(f32(x[3 + i]) * f32(1 / (1 - rate))));
});

// ---- in a model -----------------------------------------------------------------------------

/** lstm(4, sequences) → [dropout(rate)] → dense 3 at every step, with explicit weights; mse. */
function spec(rate: number | undefined, extra: Partial<RunSpec> = {}, where: 'after' | 'between' = 'after'): RunSpec {
  const r = rng(3),
    I = 2,
    T = 5,
    n = 6;
  const lstm: SequentialLayerSpec = {
    type: 'lstm',
    units: 4,
    returnSequences: true,
    weightIh: mat(r, 16, I, 0.6),
    weightHh: mat(r, 16, 4, 0.6),
    biasIh: vec(r, 16, 0.3),
    biasHh: vec(r, 16, 0.3),
  };
  const dense: SequentialLayerSpec = { type: 'dense', units: 3, activation: 'tanh', weights: mat(r, 3, 4, 0.6), bias: vec(r, 3, 0.3) };
  const drop: SequentialLayerSpec[] = rate === undefined ? [] : [{ type: 'dropout', rate }];
  const layers = where === 'after' ? [lstm, ...drop, dense] : [...drop, lstm, dense];
  const x = Array.from({ length: n }, () => Array.from({ length: T }, () => vec(r, I, 1)));
  const y = Array.from({ length: n }, () => Array.from({ length: T }, () => vec(r, 3, 0.8)));
  return {
    model: { type: 'sequential', inputSize: I, layers },
    loss: 'mse',
    optimizer: { type: 'adam', lr: 0.05 },
    data: { x, y },
    batchSize: 4,
    steps: 7,
    seed: 11,
    shuffle: true,
    ...extra,
  } as RunSpec;
}
const flatParams = (p: unknown) => JSON.stringify((p as { layers: object[] }).layers.filter((l) => Object.keys(l).length > 0));

testBackends(backends, 'dropout with rate 0 trains on %s to the same bits as no dropout layer', async (_, be) => {
  for (const where of ['after', 'between'] as const) {
    const a = await runSpec(spec(0, {}, where), { backend: be }),
      b = await runSpec(spec(undefined), { backend: be });
    expect(a.losses).toEqual(b.losses);
    expect(flatParams(a.params)).toBe(flatParams(b.params));
  }
});

testBackends(
  backends,
  "dropout 0.5 on %s changes training, repeats bit for bit, and matches the cpu's masks (losses within float32 rounding)",
  async (name, be) => {
    const a = await runSpec(spec(0.5), { backend: be }),
      b = await runSpec(spec(0.5), { backend: be }),
      none = await runSpec(spec(undefined), { backend: be });
    expect(a.losses).toEqual(b.losses);
    expect(a.losses[0]).not.toBe(none.losses[0]);
    if (name !== 'cpu') {
      const cpu = await runSpec(spec(0.5), { backend: new CpuBackend() });
      a.losses.forEach((l, i) => expect(Math.abs(l - cpu.losses[i]) / cpu.losses[i], `step ${i + 1}`).toBeLessThan(1e-4));
    }
  },
);

testBackends(backends, 'a run with dropout resumed from a checkpoint on %s is the uninterrupted run bit for bit', async (_, be) => {
  const whole = await runSpec(spec(0.4), { backend: be });
  let saved: Uint8Array | undefined;
  await runSpec(spec(0.4), {
    backend: be,
    steps: 3,
    checkpoint: {
      every: 3,
      where: 'memory',
      save: async (bytes) => {
        saved = bytes;
      },
    },
  });
  const checkpoint = await decodeCheckpoint(saved!, 'dropout.ckpt');
  const resumed = await runSpec(spec(0.4), { backend: be, resume: { checkpoint, from: 'dropout.ckpt' } });
  expect(resumed.losses).toEqual(whole.losses);
  expect(resumed.params).toEqual(whole.params);
});

testBackends(backends, 'dropout is off in predict and evaluation on %s: the same outputs and loss as without the layer', async (_, be) => {
  const s = spec(0.5),
    plain = spec(undefined);
  const x = (s.data as { x: number[][][] }).x;
  const inputs = { n: x.length, steps: 5, x: Float64Array.from(x.flat(2)) };
  expect(Array.from(await predict(be, s, inputs))).toEqual(Array.from(await predict(be, plain, inputs)));
  const loss = async (sp: RunSpec) => {
    const data = inlineDataset(sp.data as never, sp.model);
    const sess = new Session(be, { model: sp.model, loss: sp.loss, optimizer: sp.optimizer, batchSize: 6, seed: 11, historySize: 1 }, data);
    sess.evaluate(sess.batches.at(0), 0);
    const l = (await sess.readLosses(0, 1))[0];
    sess.dispose();
    return l;
  };
  expect(await loss(s)).toBe(await loss(plain));
});

test("the backward through dropout is the gradient of the step's loss under its mask: central differences (cpu)", async () => {
  const be: Backend = new CpuBackend();
  const s = spec(0.5);
  const data = inlineDataset(s.data as never, s.model);
  const sess = new Session(be, { model: s.model, loss: s.loss, optimizer: s.optimizer, batchSize: 6, seed: 11, historySize: 1 }, data);
  const b = sess.batches.at(0),
    STEP = 5;
  const lossAt = async (params: Float64Array) => {
    sess.restore({ params, state: sess.opt.state.map(() => new Float64Array(sess.net.size)), optimizerT: 0, losses: new Float64Array(0) });
    sess.step(b, STEP, false);
    return (await sess.readLosses(0, 1))[0];
  };
  const p0 = await sess.readParams();
  await lossAt(p0);
  const grads = await sess.readGrads();
  const e = 1e-6;
  let worst = 0;
  for (let i = 0; i < p0.length; i += 3) {
    const up = Float64Array.from(p0),
      down = Float64Array.from(p0);
    up[i] += e;
    down[i] -= e;
    const fd = ((await lossAt(up)) - (await lossAt(down))) / (2 * e);
    worst = Math.max(worst, Math.abs(fd - grads[i]));
  }
  expect(worst).toBeLessThan(1e-8);
  // and the mask matters: another step's mask gives another gradient
  await lossAt(p0);
  sess.step(b, STEP + 1, false);
  expect(Array.from(await sess.readGrads())).not.toEqual(Array.from(grads));
  sess.dispose();
});

test('the spec: a rate in [0, 1), no other keys', () => {
  const err = (edit: (s: Record<string, any>) => void) => {
    const s = JSON.parse(JSON.stringify(spec(0.5)));
    edit(s);
    try {
      validateSpec(s);
    } catch (e) {
      expect(e).toBeInstanceOf(SpecError);
      return (e as Error).message;
    }
    return 'accepted';
  };
  expect(err(() => {})).toBe('accepted');
  expect(
    err((s) => {
      s.model.layers[1].rate = 1;
    }),
  ).toMatch(/^model\.layers\[1\]\.rate: expected a number in \[0, 1\)/);
  expect(
    err((s) => {
      s.model.layers[1].rate = -0.1;
    }),
  ).toMatch(/^model\.layers\[1\]\.rate/);
  expect(
    err((s) => {
      delete s.model.layers[1].rate;
    }),
  ).toMatch(/^model\.layers\[1\]\.rate/);
  expect(
    err((s) => {
      s.model.layers[1].units = 3;
    }),
  ).toMatch(/^model\.layers\[1\]\.units/);
});
