// The hand-off of a sequential model to PyTorch and back, through the `miya` command (dist/node,
// built by globalSetup) and Debian's torch (python3-torch, installed by .ci/run): `miya export
// --pytorch` writes PyTorch's own names and shapes (layers.i.weight, layers.i.weight_ih_l0, …);
// the miya_model.py it writes builds layer i as nn.Linear / nn.RNN / nn.LSTM / nn.GRU (batch_first)
// and predicts what Miya predicts; a model saved from PyTorch unchanged imports back to the
// checkpoint's values, and one trained a step further in PyTorch imports back to PyTorch's
// numbers and predictions. Every layer kind appears (nn.Embedding and nn.Dropout too), recurrent
// ones with returnSequences on and off.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, test } from 'vitest';
import { CpuBackend } from '../src/cpu/backend.js';
import { decodeCheckpoint } from '../src/io/checkpoint.js';
import { decodeSafetensors, encodeSafetensors } from '../src/io/safetensors.js';
import { toStateDict } from '../src/io/stateDict.js';
import { initialParams } from '../src/nn/init.js';
import { outputsOf, paramLayout } from '../src/nn/layout.js';
import type { LossKind } from '../src/kernels.js';
import type { DropoutLayerSpec, EmbeddingLayerSpec, RecurrentLayerSpec, RunSpec, SequentialSpec } from '../src/spec/types.js';
import { validateSpec } from '../src/spec/validate.js';
import { predict } from '../src/train/predict.js';
import { rng, vec } from './oracle/random.js';

const root = join(import.meta.dirname, '..');
const miya = (...args: string[]) => spawnSync('node', [join(root, 'bin/miya.js'), ...args], { cwd: root, encoding: 'utf8', timeout: 120_000 });
const dir = mkdtempSync(join(tmpdir(), 'miya-export-seq-'));
// Debian's python3-torch installs for the system Python.
const python = (cwd: string, code: string) => {
  const r = spawnSync('/usr/bin/python3', ['-c', code], { cwd, encoding: 'utf8', timeout: 120_000 });
  if (r.error || r.status !== 0) throw new Error(`python3 with torch (Debian's python3-torch) failed: ${r.error?.message ?? r.stderr}`);
  return r.stdout;
};

interface Case {
  name: string;
  model: SequentialSpec;
  loss: LossKind;
  T: number;
  modules: string[];
  classes?: boolean;
}

/** A spec of `c` on seeded data (weights from the seed: PyTorch's default initialisation). */
function specOf(c: Case, seed: number): RunSpec {
  const r = rng(seed),
    n = 5;
  // the last recurrent layer (or an embedding, which gives a sequence) decides whether y is a sequence
  const seqLayers = c.model.layers.filter((l): l is RecurrentLayerSpec | EmbeddingLayerSpec => l.type !== 'dense' && l.type !== 'dropout');
  const lastSeq = seqLayers[seqLayers.length - 1];
  const O = outputsOf(c.model),
    seqIn = seqLayers.length > 0,
    seqOut = lastSeq ? lastSeq.type === 'embedding' || lastSeq.returnSequences : false;
  const target = (i: number, t: number) =>
    c.classes ? (i + 2 * t) % O : c.loss === 'crossEntropy' ? Array.from({ length: O }, (_, k) => (k === (i + t) % O ? 1 : 0)) : vec(r, O, 0.8);
  const first = c.model.layers[0];
  const x = Array.from({ length: n }, (_, i) =>
    first.type === 'embedding'
      ? Array.from({ length: c.T }, (_, t) => (i * 3 + t * 5) % first.vocab)
      : seqIn
        ? Array.from({ length: c.T }, () => vec(r, c.model.inputSize, 1))
        : vec(r, c.model.inputSize, 1),
  );
  const y = Array.from({ length: n }, (_, i) => (seqOut ? Array.from({ length: c.T }, (_, t) => target(i, t)) : target(i, 0)));
  const { inputSize, ...tokens } = c.model; // an embedding first layer takes no inputSize
  return validateSpec({
    model: first.type === 'embedding' ? tokens : { ...tokens, inputSize },
    loss: c.loss,
    optimizer: { type: 'adam', lr: 0.05 },
    data: { x, y },
    steps: 3,
    seed,
  });
}

