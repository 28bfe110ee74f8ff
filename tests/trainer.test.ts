// The trainer: seeded shuffling, progress reports from asynchronous loss read-backs, early stop
// on a non-finite loss, held-out accuracy, the same batches on every backend.
import { expect, test } from 'vitest';
import { NonFiniteError } from '../src/errors.js';
import { loadDataset } from '../src/data/load.js';
import type { RunSpec } from '../src/spec/types.js';
import { validateSpec } from '../src/spec/validate.js';
import { countCorrect, epochOrder, type Progress, Trainer } from '../src/train/trainer.js';
import type { Backend } from '../src/backend.js';
import { CpuBackend } from '../src/cpu/backend.js';
import { backendCases, describeBackends } from './backends.js';

const backends = await backendCases();

/** 24 samples of a 3-class problem, batches of 5 (the last one short). */
function spec(extra: Partial<RunSpec> = {}): RunSpec {
  const x: number[][] = [],
    y: number[][] = [];
  for (let i = 0; i < 24; i++) {
    const c = i % 3;
    x.push([Math.sin(i) + c, Math.cos(3 * i) - c]);
    y.push([0, 1, 2].map((k) => (k === c ? 1 : 0)));
  }
  return validateSpec({
    model: {
      type: 'mlp',
      inputSize: 2,
      layers: [
        { units: 8, activation: 'tanh' },
        { units: 3, activation: 'softmax' },
      ],
    },
    loss: 'crossEntropy',
    optimizer: { type: 'adam', lr: 0.05 },
    data: { x, y },
    batchSize: 5,
    epochs: 4,
    seed: 3,
    ...extra,
  });
}

async function train(be: Backend, s: RunSpec, onProgress?: (p: Progress) => void, reportEvery = 25) {
  const t = new Trainer(be, s, await loadDataset(s));
  try {
    return await t.train({ onProgress, reportEvery });
  } finally {
    t.dispose();
  }
}

test('an epoch order is a permutation, fixed by seed and epoch, identity without shuffling', () => {
  const a = epochOrder(50, true, 7, 0);
  expect([...a].sort((p, q) => p - q)).toEqual([...Array(50).keys()]);
  expect(a).toEqual(epochOrder(50, true, 7, 0));
  expect(a).not.toEqual(epochOrder(50, true, 7, 1));
  expect(a).not.toEqual(epochOrder(50, true, 8, 0));
  expect([...epochOrder(5, false, 7, 3)]).toEqual([0, 1, 2, 3, 4]);
});

test('accuracy counts rows whose largest prediction matches the target', () => {
  expect(countCorrect([0.1, 0.7, 0.2, 0.5, 0.3, 0.2], [0, 1, 0, 0, 0, 1], 2, 3)).toBe(1);
});

describeBackends(backends, 'trainer on %s', (name, be) => {
  test('shuffled epochs differ from unshuffled ones; the first takes the samples in epochOrder(24, true, seed, 0), as an unshuffled run of the samples in that order does', async () => {
    const shuffled = await train(be, spec({ shuffle: true }));
    expect(shuffled.length).toBe(20);
    const plain = await train(be, spec());
    expect(Math.max(...plain.map((l, i) => Math.abs(l - shuffled[i])))).toBeGreaterThan(1e-3);
    const { x, y } = spec().data as { x: number[][]; y: number[][] };
    const order = Array.from(epochOrder(24, true, 3, 0));
    expect(order).not.toEqual([...order].sort((p, q) => p - q));
    const inOrder = await train(be, spec({ data: { x: order.map((i) => x[i]), y: order.map((i) => y[i]) }, epochs: 1 }));
    expect(inOrder).toEqual(shuffled.slice(0, 5));
  });

  // on cpu this would be the reference against itself
  if (name !== 'cpu') {
    test('shuffled epochs match the float64 reference', async () => {
      const shuffled = await train(be, spec({ shuffle: true }));
      const ref = await train(new CpuBackend(), spec({ shuffle: true }));
      expect(shuffled.length).toBe(20);
      for (let i = 0; i < 20; i++) expect(Math.abs(shuffled[i] - ref[i])).toBeLessThanOrEqual(1e-4 * Math.abs(ref[i]));
    });
  }

  test('progress is reported every few steps with the loss of that step', async () => {
    const events: Progress[] = [];
    const losses = await train(be, spec(), (p) => events.push(p), 6);
    expect(events.map((e) => e.step)).toEqual([6, 12, 18, 20]);
    for (const e of events) {
      expect(e.loss).toBe(losses[e.step - 1]);
      expect(e.steps).toBe(20);
      expect(e.epochs).toBe(4);
      expect(e.epoch).toBe(Math.ceil(e.step / 5));
      expect(e.stepsPerSecond).toBeGreaterThan(0);
    }
    expect(events[3].etaSeconds).toBe(0);
    expect(events[0].loss).toBeGreaterThan(events[3].loss);
  });

  test('a non-finite loss stops the run and is named with its step', async () => {
    const s = spec({ optimizer: { type: 'sgd', lr: 1e30 }, loss: 'mse', epochs: 40 });
    s.model = {
      ...s.model,
      layers: [
        { units: 8, activation: 'relu' },
        { units: 3, activation: 'identity' },
      ],
    } as RunSpec['model'];
    await expect(train(be, s, undefined, 2)).rejects.toThrow(NonFiniteError);
    await expect(train(be, s, undefined, 2)).rejects.toThrow(/step \d+: loss is (NaN|\+Inf|-Inf)/);
  });
});
