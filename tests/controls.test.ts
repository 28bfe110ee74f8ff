// The training controls (README.md "Training controls") below the PyTorch oracle
// (tests/controls-oracle.test.ts): the update kernel's clipping, weight decay and Nesterov against
// textbook formulas written here; the global norm's two kernels against a plain sum; the webgpu
// twins against the float64 reference; the schedules against their formulas; a run resumed from
// any checkpoint against the uninterrupted run, to the bit; old checkpoints; bad specs.
import { describe, expect, test } from 'vitest';
import type { Backend } from '../src/backend.js';
import { CpuBackend } from '../src/cpu/backend.js';
import { SpecError } from '../src/errors.js';
import { decodeCheckpoint, encodeCheckpoint } from '../src/io/checkpoint.js';
import type { KernelBuffers, KernelParams } from '../src/kernels.js';
import { normParts } from '../src/optim/optimizer.js';
import { LrSchedule } from '../src/optim/schedule.js';
import type { RunSpec, ScheduleSpec } from '../src/spec/types.js';
import { validateSpec } from '../src/spec/validate.js';
import { runSpec } from '../src/train/runSpec.js';
import { kernelError, seededNumbers } from '../src/verify/kernelChecks.js';
import { backendCases, describeBackends } from './backends.js';
import { csvSpec } from './controlsCsv.js';

const backends = await backendCases();
const cpu = new CpuBackend();
type F = Float64Array;
const numbers = (n: number, seed: number, positive = false) => Float64Array.from(seededNumbers(n, seed, positive));

// ---- the update kernel's controls, against the textbook

type Update = KernelParams['update'];
/**
 * One element's step as PyTorch documents it: the loss gradient clipped (clip_grad_norm_'s factor
 * min(1, c/(‖g‖ + 1e-6)), or clamped to ±c), then weight decay (g + λp; AdamW: p(1 − lr·λ) first),
 * then the optimizer (SGD with momentum and Nesterov: v = μv + g, p − lr(g + μv)).
 */
function textbook(u: Update, norm: number, p: number, g: number, s1: number, s2: number): [number, number, number] {
  const c = u.clip ?? 0,
    wd = u.wd ?? 0;
  if (u.clipMode === 'norm') g = g * Math.min(1, c / (norm + 1e-6));
  if (u.clipMode === 'value') g = g > c ? c : g < -c ? -c : g;
  if (u.decoupled) p = p * (1 - u.lr * wd);
  else g = g + wd * p;
  switch (u.opt) {
    case 'sgd':
      return [p - u.lr * g, s1, s2];
    case 'momentum': {
      const v = u.h1 * s1 + g;
      return [p - u.lr * (u.nesterov ? g + u.h1 * v : v), v, s2];
    }
    case 'rmsprop': {
      const s = u.h1 * s1 + (1 - u.h1) * g * g;
      return [p - (u.lr * g) / Math.sqrt(s + u.eps), s, s2];
    }
    case 'adam': {
      const m = u.h1 * s1 + (1 - u.h1) * g,
        v = u.h2 * s2 + (1 - u.h2) * g * g;
      return [p - (u.lr * (m / u.bc1)) / (Math.sqrt(v / u.bc2) + u.eps), m, v];
    }
  }
}

const base = { n: 300, epsInside: true, lr: 0.05, h1: 0.9, h2: 0.999, eps: 1e-8, bc1: 0.19, bc2: 0.002 };
const variants: [string, Update][] = [
  ['sgd + weight decay', { ...base, opt: 'sgd', wd: 0.1 }],
  ['momentum + weight decay', { ...base, opt: 'momentum', wd: 0.05 }],
  ['momentum, Nesterov + weight decay', { ...base, opt: 'momentum', wd: 0.05, nesterov: true }],
  ['rmsprop + weight decay', { ...base, opt: 'rmsprop', wd: 0.02 }],
  ['adam + weight decay (L2)', { ...base, opt: 'adam', wd: 0.01 }],
  ['adamw (decoupled)', { ...base, opt: 'adam', wd: 0.1, decoupled: true }],
  ['sgd, clip norm (active) + weight decay', { ...base, opt: 'sgd', wd: 0.1, clipMode: 'norm', clip: 0.5, offNorm: 2 }],
  ['adam, clip norm (inactive)', { ...base, opt: 'adam', clipMode: 'norm', clip: 1e6, offNorm: 2 }],
  ['momentum, clip value', { ...base, opt: 'momentum', clipMode: 'value', clip: 0.3 }],
  ['adamw, clip value', { ...base, opt: 'adam', wd: 0.1, decoupled: true, clipMode: 'value', clip: 0.3 }],
];

