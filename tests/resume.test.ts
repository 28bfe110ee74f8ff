// A learning rate changed on resume (README: "Learning rate and the like may change on resume, as
// in PyTorch"): the steps after the checkpoint follow the new rate. Checked three ways, on every
// backend present: the first resumed step's update is Adam's with the new rate, worked out here in
// float64 from the checkpoint's optimizer state and the step's gradient; the whole resumed run is
// the run that changed its rate at that step without ever stopping (no checkpoint in between);
// and through the CLI (`miya train NEW.json --resume CKPT`).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, test } from 'vitest';
import type { Backend } from '../src/backend.js';
import { loadDataset } from '../src/data/load.js';
import { type Checkpoint, decodeCheckpoint } from '../src/io/checkpoint.js';
import type { RunSpec } from '../src/spec/types.js';
import { validateSpec } from '../src/spec/validate.js';
import { runSpec } from '../src/train/runSpec.js';
import type { ParamsJson } from '../src/train/result.js';
import { Trainer } from '../src/train/trainer.js';
import { backendCases, describeBackends } from './backends.js';

const OLD_LR = 0.01,
  NEW_LR = 0.05,
  AT = 11,
  STEPS = 23;
const adam = { beta1: 0.9, beta2: 0.999, eps: 1e-8 };

const spec = (lr: number): RunSpec =>
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
    optimizer: { type: 'adam', lr, ...adam },
    data: {
      x: Array.from({ length: 40 }, (_, s) => Array.from({ length: 5 }, (_, j) => Math.sin(1 + 5 * s + j))),
      y: Array.from({ length: 40 }, (_, s) => [0, 1, 2].map((c) => (c === s % 3 ? 1 : 0))),
    },
    batchSize: 8,
    shuffle: true,
    steps: STEPS,
    seed: 4,
  });

/** An MLP's parameters (or gradients) as runSpec shapes them, flat in the checkpoint's order. */
const flat = (p: ParamsJson) => (p as { layers: { weights: number[][]; bias: number[] }[] }).layers.flatMap((l) => [...l.weights.flat(), ...l.bias]);

/** The parameters after one Adam step with learning rate `lr` from the checkpoint's state, given that step's gradient: float64. */
function adamStep(c: Checkpoint, grad: number[], lr: number): number[] {
  const t = c.optimizerT + 1,
    [m0, v0] = c.state;
  return Array.from(c.params, (p, i) => {
    const m = adam.beta1 * m0[i] + (1 - adam.beta1) * grad[i];
    const v = adam.beta2 * v0[i] + (1 - adam.beta2) * grad[i] * grad[i];
    return p - (lr * (m / (1 - adam.beta1 ** t))) / (Math.sqrt(v / (1 - adam.beta2 ** t)) + adam.eps);
  });
}

const worst = (a: number[], b: number[]) => a.reduce((w, v, i) => Math.max(w, Math.abs(v - b[i])), 0);

async function checkpointAt(be: Backend, step: number): Promise<Checkpoint> {
  let saved: Uint8Array | undefined;
  await runSpec(spec(OLD_LR), {
    backend: be,
    steps: step,
    checkpoint: {
      every: step,
      where: 'memory',
      save: async (b) => {
        saved = b;
      },
    },
  });
  return decodeCheckpoint(saved!, 'old-lr.ckpt');
}

