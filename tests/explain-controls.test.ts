// `miya explain` with training controls (README.md "Training controls"): the step's learning rate
// from its schedule and warmup, the global gradient norm and clipNorm's factor (clipValue's clamped
// count), and the update worked through with weight decay (L2 or AdamW's decoupled), Nesterov —
// every number checked against a 2-3-1 MLP's step computed here by plain loops, and the device's
// norm beside the reference's on webgpu.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, test } from 'vitest';
import { CpuBackend } from '../src/cpu/backend.js';
import { traceForExplain } from '../src/explain/controls.js';
import { fmt, fmtMatrix } from '../src/explain/format.js';
import { tellStep } from '../src/explain/story.js';
import type { RunSpec } from '../src/spec/types.js';
import { validateSpec } from '../src/spec/validate.js';
import { backendCases, testBackends } from './backends.js';

const cases = await backendCases();

// the model: 2 inputs, 3 tanh units, 1 identity output; a batch of 2; mse
const W1 = [
    [0.5, -0.4],
    [0.3, 0.8],
    [-0.6, 0.2],
  ],
  B1 = [0.1, -0.2, 0.05],
  W2 = [[0.7, -0.5, 0.9]],
  B2 = [0.2];
const X = [
    [1, -0.5],
    [0.25, 0.75],
  ],
  Y = [[0.3], [-0.4]];

function spec(optimizer: Record<string, unknown>, schedule?: Record<string, unknown>): RunSpec {
  return validateSpec({
    model: {
      type: 'mlp',
      inputSize: 2,
      layers: [
        { units: 3, activation: 'tanh', weights: W1, bias: B1 },
        { units: 1, activation: 'identity', weights: W2, bias: B2 },
      ],
    },
    loss: 'mse',
    optimizer,
    data: { x: X, y: Y },
    ...(schedule ? { schedule } : {}),
  });
}

/** The gradients of the batch's mse, by plain loops: [W1 (row-major), b1, W2, b2], the parameters' order. */
function gradients(): { p: number[][]; g: number[][] } {
  const dW1 = W1.map((r) => r.map(() => 0)),
    db1 = [0, 0, 0],
    dW2 = [[0, 0, 0]],
    db2 = [0];
  for (let b = 0; b < 2; b++) {
    const z1 = [0, 1, 2].map((i) => W1[i][0] * X[b][0] + W1[i][1] * X[b][1] + B1[i]),
      a1 = z1.map(Math.tanh);
    const z2 = W2[0][0] * a1[0] + W2[0][1] * a1[1] + W2[0][2] * a1[2] + B2[0];
    const dz2 = (2 * (z2 - Y[b][0])) / 2; // mean over batch · outputs = 2
    db2[0] += dz2;
    for (let i = 0; i < 3; i++) {
      dW2[0][i] += dz2 * a1[i];
      const dz1 = dz2 * W2[0][i] * (1 - a1[i] * a1[i]);
      db1[i] += dz1;
      for (let k = 0; k < 2; k++) dW1[i][k] += dz1 * X[b][k];
    }
  }
  return { p: [W1.flat(), B1, W2.flat(), B2], g: [dW1.flat(), db1, dW2.flat(), db2] };
}

/** One element's first step as PyTorch documents it (state 0 before it): clip, decay, optimizer. */
function firstStep(
  o: { type: string; lr: number; wd: number; momentum?: number; nesterov?: boolean },
  p: number,
  g: number,
  factor: number,
  clipValue?: number,
): number {
  g *= factor;
  if (clipValue !== undefined) g = Math.max(-clipValue, Math.min(clipValue, g));
  if (o.type === 'adamw') p *= 1 - o.lr * o.wd;
  else g += o.wd * p;
  if (o.type === 'sgd') return p - o.lr * g;
  if (o.type === 'momentum') {
    const v = g;
    return p - o.lr * (o.nesterov ? g + o.momentum! * v : v);
  }
  const m = 0.1 * g,
    v = 0.001 * g * g; // adam(w): β1 0.9, β2 0.999, t = 1
  return p - (o.lr * (m / 0.1)) / (Math.sqrt(v / 0.001) + 1e-8);
}

/** The number after `label` in the story's text (its − read as minus). */
function numberAfter(text: string, label: string): number {
  const at = text.indexOf(label);
  expect(at, `"${label}" in the story`).toBeGreaterThanOrEqual(0);
  return Number(
    text
      .slice(at + label.length)
      .match(/^[−\d.e+-]+/)![0]
      .replace(/−/g, '-'),
  );
}

async function story(s: RunSpec, be?: CpuBackend) {
  const ref = await traceForExplain(new CpuBackend(), s);
  const dev = be && be.precision !== 'f64' ? await traceForExplain(be, s) : undefined;
  return tellStep(s, ref.trace, dev?.trace, { ref: ref.normSquared, dev: dev?.normSquared });
}

const { p, g } = gradients();
const norm = Math.sqrt(g.flat().reduce((s, v) => s + v * v, 0));

