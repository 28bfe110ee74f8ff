// Fixes of review findings (the numbers are the review's): each test here failed before its fix.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, test } from 'vitest';
import type { Backend } from '../src/backend.js';
import { CpuBackend } from '../src/cpu/backend.js';
import { loadDataset } from '../src/data/load.js';
import { SpecError } from '../src/errors.js';
import { SequentialStory } from '../src/explain/sequentialStory.js';
import { decodeCheckpoint } from '../src/io/checkpoint.js';
import { layoutSize, paramLayout } from '../src/nn/layout.js';
import type { RunSpec, SequentialSpec } from '../src/spec/types.js';
import { validateSpec } from '../src/spec/validate.js';
import { runSpec } from '../src/train/runSpec.js';
import { sampleText } from '../src/train/sample.js';
import { traceStep } from '../src/verify/trace.js';
import { checkData } from '../src/worker/checkData.js';
import { backendCases, testBackends } from './backends.js';

const backends = await backendCases();

// 2. One output and class-index targets: the only class is always right, so PyTorch's
// CrossEntropyLoss is 0 and so is its gradient (softmax of one logit is 1, the one-hot target is 1):
// one SGD step must leave the parameters where they were.
testBackends(backends, 'finding 2 on %s: class index 0 against one output moves nothing', async (_name: string, be: Backend) => {
  const spec = {
    model: { type: 'mlp', inputSize: 1, layers: [{ units: 1, activation: 'softmax', weights: [[0.5]], bias: [0.25] }] },
    loss: 'crossEntropy',
    optimizer: { type: 'sgd', lr: 0.1 },
    data: { x: [[1], [2]], y: [0, 0] },
    batchSize: 2,
    steps: 1,
  } as unknown as RunSpec;
  const got = await runSpec(spec, { backend: be });
  expect(got.losses[0]).toBe(0);
  expect(got.params).toEqual({ layers: [{ weights: [[0.5]], bias: [0.25] }] });
});

// 3. A model with no parameters (dropout alone) trains; its checkpoint must read back and resume.
test('finding 3: the checkpoint of a model with no parameters reads back and resumes to the same losses', async () => {
  const spec = {
    model: { type: 'sequential', inputSize: 2, layers: [{ type: 'dropout', rate: 0.5 }] },
    loss: 'mse',
    optimizer: { type: 'sgd', lr: 0.1 },
    data: {
      x: [
        [1, 2],
        [3, 4],
        [5, 6],
      ],
      y: [
        [1, 1],
        [2, 2],
        [3, 3],
      ],
    },
    batchSize: 2,
    steps: 6,
    seed: 4,
  } as unknown as RunSpec;
  const whole = await runSpec(spec, { backend: 'cpu' });
  let saved: Uint8Array | undefined;
  await runSpec(spec, {
    backend: 'cpu',
    steps: 3,
    checkpoint: {
      every: 3,
      where: 'memory',
      save: async (b) => {
        saved = b;
      },
    },
  });
  const ckpt = await decodeCheckpoint(saved!, 'empty.ckpt');
  expect(ckpt.step).toBe(3);
  const resumed = await runSpec(undefined, { backend: 'cpu', resume: { checkpoint: ckpt, from: 'empty.ckpt' } });
  expect(resumed.losses).toEqual(whole.losses);
  expect(whole.losses[0]).toBeGreaterThan(0);
});

const dir = mkdtempSync(join(tmpdir(), 'miya-review-'));
const file = (name: string, text: string) => {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
};

// 5. A text model's token ids mean the characters of the text it was trained on: resuming it on a
// text of other characters (here as many, so every shape agrees) must be refused.
test('finding 5: resuming a text model on a text of another vocabulary is refused naming the checkpoint and data.text', async () => {
  const textSpec = (text: string) =>
    ({
      model: {
        type: 'sequential',
        layers: [
          { type: 'embedding', vocab: 4, units: 3 },
          { type: 'lstm', units: 4, returnSequences: true },
          { type: 'dense', units: 4 },
        ],
      },
      loss: 'crossEntropy',
      optimizer: { type: 'adam', lr: 0.05 },
      data: { text, window: 3 },
      batchSize: 4,
      steps: 4,
      seed: 1,
    }) as unknown as RunSpec;
  const first = textSpec(file('abcd.txt', 'abcd'.repeat(8)));
  let saved: Uint8Array | undefined;
  await runSpec(first, {
    backend: 'cpu',
    steps: 2,
    checkpoint: {
      every: 2,
      where: 'memory',
      save: async (b) => {
        saved = b;
      },
    },
  });
  const ckpt = await decodeCheckpoint(saved!, 'text.ckpt');
  expect(ckpt.vocabulary).toEqual(['a', 'b', 'c', 'd']);
  const other = textSpec(file('wxyz.txt', 'wxyz'.repeat(8)));
  const err = await runSpec(other, { backend: 'cpu', resume: { checkpoint: ckpt, from: 'text.ckpt' } }).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(SpecError);
  expect((err as Error).message).toMatch(/^text\.ckpt: .*"abcd".*data\.text.*"wxyz"/);
  const same = await runSpec(first, { backend: 'cpu', resume: { checkpoint: ckpt, from: 'text.ckpt' } });
  expect(same.losses).toHaveLength(4);
});