describeBackends(await backendCases(), '%s', (name, be) => {
  // float64 on cpu: the same arithmetic to the last bits or nearly; float32 on webgpu
  const tolerance = name === 'cpu' ? 1e-12 : 1e-6;

  test("the first step after resuming with a new learning rate is Adam's update with the new rate, from the checkpoint's state", async () => {
    const ckpt = await checkpointAt(be, AT);
    expect([ckpt.step, ckpt.optimizerT, ckpt.spec.optimizer]).toEqual([AT, AT, expect.objectContaining({ lr: OLD_LR })]);
    const computed: number[] = [];
    const one = await runSpec(spec(NEW_LR), {
      backend: be,
      steps: AT + 1,
      resume: { checkpoint: ckpt, from: 'old-lr.ckpt' },
      afterStep: (s) => {
        computed.push(s);
      },
    });
    expect(computed).toEqual([AT + 1]);
    const grad = flat(one.grads),
      params = flat(one.params); // step 12's gradient (at the checkpoint's parameters), and the parameters after it
    expect(worst(params, adamStep(ckpt, grad, NEW_LR))).toBeLessThan(tolerance);
    // the old rate's update is far from it: the comparison can tell the rates apart
    expect(worst(params, adamStep(ckpt, grad, OLD_LR))).toBeGreaterThan(1e-3);
  });

  test('a run resumed with a new learning rate is the run that changed its rate at that step without stopping', async () => {
    const ckpt = await checkpointAt(be, AT);
    const resumed = await runSpec(spec(NEW_LR), { backend: be, resume: { checkpoint: ckpt, from: 'old-lr.ckpt' } });
    const oldRate = await runSpec(spec(OLD_LR), { backend: be });
    // one uninterrupted run: old rate for steps 1-11, the new one from step 12 on (the optimizer
    // reads its rate at each step; no checkpoint, no restore)
    const s = spec(OLD_LR);
    const trainer = new Trainer(be, s, await loadDataset(s));
    const opt = trainer.session.opt;
    const losses = await trainer.train({
      afterStep: (step) => {
        if (step === AT) (opt.config as { lr: number }).lr = NEW_LR;
      },
    });
    const params = await trainer.session.readParams();
    trainer.dispose();
    expect(resumed.losses).toEqual(Array.from(losses));
    expect(flat(resumed.params)).toEqual(Array.from(params));
    // and not the old rate's run: the same up to step 12's loss (taken before its update), then apart
    expect(resumed.losses.slice(0, AT + 1)).toEqual(oldRate.losses.slice(0, AT + 1));
    expect(resumed.losses[AT + 1]).not.toBe(oldRate.losses[AT + 1]);
    expect(resumed.losses.at(-1)).not.toBe(oldRate.losses.at(-1));
  });
});

test('through the CLI: `miya train NEW.json --resume CKPT` with a new lr takes its first step at the new rate', async () => {
  const root = join(import.meta.dirname, '..'),
    dir = mkdtempSync(join(tmpdir(), 'miya-lr-'));
  const miya = (...args: string[]) => spawnSync('node', [join(root, 'bin/miya.js'), ...args], { cwd: root, encoding: 'utf8', timeout: 120_000 });
  const oldSpec = join(dir, 'old.json'),
    newSpec = join(dir, 'new.json'),
    ckptFile = join(dir, 'old.safetensors');
  writeFileSync(oldSpec, JSON.stringify(spec(OLD_LR)));
  writeFileSync(newSpec, JSON.stringify(spec(NEW_LR)));
  let r = miya('train', oldSpec, '--backend', 'cpu', '--steps', String(AT), '--checkpoint', ckptFile, '--json');
  expect(r.status, r.stderr).toBe(0);
  const ckpt = await decodeCheckpoint(new Uint8Array(readFileSync(ckptFile)), ckptFile);
  expect(ckpt.step).toBe(AT);
  r = miya('train', newSpec, '--resume', ckptFile, '--backend', 'cpu', '--steps', String(AT + 1), '--json');
  expect(r.status, r.stderr).toBe(0);
  const out = JSON.parse(r.stdout) as { losses: number[]; params: ParamsJson; grads: ParamsJson };
  expect(out.losses.slice(0, AT)).toEqual(Array.from(ckpt.losses));
  expect(worst(flat(out.params), adamStep(ckpt, flat(out.grads), NEW_LR))).toBeLessThan(1e-12);
  expect(worst(flat(out.params), adamStep(ckpt, flat(out.grads), OLD_LR))).toBeGreaterThan(1e-3);
});
