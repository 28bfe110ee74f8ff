// The training controls as a new user meets them (README.md "Training controls"): PyTorch's and
// Keras's names for them refused with Miya's, settings that cannot be meant refused, settings that
// cannot act in the run said before it starts, and a run whose early stopping ends it leaving one
// checkpoint (the first written at its last step) that already holds the parameters it reports.
import { describe, expect, test } from 'vitest';
import { CpuBackend } from '../src/cpu/backend.js';
import { SpecError } from '../src/errors.js';
import { decodeCheckpoint } from '../src/io/checkpoint.js';
import type { RunSpec } from '../src/spec/types.js';
import { validateSpec } from '../src/spec/validate.js';
import { runSpec } from '../src/train/runSpec.js';
import { csvSpec } from './controlsCsv.js';

const cpu = new CpuBackend();

function refusal(spec: unknown): string {
  try {
    validateSpec(spec);
  } catch (e) {
    expect(e).toBeInstanceOf(SpecError);
    return (e as Error).message;
  }
  throw new Error('the spec was accepted');
}

describe("PyTorch's and Keras's names for the controls: refused, naming Miya's", () => {
  const good = csvSpec('names', 1, 10, 2, {});
  const cases: [string, Record<string, unknown>, string][] = [
    [
      'StepLR as the schedule type',
      { schedule: { type: 'StepLR', every: 2, gamma: 0.5 } },
      'schedule.type: expected one of "step", "exponential", "cosine", "plateau"; "step" is StepLR',
    ],
    ['ReduceLROnPlateau', { schedule: { type: 'ReduceLROnPlateau', factor: 0.5, patience: 1 } }, '"plateau" is ReduceLROnPlateau'],
    [
      'a schedule of warmup alone',
      { schedule: { warmup: 10 } },
      'schedule.type: expected one of "step", "exponential", "cosine", "plateau" (a warmup alone: {"type": "exponential", "gamma": 1, "warmup": W}), got undefined',
    ],
    [
      'step_size',
      { schedule: { type: 'step', step_size: 3, gamma: 0.5 } },
      "schedule.step_size: not a field of the step schedule (expected one of type, every, gamma, warmup); step_size is PyTorch's or Keras's name; Miya's is \"every\"",
    ],
    ['T_max', { schedule: { type: 'cosine', T_max: 3 } }, 'Miya\'s is "steps"'],
    ['eta_min', { schedule: { type: 'cosine', steps: 3, eta_min: 0.001 } }, 'Miya\'s is "min"'],
    ['warmup_steps', { schedule: { type: 'cosine', steps: 3, warmup_steps: 2 } }, 'Miya\'s is "warmup"'],
    ['decay_rate', { schedule: { type: 'exponential', decay_rate: 0.9 } }, 'Miya\'s is "gamma"'],
    ['threshold', { schedule: { type: 'plateau', factor: 0.5, patience: 2, threshold: 0.01 } }, 'Miya\'s is "minDelta" (an absolute threshold)'],
    ['cooldown', { schedule: { type: 'plateau', factor: 0.5, patience: 2, cooldown: 1 } }, 'cooldown is not supported'],
    ['restore_best_weights', { earlyStopping: { patience: 2, restore_best_weights: true } }, 'Miya\'s is "restoreBest"'],
    ['monitor', { earlyStopping: { patience: 2, monitor: 'val_loss' } }, 'earlyStopping watches the held-out loss'],
    [
      'max_norm',
      { optimizer: { type: 'adamw', lr: 0.05, max_norm: 1 } },
      "optimizer.max_norm: not a field of the adamw optimizer (expected one of type, lr, beta1, beta2, eps, weightDecay, clipNorm, clipValue); max_norm is PyTorch's or Keras's name; Miya's is \"clipNorm\"",
    ],
    [
      'a schedule inside the optimizer',
      { optimizer: { type: 'sgd', lr: 0.05, schedule: { type: 'exponential', gamma: 0.9 } } },
      'optimizer.schedule: not a field of the sgd optimizer (expected one of type, lr, weightDecay, clipNorm, clipValue); schedule belongs at the top level of the spec, beside optimizer',
    ],
    [
      'earlyStopping: true',
      { earlyStopping: true },
      'earlyStopping: expected an object: {"patience": P} (the epochs without improvement to stop after), with minDelta and restoreBest if wanted, got true',
    ],
    ['a schedule by its name alone', { schedule: 'cosine' }, 'schedule: expected an object: {"type": "cosine", "steps": …, "min": …}, got "cosine"'],
    ['earlyStopping inside the optimizer', { optimizer: { type: 'sgd', lr: 0.05, earlyStopping: { patience: 2 } } }, 'earlyStopping belongs at the top level'],
  ];
  test.each(cases)('%s', (_name, change, message) => {
    expect(refusal({ ...good, ...change })).toContain(message);
  });
});