// 6. runInWorker's check of the page's own data: a text data set as loadDataset makes it is
// accepted; class indices and token ids out of range are refused, naming the first.
test('finding 6: the worker takes text data as loadDataset makes it, and refuses out-of-range class indices and token ids', async () => {
  const spec = {
    model: {
      type: 'sequential',
      layers: [
        { type: 'embedding', vocab: 4, units: 3 },
        { type: 'lstm', units: 4, returnSequences: true },
        { type: 'dense', units: 4 },
      ],
    },
    loss: 'crossEntropy',
    optimizer: { type: 'adam', lr: 0.05 },
    data: { text: file('worker.txt', 'abcd'.repeat(8)), window: 3 },
    batchSize: 4,
    steps: 4,
    seed: 1,
  };
  const data = await loadDataset(validateSpec(spec));
  expect(data.train.classIndex).toBe(true);
  expect(() => checkData(spec, data)).not.toThrow();
  const copy = () => ({ train: { ...data.train, x: data.train.x.slice(), y: data.train.y.slice() } });
  const badClass = copy();
  badClass.train.y[5] = 4;
  expect(() => checkData(spec, badClass)).toThrow(/^data\.train\.y\[5\]: a class index, an integer from 0 to 3 .*got 4$/);
  const badToken = copy();
  badToken.train.x[2] = -1;
  expect(() => checkData(spec, badToken)).toThrow(/^data\.train\.x\[2\]: a token id, an integer from 0 to 3 .*got -1$/);
  const short = copy();
  short.train.y = short.train.y.subarray(1);
  expect(() => checkData(spec, short)).toThrow(/^data\.train\.y: a Float64Array of n·targetSteps·1 \(class indices\) = \d+ numbers/);
});

/** A small character model trained two steps on "abcd…", as its checkpoint holds it (bytes and decoded). */
async function charModel() {
  const spec = {
    model: {
      type: 'sequential',
      layers: [
        { type: 'embedding', vocab: 4, units: 3 },
        { type: 'lstm', units: 4, returnSequences: true },
        { type: 'dense', units: 4 },
      ],
    },
    loss: 'crossEntropy',
    optimizer: { type: 'adam', lr: 0.05 },
    data: { text: file('chars.txt', 'abcd'.repeat(8)), window: 3 },
    batchSize: 4,
    steps: 2,
    seed: 1,
  } as unknown as RunSpec;
  let bytes: Uint8Array | undefined;
  await runSpec(spec, {
    backend: 'cpu',
    checkpoint: {
      every: 2,
      where: 'memory',
      save: async (b) => {
        bytes = b;
      },
    },
  });
  return { bytes: bytes!, ckpt: await decodeCheckpoint(bytes!, 'chars.ckpt') };
}

// 7. The generator takes 32 bits of its seed: seeds 2^32 apart would give the same text, so
// seeds ≥ 2^32 are refused (the library naming seed, the CLI --seed, exit 2).
test('finding 7: a seed of 2^32 or more is refused, in the library and by miya sample', async () => {
  const { bytes, ckpt } = await charModel();
  const be = new CpuBackend();
  const err = await sampleText(be, ckpt, { length: 20, seed: 2 ** 32 + 5 }).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(SpecError);
  expect((err as Error).message).toMatch(/^seed: expected an integer from 0 to 4294967295 .*got 4294967301/);
  expect(await sampleText(be, ckpt, { length: 20, seed: 2 ** 32 - 1 })).toHaveLength(21);
  const path = join(dir, 'chars.ckpt');
  writeFileSync(path, bytes);
  const r = spawnSync('node', [join(import.meta.dirname, '..', 'bin/miya.js'), 'sample', path, '--seed', '4294967296', '--backend', 'cpu'], {
    encoding: 'utf8',
    timeout: 120_000,
  });
  expect(r.status, r.stderr).toBe(2);
  expect(r.stderr).toMatch(/--seed: expected an integer from 0 to 4294967295/);
  expect(r.stdout).toBe('');
});

