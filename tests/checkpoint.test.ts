// Checkpoints on every backend present: an interrupted and resumed run ends bit for bit where an
// uninterrupted one ends; what is saved (PyTorch names, optimizer state, step, spec, rng); what is
// refused (another model, a truncated file, a plain state dict); a diverged run or a lost device
// keeps the last good checkpoint; a model too big for the device is refused naming its tensor.
import { describe, expect, test } from 'vitest';
import type { Backend } from '../src/backend.js';
import { createBackend } from '../src/backends.js';
import { loadDataset } from '../src/data/load.js';
import { DeviceLostError, RunError, SpecError } from '../src/errors.js';
import { type Checkpoint, decodeCheckpoint, encodeCheckpoint } from '../src/io/checkpoint.js';
import { decodeSafetensors, encodeSafetensors } from '../src/io/safetensors.js';
import { Mlp } from '../src/nn/mlp.js';
import type { RunSpec } from '../src/spec/types.js';
import { validateSpec } from '../src/spec/validate.js';
import { checkpointOf } from '../src/train/checkpointing.js';
import { runSpec } from '../src/train/runSpec.js';
import { Trainer } from '../src/train/trainer.js';
import type { WebGpuBackend } from '../src/webgpu/backend.js';
import { backendCases, describeBackends, presentBackends, webgpuTest } from './backends.js';

/** Deterministic data: n samples of `inputs` values in [-1, 1) and one-hot-ish targets. */
function data(n: number, T: number, inputs: number, outputs: number) {
  const v = (i: number) => ((i * 7919) % 1000) / 500 - 1;
  const x = Array.from({ length: n }, (_, s) =>
    T === 0
      ? Array.from({ length: inputs }, (_, j) => v(s * inputs + j))
      : Array.from({ length: T }, (_, t) => Array.from({ length: inputs }, (_, j) => v((s * T + t) * inputs + j))),
  );
  const y = Array.from({ length: n }, (_, s) => Array.from({ length: outputs }, (_, j) => (j === s % outputs ? 1 : 0)));
  return { x, y };
}

const mlpSpec = (): RunSpec =>
  validateSpec({
    model: {
      type: 'mlp',
      inputSize: 5,
      layers: [
        { units: 8, activation: 'tanh' },
        { units: 3, activation: 'softmax' },
      ],
    },
    loss: 'crossEntropy',
    optimizer: { type: 'adam', lr: 0.01 },
    data: data(40, 0, 5, 3),
    batchSize: 8,
    shuffle: true,
    steps: 23,
    seed: 4,
  });
const rnnSpec = (): RunSpec =>
  validateSpec({
    model: { type: 'rnn', inputSize: 2, hiddenSize: 6, outputSize: 2, activation: 'tanh', outputActivation: 'identity' },
    loss: 'mse',
    optimizer: { type: 'rmsprop', lr: 0.01 },
    data: data(12, 4, 2, 2),
    batchSize: 5,
    shuffle: true,
    steps: 17,
    seed: 9,
  });

/** [from, from + 1, …, to]: the step numbers (1-based, as afterStep gets them) a run computes. */
const stepsFrom = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

/** Runs `steps` steps saving a checkpoint every `every`; returns the latest bytes saved. */
async function runSaving(be: Backend, spec: RunSpec, steps: number, every: number) {
  let saved: Uint8Array | undefined;
  await runSpec(spec, {
    backend: be,
    steps,
    checkpoint: {
      every,
      where: 'memory',
      save: async (b) => {
        saved = b;
      },
    },
  });
  return saved!;
}