describe('update with clipping, weight decay and Nesterov: the cpu twin against the textbook', () => {
  test.each(variants)('%s: parameters and state to the bit', (_name, u) => {
    const n = u.n,
      P = numbers(n + 1, 11),
      G = numbers(n + 1, 12),
      S1 = numbers(n + 1, 13, true),
      S2 = numbers(n + 1, 14, true);
    const Norm = Float64Array.from([9, 9, 0, 9]);
    for (let i = 0; i < n; i++) Norm[2] += G[i] * G[i];
    const want = [P.slice(), S1.slice(), S2.slice()];
    for (let i = 0; i < n; i++) [want[0][i], want[1][i], want[2][i]] = textbook(u, Math.sqrt(Norm[2]), P[i], G[i], S1[i], S2[i]);
    cpu.run('update', u, { P, G, S1, S2, Norm } as KernelBuffers<F>['update']);
    expect(Array.from(P)).toEqual(Array.from(want[0]));
    expect(Array.from(S1)).toEqual(Array.from(want[1]));
    expect(Array.from(S2)).toEqual(Array.from(want[2]));
    if (u.clipMode === 'norm' && u.clip! < 1) expect(Math.sqrt(Norm[2]), 'the norm exceeds the clip: the factor is active').toBeGreaterThan(u.clip!);
  });
});

describe('grad_norm_partial + grad_norm_total: ‖G‖² on the cpu, against a plain sum', () => {
  test.each([1, 255, 256, 257, 1000, 4097, 70_001])('n = %i', (n) => {
    const G = numbers(n, 21),
      parts = normParts(n),
      Part = new Float64Array(parts + 3).fill(7);
    const p = { n, parts, offPart: 1, offOut: parts + 2 };
    cpu.run('grad_norm_partial', p, { G, Part });
    cpu.run('grad_norm_total', p, { Part });
    let want = 0;
    for (let i = 0; i < n; i++) want += G[i] * G[i];
    expect(Math.abs(Part[parts + 2] - want) / want).toBeLessThanOrEqual(1e-13);
    expect(Part[0], 'nothing before offPart is written').toBe(7);
  });
});

describeBackends(
  backends.filter((b) => b.name !== 'cpu'),
  "the training controls' kernels on %s against the float64 reference",
  (_name, be) => {
    test.each(variants)('update, %s', async (_v, u) => {
      const sizes: Record<string, number> = { P: 300, G: 300, S1: 300, S2: 300, Norm: 4 };
      const G = seededNumbers(300, 3),
        norm = [0, 0, G.reduce((s, g) => s + g * g, 0), 0];
      expect(await kernelError(be, 'update', u, sizes, ['P', 'S1', 'S2'], ['S1', 'S2'], { G, Norm: norm })).toBeLessThanOrEqual(1e-5);
    });
    test.each([1, 300, 4097, 70_001])('grad_norm_partial then grad_norm_total, n = %i', async (n) => {
      const parts = normParts(n),
        p = { n, parts, offPart: 0, offOut: parts };
      const ref = new CpuBackend(),
        G = seededNumbers(n, 5);
      const run = async <B>(b: Backend<B>) => {
        const g = b.buffer(n, 'G'),
          part = b.buffer(parts + 1, 'Part');
        b.write(g, G);
        b.run('grad_norm_partial', p, { G: g, Part: part });
        b.run('grad_norm_total', p, { Part: part });
        b.submit();
        const out = await b.read(part, 0, parts + 1);
        b.free(g);
        b.free(part);
        return out;
      };
      const [got, want] = [await run(be), await run(ref)];
      for (let i = 0; i <= parts; i++) expect(Math.abs(got[i] - want[i]) / Math.max(want[i], 1e-30), `Part[${i}]`).toBeLessThanOrEqual(1e-5);
    });
  },
);

// ---- schedules, against their formulas

