// The recurrent benchmark suites (`miya bench --suite lstm|gru`, issue 14): a stack of two LSTM or
// GRU layers and a dense head, on Miya's backends and on TF.js's tf.layers.lstm/gru, each
// validated (outputs and loss) against float64 loops of its cell before it is timed. Here at the
// --quick size (input 16, hidden 32, T 8, batch 8); the size runs on a GPU machine
// (bench/gpu-run.sh recurrent).
import { expect, test } from 'vitest';
import { benchCases, type StepCase } from '../bench/cases.js';
import type { Contender, StepSetup } from '../bench/contender.js';
import { caseData } from '../bench/data.js';
import { miyaContender } from '../bench/miya.js';
import { type BenchResult, RECURRENT_TOLERANCE, validateRecurrent } from '../bench/run.js';
import { runBench } from '../bench/suite.js';
import { targetsTable } from '../bench/targets.js';
import { tfjsPeer } from '../bench/tfjsSetup.js';
import { CpuBackend } from '../src/cpu/backend.js';
import { paramLayout } from '../src/nn/layout.js';
import { webgpuBackend } from './backends.js';

const quick = (suite: 'lstm' | 'gru') => benchCases(true).find((c): c is StepCase => c.suite === suite)!;

test("the cases: the issue's size in a full run (2 layers, in 128, hidden 512, T 64, batch 128), a small one for the CPU contenders, a tiny one with --quick; none in `all`", () => {
  for (const kind of ['lstm', 'gru'] as const) {
    const full = benchCases(false)
      .filter((c) => c.suite === kind)
      .map((c) => c.name);
    expect(full).toEqual(['in32 h128x2 T16 b32', 'in128 h512x2 T64 b128']);
    const c = quick(kind);
    expect(c.name).toBe('in16 h32x2 T8 b8');
    // the model: two recurrent layers (the first returning its sequence) and a dense head of 10
    expect(c.spec.model).toEqual({
      type: 'sequential',
      inputSize: 16,
      layers: [
        { type: kind, units: 32, returnSequences: true },
        { type: kind, units: 32, returnSequences: false },
        { type: 'dense', units: 10, activation: 'identity' },
      ],
    });
    // x [n][T][I] and y [n][10], by hand
    const d = caseData(c);
    expect([d.n, d.steps, d.features, d.outputs, d.x.length, d.y.length]).toEqual([8, 8, 16, 10, 8 * 8 * 16, 80]);
    // 6 flops a multiply-add; a layer of G gates does G·H·(in + H) a step, the head 32·10
    const G = kind === 'lstm' ? 4 : 3;
    expect(c.flopsPerStep).toBe(6 * 8 * (8 * G * 32 * (16 + 32) + 8 * G * 32 * (32 + 32) + 32 * 10));
  }
});

/** Miya's cpu, Miya's webgpu (where there is one) and TF.js on the same two. */
async function contenders(): Promise<(() => Promise<Contender>)[]> {
  const gpu = await webgpuBackend();
  return [
    async () => miyaContender(new CpuBackend()),
    ...(gpu ? [async () => miyaContender(gpu, false)] : []),
    () => tfjsPeer('cpu'),
    ...(gpu ? [() => tfjsPeer('webgpu')] : []),
  ];
}