describeBackends(await backendCases(), '%s', (_, be) => {
  test.each([
    ['mlp', mlpSpec],
    ['rnn', rnnSpec],
  ])('an interrupted %s run resumed from its checkpoint ends bit for bit where an uninterrupted one ends', async (_, make) => {
    const spec = make();
    const whole = await runSpec(spec, { backend: be });
    const bytes = await runSaving(be, spec, 11, 4); // stops after step 11; the last save is the end-of-run one
    const ckpt = await decodeCheckpoint(bytes, 'ckpt');
    expect(ckpt.step).toBe(11);
    // the steps the resumed run computes: only 12 to the last, from the checkpoint's state (a run
    // started again from step 0 would compute them all and, from the same seed, end in the same place)
    const computed: number[] = [];
    const resumed = await runSpec(undefined, {
      backend: be,
      resume: { checkpoint: ckpt, from: 'ckpt' },
      afterStep: (step) => {
        computed.push(step);
      },
    });
    expect(computed).toEqual(stepsFrom(12, spec.steps!));
    expect(resumed.losses).toHaveLength(spec.steps!);
    expect(resumed.losses.slice(0, 11)).toEqual(Array.from(ckpt.losses)); // the checkpoint's history, not recomputed
    expect(resumed.losses).toEqual(whole.losses);
    expect(resumed.params).toEqual(whole.params);
    expect(resumed.grads).toEqual(whole.grads);
  });

  test('a checkpoint holds PyTorch names, the optimizer state, the losses, the step, the spec and the rng', async () => {
    const bytes = await runSaving(be, rnnSpec(), 6, 3);
    const { tensors, metadata } = await decodeSafetensors(bytes, 'ckpt');
    expect([...tensors.keys()].slice(0, 6)).toEqual(['rnn.weight_ih_l0', 'rnn.weight_hh_l0', 'rnn.bias_ih_l0', 'rnn.bias_hh_l0', 'head.weight', 'head.bias']);
    expect(tensors.get('rnn.weight_ih_l0')!.shape).toEqual([6, 2]);
    expect([...tensors.get('rnn.bias_hh_l0')!.data]).toEqual([0, 0, 0, 0, 0, 0]);
    expect(tensors.get('optimizer.square_avg.rnn.weight_hh_l0')!.shape).toEqual([6, 6]);
    expect(tensors.get('optimizer.square_avg.head.weight')!.data.some((v) => v > 0)).toBe(true);
    expect(tensors.get('train.losses')!.shape).toEqual([6]);
    expect(tensors.get('head.weight')!.data).toBeInstanceOf(be.name === 'cpu' ? Float64Array : Float32Array);
    expect(metadata).toMatchObject({ format: 'miya-checkpoint/2', step: '6', optimizer_t: '6', backend: be.name });
    expect(JSON.parse(metadata.spec).model.hiddenSize).toBe(6);
    expect(JSON.parse(metadata.rng)).toMatchObject({ seed: 9, shuffle: true, epoch: 2, batchInEpoch: 0 });
  });

  test('disposing a model frees every buffer it made', async () => {
    const spec = mlpSpec();
    const before = be.liveBuffers();
    const trainer = new Trainer(be, spec, await loadDataset(spec));
    await trainer.train({ reportEvery: 5 });
    expect(be.liveBuffers()).toBeGreaterThan(before);
    trainer.dispose();
    expect(be.liveBuffers()).toBe(before);
  });
});

const gpuTest = await webgpuTest();