const cases: Case[] = [
  {
    name: 'dense layers (nn.Linear)',
    loss: 'crossEntropy',
    T: 1,
    modules: ['Linear', 'Linear'],
    model: {
      type: 'sequential',
      inputSize: 4,
      layers: [
        { type: 'dense', units: 5, activation: 'tanh' },
        { type: 'dense', units: 3, activation: 'softmax' },
      ],
    },
  },
  {
    name: 'rnn (tanh, sequences) → lstm (last step) → dense',
    loss: 'mse',
    T: 4,
    modules: ['RNN', 'LSTM', 'Linear'],
    model: {
      type: 'sequential',
      inputSize: 3,
      layers: [
        { type: 'rnn', units: 4, returnSequences: true, activation: 'tanh' },
        { type: 'lstm', units: 3, returnSequences: false },
        { type: 'dense', units: 2, activation: 'identity' },
      ],
    },
  },
  {
    name: 'gru (sequences) → rnn (relu, sequences) → dense at every step',
    loss: 'mse',
    T: 3,
    modules: ['GRU', 'RNN', 'Linear'],
    model: {
      type: 'sequential',
      inputSize: 2,
      layers: [
        { type: 'gru', units: 3, returnSequences: true },
        { type: 'rnn', units: 4, returnSequences: true, activation: 'relu' },
        { type: 'dense', units: 2, activation: 'sigmoid' },
      ],
    },
  },
  {
    name: 'lstm (sequences) → gru (last step) → dense softmax',
    loss: 'crossEntropy',
    T: 5,
    modules: ['LSTM', 'GRU', 'Linear'],
    model: {
      type: 'sequential',
      inputSize: 3,
      layers: [
        { type: 'lstm', units: 4, returnSequences: true },
        { type: 'gru', units: 3, returnSequences: false },
        { type: 'dense', units: 3, activation: 'softmax' },
      ],
    },
  },
  // nn.Embedding and nn.Dropout (src/nn/embedding.ts, dropout.ts): token ids in, class-index targets
  {
    name: 'embedding → lstm (sequences) → dropout → dense softmax at every step, class-index targets',
    loss: 'crossEntropy',
    T: 4,
    classes: true,
    modules: ['Embedding', 'LSTM', 'Dropout', 'Linear'],
    model: {
      type: 'sequential',
      inputSize: 1,
      layers: [
        { type: 'embedding', vocab: 6, units: 3 },
        { type: 'lstm', units: 4, returnSequences: true },
        { type: 'dropout', rate: 0.3 },
        { type: 'dense', units: 6, activation: 'softmax' },
      ],
    },
  },
  {
    name: 'embedding → dropout → gru (last step) → dense',
    loss: 'mse',
    T: 3,
    modules: ['Embedding', 'Dropout', 'GRU', 'Linear'],
    model: {
      type: 'sequential',
      inputSize: 1,
      layers: [
        { type: 'embedding', vocab: 5, units: 2 },
        { type: 'dropout', rate: 0.25 },
        { type: 'gru', units: 3, returnSequences: false },
        { type: 'dense', units: 2, activation: 'identity' },
      ],
    },
  },
];

/** Miya's ŷ for the spec's own inputs on the cpu backend, under `params` (else the spec's weights). */
async function miyaPredict(spec: RunSpec, params?: Float64Array): Promise<number[]> {
  const x = (spec.data as { x: unknown[] }).x;
  const m = spec.model as SequentialSpec;
  const steps = m.layers[0].type === 'embedding' || Array.isArray((x[0] as unknown[])[0]) ? (x[0] as unknown[]).length : 1;
  const flat = Float64Array.from((x as unknown[]).flat(2) as number[]);
  return Array.from(await predict(new CpuBackend(), spec, { n: x.length, x: flat, steps }, params));
}