describe('settings that cannot be meant: refused naming the JSON path', () => {
  const good = csvSpec('meant', 2, 10, 2, {});
  test("adamw with lr·weightDecay ≥ 1 (every step would flip the parameters' sign)", () => {
    expect(refusal({ ...good, optimizer: { type: 'adamw', lr: 10, weightDecay: 1 } })).toBe(
      'optimizer.weightDecay: expected lr·weightDecay < 1 with lr the base rate, optimizer.lr (each step multiplies the parameters by 1 − lr·weightDecay = -9, as torch.optim.AdamW does), got 1',
    );
    expect(refusal({ ...good, optimizer: { type: 'sgd', lr: 2, weightDecay: 0.5 } })).toContain('optimizer.weightDecay: expected lr·weightDecay < 1');
    // adamw's default decay, 0.01, with a rate of 100
    expect(refusal({ ...good, optimizer: { type: 'adamw', lr: 100 } })).toContain('optimizer.weightDecay: expected lr·weightDecay < 1');
    expect(validateSpec({ ...good, optimizer: { type: 'adamw', lr: 0.5, weightDecay: 1.9 } }).optimizer.weightDecay).toBe(1.9);
    expect(validateSpec({ ...good, optimizer: { type: 'adamw', lr: 10, weightDecay: 0 } }).optimizer.weightDecay).toBe(0);
  });
  test("a cosine min above the rate (Keras's alpha, a fraction, written as min)", () => {
    expect(refusal({ ...good, optimizer: { type: 'adam', lr: 0.01 }, schedule: { type: 'cosine', steps: 10, min: 0.1 } })).toBe(
      "schedule.min: expected a rate ≤ optimizer.lr (0.01), the rate the cosine decays from (min is a rate, not a fraction of lr as Keras's alpha), got 0.1",
    );
    expect(validateSpec({ ...good, optimizer: { type: 'adam', lr: 0.01 }, schedule: { type: 'cosine', steps: 10, min: 0.01 } }).schedule).toMatchObject({
      min: 0.01,
    });
  });
});

describe('controls that cannot act in the run: said before it starts', () => {
  // 8 training samples in batches of 5: 2 steps an epoch
  const notices = async (rest: Record<string, unknown>) => {
    const said: string[] = [];
    await runSpec(csvSpec('notice', 3, 10, 2, rest), { backend: cpu, notice: (m) => said.push(m) });
    return said;
  };
  test('earlyStopping in a run shorter than an epoch: never watches anything', async () => {
    expect(await notices({ steps: 1, earlyStopping: { patience: 1 } })).toEqual([
      "earlyStopping: the run's 1 steps make 0 whole epochs of 2 steps: the held-out loss, watched after each whole epoch, is never seen",
    ]);
  });
  test('earlyStopping with a patience as long as the run: it will not stop', async () => {
    expect(await notices({ epochs: 3, earlyStopping: { patience: 3 } })).toEqual([
      "earlyStopping.patience 3: the run's 6 steps make 3 whole epochs of 2 steps; it stops after the best epoch and 3 more without an improvement, so this run will not stop early (it still ends with the best epoch's parameters)",
    ]);
    expect(await notices({ epochs: 4, earlyStopping: { patience: 3 } }), 'patience 3 can stop a run of 4 epochs').toEqual([]);
  });
  test('a plateau with a patience longer than the run: it will not lower the rate', async () => {
    expect(await notices({ epochs: 5, schedule: { type: 'plateau', factor: 0.5, patience: 4 } })).toEqual([
      "schedule.patience 4: the run's 10 steps make 5 whole epochs of 2 steps; the plateau lowers the rate after the best epoch and 5 more without an improvement, so it will not lower this run's rate",
    ]);
    expect(await notices({ epochs: 6, schedule: { type: 'plateau', factor: 0.5, patience: 4 } })).toEqual([]);
  });
});