for (const kind of ['lstm', 'gru'] as const) {
  test(`--suite ${kind} --quick: every contender validated against float64 loops, then timed; Miya's memory by kind as counted by hand`, async () => {
    const makers = await contenders();
    const lines: string[] = [];
    const { results } = await runBench(makers, { suite: kind, quick: true, reps: 1 }, (l) => lines.push(l));
    expect(results.map((r) => r.backend)).toEqual(makers.length === 4 ? ['cpu', 'webgpu', 'tfjs-cpu', 'tfjs-webgpu'] : ['cpu', 'tfjs-cpu']);
    for (const r of results) {
      expect(r.suite).toBe(kind);
      expect(r.case).toBe('in16 h32x2 T8 b8');
      expect(r.msPerStep).toBeGreaterThan(0);
      const m = /^outputs and loss on 8 samples vs float64 loops( of Keras's GRU cell)?: ([^,]+), ([^;]+); first step loss ([\d.e-]+)/.exec(r.validation);
      expect(m, r.validation).not.toBeNull();
      // TF.js's GRU is held to Keras's cell, everything else to PyTorch's
      expect(m![1] !== undefined, r.validation).toBe(kind === 'gru' && r.backend.startsWith('tfjs'));
      expect(Number(m![2])).toBeLessThan(RECURRENT_TOLERANCE);
      expect(Number(m![3])).toBeLessThan(RECURRENT_TOLERANCE);
      expect(Number(m![4])).toBeGreaterThan(0);
    }
    // the same weights and data: Miya's first training loss and TF.js's agree (the LSTMs compute
    // one function; the GRUs do not, their cells differ)
    const first = (b: string) => Number(/first step loss ([\d.e-]+)/.exec(results.find((r) => r.backend === b)!.validation)![1]);
    if (kind === 'lstm') expect(Math.abs(first('tfjs-cpu') - first('cpu')) / first('cpu')).toBeLessThan(1e-5);
    else expect(Math.abs(first('tfjs-cpu') - first('cpu')) / first('cpu')).toBeGreaterThan(1e-5);
    // parameters, gradients and RMSprop's one state tensor: one float each per weight (float64 on cpu, float32 on webgpu)
    const G = kind === 'lstm' ? 4 : 3;
    const weights = G * 32 * (16 + 32 + 2) + G * 32 * (32 + 32 + 2) + 10 * 32 + 10;
    const cpu = results.find((r) => r.backend === 'cpu')!.memory!;
    expect([cpu.parameters, cpu.gradients, cpu.optimizer]).toEqual([8 * weights, 8 * weights, 8 * weights]);
    // the data set (8 samples) and the gathered batch: x 8·8·16 and y 8·10 each, plus the batch order
    expect(cpu.data + cpu.batch).toBeGreaterThanOrEqual(8 * 2 * (8 * 8 * 16 + 80));
    // activations: at least every step's h of both layers (T·batch·H each, kept for BPTT)
    expect(cpu.activations).toBeGreaterThanOrEqual(8 * 2 * 8 * 8 * 32);
    const gpu = results.find((r) => r.backend === 'webgpu');
    if (gpu) expect([gpu.memory!.parameters, gpu.memory!.activations]).toEqual([4 * weights, cpu.activations / 2]);
    expect(results.find((r) => r.backend === 'tfjs-cpu')!.memory).toBeUndefined();
    expect(lines.filter((l) => l.startsWith(`  ${kind}`))).toHaveLength(results.length);
  }, 600_000); // TF.js on SwiftShader takes ~2 s a step here, more on a loaded machine
}

/** A contender given the harness's weights with one change: what a wrong weight mapping would do. */
function breaking(who: Contender, change: (s: StepSetup, init: Float64Array) => void): Contender {
  const wrong = (s: StepSetup): StepSetup => {
    const init = s.init.slice();
    change(s, init);
    return { ...s, init };
  };
  return { ...who, validationLoss: (s) => who.validationLoss(wrong(s)), validationOutputs: (s) => who.validationOutputs(wrong(s)) };
}

const tensor = (s: StepSetup, name: string) => s.layout.find((p) => p.name === name)!;

// Mistakes a weight mapping makes: two gate blocks swapped, a block transposed, a bias left out, a
// matrix read in the other order. (One weight off by 0.1 moves the outputs by ~1e-5, under what
// float32 allows: the check is for mappings, not for single numbers.)
const MISTAKES: [string, (s: StepSetup, init: Float64Array) => void][] = [
  [
    "the first two gate blocks of layer 0's weight_ih swapped",
    (s, w) => {
      const p = tensor(s, 'layers.0.weight_ih_l0'),
        H = 32,
        block = H * p.cols;
      const first = w.slice(p.off, p.off + block);
      w.copyWithin(p.off, p.off + block, p.off + 2 * block);
      w.set(first, p.off + block);
    },
  ],
  [
    "the first H×H block of layer 1's weight_hh transposed",
    (s, w) => {
      const p = tensor(s, 'layers.1.weight_hh_l0'),
        H = 32;
      for (let i = 0; i < H; i++)
        for (let j = 0; j < i; j++) {
          const a = p.off + i * H + j,
            b = p.off + j * H + i;
          [w[a], w[b]] = [w[b], w[a]];
        }
    },
  ],
  [
    "layer 1's bias_hh left out",
    (s, w) => {
      const p = tensor(s, 'layers.1.bias_hh_l0');
      w.fill(0, p.off, p.off + p.cols);
    },
  ],
  [
    "the head's weight [10][32] read as [32][10]",
    (s, w) => {
      const p = tensor(s, 'layers.2.weight'),
        t = w.slice(p.off, p.off + p.rows * p.cols);
      for (let i = 0; i < p.rows; i++) for (let j = 0; j < p.cols; j++) w[p.off + i * p.cols + j] = t[j * p.rows + i];
    },
  ],
];

for (const kind of ['lstm', 'gru'] as const) {
  test(`${kind}: the validation before timing refuses a contender whose weights are wrong (Miya cpu and TF.js cpu)`, async () => {
    const c = quick(kind);
    for (const who of [miyaContender(new CpuBackend()), await tfjsPeer('cpu')]) {
      // the contender as it is passes
      expect(await validateRecurrent(who, c)).toMatch(/vs float64 loops/);
      for (const [what, change] of MISTAKES) {
        await expect(validateRecurrent(breaking(who, change), c), `${who.name}: ${what}`).rejects.toThrow(
          new RegExp(`^${kind} in16 h32x2 T8 b8 on ${who.name}: outputs and loss on 8 samples vs float64 loops.* differ by`),
        );
      }
      who.dispose();
    }
  }, 120_000);
}

test("gru: TF.js's tf.layers.gru (Keras's reset_after = false cell) is refused when held to PyTorch's cell, and Miya's when held to Keras's", async () => {
  const c = quick('gru');
  const tf = await tfjsPeer('cpu'),
    miya = miyaContender(new CpuBackend());
  await expect(validateRecurrent({ ...tf, gruCell: 'pytorch' }, c)).rejects.toThrow(/differ by/);
  await expect(validateRecurrent({ ...miya, gruCell: 'resetBefore' }, c)).rejects.toThrow(/differ by/);
});

test('the layouts agree: the weights TF.js is given cover every parameter of the stack', () => {
  const c = quick('lstm');
  expect(paramLayout(c.spec.model).map((p) => p.name)).toEqual([
    'layers.0.weight_ih_l0',
    'layers.0.weight_hh_l0',
    'layers.0.bias_ih_l0',
    'layers.0.bias_hh_l0',
    'layers.1.weight_ih_l0',
    'layers.1.weight_hh_l0',
    'layers.1.bias_ih_l0',
    'layers.1.bias_hh_l0',
    'layers.2.weight',
    'layers.2.bias',
  ]);
});

// issue 14's target: ≥ 20× TF.js WebGPU on the issue's size, on a hardware adapter
const result = (suite: string, backend: string, ms: number, device = 'nvidia NVIDIA: 580.159.04'): BenchResult => ({
  suite,
  case: 'in128 h512x2 T64 b128',
  backend,
  device,
  msPerStep: ms,
  gflops: 1,
  validation: '',
});

test('the targets table judges the lstm and gru steps by their speed-up over TF.js WebGPU in the same run', () => {
  expect(
    targetsTable([result('lstm', 'webgpu', 20), result('lstm', 'tfjs-webgpu', 500), result('gru', 'webgpu', 30), result('gru', 'tfjs-webgpu', 450)])
      .split('\n')
      .slice(2, 4),
  ).toEqual([
    '| LSTM step, 2 layers, in 128, hidden 512, T 64, batch 128 | 500 ms | 20.0 ms | ≥ 20× TF.js WebGPU | yes (25.0×) |',
    '| GRU step, 2 layers, in 128, hidden 512, T 64, batch 128 | 450 ms | 30.0 ms | ≥ 20× TF.js WebGPU | no (15.0×) |',
  ]);
  expect(targetsTable([result('lstm', 'webgpu', 20)])).toContain('| — | 20.0 ms | ≥ 20× TF.js WebGPU | not judged (no TF.js WebGPU in this run) |');
  // SwiftShader's figures judge nothing
  expect(
    targetsTable([
      result('lstm', 'webgpu', 20, 'google SwiftShader driver 5.0.0 (software)'),
      result('lstm', 'tfjs-webgpu', 500, 'google SwiftShader driver 5.0.0'),
    ]),
  ).toBe('');
});