const close = (got: number[], want: number[], tol: number) => {
  expect(got).toHaveLength(want.length);
  const worst = got.reduce((w, v, i) => Math.max(w, Math.abs(v - want[i])), 0);
  expect(worst).toBeLessThan(tol);
};

// PyTorch: the modules, the prediction, the model saved unchanged, then one SGD step on Miya's loss and the model saved again.
const torchScript = `
import json, torch
from miya_model import load, save, miya_loss
model, spec = load("model.safetensors")
data = json.load(open("data.json"))
x, y = torch.tensor(data["x"]), torch.tensor(data["y"], dtype=torch.long if data["classes"] else torch.float32)
with torch.no_grad():
    before = model(x).flatten().tolist()
save(model, spec, "same.safetensors")
model.train()
opt = torch.optim.SGD(model.parameters(), lr=0.5)
loss = miya_loss(spec["loss"])(model.logits(x), y)
loss.backward()
opt.step()
model.eval()
with torch.no_grad():
    after = model(x).flatten().tolist()
save(model, spec, "trained.safetensors")
print(json.dumps({"modules": [type(m).__name__ for m in model.layers], "batch_first": [getattr(m, "batch_first", None) for m in model.layers],
                  "rates": [getattr(m, "p", None) for m in model.layers],
                  "before": before, "after": after, "loss": loss.item()}))
`;

test.each(cases.map((c, i) => [c.name, c, i] as const))(
  "export --pytorch of a sequential model, %s: PyTorch's modules and names, Miya's predictions; import of the saved and of the further-trained model",
  async (_name, c, i) => {
    const tag = `case${i}`,
      spec = specOf(c, 40 + i);
    const specFile = join(dir, `${tag}.json`),
      ckpt = join(dir, `${tag}.safetensors`),
      out = join(dir, `${tag}-torch`);
    writeFileSync(specFile, JSON.stringify(spec));
    const trainRun = miya('train', specFile, '--backend', 'cpu', '--checkpoint', ckpt);
    expect(trainRun.status, trainRun.stderr).toBe(0);
    const r = miya('export', ckpt, '--pytorch', out);
    expect(r.status, r.stderr).toBe(0);
    expect(readdirSync(out)).toEqual(expect.arrayContaining(['miya_model.py', 'model.safetensors']));

    // the tensors: the layout's names and shapes, the checkpoint's values as float32
    const trained = await decodeCheckpoint(new Uint8Array(readFileSync(ckpt)), ckpt);
    const layout = paramLayout(spec.model);
    const { tensors } = await decodeSafetensors(new Uint8Array(readFileSync(join(out, 'model.safetensors'))), 'model.safetensors');
    expect([...tensors.keys()]).toEqual(layout.map((p) => p.name));
    for (const p of layout) {
      expect(tensors.get(p.name)!.shape).toEqual(p.shape);
      expect(Array.from(tensors.get(p.name)!.data)).toEqual(Array.from(trained.params.subarray(p.off, p.off + p.rows * p.cols), Math.fround));
    }

    // PyTorch's modules predict what Miya predicts (float32 there)
    const { x, y } = spec.data as { x: unknown; y: unknown };
    writeFileSync(join(out, 'data.json'), JSON.stringify({ x, y, classes: c.classes ?? false }));
    const torch = JSON.parse(python(out, torchScript)) as {
      modules: string[];
      batch_first: (boolean | null)[];
      rates: (number | null)[];
      before: number[];
      after: number[];
      loss: number;
    };
    expect(torch.modules).toEqual(c.modules);
    c.modules.forEach((m, k) => {
      if (m === 'RNN' || m === 'LSTM' || m === 'GRU') expect(torch.batch_first[k]).toBe(true);
      if (m === 'Dropout') expect(torch.rates[k]).toBe((c.model.layers[k] as DropoutLayerSpec).rate);
    });
    close(torch.before, await miyaPredict(spec, trained.params), 2e-6);

    // saved unchanged from PyTorch: imports back to the checkpoint's values (as float32)
    const same = join(dir, `${tag}-same.json`);
    const imp = miya('import', join(out, 'same.safetensors'), '--out', same);
    expect(imp.status, imp.stderr).toBe(0);
    expect(imp.stdout).toContain('the sequential model of');
    const back = validateSpec(JSON.parse(readFileSync(same, 'utf8')));
    expect(initialParams(back.model, paramLayout(back.model), 0)).toEqual(trained.params.map(Math.fround));

    // trained a step further in PyTorch: Miya takes PyTorch's numbers and predicts what PyTorch predicts
    const further = join(dir, `${tag}-further.json`);
    expect(miya('import', join(out, 'trained.safetensors'), '--out', further).status).toBe(0);
    const moved = validateSpec(JSON.parse(readFileSync(further, 'utf8')));
    const saved = (await decodeSafetensors(new Uint8Array(readFileSync(join(out, 'trained.safetensors'))), 'trained.safetensors')).tensors;
    const flat = initialParams(moved.model, paramLayout(moved.model), 0);
    for (const p of layout) expect(Array.from(flat.subarray(p.off, p.off + p.rows * p.cols))).toEqual(Array.from(saved.get(p.name)!.data));
    expect(flat).not.toEqual(trained.params.map(Math.fround)); // the step in PyTorch moved them
    close(torch.after, await miyaPredict(moved), 2e-6);
    // and Miya's loss on it, from the imported spec, is PyTorch's loss before its step's update (with
    // dropout, each draws its own masks while training: the predictions above, in evaluation, agree)
    if (c.modules.includes('Dropout')) return;
    const lossRun = miya('train', same, '--backend', 'cpu', '--steps', '1', '--json');
    expect(lossRun.status, lossRun.stderr).toBe(0);
    expect(JSON.parse(lossRun.stdout).losses[0]).toBeCloseTo(torch.loss, 5);
  },
);

