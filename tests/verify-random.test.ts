// `miya verify --random` draws sequential stacks (dense, rnn, lstm, gru layers, an embedding of
// token ids first in some; returnSequences on and off) beside its MLPs and RNNs: each stack's float64 gradients agree with central finite
// differences of its loss, and the webgpu backend's every tensor with the float64 reference's.
import { describe, expect, test } from 'vitest';
import { CpuBackend } from '../src/cpu/backend.js';
import type { SequentialSpec } from '../src/spec/types.js';
import { validateSpec } from '../src/spec/validate.js';
import { TOLERANCE } from '../src/verify/compare.js';
import { gradientCheck } from '../src/verify/gradCheck.js';
import { describeSpec, randomNetwork, randomSpec, randomStack } from '../src/verify/randomSpecs.js';
import { compareWithReference, verifyAll } from '../src/verify/verify.js';
import { backendCases, describeBackends } from './backends.js';

const STACKS = 8;
const stacks = Array.from({ length: STACKS }, (_, k) => validateSpec(randomStack(k)));

test("verify's networks: in every three an MLP, an RNN and a sequential stack, randomSpec's in order", () => {
  expect(Array.from({ length: 9 }, (_, i) => randomNetwork(i).model.type)).toEqual([
    'mlp',
    'rnn',
    'sequential',
    'mlp',
    'rnn',
    'sequential',
    'mlp',
    'rnn',
    'sequential',
  ]);
  expect(randomNetwork(4)).toEqual(randomSpec(3));
  expect(randomNetwork(5)).toEqual(randomStack(1));
});

test('the stacks verify draws by default (its 20 networks) cover lstm, gru and rnn layers, embeddings, dense layers before and between them, returnSequences on and off, and every loss', () => {
  const drawn = Array.from({ length: 20 }, (_, i) => randomNetwork(i)).filter((s) => s.model.type === 'sequential');
  expect(drawn).toHaveLength(6);
  const layers = drawn.flatMap((s) => (s.model as SequentialSpec).layers);
  for (const kind of ['lstm', 'gru', 'rnn', 'embedding'])
    expect(
      layers.some((l) => l.type === kind),
      kind,
    ).toBe(true);
  const models = drawn.map((s) => s.model as SequentialSpec);
  expect(models.some((m) => m.layers[0].type === 'dense')).toBe(true);
  const isRecurrent = (l: { type: string }) => l.type === 'lstm' || l.type === 'gru' || l.type === 'rnn';
  // a dense layer between two recurrent ones (acting at every step of the first's sequence)
  expect(
    models.some((m) => m.layers.some((l, j) => l.type === 'dense' && j > 0 && isRecurrent(m.layers[j - 1]) && m.layers.slice(j + 1).some(isRecurrent))),
  ).toBe(true);
  const lastRecurrent = models.map((m) => m.layers.filter(isRecurrent).at(-1) as { returnSequences: boolean });
  expect(new Set(lastRecurrent.map((l) => l.returnSequences))).toEqual(new Set([true, false]));
  expect(new Set(drawn.map((s) => s.loss))).toEqual(new Set(['mse', 'halfMse', 'crossEntropy']));
});

test.each(stacks.map((s) => [describeSpec(s), s] as const))('gradient check (cpu, finite differences): %s', async (_, spec) => {
  expect(await gradientCheck(spec)).toBeLessThanOrEqual(TOLERANCE.gradCheck);
});

const backends = await backendCases();
describeBackends(
  backends.filter((c) => c.name !== 'cpu'),
  'random stacks on %s against the float64 reference',
  (_, be) => {
    test.each(stacks.map((s) => [describeSpec(s), s] as const))('%s: every tensor of 2 steps', async (name, spec) => {
      const w = await compareWithReference(be, spec);
      expect(w.error, `${name}: ${w.tensor}`).toBeLessThanOrEqual(TOLERANCE.randomGpu);
    });
  },
);

describe('verifyAll on cpu', () => {
  test('draws stacks, labels them, and every row passes', async () => {
    const rows = await verifyAll(new CpuBackend(), { random: 6 });
    const stackRows = rows.filter((r) => r.check.includes('sequential'));
    expect(stackRows.map((r) => r.check)).toEqual([expect.stringMatching(/^random 3: sequential /), expect.stringMatching(/^random 6: sequential /)]);
    expect(rows.filter((r) => !r.ok)).toEqual([]);
  });
});