describe('schedules: the rate of step t (t = 0 first) as README.md states it', () => {
  const lr = 0.3;
  const formulas: [string, ScheduleSpec, (t: number) => number][] = [
    ['step', { type: 'step', every: 3, gamma: 0.5 }, (t) => lr * 0.5 ** Math.floor(t / 3)],
    ['exponential', { type: 'exponential', gamma: 0.9 }, (t) => lr * 0.9 ** t],
    ['cosine, held at min after N', { type: 'cosine', steps: 7, min: 0.01 }, (t) => 0.01 + ((lr - 0.01) * (1 + Math.cos((Math.PI * Math.min(t, 7)) / 7))) / 2],
    ['step with warmup 4', { type: 'step', every: 3, gamma: 0.5, warmup: 4 }, (t) => lr * 0.5 ** Math.floor(t / 3) * Math.min(1, (t + 1) / 4)],
    [
      'cosine with warmup 5',
      { type: 'cosine', steps: 10, warmup: 5 },
      (t) => ((lr * (1 + Math.cos((Math.PI * Math.min(t, 10)) / 10))) / 2) * Math.min(1, (t + 1) / 5),
    ],
    ['plateau with warmup 3 (no epochs seen)', { type: 'plateau', factor: 0.5, patience: 1, warmup: 3 }, (t) => lr * Math.min(1, (t + 1) / 3)],
  ];
  test.each(formulas)('%s', (_name, spec, f) => {
    const s = new LrSchedule(lr, spec);
    for (let t = 0; t < 15; t++) expect(s.lrAt(t), `t = ${t}`).toBeCloseTo(f(t), 15);
  });
  test('cosine reaches its minimum at t = N and stays', () => {
    const s = new LrSchedule(1, { type: 'cosine', steps: 4, min: 0.2 });
    expect([4, 5, 100].map((t) => s.lrAt(t))).toEqual([0.2, 0.2, 0.2]);
  });
  test('plateau as ReduceLROnPlateau (mode min, abs threshold): a reduction after patience + 1 epochs without an improvement by more than minDelta', () => {
    const s = new LrSchedule(1, { type: 'plateau', factor: 0.5, patience: 2, minDelta: 0.1 });
    // best 1 (epoch 1); 0.95 and 0.92 are not better by 0.1; 0.91: third bad epoch → 0.5
    const lrs = [1, 0.95, 0.92, 0.91, 0.5, 0.45, 0.44, 0.43].map((loss) => {
      s.onEpoch(loss);
      return s.lrAt(0);
    });
    expect(lrs).toEqual([1, 1, 1, 0.5, 0.5, 0.5, 0.5, 0.25]);
  });
});

// ---- runs: resumed from any checkpoint, bit for bit

const resumeSpecs: [string, RunSpec][] = [
  [
    'adamw + clipNorm, plateau with warmup, early stopping (restoreBest)',
    csvSpec('plateau-es', 1, 24, 6, {
      optimizer: { type: 'adamw', lr: 0.2, clipNorm: 0.5, weightDecay: 0.05 },
      steps: 60,
      shuffle: true,
      seed: 3,
      schedule: { type: 'plateau', factor: 0.5, patience: 1, minDelta: 0.002, warmup: 5 },
      earlyStopping: { patience: 3, minDelta: 0.001 },
    }),
  ],
  [
    'momentum Nesterov + clipValue + weight decay, cosine with warmup',
    csvSpec('cosine', 2, 20, 4, {
      optimizer: { type: 'momentum', lr: 0.1, nesterov: true, clipValue: 0.05, weightDecay: 0.01 },
      steps: 25,
      schedule: { type: 'cosine', steps: 20, min: 0.01, warmup: 4 },
    }),
  ],
];

/** The run's result, and its checkpoints after every step (the save hook keeps their bytes). */
async function runWithCheckpoints(spec: RunSpec, be: Backend, steps?: number) {
  const saved = new Map<number, Uint8Array>();
  const r = await runSpec(spec, {
    backend: be,
    steps,
    checkpoint: {
      every: 1,
      where: 'memory',
      save: async (bytes, step) => {
        saved.set(step, bytes);
      },
    },
  });
  return { r, saved };
}

describeBackends(backends, 'resuming a run with a schedule and early stopping on %s', (_name, be) => {
  test.each(resumeSpecs)(
    '%s: resumed from checkpoints at several steps, it ends bit for bit as the uninterrupted run',
    async (_t, spec) => {
      const plain = await runSpec(spec, { backend: be });
      const { r: full, saved } = await runWithCheckpoints(spec, be);
      expect(full, 'saving checkpoints changes nothing').toEqual(plain);
      const steps = full.losses.length,
        per = 4; // 18 (or 16) training samples in batches of 5: 4 a epoch
      expect(new Set(full.lrs).size, 'the rate changes').toBeGreaterThan(3);
      if (spec.schedule?.type === 'plateau') expect(full.lrs[steps - 1], 'the plateau lowered the rate').toBeLessThan(spec.optimizer.lr);
      // mid-epoch, an epoch's last step (its evaluation in the checkpoint), the next epoch's first, near the end
      for (const at of [per - 1, per, 2 * per + 1, steps - 1].filter((s) => s > 0 && s < steps)) {
        const checkpoint = await decodeCheckpoint(saved.get(at)!, `step ${at}`);
        const resumed = await runSpec(spec, { backend: be, resume: { checkpoint, from: `step ${at}` } });
        expect(resumed, `resumed at step ${at}`).toEqual(full);
      }
      if (spec.earlyStopping) {
        expect(full.earlyStopping?.stoppedEpoch, 'this case stops early').toBeDefined();
        expect(full.earlyStopping!.restored).toBe(true);
        // the parameters are the best epoch's: resuming from the final checkpoint trains nothing more
        const last = await decodeCheckpoint(saved.get(steps)!, 'last');
        expect(last.controls?.earlyStopping?.stopped).toBe(true);
        const again = await runSpec(spec, { backend: be, resume: { checkpoint: last, from: 'last' } });
        // (no step ran: there are no gradients to report)
        expect({ ...again, grads: full.grads }).toEqual(full);
      }
    },
    120_000,
  );
});

