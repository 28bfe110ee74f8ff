// `verify`'s gradient check on models with dropout: the finite differences are taken of the
// training step's loss with that step's masks, the function the backward differentiates. The
// check passes on such models, evaluation's loss (dropout off) would not agree with the gradient
// (so a check through `evaluate` would fail them), and `verify --random` draws dropout layers.
import { expect, test } from 'vitest';
import { CpuBackend } from '../src/cpu/backend.js';
import { loadDataset } from '../src/data/load.js';
import type { RunSpec, SequentialSpec } from '../src/spec/types.js';
import { validateSpec } from '../src/spec/validate.js';
import { Session } from '../src/train/session.js';
import { normRelError, TOLERANCE } from '../src/verify/compare.js';
import { gradientCheck } from '../src/verify/gradCheck.js';
import { describeSpec, randomNetwork } from '../src/verify/randomSpecs.js';
import { verifyAll } from '../src/verify/verify.js';
import { rng, vec } from './oracle/random.js';

/** ids → embedding → dropout → lstm (sequences) → dropout → dense; class-index targets at every step. */
function dropoutSpec(rate: number): RunSpec {
  const r = rng(5),
    n = 4,
    T = 5,
    V = 4;
  const x = Array.from({ length: n }, (_, s) => Array.from({ length: T }, (_, t) => (s * 3 + t * 2) % V));
  const y = Array.from({ length: n }, () => vec(r, T, 1).map((u) => Math.floor((u + 1) * 1.5)));
  return validateSpec({
    model: {
      type: 'sequential',
      layers: [
        { type: 'embedding', vocab: V, units: 3 },
        { type: 'dropout', rate },
        { type: 'lstm', units: 4, returnSequences: true },
        { type: 'dropout', rate },
        { type: 'dense', units: 3, activation: 'identity' },
      ],
    },
    loss: 'crossEntropy',
    optimizer: { type: 'sgd', lr: 0.1 },
    data: { x, y },
    seed: 3,
    steps: 1,
  });
}

/** The same check taken through evaluate (dropout off), written out here: what gradCheck.ts must not do. */
async function evaluateCheck(spec: RunSpec, h = 1e-5): Promise<number> {
  const data = (await loadDataset(spec)).train;
  const s = new Session(
    new CpuBackend(),
    { model: spec.model, loss: spec.loss, optimizer: spec.optimizer, batchSize: data.n, seed: spec.seed ?? 0, historySize: 1 },
    data,
  );
  const batch = s.batches.at(0);
  s.step(batch, 0, false);
  const analytic = await s.readGrads(),
    p = s.net.paramBuf,
    numeric = new Float64Array(analytic.length);
  const at = async () => {
    s.evaluate(batch, 0);
    return (await s.readLosses(0, 1))[0];
  };
  for (let i = 0; i < p.length; i++) {
    const v = p[i];
    p[i] = v + h;
    const up = await at();
    p[i] = v - h;
    const down = await at();
    p[i] = v;
    numeric[i] = (up - down) / (2 * h);
  }
  s.dispose();
  return normRelError(numeric, analytic);
}

test("the gradient check holds the step's dropout masks: it passes with dropout 0.5, where the loss with dropout off disagrees with the gradient", async () => {
  const spec = dropoutSpec(0.5);
  expect(await gradientCheck(spec)).toBeLessThanOrEqual(TOLERANCE.gradCheck);
  expect(await evaluateCheck(spec)).toBeGreaterThan(0.05);
  // rate 0: both are the same function, and both checks pass
  expect(await gradientCheck(dropoutSpec(0))).toBeLessThanOrEqual(TOLERANCE.gradCheck);
  expect(await evaluateCheck(dropoutSpec(0))).toBeLessThanOrEqual(TOLERANCE.gradCheck);
});

test("verify --random's default networks include stacks with dropout, after an embedding and before the output layer, and their rows pass on cpu", async () => {
  const drawn = Array.from({ length: 20 }, (_, i) => validateSpec(randomNetwork(i)));
  const withDropout = drawn.filter((s) => s.model.type === 'sequential' && s.model.layers.some((l) => l.type === 'dropout'));
  expect(withDropout.length).toBeGreaterThanOrEqual(3);
  const layers = withDropout.map((s) => (s.model as SequentialSpec).layers);
  expect(layers.some((ls) => ls[0].type === 'embedding' && ls[1].type === 'dropout')).toBe(true);
  expect(layers.some((ls) => ls.at(-2)?.type === 'dropout')).toBe(true);
  for (const s of withDropout) expect(describeSpec(s)).toMatch(/dropout0\.[35]/);
  const rows = await verifyAll(new CpuBackend(), { random: 9 }); // networks 1–9: the stacks k = 0, 1, 2
  const dropRows = rows.filter((r) => r.check.includes('dropout'));
  expect(dropRows.map((r) => r.check)).toEqual([
    expect.stringMatching(/^random 6: sequential .*dropout0\.3/),
    expect.stringMatching(/^random 9: sequential .*dropout0\.5/),
  ]);
  expect(dropRows.every((r) => r.ok)).toBe(true);
});