describe("restoreBest: the checkpoint written at a run's last step already holds the parameters it ends with", () => {
  /** Every checkpoint the run writes, in order (a step's may be written twice). */
  async function saves(spec: RunSpec) {
    const all: { step: number; bytes: Uint8Array }[] = [];
    const r = await runSpec(spec, {
      backend: cpu,
      checkpoint: {
        every: 1,
        where: 'memory',
        save: async (bytes, step) => {
          all.push({ step, bytes });
        },
      },
    });
    return { r, all };
  }
  test.each([
    ['stopped early', { steps: 60, earlyStopping: { patience: 2, minDelta: 0.01 } }],
    ['at its last step, not stopped', { steps: 40, earlyStopping: { patience: 50 } }],
  ])('%s: a Ctrl-C during the restore leaves nothing else on disk', async (_name, rest) => {
    const spec = csvSpec('restore', 4, 24, 6, { optimizer: { type: 'adamw', lr: 0.2 }, shuffle: true, seed: 2, ...rest });
    const { r, all } = await saves(spec);
    const end = r.losses.length,
      es = r.earlyStopping!;
    expect(es.restored).toBe(true);
    expect(es.bestEpoch * 4, 'the best epoch is not the last').toBeLessThan(end);
    // the first checkpoint at the last step: a second Ctrl-C during the restore's own write leaves it
    const first = await decodeCheckpoint(all.find((s) => s.step === end)!.bytes, 'first');
    expect(Array.from(first.controls!.bestParams!)).toEqual(Array.from(first.params));
    const last = await decodeCheckpoint(all[all.length - 1].bytes, 'last');
    expect(Array.from(first.params), "the run's final checkpoint").toEqual(Array.from(last.params));
    // and resumed, it ends as the run did
    const again = await runSpec(spec, { backend: cpu, resume: { checkpoint: first, from: 'first' } });
    expect(again.params).toEqual(r.params);
    expect(again.earlyStopping).toEqual(es);
  });
});

test('restoreBest in a run cut short by `steps` (--steps): its checkpoint keeps the last parameters, and --resume ends bit for bit as the whole run', async () => {
  const spec = csvSpec('cut', 5, 24, 6, { optimizer: { type: 'adamw', lr: 0.2 }, shuffle: true, seed: 3, epochs: 10, earlyStopping: { patience: 50 } });
  const whole = await runSpec(spec, { backend: cpu });
  expect(whole.earlyStopping!.restored).toBe(true);
  expect(whole.earlyStopping!.bestEpoch, 'the best epoch is not the last').toBeLessThan(10);
  for (const at of [6, 8]) {
    // mid-epoch, and an epoch's end (4 steps an epoch)
    let saved: Uint8Array | undefined;
    const said: string[] = [];
    const part = await runSpec(spec, {
      backend: cpu,
      steps: at,
      notice: (m) => said.push(m),
      checkpoint: {
        every: 100,
        where: 'memory',
        save: async (bytes) => {
          saved = bytes;
        },
      },
    });
    expect(part.earlyStopping?.restored ?? false, `step ${at}: nothing put back yet`).toBe(false);
    expect(said).toContain(
      `earlyStopping.restoreBest: this run stops at step ${at} of the spec's 40 and keeps its last parameters, so that a resumed run continues it; the best epoch's are put back where the spec's run ends`,
    );
    const checkpoint = await decodeCheckpoint(saved!, `step ${at}`);
    const resumed = await runSpec(spec, { backend: cpu, resume: { checkpoint, from: `step ${at}` } });
    expect(resumed, `resumed at step ${at}`).toEqual(whole);
  }
});
