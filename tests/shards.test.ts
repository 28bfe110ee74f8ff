// Data larger than one buffer (src/train/shards.ts): a data set 4× a lowered data-buffer limit is
// held two shards at a time. Without shuffle it trains to the very losses of the run that holds it
// whole; with shuffle its batches are those of the whole-resident session fed the order the shard
// plan describes (worked out here on the host), and a resumed run ends bit for bit.
import { expect, test } from 'vitest';
import type { Backend } from '../src/backend.js';
import type { Datasets } from '../src/data/dataset.js';
import { loadDataset } from '../src/data/load.js';
import { SpecError } from '../src/errors.js';
import type { RunSpec } from '../src/spec/types.js';
import { validateSpec } from '../src/spec/validate.js';
import { Session, type SessionState } from '../src/train/session.js';
import { planShards, shardedEpochOrder, shardSequence, shardStart, withinShard } from '../src/train/shards.js';
import { Trainer } from '../src/train/trainer.js';
import { backendCases, describeBackends, webgpuTest } from './backends.js';

/** 200 samples of 3 inputs and 2 targets: x is 600 floats, 4× the lowered limit of 150. */
const N = 200,
  LIMIT = 150,
  BATCH = 7,
  STEPS = 70; // 29 batches an epoch; shards of 25 samples, so batches straddle them

function spec(shuffle: boolean): RunSpec {
  return validateSpec({
    model: {
      type: 'mlp',
      inputSize: 3,
      layers: [
        { units: 6, activation: 'tanh' },
        { units: 2, activation: 'identity' },
      ],
    },
    loss: 'mse',
    optimizer: { type: 'adam', lr: 0.02 },
    data: {
      x: Array.from({ length: N }, (_, s) => [Math.sin(s), Math.cos(0.7 * s), ((s * 37) % 11) / 11]),
      y: Array.from({ length: N }, (_, s) => [Math.sin(0.3 * s) * 0.5, ((s % 5) - 2) / 4]),
    },
    batchSize: BATCH,
    shuffle,
    steps: STEPS,
    seed: 9,
  });
}

async function run(be: Backend, s: RunSpec, data: Datasets, dataFloats?: number, steps?: number) {
  const t = new Trainer(be, s, data, steps, dataFloats);
  try {
    const losses = await t.train({ reportEvery: 10 });
    const floats = [...be.inventory().values()].filter((b) => b.label === 'data.x').map((b) => b.floats);
    return { losses, params: await t.session.readParams(), sharded: !!t.session.shards, floats, trainer: t };
  } finally {
    t.dispose();
  }
}

test('a plan cuts the samples into shards of nearly equal size that two fit a buffer', async () => {
  const data = (await loadDataset(spec(false))).train;
  const plan = planShards(data, BATCH, LIMIT)!;
  expect(plan).toEqual({ n: N, count: 8, slot: 25 });
  expect(2 * plan.slot * 3).toBeLessThanOrEqual(LIMIT);
  expect(planShards(data, BATCH, 600)).toBeUndefined(); // fits whole: no shards
  // 201 samples in 9 shards of 22 or 23
  const odd = planShards({ ...data, n: 201 }, BATCH, 140)!;
  const sizes = Array.from({ length: odd.count }, (_, k) => shardStart(odd, k + 1) - shardStart(odd, k));
  expect(sizes.reduce((a, b) => a + b)).toBe(201);
  expect(Math.max(...sizes) - Math.min(...sizes)).toBeLessThanOrEqual(1);
  expect(() => planShards(data, 26, LIMIT)).toThrow(SpecError);
  expect(() => planShards(data, 26, LIMIT)).toThrow(/batchSize: expected at most 25 samples/);
});

test('the shuffled order: a permutation of shards, each shuffled within, fixed by seed and epoch alone', async () => {
  const plan = planShards((await loadDataset(spec(true))).train, BATCH, LIMIT)!;
  const a = shardedEpochOrder(plan, true, 9, 2);
  expect([...a].sort((p, q) => p - q)).toEqual([...Array(N).keys()]);
  expect(a).toEqual(shardedEpochOrder(plan, true, 9, 2));
  expect(a).not.toEqual(shardedEpochOrder(plan, true, 9, 3));
  expect(a).not.toEqual(shardedEpochOrder(plan, true, 10, 2));
  // each run of 25 positions is one whole shard, in the order shardSequence gives
  const seq = shardSequence(plan, true, 9, 2);
  expect([...seq].sort()).toEqual([...Array(8).keys()]);
  expect([...seq]).not.toEqual([...Array(8).keys()]);
  for (let q = 0; q < 8; q++) {
    const part = [...a.subarray(q * 25, q * 25 + 25)];
    expect(part.sort((p, r) => p - r)).toEqual(Array.from({ length: 25 }, (_, j) => seq[q] * 25 + j));
  }
  expect([...withinShard(plan, 3, false, 9, 2)]).toEqual([...Array(25).keys()]);
  expect([...shardedEpochOrder(plan, false, 9, 2)]).toEqual([...Array(N).keys()]);
});

