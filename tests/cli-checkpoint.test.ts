// Checkpoints, resume and the hand-off to PyTorch through the `miya` command (dist/node, built by
// globalSetup): a process killed (SIGKILL) in the middle of writing a checkpoint leaves the
// previous one intact and resumable to the same bits; `miya export --pytorch` writes tensors that
// Debian's PyTorch (python3-torch, installed by .ci/run) loads into the module it writes, giving
// Miya's predictions; `miya import` reads back a file saved from PyTorch.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, test } from 'vitest';
import { CpuBackend } from '../src/cpu/backend.js';
import { decodeCheckpoint } from '../src/io/checkpoint.js';
import { decodeSafetensors } from '../src/io/safetensors.js';
import type { RunSpec } from '../src/spec/types.js';
import { validateSpec } from '../src/spec/validate.js';
import { inlineDataset } from '../src/data/inline.js';
import { Session } from '../src/train/session.js';
import { backendCases, testBackends } from './backends.js';

const root = join(import.meta.dirname, '..');
const bin = join(root, 'bin/miya.js');
const miya = (...args: string[]) => spawnSync('node', [bin, ...args], { cwd: root, encoding: 'utf8', timeout: 120_000, maxBuffer: 2 ** 30 });
const dir = mkdtempSync(join(tmpdir(), 'miya-ckpt-'));
const file = (name: string, content?: unknown) => {
  const f = join(dir, name);
  if (content !== undefined) writeFileSync(f, JSON.stringify(content));
  return f;
};
// Debian's python3-torch installs for the system Python.
const PYTHON = '/usr/bin/python3';
const python = (cwd: string, code: string) => {
  const r = spawnSync(PYTHON, ['-c', code], { cwd, encoding: 'utf8', timeout: 120_000 });
  if (r.error || r.status !== 0) throw new Error(`python3 with torch (Debian's python3-torch) failed: ${r.error?.message ?? r.stderr}`);
  return r.stdout;
};

