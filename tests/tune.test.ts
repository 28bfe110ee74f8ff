// Tuning picks among variants that sum in the same order: whatever it picks, the bits do not change.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { expect, test } from 'vitest';
import { validateSpec } from '../src/spec/validate.js';
import { runSpec } from '../src/train/runSpec.js';
import { type TunedChoice, tunedPlan } from '../src/webgpu/tune.js';
import { webgpuTest } from './backends.js';

const gpuTest = await webgpuTest();

const r = (n: number, seed: number) => Array.from({ length: n }, (_v, i) => Math.sin(seed * 3.7 + i * 1.1));
const specs = {
  mlp: validateSpec({
    model: {
      type: 'mlp',
      inputSize: 20,
      layers: [
        { units: 40, activation: 'tanh' },
        { units: 24, activation: 'sigmoid' },
        { units: 3, activation: 'softmax' },
      ],
    },
    loss: 'crossEntropy',
    optimizer: { type: 'adam', lr: 0.01 },
    steps: 3,
    seed: 4,
    data: { x: Array.from({ length: 9 }, (_v, i) => r(20, i)), y: Array.from({ length: 9 }, (_v, i) => [0, 1, 2].map((c) => (c === i % 3 ? 1 : 0))) },
  }),
  rnn: validateSpec({
    model: { type: 'rnn', inputSize: 6, hiddenSize: 36, outputSize: 2, activation: 'relu', outputActivation: 'sigmoid' },
    loss: 'mse',
    optimizer: { type: 'momentum', lr: 0.05 },
    steps: 3,
    seed: 5,
    data: {
      x: Array.from({ length: 5 }, (_v, i) => [r(6, i), r(6, i + 5), r(6, i + 9), r(6, i + 13)]),
      y: Array.from({ length: 5 }, (_v, i) => r(2, i + 20).map(Math.abs)),
    },
  }),
};

for (const [name, spec] of Object.entries(specs))
  gpuTest(`${name}: every tile, buffering, vec4 reads and epilogue placement gives the untuned run's bits`, async (be) => {
    const plain = JSON.stringify(await runSpec(spec, { backend: be }));
    const real = be.matmulPlan;
    const choices: TunedChoice[] = [
      { tile: 'big', singleBuffer: false, separateEpilogue: true, vec4: true },
      { tile: 'mid', singleBuffer: true, separateEpilogue: false, vec4: false },
      { tile: 'small', singleBuffer: true, separateEpilogue: true, vec4: false },
      { tile: 'big', singleBuffer: true, separateEpilogue: false, vec4: false },
    ];
    try {
      for (const choice of choices) {
        be.matmulPlan = (p) => tunedPlan(p, choice);
        expect(JSON.stringify(await runSpec(spec, { backend: be })), JSON.stringify(choice)).toBe(plain);
      }
    } finally {
      be.matmulPlan = real;
    }
  });

gpuTest('runSpec with tune times each distinct product once, says what it chose, and changes no bit', async (be) => {
  be.tuned.clear();
  const plain = JSON.stringify(await runSpec(specs.rnn, { backend: be }));
  const lines: string[] = [];
  try {
    const tuned = JSON.stringify(await runSpec(specs.rnn, { backend: be, tune: true, notice: (m) => lines.push(m) }));
    expect(tuned).toBe(plain);
    // forward: input projection, step, head; backward: head weights, dzy·Wy, BPTT step, dWx, dWh
    expect(lines).toHaveLength(8);
    expect(be.tuned.size).toBe(8);
    for (const l of lines)
      expect(l).toMatch(
        /^tuned \d+×\d+ from \d+.*: (big|mid|small) tile, [12] buffers?, (vec4 reads, )?epilogue (fused|apart), [\d.]+ ms \(untuned [\d.]+ ms\)$/,
      );
    // tuned already: a second run times nothing
    lines.length = 0;
    await runSpec(specs.rnn, { backend: be, tune: true, notice: (m) => lines.push(m) });
    expect(lines).toEqual([]);
  } finally {
    be.tuned.clear();
  }
});

test('train --tune on the cpu backend says there is nothing to tune, and trains', () => {
  const out = spawnSync(
    'node',
    [join(import.meta.dirname, '..', 'bin/miya.js'), 'train', 'examples/single-neuron-sgd.json', '--backend', 'cpu', '--tune', '--json'],
    { encoding: 'utf8', timeout: 120_000 },
  );
  expect(out.status, out.stderr).toBe(0);
  expect(out.stderr).toContain('tune: nothing to tune on the cpu backend');
  expect(JSON.parse(out.stdout).losses).toEqual([576]);
});