describeBackends(await backendCases(), '%s', (name, be) => {
  test('without shuffle, data 4× the buffer limit trains to the losses and parameters of the run that holds it whole', async () => {
    const s = spec(false),
      data = await loadDataset(s);
    const whole = await run(be, s, data);
    const sharded = await run(be, s, data, LIMIT);
    expect(whole.sharded).toBe(false);
    expect(sharded.sharded).toBe(true);
    expect(whole.floats).toEqual([N * 3]);
    expect(sharded.floats).toEqual([LIMIT]); // two shards of 25 samples, never more
    expect(sharded.losses.length).toBe(STEPS);
    expect(Array.from(sharded.losses)).toEqual(Array.from(whole.losses));
    expect(Array.from(sharded.params)).toEqual(Array.from(whole.params));
  }, 60_000);

  test('with shuffle, the batches are those of the whole data set taken in the order the shard plan draws', async () => {
    const s = spec(true),
      data = await loadDataset(s);
    const sharded = await run(be, s, data, LIMIT);
    // the reference: every sample resident, the order worked out on the host from the plan
    const plan = planShards(data.train, BATCH, LIMIT)!;
    const ref = new Session(be, { model: s.model, loss: s.loss, optimizer: s.optimizer, batchSize: BATCH, seed: 9, historySize: STEPS }, data.train);
    try {
      const nb = ref.batches.length;
      for (let i = 0; i < STEPS; i++) {
        if (i % nb === 0) ref.setOrder(shardedEpochOrder(plan, true, 9, i / nb));
        ref.step(ref.batches.at(i % nb), i);
      }
      expect(Array.from(sharded.losses)).toEqual(Array.from(await ref.readLosses(0, STEPS)));
      expect(Array.from(sharded.params)).toEqual(Array.from(await ref.readParams()));
    } finally {
      ref.dispose();
    }
    // and it is not the unsharded shuffle
    const whole = await run(be, s, data);
    expect(Array.from(sharded.losses)).not.toEqual(Array.from(whole.losses));
  }, 60_000);

  test('with shuffle, a sharded run resumed mid-shard ends bit for bit as the run that never stopped', async () => {
    const s = spec(true),
      data = await loadDataset(s);
    const straight = await run(be, s, data, LIMIT);
    for (const at of [12, 41]) {
      // inside epoch 0 (a batch straddling shards 0|1 of its order), and inside epoch 1
      const first = new Trainer(be, s, data, at, LIMIT);
      let state: SessionState;
      try {
        await first.train();
        state = await first.snapshot();
      } finally {
        first.dispose();
      }
      const second = new Trainer(be, s, data, undefined, LIMIT);
      try {
        second.restore(state);
        const losses = await second.train();
        expect(Array.from(losses), `${name}, resumed at ${at}`).toEqual(Array.from(straight.losses));
        expect(Array.from(await second.session.readParams())).toEqual(Array.from(straight.params));
      } finally {
        second.dispose();
      }
    }
  }, 60_000);
});

const gpuTest = await webgpuTest();

gpuTest('a sharded webgpu step is still one submission (uploads and index lists are queued writes)', async (gpu) => {
  const s = spec(true),
    data = await loadDataset(s);
  const t = new Trainer(gpu as unknown as Backend, s, data, STEPS, LIMIT);
  try {
    const before = gpu.submissions;
    await t.train({ reportEvery: 10 });
    expect(t.session.shards?.plan.count).toBe(8);
    expect(gpu.submissions - before).toBe(STEPS);
  } finally {
    t.dispose();
  }
});

describeBackends(await backendCases(), '%s', (name, be) => {
  test('a held-out set past the limit is evaluated shard by shard to the loss of the whole one', async () => {
    const s = spec(false),
      all = (await loadDataset(s)).train;
    const part = (from: number, n: number) => ({ ...all, n, x: all.x.slice(from * 3, (from + n) * 3), y: all.y.slice(from * 2, (from + n) * 2) });
    const data: Datasets = { train: part(0, 60), test: part(60, 140) }; // 420 floats of held-out inputs: 3 shards at the limit of 150
    const whole = new Trainer(be, s, data, 10),
      sharded = new Trainer(be, s, data, 10, LIMIT);
    try {
      await whole.train();
      await sharded.train();
      const a = await whole.evaluate(),
        b = await sharded.evaluate();
      expect(b.samples).toBe(140);
      // biome-ignore lint/complexity/useLiteralKeys: a private field, read by its key to see the plan
      expect(sharded['evalSession']?.shards?.plan.count).toBe(6);
      // the same samples and parameters, summed over batches of 23 instead of one of 140
      expect(Math.abs(b.loss - a.loss), name).toBeLessThan((name === 'cpu' ? 1e-12 : 1e-6) * a.loss);
    } finally {
      whole.dispose();
      sharded.dispose();
    }
  }, 60_000);
});

describeBackends(await backendCases(), '%s', (name, be) => {
  test("an RNN's windows ([n][T][I], gathered time-major) sharded at 4× below their size train to the whole run's losses", async () => {
    const s = validateSpec({
      model: { type: 'rnn', inputSize: 2, hiddenSize: 5, outputSize: 1 },
      loss: 'mse',
      optimizer: { type: 'adam', lr: 0.02 },
      data: {
        x: Array.from({ length: 60 }, (_, n) => Array.from({ length: 4 }, (_, t) => [Math.sin(n + 0.5 * t), Math.cos(0.3 * n * t)])),
        y: Array.from({ length: 60 }, (_, n) => [Math.sin(0.2 * n)]),
      },
      batchSize: 5,
      steps: 30,
      seed: 2,
    });
    const data = await loadDataset(s);
    const whole = await run(be, s, data);
    const sharded = await run(be, s, data, 120); // 480 floats of windows: 9 shards of 6 or 7
    expect(sharded.sharded).toBe(true);
    expect(Array.from(sharded.losses), name).toEqual(Array.from(whole.losses));
  }, 60_000);
});
