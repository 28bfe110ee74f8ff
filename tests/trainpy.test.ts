// `miya export --pytorch DIR` writes DIR/train.py, which continues the run in PyTorch. A run of 2k
// steps in Miya (cpu, float64) against k steps in Miya + export --dtype float64 + train.py to step
// 2k: the same losses to 1e-9, for every optimizer, on an MLP, an RNN, a sequential model, CSV and
// MNIST data, shuffled epochs and a short last batch; `--nproc 2` (DistributedDataParallel, gloo)
// gives the single process's losses; train.py's --out comes back through `miya import` and trains
// on where it stopped. Needs Debian's python3-torch (as tests/oracle does); without it each test
// is skipped, saying why.
import { execFile, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { type AddressInfo, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { uniformInt } from 'pure-rand/distribution/uniformInt';
import { xoroshiro128plus } from 'pure-rand/generator/xoroshiro128plus';
import { describe, expect, test } from 'vitest';
import type { Backend } from '../src/backend.js';
import { CpuBackend } from '../src/cpu/backend.js';
import { loadDataset } from '../src/data/load.js';
import { pytorchExport } from '../src/io/export.js';
import type { RunSpec } from '../src/spec/types.js';
import { validateSpec } from '../src/spec/validate.js';
import { checkpointOf } from '../src/train/checkpointing.js';
import { type RunResult, runSpec } from '../src/train/runSpec.js';
import { epochOrder, Trainer } from '../src/train/trainer.js';
import { webgpuBackend, webgpuMissing } from './backends.js';
import { PYTHON, WEBGPU_RTOL } from './oracle/torch.js';

const root = join(import.meta.dirname, '..');
const ENV = { ...process.env, OMP_NUM_THREADS: '1' };

const noTorch = (() => {
  const r = spawnSync(PYTHON, ['-c', 'import torch'], { encoding: 'utf8', timeout: 60_000 });
  return r.status === 0
    ? undefined
    : `${PYTHON} cannot import torch (Debian's python3-torch, as .ci/run installs): ${r.error?.message ?? r.stderr.trim().split('\n').pop()}`;
})();
const torchTest = (name: string, fn: () => Promise<void> | void, timeout = 60_000) =>
  noTorch ? test.skip(`${name} [skipped: ${noTorch}]`, () => {}) : test(name, fn, timeout);

const tmp = () => mkdtempSync(join(tmpdir(), 'miya-trainpy-'));

/**
 * Miya's checkpoint after k steps on the cpu backend, exported (float64) into a new folder: taken
 * mid-run (a run of `total` steps stopped after step k), as --checkpoint-every takes it, so that a
 * run's end (early stopping's restoreBest) has not happened to it.
 */
async function exportAfter(spec: RunSpec, k: number, total = 2 * k + 1, be: Backend = new CpuBackend()): Promise<string> {
  const trainer = new Trainer(be, spec, await loadDataset(spec), total);
  const stop = new AbortController();
  if (k > 0)
    await trainer.train({
      signal: stop.signal,
      afterStep: (step) => {
        if (step === k) stop.abort();
      },
    });
  expect(trainer.step).toBe(k);
  const dir = tmp();
  // float64 keeps the cpu backend's values; a webgpu checkpoint's are float32
  for (const [name, content] of await pytorchExport(await checkpointOf(trainer), be.precision === 'f64' ? 'F64' : 'F32'))
    writeFileSync(join(dir, name), content);
  trainer.dispose();
  return dir;
}

interface TrainPyResult {
  losses: number[];
  lrs: number[];
  from: number;
  processes: number;
  dtype: string;
  test?: { loss: number; accuracy?: number };
  history: { epoch: number; loss: number; testLoss?: number; testAccuracy?: number; lr: number }[];
  earlyStopping?: { stoppedEpoch?: number; bestEpoch: number; bestLoss: number; restored: boolean };
}

function trainPy(dir: string, ...args: string[]): TrainPyResult {
  const r = spawnSync(PYTHON, [join(dir, 'train.py'), '--json', ...args], { encoding: 'utf8', timeout: 200_000, env: ENV, cwd: tmp() });
  if (r.status !== 0) throw new Error(`train.py ${args.join(' ')}: exit ${r.status ?? r.signal}\n${r.stderr}`);
  return JSON.parse(r.stdout) as TrainPyResult;
}

/** What a continuation test compares: Miya's own run, and train.py's from Miya's checkpoint at k. */
interface Continued {
  want: RunResult;
  got: TrainPyResult;
  dir: string;
}
const queued: { spec: RunSpec; k: number; steps: number; be?: Backend; args: string[]; settle: (r: Continued | Error) => void }[] = [];
let batch: Promise<void> | undefined;

/**
 * Miya for `steps` steps (cpu), and Miya for k steps + export (float64) + train.py to step `steps`.
 * Registered now; every registered case runs at once when the first test asks (train.py through
 * one Python process, so that torch is imported once, not once a case).
 */
function continued(spec: RunSpec, k: number, steps = 2 * k, be?: Backend, args: string[] = []): () => Promise<Continued> {
  let settle!: (r: Continued | Error) => void;
  const result = new Promise<Continued | Error>((done) => {
    settle = done;
  });
  queued.push({ spec, k, steps, be, args, settle });
  return async () => {
    batch ??= runQueued();
    await batch;
    const r = await result;
    if (r instanceof Error) throw r;
    return r;
  };
}

async function runQueued(): Promise<void> {
  const cases = queued.splice(0);
  const prepared = await Promise.all(
    cases.map(async (c) => ({
      want: await runSpec(c.spec, { backend: c.be ?? new CpuBackend(), steps: c.steps }),
      dir: await exportAfter(c.spec, c.k, Math.max(c.steps, c.k + 1), c.be),
    })),
  );
  const runs = join(tmp(), 'runs.json');
  writeFileSync(
    runs,
    JSON.stringify(prepared.map((p, i) => ({ script: join(p.dir, 'train.py'), args: ['--json', '--steps', String(cases[i].steps), ...cases[i].args] }))),
  );
  // each run as `python train.py ARGS` would: __main__, its own argv, its stdout and stderr caught
  const driver = `import contextlib, io, json, runpy, sys
out = []
for r in json.load(open(sys.argv[1])):
    sys.argv, stdout, stderr = [r["script"]] + r["args"], io.StringIO(), io.StringIO()
    try:
        with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
            runpy.run_path(r["script"], run_name="__main__")
        out.append({"stdout": stdout.getvalue()})
    except SystemExit as e:
        out.append({"error": f"exit {e.code}: {stderr.getvalue()}"})
print(json.dumps(out))`;
  const r = spawnSync(PYTHON, ['-c', driver, runs], { encoding: 'utf8', timeout: 300_000, env: ENV, cwd: tmp(), maxBuffer: 2 ** 26 });
  const outs = r.status === 0 ? (JSON.parse(r.stdout) as { stdout?: string; error?: string }[]) : undefined;
  cases.forEach((c, i) => {
    const o = outs?.[i];
    c.settle(
      o?.stdout !== undefined
        ? { ...prepared[i], got: JSON.parse(o.stdout) as TrainPyResult }
        : new Error(`train.py --steps ${c.steps}: ${o?.error ?? `the Python driver failed: exit ${r.status ?? r.signal}\n${r.stderr}`}`),
    );
  });
}

/** The largest |a − b| / max(1, |b|). */
function worst(a: number[], b: number[]): number {
  expect(a.length).toBe(b.length);
  return Math.max(...a.map((v, i) => Math.abs(v - b[i]) / Math.max(1, Math.abs(b[i]))));
}

const mlp = (out: string) => ({
  type: 'mlp',
  inputSize: 3,
  layers: [
    { units: 5, activation: 'tanh' },
    { units: 2, activation: out },
  ],
});
const xs = Array.from({ length: 10 }, (_, i) => [Math.sin(i), Math.cos(2 * i), (i % 3) / 2 - 0.4]);
const regression = { x: xs, y: xs.map(([a, b, c]) => [a * b + 0.3, c - 0.2 * a]) };
const classes = { x: xs, y: xs.map(([a]) => (a > 0 ? [1, 0] : [0, 1])) };
const seqs = Array.from({ length: 7 }, (_, i) => Array.from({ length: 4 }, (_, t) => [Math.sin(i + t), Math.cos(i * t) / 2]));
const seqData = { x: seqs, y: seqs.map((s) => (s[3][0] > 0 ? [1, 0] : [0, 1])) };

const OPTIMIZERS = {
  sgd: { type: 'sgd', lr: 0.1 },
  momentum: { type: 'momentum', lr: 0.05, momentum: 0.8 },
  rmsprop: { type: 'rmsprop', lr: 0.01 }, // ε inside the root (Miya's default): written out by hand in train.py
  'rmsprop ε outside': { type: 'rmsprop', lr: 0.01, rho: 0.8, epsInsideSqrt: false, eps: 1e-3 },
  adam: { type: 'adam', lr: 0.02, beta1: 0.8 },
};

const k = 5;
/** The first of these tests waits for all of them (runQueued). */
const BATCH_TIMEOUT = 240_000;

describe('train.py continues a Miya run to the same losses (cpu, float64, 1e-9)', () => {
  // 10 samples in batches of 4 (the last of 2), reshuffled each epoch: k = 5 steps cross epochs both sides of the export
  for (const [name, optimizer] of Object.entries(OPTIMIZERS)) {
    const run = continued(validateSpec({ model: mlp('identity'), loss: 'mse', optimizer, data: regression, batchSize: 4, shuffle: true, seed: 7 }), k);
    torchTest(
      `MLP, ${name}`,
      async () => {
        const { want, got } = await run();
        expect(got.from).toBe(k);
        expect(got.dtype).toBe('float64');
        expect(got.losses.slice(0, k)).toEqual(want.losses.slice(0, k)); // the checkpoint's own, carried over
        expect(worst(got.losses, want.losses)).toBeLessThan(1e-9);
      },
      BATCH_TIMEOUT,
    );
  }

  const rnnAdam = continued(
    validateSpec({
      model: { type: 'rnn', inputSize: 2, hiddenSize: 4, outputSize: 2, activation: 'tanh', outputActivation: 'softmax' },
      loss: 'crossEntropy',
      optimizer: OPTIMIZERS.adam,
      data: seqData,
      batchSize: 3,
      shuffle: true,
      seed: 3,
    }),
    k,
  );
  torchTest(
    'RNN (tanh, softmax output), crossEntropy, adam: one hidden bias, as Miya',
    async () => {
      const { want, got } = await rnnAdam();
      expect(worst(got.losses, want.losses)).toBeLessThan(1e-9);
    },
    BATCH_TIMEOUT,
  );

  const rnnRms = continued(
    validateSpec({
      model: { type: 'rnn', inputSize: 2, hiddenSize: 3, outputSize: 2, activation: 'sigmoid', outputActivation: 'identity' },
      loss: 'halfMse',
      optimizer: OPTIMIZERS.rmsprop,
      data: seqData,
      batchSize: 4,
    }),
    k,
  );
  torchTest(
    'RNN (sigmoid, which nn.RNN lacks), halfMse, rmsprop',
    async () => {
      const { want, got } = await rnnRms();
      expect(worst(got.losses, want.losses)).toBeLessThan(1e-9);
    },
    BATCH_TIMEOUT,
  );

  const lstm = continued(
    validateSpec({
      model: {
        type: 'sequential',
        inputSize: 2,
        layers: [
          { type: 'lstm', units: 3 },
          { type: 'dense', units: 2, activation: 'softmax' },
        ],
      },
      loss: 'crossEntropy',
      optimizer: OPTIMIZERS.momentum,
      data: seqData,
      batchSize: 4,
      shuffle: true,
    }),
    k,
  );
  torchTest(
    'sequential (LSTM then dense), crossEntropy, momentum',
    async () => {
      const { want, got } = await lstm();
      expect(worst(got.losses, want.losses)).toBeLessThan(1e-9);
    },
    BATCH_TIMEOUT,
  );

  const text = join(tmp(), 'text.txt');
  // a BOM, which Miya drops, and a CRLF, which it keeps (21 distinct characters)
  writeFileSync(text, '\ufeffthe cat sat on the mat;\r\nthe dog sat on the log — ünïcödé\n');
  const gru = continued(
    validateSpec({
      model: {
        type: 'sequential',
        inputSize: 1,
        layers: [
          { type: 'embedding', vocab: 21, units: 4 },
          { type: 'gru', units: 5, returnSequences: true },
          { type: 'dense', units: 21, activation: 'softmax' },
        ],
      },
      loss: 'crossEntropy',
      optimizer: OPTIMIZERS.adam,
      data: { text, window: 6, test: 2 },
      batchSize: 3,
      shuffle: true,
      seed: 4,
    }),
    k,
  );
  torchTest(
    'text (embedding, GRU over every step, class-index targets), adam',
    async () => {
      const { want, got } = await gru();
      expect(worst(got.losses, want.losses)).toBeLessThan(1e-9);
      expect(Math.abs(got.test!.loss - want.test!.loss)).toBeLessThan(1e-9);
    },
    BATCH_TIMEOUT,
  );

  const indices = continued(
    validateSpec({
      model: {
        type: 'sequential',
        inputSize: 2,
        layers: [
          { type: 'lstm', units: 3 },
          { type: 'dense', units: 3, activation: 'softmax' },
        ],
      },
      loss: 'crossEntropy',
      optimizer: OPTIMIZERS.rmsprop,
      data: { x: seqs, y: seqs.map((_, i) => i % 3) },
      batchSize: 4,
      shuffle: true,
    }),
    k,
  );
  torchTest(
    'class-index targets given inline (sequential LSTM), crossEntropy, rmsprop',
    async () => {
      const { want, got } = await indices();
      expect(worst(got.losses, want.losses)).toBeLessThan(1e-9);
    },
    BATCH_TIMEOUT,
  );

  // token ids given inline: an embedding whose sequences the RNN reads, class-index targets at every step
  const tokens = {
    x: [
      [0, 1, 2, 3],
      [4, 3, 2, 1],
      [1, 1, 0, 4],
      [2, 4, 4, 0],
      [3, 0, 1, 2],
      [0, 2, 3, 1],
    ],
    y: [
      [1, 2, 3, 4],
      [3, 2, 1, 0],
      [1, 0, 4, 2],
      [4, 4, 0, 1],
      [0, 1, 2, 3],
      [2, 3, 1, 0],
    ],
  };
  const embedding = { type: 'embedding', vocab: 5, units: 3 },
    rnnLayer = { type: 'rnn', units: 4, returnSequences: true },
    head = { type: 'dense', units: 5, activation: 'softmax' };
  const embedded = continued(
    validateSpec({
      model: { type: 'sequential', layers: [embedding, rnnLayer, head] },
      loss: 'crossEntropy',
      optimizer: OPTIMIZERS.momentum,
      data: tokens,
      batchSize: 4,
      shuffle: true,
      seed: 9,
    }),
    k,
  );
  torchTest(
    'token ids given inline (embedding, RNN over every step), crossEntropy, momentum',
    async () => {
      const { want, got } = await embedded();
      expect(worst(got.losses, want.losses)).toBeLessThan(1e-9);
    },
    BATCH_TIMEOUT,
  );
  const dropped = continued(
    validateSpec({
      model: { type: 'sequential', layers: [embedding, { type: 'dropout', rate: 0.3 }, rnnLayer, head] },
      loss: 'crossEntropy',
      optimizer: OPTIMIZERS.momentum,
      data: tokens,
      batchSize: 4,
      shuffle: true,
      seed: 9,
    }),
    k,
  );
  torchTest(
    "dropout: train.py trains on (its masks are torch's, so the numbers are its own)",
    async () => {
      const { want, got } = await dropped();
      expect(got.losses.slice(0, k)).toEqual(want.losses.slice(0, k));
      expect(got.losses.length).toBe(2 * k);
      expect(got.losses.every((l) => Number.isFinite(l) && l > 0 && l < 10)).toBe(true);
    },
    BATCH_TIMEOUT,
  );

  const csv = join(tmp(), 'data.csv');
  writeFileSync(csv, 'a,b,c,t1,t2\n' + regression.x.map((x, i) => [...x, ...regression.y[i]].join(',')).join('\n') + '\n');
  const csvData = { csv, inputs: ['a', 'b', 'c'], targets: ['t1', 't2'], test: 2 };
  const csvRun = continued(
    validateSpec({ model: mlp('identity'), loss: 'halfMse', optimizer: OPTIMIZERS.adam, batchSize: 3, shuffle: true, seed: 11, data: csvData }),
    k,
  );
  torchTest(
    'CSV with a held-out set: the losses, and the held-out loss after the last step',
    async () => {
      const { want, got } = await csvRun();
      expect(worst(got.losses, want.losses)).toBeLessThan(1e-9);
      expect(Math.abs(got.test!.loss - want.test!.loss)).toBeLessThan(1e-9);
    },
    BATCH_TIMEOUT,
  );

  const elsewhere = continued(validateSpec({ model: mlp('identity'), loss: 'halfMse', optimizer: OPTIMIZERS.sgd, data: csvData }), 2, 4, undefined, [
    '--data',
    join(tmp(), 'moved.csv'),
  ]);
  const backwards = continued(validateSpec({ model: mlp('identity'), loss: 'halfMse', optimizer: OPTIMIZERS.sgd, data: csvData }), 4, 3);
  torchTest(
    'refused with exit 2 and a line saying why: a data file not where it is said to be, a step already past',
    async () => {
      await expect(elsewhere()).rejects.toThrow(
        /exit 2: train.py: data.csv: \S+moved.csv is not a file \(pass --data FILE where the spec's CSV lies on this machine\)/,
      );
      await expect(backwards()).rejects.toThrow('exit 2: train.py: --steps 3: the run is already at step 4; expected at least 4');
    },
    BATCH_TIMEOUT,
  );

  const mnist = continued(
    validateSpec({
      model: {
        type: 'mlp',
        inputSize: 784,
        layers: [
          { units: 6, activation: 'relu' },
          { units: 10, activation: 'softmax' },
        ],
      },
      loss: 'crossEntropy',
      optimizer: { type: 'sgd', lr: 0.5 },
      data: { dataset: 'mnist', train: 40, test: 30 },
      batchSize: 16,
      shuffle: true,
      seed: 5,
    }),
    3,
    6,
  );
  torchTest(
    "MNIST (Miya's digits file, copied by the export; split by the seed), crossEntropy, sgd, with accuracy",
    async () => {
      const { want, got } = await mnist();
      expect(worst(got.losses, want.losses)).toBeLessThan(1e-9);
      expect(got.test!.accuracy).toBe(want.test!.accuracy);
    },
    BATCH_TIMEOUT,
  );

  describe('the training controls: weight decay, AdamW, Nesterov, clipping, schedules, early stopping', () => {
    const CONTROLLED = {
      'sgd, weightDecay, clipValue, step schedule with warmup': [
        { type: 'sgd', lr: 0.2, weightDecay: 0.05, clipValue: 0.05 },
        { type: 'step', every: 3, gamma: 0.5, warmup: 2 },
      ],
      'momentum (nesterov), weightDecay, clipNorm, exponential': [
        { type: 'momentum', lr: 0.05, nesterov: true, weightDecay: 0.02, clipNorm: 0.1 },
        { type: 'exponential', gamma: 0.9 },
      ],
      'rmsprop (ε inside), weightDecay, clipNorm, cosine with warmup': [
        { type: 'rmsprop', lr: 0.01, weightDecay: 0.1, clipNorm: 0.5 },
        { type: 'cosine', steps: 8, min: 0.001, warmup: 3 },
      ],
      'adam, weightDecay, clipValue, cosine': [
        { type: 'adam', lr: 0.02, weightDecay: 0.01, clipValue: 0.1 },
        { type: 'cosine', steps: 6 },
      ],
      'adamw (default decay 0.01), clipNorm, step': [
        { type: 'adamw', lr: 0.03, clipNorm: 0.2 },
        { type: 'step', every: 4, gamma: 0.3 },
      ],
    };
    for (const [name, [optimizer, schedule]] of Object.entries(CONTROLLED)) {
      const run = continued(
        validateSpec({ model: mlp('identity'), loss: 'mse', optimizer, schedule, data: regression, batchSize: 4, shuffle: true, seed: 5 }),
        k,
      );
      torchTest(
        name,
        async () => {
          const { want, got } = await run();
          expect(worst(got.losses, want.losses)).toBeLessThan(1e-9);
          expect(worst(got.lrs, want.lrs)).toBeLessThan(1e-15);
        },
        BATCH_TIMEOUT,
      );
    }

    // minDelta 10: only the first epoch is an improvement; the plateau (patience 1) halves the rate
    // after epochs 3 and 5, early stopping (patience 5) ends the run after epoch 6 (step 18 of 24)
    // with epoch 1's parameters; the export is after epoch 2, with one bad epoch counted
    const stopping = continued(
      validateSpec({
        model: mlp('identity'),
        loss: 'mse',
        optimizer: { type: 'adam', lr: 0.05 },
        batchSize: 3,
        seed: 1,
        shuffle: true,
        data: csvData,
        schedule: { type: 'plateau', factor: 0.5, patience: 1, minDelta: 10 },
        earlyStopping: { patience: 5, minDelta: 10 },
      }),
      6,
      24,
    );
    // never stopping early: restoreBest acts where the spec's own run ends (its `steps`)
    const ending = continued(
      validateSpec({
        model: mlp('identity'),
        loss: 'mse',
        optimizer: { type: 'adam', lr: 0.05 },
        batchSize: 3,
        seed: 1,
        shuffle: true,
        data: csvData,
        steps: 12,
        earlyStopping: { patience: 10, minDelta: 10 },
      }),
      6,
      12,
    );
    torchTest(
      "early stopping that never stops: the best epoch's parameters come back where the spec's run ends",
      async () => {
        const { want, got } = await ending();
        expect(want.earlyStopping).toEqual({ bestEpoch: 1, bestLoss: want.history[0].testLoss, restored: true });
        expect(got.earlyStopping).toEqual({ ...want.earlyStopping, bestLoss: expect.closeTo(want.earlyStopping!.bestLoss, 12) });
        expect(worst(got.losses, want.losses)).toBeLessThan(1e-9);
        expect(Math.abs(got.test!.loss - want.test!.loss)).toBeLessThan(1e-9);
      },
      BATCH_TIMEOUT,
    );

    torchTest(
      "plateau schedule and early stopping on the held-out loss: the counters and the best epoch's parameters carry over",
      async () => {
        const { want, got } = await stopping();
        expect(want.earlyStopping).toEqual({ stoppedEpoch: 6, bestEpoch: 1, bestLoss: want.history[0].testLoss, restored: true });
        expect(got.losses.length).toBe(18);
        expect(worst(got.losses, want.losses)).toBeLessThan(1e-9);
        expect(got.lrs).toEqual([...Array(9).fill(0.05), ...Array(6).fill(0.025), ...Array(3).fill(0.0125)]);
        expect(got.earlyStopping).toEqual({ ...want.earlyStopping, bestLoss: expect.closeTo(want.earlyStopping!.bestLoss, 12) });
        expect(Math.abs(got.test!.loss - want.test!.loss)).toBeLessThan(1e-9);
        // train --json's history: per epoch, the mean loss, the held-out loss, the last step's rate
        expect(got.history.map((h) => [h.epoch, h.lr])).toEqual(want.history.map((h) => [h.epoch, h.lr]));
        expect(
          worst(
            got.history.flatMap((h) => [h.loss, h.testLoss!]),
            want.history.flatMap((h) => [h.loss, h.testLoss!]),
          ),
        ).toBeLessThan(1e-9);
      },
      BATCH_TIMEOUT,
    );
  });
});

// a webgpu checkpoint (float32) continued in float32: float32 tolerance, relative to the largest loss
const gpu = await webgpuBackend(),
  gpuMissing = await webgpuMissing();
const onGpu =
  gpu &&
  continued(
    validateSpec({
      model: mlp('identity'),
      loss: 'mse',
      optimizer: { type: 'adam', lr: 0.02, clipNorm: 0.5 },
      schedule: { type: 'cosine', steps: 10, warmup: 2 },
      data: regression,
      batchSize: 4,
      shuffle: true,
      seed: 7,
    }),
    k,
    2 * k,
    gpu,
  );
if (!onGpu) test.skip(`webgpu (float32) [skipped: ${gpuMissing}]`, () => {});
else {
  torchTest(
    "webgpu (float32): train.py in float32 continues to Miya's losses within float32 tolerance",
    async () => {
      const { want, got } = await onGpu();
      expect(got.dtype).toBe('float32');
      const largest = Math.max(...want.losses.map(Math.abs));
      expect(Math.max(...got.losses.map((l, i) => Math.abs(l - want.losses[i]))) / largest).toBeLessThan(WEBGPU_RTOL);
    },
    BATCH_TIMEOUT,
  );
}

// with clipping (after DistributedDataParallel's average) and a schedule; k = 2
const split = continued(
  validateSpec({
    model: mlp('softmax'),
    loss: 'crossEntropy',
    optimizer: { ...OPTIMIZERS.adam, clipNorm: 0.3 },
    schedule: { type: 'cosine', steps: 9, warmup: 3 },
    data: classes,
    batchSize: 3,
    shuffle: true,
    seed: 2,
  }),
  2,
  9,
);
torchTest(
  "train.py --nproc 2, and two processes started as torchrun starts them (DistributedDataParallel, gloo), give the single process's losses, a batch split 2 + 1",
  async () => {
    const { want, got: one, dir } = await split();
    const two = trainPy(dir, '--steps', '9', '--nproc', '2');
    expect(two.processes).toBe(2);
    expect(worst(two.losses, one.losses)).toBeLessThan(1e-12);
    expect(worst(two.losses, want.losses)).toBeLessThan(1e-9);
    // as torchrun starts it (its environment, one process a rank): Debian's torchrun itself fails under Python 3.11
    const port = await new Promise<string>((done) => {
      const server = createServer().listen(0, '127.0.0.1', () => {
        const { port: free } = server.address() as AddressInfo;
        server.close(() => done(String(free)));
      });
    });
    const ranks = await Promise.all(
      [0, 1].map(
        (rank) =>
          new Promise<string>((done, fail) => {
            const env = { ...ENV, RANK: String(rank), LOCAL_RANK: String(rank), WORLD_SIZE: '2', MASTER_ADDR: '127.0.0.1', MASTER_PORT: port };
            execFile(PYTHON, [join(dir, 'train.py'), '--json', '--steps', '9'], { env, timeout: 200_000 }, (e, stdout, stderr) =>
              e ? fail(new Error(`rank ${rank}: ${e.message}\n${stderr}`)) : done(stdout),
            );
          }),
      ),
    );
    expect(ranks[1]).toBe(''); // rank 0 alone prints
    expect(worst((JSON.parse(ranks[0]) as TrainPyResult).losses, one.losses)).toBeLessThan(1e-12);
  },
  BATCH_TIMEOUT,
);

torchTest("the epoch orders train.py draws are Miya's (xoroshiro128+ and uniformInt reimplemented)", async () => {
  const dir = await exportAfter(validateSpec({ model: mlp('identity'), loss: 'mse', optimizer: OPTIMIZERS.sgd, data: regression }), 0);
  const cases = [
    [1, 0, 0],
    [2, 1, 0],
    [3, 7, 4],
    [10, 0, 1],
    [1000, 123456789, 3],
    [257, 2 ** 40, 9],
    [50, 4294967295, 2],
  ];
  const code = `import json, sys; sys.path.insert(0, ${JSON.stringify(dir)}); import train
cases = ${JSON.stringify(cases)}
print(json.dumps([train.epoch_order(n, True, s, e) for n, s, e in cases] + [train.shuffled(300, train.Xoroshiro128Plus(s)) for n, s, e in cases]))`;
  const r = spawnSync(PYTHON, ['-c', code], { encoding: 'utf8', timeout: 60_000, env: ENV });
  expect(r.status, r.stderr).toBe(0);
  const mnistShuffle = (seed: number) => {
    const order = Array.from({ length: 300 }, (_, i) => i),
      rng = xoroshiro128plus(seed);
    for (let i = order.length - 1; i > 0; i--) {
      const j = uniformInt(rng, 0, i);
      [order[i], order[j]] = [order[j], order[i]];
    }
    return order;
  };
  expect(JSON.parse(r.stdout)).toEqual([...cases.map(([n, s, e]) => Array.from(epochOrder(n, true, s, e))), ...cases.map(([, s]) => mnistShuffle(s))]);
});

torchTest(
  'the CLI round trip: export --dtype float64, train.py --out, miya import, and training goes on from there',
  async () => {
    const miya = (...args: string[]) => {
      const r = spawnSync('node', [join(root, 'bin/miya.js'), ...args], { encoding: 'utf8', timeout: 120_000 });
      expect(r.status, `miya ${args.join(' ')}\n${r.stderr}`).toBe(0);
      return r.stdout;
    };
    const dir = tmp(),
      spec = join(dir, 'spec.json'),
      ck = join(dir, 'run.safetensors'),
      out = join(dir, 'torch'),
      back = join(dir, 'back.safetensors');
    // full batches without shuffling, and sgd (no state to carry): the imported spec's run is the same run going on
    const raw = { model: mlp('identity'), loss: 'mse', optimizer: OPTIMIZERS.sgd, data: regression };
    writeFileSync(spec, JSON.stringify(raw));
    const whole = (await runSpec(validateSpec(raw), { backend: new CpuBackend(), steps: 9 })).losses;
    miya('train', spec, '--backend', 'cpu', '--steps', '3', '--checkpoint', ck);
    expect(miya('export', ck, '--pytorch', out, '--dtype', 'float64')).toContain('train.py');
    const torch = trainPy(out, '--steps', '6', '--out', back);
    expect(worst(torch.losses, whole.slice(0, 6))).toBeLessThan(1e-9);
    miya('import', back, '--out', join(dir, 'back.json'));
    const after = (await runSpec(JSON.parse(readFileSync(join(dir, 'back.json'), 'utf8')), { backend: new CpuBackend(), steps: 3 })).losses;
    expect(worst(after, whole.slice(6))).toBeLessThan(1e-9);
    // an edited train.py is refused without --force
    writeFileSync(join(out, 'train.py'), readFileSync(join(out, 'train.py'), 'utf8') + '# mine\n');
    const edited = spawnSync('node', [join(root, 'bin/miya.js'), 'export', ck, '--pytorch', out], { encoding: 'utf8' });
    expect(edited.status, edited.stderr).toBe(2);
    expect(edited.stderr).toContain('train.py');
    // a dtype export does not write is refused before anything is written
    const never = join(dir, 'never');
    const bad = spawnSync('node', [join(root, 'bin/miya.js'), 'export', ck, '--pytorch', never, '--dtype', 'float16'], { encoding: 'utf8' });
    expect([bad.status, bad.stderr.trim()]).toEqual([2, 'miya export: --dtype: expected one of "float32", "float64", got "float16"']);
    expect(existsSync(never)).toBe(false);
  },
  90_000,
);