describe('refused', () => {
  let good: Checkpoint;
  test('a checkpoint of another model shape or optimizer, a truncated one, a plain state dict, a step past the run', async () => {
    const bytes = await runSaving((await presentBackends())[0][1], mlpSpec(), 8, 4);
    good = await decodeCheckpoint(bytes, 'good.ckpt');
    const wider = mlpSpec();
    (wider.model as { layers: { units: number }[] }).layers[0].units = 9;
    await expect(runSpec(wider, { backend: 'cpu', resume: { checkpoint: good, from: 'good.ckpt' } })).rejects.toThrow(
      /good\.ckpt: holds an MLP with layers\.0\.weight \[8, 5\].*the spec describes an MLP with layers\.0\.weight \[9, 5\]/,
    );
    await expect(
      runSpec({ ...mlpSpec(), optimizer: { type: 'sgd', lr: 0.1 } }, { backend: 'cpu', resume: { checkpoint: good, from: 'good.ckpt' } }),
    ).rejects.toThrow(/holds adam optimizer state; the spec asks for sgd/);
    await expect(decodeCheckpoint(bytes.subarray(0, bytes.length - 100), 'cut.ckpt')).rejects.toThrow(/cut\.ckpt: not a usable safetensors file.*checksum/);
    const plain = await encodeSafetensors(new Map([['layers.0.weight', { shape: [1], data: Float32Array.of(1) }]]));
    await expect(decodeCheckpoint(plain, 'model.safetensors')).rejects.toThrow(/expected a Miya checkpoint.*miya import/);
    await expect(runSpec(undefined, { backend: 'cpu', steps: 5, resume: { checkpoint: good, from: 'good.ckpt' } })).rejects.toThrow(
      /steps: good\.ckpt is at step 8; expected a run of at least that many steps, got 5/,
    );
    await expect(runSpec(wider, { backend: 'cpu', resume: { checkpoint: good, from: 'good.ckpt' } })).rejects.toBeInstanceOf(SpecError);
  });

  test('a model too big for one buffer on the device, naming its largest tensor and the limit', () => {
    const be = {
      name: 'cpu',
      device: 'a small GPU',
      bufferLimit: { floats: 1000, what: 'maxStorageBufferBindingSize of 4000 bytes' },
      buffer: () => {
        throw new Error('allocated');
      },
    } as unknown as Backend;
    expect(
      () =>
        new Mlp(
          be,
          {
            type: 'mlp',
            inputSize: 30,
            layers: [
              { units: 40, activation: 'relu' },
              { units: 2, activation: 'identity' },
            ],
          },
          1,
        ),
    ).toThrow(
      /1322 parameters .* a small GPU holds at most 1000 floats \(maxStorageBufferBindingSize of 4000 bytes\); the largest tensor is layers\.0\.weight \[40, 30\], 1200 floats/,
    );
  });

  gpuTest("on the webgpu backend, against the adapter's own limit, before any buffer is made", async (gpu) => {
    const live = gpu.liveBuffers();
    const side = Math.ceil(Math.sqrt(gpu.bufferLimit.floats)) + 1; // one weight matrix past the limit
    let message = '';
    try {
      new Mlp(gpu, { type: 'mlp', inputSize: side, layers: [{ units: side, activation: 'relu' }] }, 1);
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message).toContain(`the largest tensor is layers.0.weight [${side}, ${side}]`);
    expect(message).toMatch(/\(this GPU's max(StorageBufferBindingSize|BufferSize) of \d+ bytes\)/);
    expect(gpu.liveBuffers()).toBe(live);
  });
});

test('a diverging run keeps its last good checkpoint and says so', async () => {
  const spec = validateSpec({
    ...mlpSpec(),
    optimizer: { type: 'sgd', lr: 1e30 },
    loss: 'mse',
    model: { type: 'mlp', inputSize: 5, layers: [{ units: 3, activation: 'identity' }] },
  });
  let saved: Uint8Array | undefined;
  const run = runSpec(spec, {
    backend: 'cpu',
    checkpoint: {
      every: 1,
      where: 'ckpt.safetensors',
      save: async (b) => {
        saved = b;
      },
    },
  });
  await expect(run).rejects.toThrow(/diverged at step \d+.*the last checkpoint, step \d+, is kept in ckpt\.safetensors/);
  const last = await decodeCheckpoint(saved!, 'ckpt');
  expect(last.losses.every(Number.isFinite)).toBe(true);
  expect(Array.from(last.params).every(Number.isFinite)).toBe(true);
});

gpuTest('a lost GPU device ends the run with a clear message and the last checkpoint kept', async () => {
  const be = (await createBackend('webgpu')) as WebGpuBackend; // its own device: this test destroys it
  let saved: Uint8Array | undefined;
  const run = runSpec(mlpSpec(), {
    backend: be,
    reportEvery: 1,
    checkpoint: {
      every: 5,
      where: 'ckpt.safetensors',
      save: async (b) => {
        saved = b;
      },
    },
    afterStep: (step) => {
      if (step === 7) be.gpu.destroy();
    },
  });
  const err = await run.catch((e: unknown) => e);
  expect(err).toBeInstanceOf(RunError);
  expect((err as Error).message).toMatch(/the GPU device was lost \(destroyed.*the last checkpoint, step 5, is kept in ckpt\.safetensors/);
  expect((err as Error).cause).toBeInstanceOf(DeviceLostError);
  const last = await decodeCheckpoint(saved!, 'ckpt');
  expect(last.step).toBe(5);
  // resumed on the cpu backend: steps 6..23 alone, after the five losses the checkpoint holds
  const computed: number[] = [];
  const resumed = await runSpec(undefined, {
    backend: 'cpu',
    resume: { checkpoint: last, from: 'ckpt' },
    afterStep: (step) => {
      computed.push(step);
    },
  });
  expect(computed).toEqual(stepsFrom(6, 23));
  expect(resumed.losses).toHaveLength(23);
  expect(resumed.losses.slice(0, 5)).toEqual(Array.from(last.losses));
});

test('encode → decode keeps every value of a checkpoint', async () => {
  const spec = mlpSpec();
  const trainer = new Trainer((await presentBackends())[0][1], spec, await loadDataset(spec), 10);
  await trainer.train();
  const c = await checkpointOf(trainer);
  const back = await decodeCheckpoint(await encodeCheckpoint(c, trainer.batchesPerEpoch), 'x');
  expect(back.params).toEqual(c.params);
  expect(back.state).toEqual(c.state);
  expect(back.losses).toEqual(c.losses);
  expect([back.step, back.optimizerT, back.dtype]).toEqual([10, 10, 'F64']);
  trainer.dispose();
});