async function until(what: string, ok: () => boolean, ms = 60_000): Promise<void> {
  const end = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

// The resume tests train on a CSV file, unshuffled, in fewer steps than one epoch: step k takes
// rows 8(k-1) … 8k-1 and no other step reads them. After the checkpoint is taken, the rows of the
// steps before it are changed in the file. A true resume never reads them again and ends where the
// uninterrupted run on the original file ends; a run that started again from step 0 would train on
// the changed rows and end elsewhere (each test shows first that it does).
const BATCH = 8,
  FEATURES = 16,
  CLASSES = 4;
const row = (i: number, sign = 1) =>
  [
    ...Array.from({ length: FEATURES }, (_, j) => (sign * Math.sin(1 + i * FEATURES + j)).toFixed(6)),
    ...Array.from({ length: CLASSES }, (_, c) => (c === (i * 7) % CLASSES ? 1 : 0)),
  ].join(',');
const header = [...Array.from({ length: FEATURES }, (_, j) => `x${j}`), ...Array.from({ length: CLASSES }, (_, c) => `c${c}`)].join(',');

/** A spec training on `rows` rows of CSV (rows before `changedBefore` with their inputs negated); returns the spec's path. */
function csvRun(tag: string, rows: number, changedBefore = 0): string {
  writeFileSync(join(dir, `${tag}.csv`), [header, ...Array.from({ length: rows }, (_, i) => row(i, i < changedBefore ? -1 : 1))].join('\n') + '\n');
  return file(`${tag}.json`, {
    model: {
      type: 'mlp',
      inputSize: FEATURES,
      layers: [
        { units: 128, activation: 'relu' },
        { units: 128, activation: 'relu' },
        { units: CLASSES, activation: 'softmax' },
      ],
    },
    loss: 'crossEntropy',
    optimizer: { type: 'adam', lr: 0.001 },
    data: { csv: `${tag}.csv`, inputs: header.split(',').slice(0, FEATURES), targets: header.split(',').slice(FEATURES) },
    batchSize: BATCH,
    shuffle: false,
    seed: 5,
  });
}

/** Rewrites the CSV of `tag` with the rows of steps 1 … `step` changed, and shows that a run from step 0 sees the change. */
function changeRowsBefore(tag: string, rows: number, step: number, backend: string, whole: { losses: number[] }): void {
  csvRun(tag, rows, step * BATCH);
  const restart = miya('train', file(`${tag}.json`), '--backend', backend, '--steps', '1', '--json');
  expect(restart.status, restart.stderr).toBe(0);
  expect(JSON.parse(restart.stdout).losses[0]).not.toBe(whole.losses[0]);
}

/** test(name, fn) on cpu and on webgpu; without a webgpu adapter its test is skipped, its name saying why. */
const cases = await backendCases();
const eachBackend = (title: string, fn: (backend: string) => Promise<void>) => testBackends(cases, title, (name) => fn(name));

eachBackend(
  '%s: SIGKILL in the middle of writing a checkpoint leaves the previous one intact, and resuming it runs the remaining steps to where an uninterrupted run ends',
  async (backend) => {
    const tag = `kill-${backend}`,
      rows = 40 * BATCH;
    const spec = csvRun(tag, rows);
    const run = ['train', spec, '--backend', backend, '--steps', '40', '--json'];
    const whole = miya(...run);
    expect(whole.status, whole.stderr).toBe(0);
    const ckpt = file(`${tag}.safetensors`);
    const child = spawn('node', [bin, ...run, '--checkpoint', ckpt, '--checkpoint-every', '10'], {
      cwd: root,
      env: { ...process.env, MIYA_TEST_WRITE_PAUSE_MS: '40' },
      stdio: 'ignore',
    });
    const exited = new Promise((r) => child.on('exit', r));
    const partial = () => readdirSync(dir).find((f) => f.startsWith(`.${tag}.safetensors.`) && statSync(join(dir, f)).size > 0);
    await until('the first checkpoint', () => existsSync(ckpt));
    await until('the second checkpoint to be half written', () => partial() !== undefined);
    child.kill('SIGKILL');
    await exited;
    const complete = statSync(ckpt).size;
    expect(statSync(join(dir, partial()!)).size).toBeLessThan(complete); // killed mid-write
    const kept = await decodeCheckpoint(new Uint8Array(readFileSync(ckpt)), ckpt);
    expect([kept.step, kept.backend]).toEqual([10, backend]);
    changeRowsBefore(tag, rows, 10, backend, JSON.parse(whole.stdout));
    // the checkpoint's spec names the CSV (its absolute path), now with steps 1-10's rows changed
    const resumed = miya('train', '--resume', ckpt, '--backend', backend, '--steps', '40', '--json');
    expect(resumed.status, resumed.stderr).toBe(0);
    expect(resumed.stdout).toBe(whole.stdout);
  },
);

eachBackend(
  '%s: Ctrl-C (SIGINT) finishes the step in progress, writes the checkpoint, exits 130, and the run resumes from there to the same end',
  async (backend) => {
    const tag = `sigint-${backend}`,
      steps = backend === 'cpu' ? 200 : 100,
      rows = steps * BATCH; // SwiftShader's steps are slower
    const spec = csvRun(tag, rows);
    const run = ['train', spec, '--backend', backend, '--steps', String(steps), '--json'];
    const whole = miya(...run);
    expect(whole.status, whole.stderr).toBe(0);
    const ckpt = file(`${tag}.safetensors`);
    const child = spawn('node', [bin, ...run, '--checkpoint', ckpt, '--checkpoint-every', '20'], { cwd: root, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d) => {
      stderr += d;
    });
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    await until('the first checkpoint (step 20)', () => existsSync(ckpt));
    child.kill('SIGINT');
    expect(await exited).toBe(130);
    const stoppedAt = Number(new RegExp(`interrupted after step (\\d+); checkpoint written to .*${tag}\\.safetensors`).exec(stderr)?.[1]);
    expect(stoppedAt).toBeGreaterThanOrEqual(20);
    expect(stoppedAt).toBeLessThan(steps);
    expect((await decodeCheckpoint(new Uint8Array(readFileSync(ckpt)), ckpt)).step).toBe(stoppedAt);
    changeRowsBefore(tag, rows, stoppedAt, backend, JSON.parse(whole.stdout));
    const resumed = miya('train', '--resume', ckpt, '--backend', backend, '--steps', String(steps), '--json');
    expect(resumed.status, resumed.stderr).toBe(0);
    expect(resumed.stdout).toBe(whole.stdout);
  },
);

test('resume refuses a truncated checkpoint and one of another model, exit 2, naming the file', () => {
  const ckpt = file('small.safetensors');
  expect(miya('train', 'examples/mlp-3-3-1-sigmoid.json', '--backend', 'cpu', '--checkpoint', ckpt).status).toBe(0);
  const cut = file('cut.safetensors');
  writeFileSync(cut, readFileSync(ckpt).subarray(0, 200));
  let r = miya('train', '--resume', cut);
  expect([r.status, r.stderr]).toEqual([2, expect.stringMatching(/cut\.safetensors: not a usable safetensors file/)]);
  r = miya('train', 'examples/mnist-mlp.json', '--resume', ckpt);
  expect([r.status, r.stderr]).toEqual([
    2,
    expect.stringMatching(/small\.safetensors: holds an MLP with layers\.0\.weight \[3, 3\].*layers\.0\.weight \[128, 784\]/),
  ]);
  r = miya('train', 'examples/mlp-3-3-1-sigmoid.json', '--checkpoint-every', '5');
  expect([r.status, r.stderr]).toEqual([2, expect.stringMatching(/--checkpoint-every: expected --checkpoint FILE beside it/)]);
});

/** Miya's ŷ for inputs x under the given parameters (the cpu backend's forward pass). */
async function miyaPredict(spec: RunSpec, params: Float64Array): Promise<number[]> {
  const data = inlineDataset(spec.data as { x: number[][]; y: number[][] }, spec.model);
  const be = new CpuBackend();
  const s = new Session(be, { model: spec.model, loss: spec.loss, optimizer: spec.optimizer, batchSize: data.n, seed: 0, historySize: 1 }, data);
  be.write(s.net.paramBuf, params);
  s.evaluate(s.batches.at(0), 0);
  return Array.from(await s.readView(s.net.prediction(data.n)));
}

const xs = (n: number, k: number) => Array.from({ length: n }, (_, i) => Array.from({ length: k }, (_, j) => Math.sin(1 + i * k + j)));
const specs: [string, RunSpec][] = [
  [
    'an MLP',
    validateSpec({
      model: {
        type: 'mlp',
        inputSize: 4,
        layers: [
          { units: 6, activation: 'relu' },
          { units: 5, activation: 'sigmoid' },
          { units: 3, activation: 'softmax' },
        ],
      },
      loss: 'crossEntropy',
      optimizer: { type: 'adam', lr: 0.05 },
      data: { x: xs(6, 4), y: xs(6, 3).map((r) => r.map((v) => (v > 0 ? 1 : 0))) },
      steps: 5,
      seed: 2,
    }),
  ],
  [
    'a tanh RNN (nn.RNN)',
    validateSpec({
      model: { type: 'rnn', inputSize: 2, hiddenSize: 5, outputSize: 2, activation: 'tanh', outputActivation: 'identity' },
      loss: 'mse',
      optimizer: { type: 'momentum', lr: 0.05 },
      data: { x: xs(4, 6).map((r) => [r.slice(0, 2), r.slice(2, 4), r.slice(4, 6)]), y: xs(4, 2) },
      steps: 5,
      seed: 3,
    }),
  ],
  [
    'a sigmoid RNN (its own cell)',
    validateSpec({
      model: { type: 'rnn', inputSize: 2, hiddenSize: 5, outputSize: 2, activation: 'sigmoid', outputActivation: 'tanh' },
      loss: 'mse',
      optimizer: { type: 'rmsprop', lr: 0.05 },
      data: { x: xs(4, 6).map((r) => [r.slice(0, 2), r.slice(2, 4), r.slice(4, 6)]), y: xs(4, 2) },
      steps: 5,
      seed: 3,
    }),
  ],
];

test.each(specs)('export --pytorch of %s: names, shapes and values, and PyTorch predicts what Miya predicts', async (name, spec) => {
  const tag = name.replace(/\W+/g, '-');
  const ckpt = file(`${tag}.safetensors`);
  expect(miya('train', file(`${tag}.json`, spec), '--backend', 'cpu', '--checkpoint', ckpt).status).toBe(0);
  const out = join(dir, `${tag}-torch`);
  const r = miya('export', ckpt, '--pytorch', out);
  expect(r.status, r.stderr).toBe(0);
  expect(readdirSync(out).sort()).toEqual(['miya_model.py', 'model.safetensors', 'train.py', 'train_state.safetensors']);

  const trained = await decodeCheckpoint(new Uint8Array(readFileSync(ckpt)), ckpt);
  const { tensors } = await decodeSafetensors(new Uint8Array(readFileSync(join(out, 'model.safetensors'))), 'model.safetensors');
  const names =
    spec.model.type === 'mlp'
      ? ['layers.0.weight', 'layers.0.bias', 'layers.1.weight', 'layers.1.bias', 'layers.2.weight', 'layers.2.bias']
      : ['rnn.weight_ih_l0', 'rnn.weight_hh_l0', 'rnn.bias_ih_l0', 'rnn.bias_hh_l0', 'head.weight', 'head.bias'];
  expect([...tensors.keys()]).toEqual(names);
  if (spec.model.type === 'mlp') {
    expect(tensors.get('layers.0.weight')!.shape).toEqual([6, 4]);
    expect(tensors.get('layers.2.bias')!.shape).toEqual([3]);
    expect(Array.from(tensors.get('layers.0.weight')!.data)).toEqual(Array.from(trained.params.subarray(0, 24), Math.fround));
  } else {
    expect(tensors.get('rnn.weight_hh_l0')!.shape).toEqual([5, 5]);
    expect(Array.from(tensors.get('rnn.bias_hh_l0')!.data)).toEqual([0, 0, 0, 0, 0]);
  }

  const x = (spec.data as { x: unknown }).x;
  const theirs = JSON.parse(
    python(
      out,
      `
import json, torch
from miya_model import load
model, spec = load("model.safetensors")
with torch.no_grad():
    y = model(torch.tensor(${JSON.stringify(x)}, dtype=torch.float32))
print(json.dumps(y.flatten().tolist()))`,
    ),
  ) as number[];
  const ours = await miyaPredict(spec, trained.params);
  expect(theirs).toHaveLength(ours.length);
  theirs.forEach((v, i) => expect(v).toBeCloseTo(ours[i], 5));
});

test("import reads back a state dict trained on in PyTorch, adding bias_hh to Miya's one hidden bias", async () => {
  const spec = specs[1][1];
  const ckpt = file('to-torch.safetensors');
  expect(miya('train', file('to-torch.json', spec), '--backend', 'cpu', '--checkpoint', ckpt).status).toBe(0);
  const out = join(dir, 'round-trip');
  expect(miya('export', ckpt, '--pytorch', out).status).toBe(0);
  python(
    out,
    `
import torch
from miya_model import load, save
model, spec = load("model.safetensors")
with torch.no_grad():
    model.rnn.bias_hh_l0 += 0.5
    model.head.weight *= 2
save(model, spec, "trained.safetensors")`,
  );
  const imported = file('imported.json');
  const r = miya('import', join(out, 'trained.safetensors'), '--out', imported);
  expect(r.status, r.stderr).toBe(0);
  const back = validateSpec(JSON.parse(readFileSync(imported, 'utf8')));
  const trained = await decodeCheckpoint(new Uint8Array(readFileSync(ckpt)), ckpt);
  const w = back.model.type === 'rnn' ? back.model.weights! : {};
  // layout: weight_ih [5,2] at 0, weight_hh [5,5] at 10, bias [5] at 35, head.weight [2,5] at 40
  expect(w.hiddenBias).toEqual(Array.from(trained.params.subarray(35, 40), (v) => Math.fround(v) + 0.5));
  expect(w.outputWeights!.flat()).toEqual(Array.from(trained.params.subarray(40, 50), (v) => Math.fround(v) * 2));
  const t = miya('train', imported, '--backend', 'cpu', '--json');
  expect(t.status, t.stderr).toBe(0);
  const wrong = miya('import', join(out, 'trained.safetensors'), '--out', file('x.json'), '--spec', 'examples/mnist-mlp.json');
  expect([wrong.status, wrong.stderr]).toEqual([2, expect.stringMatching(/trained\.safetensors: has no tensor layers\.0\.weight/)]);
});