testBackends(
  cases,
  "%s: adamw with clipNorm (active) and a step schedule with warmup 4: the norm, the factor, the rate, AdamW's decoupled decay",
  async (_, be) => {
    const s = spec({ type: 'adamw', lr: 0.1, weightDecay: 0.05, clipNorm: 0.5 }, { type: 'step', every: 3, gamma: 0.5, warmup: 4 });
    const text = await story(s, be as CpuBackend);
    expect(norm, 'the clip is active').toBeGreaterThan(0.5);
    const factor = Math.min(1, 0.5 / (norm + 1e-6)),
      lr = 0.1 / 4;
    expect(Math.abs(numberAfter(text, 'over all 13 gradients = ') - norm) / norm).toBeLessThan(5e-6);
    expect(Math.abs(numberAfter(text, 'factor = min(1, 0.5/(‖g‖ + 1e-6)) = ') - factor) / factor).toBeLessThan(5e-6);
    expect(text).toContain('the step schedule with warmup 4, lr_t = 0.1·0.5^⌊t/3⌋·min(1, (t + 1)/4)');
    const rate = (t: number) => 0.1 * 0.5 ** Math.floor(t / 3) * Math.min(1, (t + 1) / 4);
    expect(text).toContain(`step 1 (t = 0): lr = ${fmt(rate(0))} (warmup: 0.1·1/4); the next steps: ${[1, 2, 3, 4, 5].map((t) => fmt(rate(t))).join(', ')}, …`);
    expect(text).toContain('AdamW (torch.optim.AdamW): p ← p·(1 − lr·λ), the weight decay decoupled from the gradient;');
    expect(text).toContain(`lr = ${fmt(lr)}, λ = 0.05`);
    expect(text).not.toMatch(/^ {2}adam: /m);
    // the worked element and every new parameter: the step ran at the schedule's rate, clipped, decayed
    expect(text).toContain(`decoupled decay: p·(1 − lr·λ) = 0.5·(1 − ${fmt(lr)}·0.05) = ${fmt(0.5 * (1 - lr * 0.05))}`);
    const o = { type: 'adamw', lr, wd: 0.05 };
    const after = p.map((ps, k) => ps.map((v, i) => firstStep(o, v, g[k][i], factor)));
    expect(text).toContain(`new layers.0.weight[0] = ${fmt(after[0][0])}`);
    expect(text).toContain(`new layers.0.weight = ${fmtMatrix(after[0], 2)}`);
    expect(text).toContain(`new layers.1.weight = ${fmtMatrix(after[2], 3)}`);
    if (be.precision !== 'f64') {
      // the device's own norm (its grad_norm kernels) and factor beside the reference's
      const devNorm = text.match(/over all 13 gradients = [\d.]+ {3}webgpu: ([\d.]+) {3}\|difference\| = /);
      expect(devNorm).not.toBeNull();
      expect(Math.abs(Number(devNorm![1]) - norm) / norm).toBeLessThan(1e-5);
      expect(text).toMatch(/factor = min\(1, 0\.5\/\(‖g‖ \+ 1e-6\)\) = [\d.]+ {3}webgpu: [\d.]+/);
    } else {
      expect(text).not.toContain('|difference|');
    }
  },
);

test('momentum, Nesterov, weight decay (L2) and clipValue, under a cosine schedule with warmup 2', async () => {
  const s = spec(
    { type: 'momentum', lr: 0.2, momentum: 0.8, nesterov: true, weightDecay: 0.01, clipValue: 0.05 },
    { type: 'cosine', steps: 4, min: 0.02, warmup: 2 },
  );
  const text = await story(s);
  const lr = 0.2 / 2,
    o = { type: 'momentum', lr, wd: 0.01, momentum: 0.8, nesterov: true };
  const clamped = g.flat().filter((v) => Math.abs(v) > 0.05).length;
  expect(clamped, 'some gradients are clamped, some not').toBeGreaterThan(0);
  expect(clamped).toBeLessThan(13);
  expect(text).toContain(`each gradient clamped to [−0.05, 0.05]: ${clamped} of 13 clamped`);
  expect(text).toContain(
    "momentum, Nesterov (SGD(nesterov=True)): g ← g + λ·p (weight decay as L2, PyTorch's weight_decay, λ = 0.01); v ← μ·v + g; p ← p − lr·(g + μ·v)",
  );
  const cos = (t: number) => 0.02 + (((0.2 - 0.02) * (1 + Math.cos((Math.PI * Math.min(t, 4)) / 4))) / 2) * Math.min(1, (t + 1) / 2);
  expect(text).toContain(`step 1 (t = 0): lr = ${fmt(lr)} (warmup: 0.2·1/2); the next steps: ${[1, 2, 3, 4, 5].map((t) => fmt(cos(t))).join(', ')}`);
  expect(Math.abs(numberAfter(text, 'over all 13 gradients = ') - norm) / norm).toBeLessThan(5e-6);
  const g0 = Math.max(-0.05, Math.min(0.05, g[0][0])),
    h = g0 + 0.01 * p[0][0];
  expect(text).toContain(`weight decay (L2): g + λ·p = ${fmt(g0)} + 0.01·${fmt(p[0][0])} = ${fmt(h)}`);
  expect(text).toContain(`Nesterov: p − lr·(g + μ·v) = ${fmt(p[0][0])} − ${fmt(lr)}·(${fmt(h)} + 0.8·`);
  const after = p.map((ps, k) => ps.map((v, i) => firstStep(o, v, g[k][i], 1, 0.05)));
  expect(text).toContain(`new layers.0.weight[0] = ${fmt(after[0][0])}`);
  expect(text).toContain(`new layers.0.bias = ${fmtMatrix(after[1], 3)}`);
  expect(text).toContain(`new layers.1.weight = ${fmtMatrix(after[2], 3)}`);
});