describeBackends(backends, 'early stopping on %s', (_name, be) =>
  test("the run ends with the best epoch's parameters (restoreBest), or the last (restoreBest false)", async () => {
    const spec = resumeSpecs[0][1];
    const kept = await runSpec(spec, { backend: be });
    const last = await runSpec({ ...spec, earlyStopping: { ...spec.earlyStopping!, restoreBest: false } }, { backend: be });
    const es = kept.earlyStopping!;
    expect(es.stoppedEpoch).toBeGreaterThan(es.bestEpoch);
    expect(last.losses).toEqual(kept.losses);
    expect(last.earlyStopping!.restored).toBe(false);
    expect(kept.params).not.toEqual(last.params);
    // the best epoch's held-out loss is the lowest, and is what the restored parameters give
    const held = kept.history.filter((h) => h.testLoss !== undefined).map((h) => h.testLoss!);
    expect(es.bestLoss).toBe(Math.min(...held));
    expect(kept.test!.loss).toBeCloseTo(es.bestLoss, be.precision === 'f64' ? 12 : 5);
    expect(last.test!.loss).toBeCloseTo(held[held.length - 1], be.precision === 'f64' ? 12 : 5);
  }, 60_000),
);

test("a checkpoint written before the controls (no lrs, no controls metadata) still resumes: every step so far at the spec's rate", async () => {
  const spec = csvSpec('old', 4, 12, 2, { optimizer: { type: 'momentum', lr: 0.05 }, steps: 6 });
  const { r: full, saved } = await runWithCheckpoints(spec, cpu);
  const c = await decodeCheckpoint(saved.get(3)!, 'step 3');
  const old = await decodeCheckpoint(await encodeCheckpoint({ ...c, controls: undefined }, 2), 'old');
  expect(old.controls!.lrs).toEqual(new Float64Array(3).fill(0.05));
  const resumed = await runSpec(spec, { backend: cpu, resume: { checkpoint: old, from: 'old' } });
  expect(resumed).toEqual(full);
});

test("history: per epoch the mean training loss, the held-out loss, the last step's rate; lrs: every step's", async () => {
  const spec = csvSpec('history', 5, 14, 4, {
    optimizer: { type: 'sgd', lr: 0.1, weightDecay: 0.01 },
    steps: 7,
    schedule: { type: 'step', every: 2, gamma: 0.5 },
  });
  const r = await runSpec(spec, { backend: cpu, evaluateEachEpoch: true });
  expect(r.lrs).toEqual([0.1, 0.1, 0.05, 0.05, 0.025, 0.025, 0.0125]);
  // 10 training samples in batches of 5: epochs of 2 steps, the fourth cut short after 1
  expect(r.history.map((h) => h.epoch)).toEqual([1, 2, 3, 4]);
  expect(r.history.map((h) => h.lr)).toEqual([0.1, 0.05, 0.025, 0.0125]);
  expect(r.history[1].loss).toBe((r.losses[2] + r.losses[3]) / 2);
  expect(r.history.slice(0, 3).every((h) => h.testLoss! > 0)).toBe(true);
  expect(r.history[3].testLoss, 'an epoch cut short is not evaluated').toBeUndefined();
});

// ---- bad input