// 9. A checkpoint whose model gives another number of outputs than its vocabulary has characters
// (crafted: decodeCheckpoint checks only the embedding's vocab) is refused before anything is drawn.
test('finding 9: sampling refuses a model whose outputs are not its vocabulary', async () => {
  const spec = {
    model: {
      type: 'sequential',
      layers: [
        { type: 'embedding', vocab: 4, units: 3 },
        { type: 'lstm', units: 4, returnSequences: true },
        { type: 'dense', units: 5 },
      ],
    },
    loss: 'crossEntropy',
    optimizer: { type: 'sgd', lr: 0.1 },
    data: { text: 'x.txt', window: 3 },
    batchSize: 4,
    steps: 2,
  } as unknown as RunSpec;
  const params = new Float64Array(layoutSize(paramLayout(spec.model))).map((_, i) => Math.sin(i));
  const biased = params.slice();
  biased[biased.length - 1] = 50; // the fifth output, which has no character, always the likeliest
  const err = await sampleText(
    new CpuBackend(),
    { spec, params: biased, vocabulary: ['a', 'b', 'c', 'd'] },
    { length: 5, temperature: 0 },
    'crafted.ckpt',
  ).then(
    (t) => t,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(SpecError);
  expect((err as Error).message).toMatch(/^crafted\.ckpt: .*5 outputs.*4 characters/);
});

// 8. explain's gradient through dropout where the layer's input is exactly 0 but the element is
// kept: an LSTM unit whose g gate has all-zero weights has c = h = 0, yet dL/dh is not 0 there.
// At the last step of an LSTM that gives no sequence, da_g = dh ⊙ o ⊙ (1 − tanh²c) ⊙ i(…)… with
// c = 0 and g = 0: da_g = dh·o·i, so the reference's own da_g gives dh independently of the mask.
test('finding 8: explain shows dL/dh through dropout as the reference computed it where h is 0 and kept', async () => {
  const row = (k: number) => (k === 5 ? 0 : 0.3 + 0.1 * k); // row 5: unit 1 of the g gate (gates i, f, g, o)
  const model: SequentialSpec = {
    type: 'sequential',
    inputSize: 1,
    layers: [
      {
        type: 'lstm',
        units: 2,
        returnSequences: false,
        weightIh: Array.from({ length: 8 }, (_, k) => [row(k)]),
        weightHh: Array.from({ length: 8 }, (_, k) => [row(k), -row(k) / 2]),
        biasIh: Array.from({ length: 8 }, (_, k) => (k === 5 ? 0 : 0.1)),
        biasHh: Array.from({ length: 8 }, () => 0),
      },
      { type: 'dropout', rate: 0.5 },
      { type: 'dense', units: 1, activation: 'identity', weights: [[0.8, -0.6]], bias: [0.1] },
    ],
  } as SequentialSpec;
  let kept = 0,
    dropped = 0;
  for (let seed = 0; seed < 12; seed++) {
    const spec = validateSpec({ model, loss: 'mse', optimizer: { type: 'sgd', lr: 0.1 }, data: { x: [[[0.7]]], y: [[0.3]] }, seed });
    const ref = await traceStep(new CpuBackend(), spec);
    const g = ref.forward.get('layers.0.gates[t=1]')!,
      da = ref.backward.get('layers.0.dgates[t=1]')!;
    expect(ref.forward.get('layers.0.h[t=1]')![1]).toBe(0);
    const want = da[5] / (g[1] * g[7]); // da_g / (i·o), unit 1
    const story = new SequentialStory(spec.model as SequentialSpec, ref, undefined, spec.seed);
    const shown = (story as unknown as { dOutputAt(i: number, step: number): Float64Array }).dOutputAt(0, 0);
    expect(shown[1], `seed ${seed}`).toBeCloseTo(want, 12);
    if (want !== 0) kept++;
    else dropped++;
  }
  expect(kept).toBeGreaterThan(0);
  expect(dropped).toBeGreaterThan(0);
});

// 13. What the controls' refusals say: text data's data.test is a held-out set too; the
// lr·weightDecay check is of the base rate, which a schedule with gamma > 1 can pass.
test("finding 13: the refusals name text data's held-out set and say lr is the base rate", () => {
  const text = {
    model: {
      type: 'sequential',
      layers: [
        { type: 'embedding', vocab: 4, units: 3 },
        { type: 'lstm', units: 4, returnSequences: true },
        { type: 'dense', units: 4 },
      ],
    },
    loss: 'crossEntropy',
    optimizer: { type: 'adam', lr: 0.05 },
    steps: 4,
  };
  const plateau = { type: 'plateau', factor: 0.5, patience: 2 };
  expect(() => validateSpec({ ...text, data: { text: 'a.txt', window: 3 }, schedule: plateau })).toThrow(
    /held-out set to watch \(data\.test of CSV or text data, or MNIST data\)/,
  );
  expect(() => validateSpec({ ...text, data: { text: 'a.txt', window: 3, test: 2 }, schedule: plateau })).not.toThrow();
  const decay = { model: { type: 'mlp', inputSize: 1, layers: [{ units: 1, activation: 'identity' }] }, loss: 'mse', data: { x: [[1]], y: [[1]] }, steps: 2 };
  expect(() => validateSpec({ ...decay, optimizer: { type: 'sgd', lr: 0.5, weightDecay: 2 } })).toThrow(
    /^optimizer\.weightDecay: expected lr·weightDecay < 1 with lr the base rate, optimizer\.lr /,
  );
});