test('sgd with weight decay and a clipNorm above the norm: factor 1, the gradients left as they are', async () => {
  const text = await story(spec({ type: 'sgd', lr: 0.3, weightDecay: 0.1, clipNorm: 100 }));
  expect(text).toContain('factor = min(1, 100/(‖g‖ + 1e-6)) = 1');
  expect(text).toContain('‖g‖ ≤ 100: the gradients are left as they are');
  expect(text).toContain('learning rate: 0.3 at every step (no schedule)');
  const after = p.map((ps, k) => ps.map((v, i) => firstStep({ type: 'sgd', lr: 0.3, wd: 0.1 }, v, g[k][i], 1)));
  expect(text).toContain(`new layers.0.weight = ${fmtMatrix(after[0], 2)}`);
});

test('adamw with weightDecay 0: said to decay nothing, and no decay in the worked step', async () => {
  const text = await story(spec({ type: 'adamw', lr: 0.01, weightDecay: 0 }));
  expect(text).toContain('the weight decay decoupled from the gradient (λ = 0: none)');
  expect(text).not.toContain('decoupled decay:');
  const after = p.map((ps, k) => ps.map((v, i) => firstStep({ type: 'adamw', lr: 0.01, wd: 0 }, v, g[k][i], 1)));
  expect(text).toContain(`new layers.1.bias = ${fmtMatrix(after[3], 1)}`);
});

test('miya explain SPEC --backend cpu: a spec with controls tells the rate, the norm and the factor (exit 0)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'miya-explain-controls-')),
    f = join(dir, 'spec.json');
  writeFileSync(
    f,
    JSON.stringify({
      model: {
        type: 'mlp',
        inputSize: 2,
        layers: [
          { units: 3, activation: 'tanh', weights: W1, bias: B1 },
          { units: 1, activation: 'identity', weights: W2, bias: B2 },
        ],
      },
      loss: 'mse',
      optimizer: { type: 'adamw', lr: 0.1, clipNorm: 0.5 },
      data: { x: X, y: Y },
      schedule: { type: 'exponential', gamma: 0.9, warmup: 2 },
    }),
  );
  const r = spawnSync('node', [join(import.meta.dirname, '..', 'bin/miya.js'), 'explain', f, '--backend', 'cpu'], { encoding: 'utf8', timeout: 120_000 });
  expect(r.status, r.stderr).toBe(0);
  expect(r.stdout).toContain('step 1 (t = 0): lr = 0.05 (warmup: 0.1·1/2)');
  expect(Math.abs(numberAfter(r.stdout, 'over all 13 gradients = ') - norm) / norm).toBeLessThan(5e-6);
  expect(r.stdout).toContain(`factor = min(1, 0.5/(‖g‖ + 1e-6)) = ${fmt(Math.min(1, 0.5 / (norm + 1e-6)))}`);
});

test('the worked update takes the first parameter with a gradient (an input that is always 0 gives its weights none)', async () => {
  const s = validateSpec({
    model: {
      type: 'mlp',
      inputSize: 2,
      layers: [
        { units: 3, activation: 'tanh', weights: W1, bias: B1 },
        { units: 1, activation: 'identity', weights: W2, bias: B2 },
      ],
    },
    loss: 'mse',
    optimizer: { type: 'sgd', lr: 0.1, weightDecay: 0.5 },
    data: {
      x: [
        [0, -0.5],
        [0, 0.75],
      ],
      y: Y,
    },
  });
  const text = await story(s);
  expect(text).toContain('the update of layers.0.weight[1], worked through');
  // dL/dW1[0][1] by plain loops: Σ_b dz1[b][0]·x[b][1]
  let g01 = 0;
  for (const [b, x] of [
    [0, -0.5],
    [0, 0.75],
  ].entries()) {
    const a1 = [0, 1, 2].map((i) => Math.tanh(W1[i][1] * x[1] + B1[i]));
    const dz2 = (2 * (W2[0].reduce((s, w, i) => s + w * a1[i], B2[0]) - Y[b][0])) / 2;
    g01 += dz2 * W2[0][0] * (1 - a1[0] * a1[0]) * x[1];
  }
  expect(text).toContain(`g = dL/d layers.0.weight[1] = ${fmt(g01)}, p = −0.4`);
  expect(text).toContain(`new layers.0.weight[1] = ${fmt(-0.4 - 0.1 * (g01 + 0.5 * -0.4))}`);
});