describe('bad controls: a SpecError naming the JSON path', () => {
  const good = csvSpec('bad', 6, 10, 2, { optimizer: { type: 'adamw', lr: 0.05, clipNorm: 0.5 } });
  const inline: RunSpec = { ...good, data: { x: [[0, 0, 0]], y: [[0, 0]] } };
  const cases: [string, (s: any) => void, string, RunSpec?][] = [
    [
      'negative weight decay',
      (s) => {
        s.optimizer.weightDecay = -0.1;
      },
      'optimizer.weightDecay: expected a finite number ≥ 0',
    ],
    [
      'non-finite weight decay',
      (s) => {
        s.optimizer.weightDecay = 'Infinity';
      },
      'optimizer.weightDecay: expected a finite number',
    ],
    [
      'clipNorm 0',
      (s) => {
        s.optimizer.clipNorm = 0;
      },
      'optimizer.clipNorm: expected a finite number > 0',
    ],
    [
      'negative clipValue',
      (s) => {
        s.optimizer.clipValue = -1;
      },
      'optimizer.clipValue: expected a finite number > 0',
    ],
    [
      'nesterov on adam',
      (s) => {
        s.optimizer.nesterov = true;
      },
      'optimizer.nesterov: not a field of the adamw optimizer',
    ],
    [
      'nesterov not a boolean',
      (s) => {
        s.optimizer = { type: 'momentum', lr: 0.1, nesterov: 1 };
      },
      'optimizer.nesterov: expected true or false',
    ],
    [
      'misspelt weight decay',
      (s) => {
        s.optimizer.weightDeacy = 0.1;
      },
      'did you mean "weightDecay"',
    ],
    [
      'schedule without its type',
      (s) => {
        s.schedule = { gamma: 0.5 };
      },
      'schedule.type: expected one of',
    ],
    [
      'step schedule without every',
      (s) => {
        s.schedule = { type: 'step', gamma: 0.5 };
      },
      'schedule.every: required by the step schedule',
    ],
    [
      'exponential schedule without gamma',
      (s) => {
        s.schedule = { type: 'exponential' };
      },
      'schedule.gamma: required',
    ],
    [
      'cosine schedule without steps',
      (s) => {
        s.schedule = { type: 'cosine', min: 0 };
      },
      'schedule.steps: required',
    ],
    [
      'plateau without patience',
      (s) => {
        s.schedule = { type: 'plateau', factor: 0.5 };
      },
      'schedule.patience: required',
    ],
    [
      'negative gamma',
      (s) => {
        s.schedule = { type: 'exponential', gamma: -0.5 };
      },
      'schedule.gamma: expected a finite number > 0',
    ],
    [
      'negative cosine min',
      (s) => {
        s.schedule = { type: 'cosine', steps: 5, min: -1 };
      },
      'schedule.min: expected a finite number ≥ 0',
    ],
    [
      'plateau factor 1',
      (s) => {
        s.schedule = { type: 'plateau', factor: 1, patience: 2 };
      },
      'schedule.factor: expected a number in (0, 1)',
    ],
    [
      'plateau patience 0',
      (s) => {
        s.schedule = { type: 'plateau', factor: 0.5, patience: 0 };
      },
      'schedule.patience: expected an integer ≥ 1',
    ],
    [
      'a field of another schedule',
      (s) => {
        s.schedule = { type: 'step', every: 2, gamma: 0.5, steps: 3 };
      },
      'schedule.steps: not a field of the step schedule',
    ],
    [
      'warmup 0',
      (s) => {
        s.schedule = { type: 'exponential', gamma: 0.9, warmup: 0 };
      },
      'schedule.warmup: expected an integer ≥ 1',
    ],
    [
      'early stopping patience 0',
      (s) => {
        s.earlyStopping = { patience: 0 };
      },
      'earlyStopping.patience: expected an integer ≥ 1',
    ],
    [
      'early stopping without patience',
      (s) => {
        s.earlyStopping = { minDelta: 0.1 };
      },
      'earlyStopping.patience: required',
    ],
    [
      'negative minDelta',
      (s) => {
        s.earlyStopping = { patience: 2, minDelta: -1 };
      },
      'earlyStopping.minDelta: expected a finite number ≥ 0',
    ],
    [
      'plateau without a held-out set',
      (s) => {
        s.schedule = { type: 'plateau', factor: 0.5, patience: 2 };
      },
      'schedule: the plateau schedule needs a held-out set',
      inline,
    ],
    [
      'early stopping without a held-out set',
      (s) => {
        s.earlyStopping = { patience: 2 };
      },
      'earlyStopping: needs a held-out set',
      inline,
    ],
  ];
  test.each(cases)('%s', (_name, change, message, from = good) => {
    const s = JSON.parse(JSON.stringify(from));
    change(s);
    let err: unknown;
    try {
      validateSpec(s);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(SpecError);
    expect((err as Error).message).toContain(message);
  });
  test('the controls of a good spec pass', () => {
    const s = validateSpec({ ...good, schedule: { type: 'plateau', factor: 0.5, patience: 2, warmup: 3 }, earlyStopping: { patience: 2 } });
    expect(s.schedule).toEqual({ type: 'plateau', factor: 0.5, patience: 2, minDelta: undefined, warmup: 3 });
  });
});