test("import refuses a state dict of another stack (an LSTM's tensors for a GRU spec), exit 2, naming the tensor and both shapes, and writes nothing", async () => {
  const lstm = specOf(cases[3], 90);
  const layout = paramLayout(lstm.model);
  const flat = Float64Array.from({ length: layout.reduce((s, p) => s + p.rows * p.cols, 0) }, (_, i) => Math.sin(i));
  const file = join(dir, 'lstm-dict.safetensors');
  writeFileSync(file, await encodeSafetensors(toStateDict(lstm.model, flat, 'F32'), { format: 'pytorch' }));
  // the same stack with its first layer a GRU: layers.0.weight_ih_l0 is [12, 3] there, [16, 3] in the file
  const m = lstm.model as SequentialSpec;
  const gruSpec = join(dir, 'gru-spec.json'),
    out = join(dir, 'never.json');
  writeFileSync(gruSpec, JSON.stringify({ ...lstm, model: { ...m, layers: [{ type: 'gru', units: 4, returnSequences: true }, ...m.layers.slice(1)] } }));
  const r = miya('import', file, '--spec', gruSpec, '--out', out);
  expect([r.status, r.stderr]).toEqual([
    2,
    expect.stringMatching(/lstm-dict\.safetensors: layers\.0\.weight_ih_l0 has shape \[16, 3\], but this model's is \[12, 3\]/),
  ]);
  expect(existsSync(out)).toBe(false);
  // without --spec the file has no Miya spec in its metadata to say what it is
  const bare = miya('import', file, '--out', out);
  expect([bare.status, bare.stderr]).toEqual([
    2,
    expect.stringMatching(/lstm-dict\.safetensors: has no Miya spec in its metadata; expected --spec SPEC\.json/),
  ]);
  expect(existsSync(out)).toBe(false);
});
