// Runs one case on one contender: validate against the float64 reference first, then time
// (a warm-up, several repetitions of many enqueued launches, the median).
import { CpuBackend } from '../src/cpu/backend.js';
import { initialParams } from '../src/nn/init.js';
import { paramLayout } from '../src/nn/layout.js';
import { normRelError } from '../src/verify/compare.js';
import type { BenchCase, MatmulCase, StepCase } from './cases.js';
import type { Contender, StepSetup, Timed } from './contender.js';
import { caseData, random, validationSamples } from './data.js';
import { miyaContender } from './miya.js';
import { type GruCell, mse, referenceOutputs } from './recurrentRef.js';
import type { SequentialSpec } from '../src/spec/types.js';

export interface BenchResult {
  suite: string;
  case: string;
  backend: string;
  device: string;
  ms?: number;
  msPerStep?: number;
  gflops: number;
  validation: string;
  /**
   * Host time of one launch: recording and submitting it, without waiting for it (the median
   * repetition's). On a GPU it overlaps the device's work; it bounds the time of small steps.
   */
  hostMs?: number;
  /** A training step's device memory in bytes, by kind (Miya's backends). */
  memory?: Record<string, number>;
}

/**
 * The median time of one launch, and the host's share of it (recording and submitting, before the
 * wait). Each repetition enqueues many launches and waits once, so that per-launch overheads
 * overlap as in training and the wait's own latency is spread thin: about 300 ms of work per
 * repetition, at most `most` launches, judged from one launch after a warm-up.
 */
async function time(t: Timed, most: number, reps: number): Promise<{ ms: number; hostMs: number }> {
  t.run();
  await t.sync();
  const t0 = performance.now();
  t.run();
  await t.sync();
  const once = performance.now() - t0;
  const launches = Math.max(1, Math.min(most, Math.round(300 / Math.max(once, 1e-3))));
  const times: [number, number][] = [];
  for (let r = 0; r < reps; r++) {
    const t1 = performance.now();
    for (let i = 0; i < launches; i++) t.run();
    const host = performance.now() - t1;
    await t.sync();
    times.push([(performance.now() - t1) / launches, host / launches]);
  }
  const [ms, hostMs] = times.sort((a, b) => a[0] - b[0])[Math.floor(times.length / 2)];
  return { ms, hostMs };
}

async function benchMatmul(who: Contender, c: MatmulCase, reps: number): Promise<BenchResult> {
  const a = random(c.M * c.K, 1),
    b = random(c.K * c.N, 2);
  const mm = who.matmul(c, a, b);
  try {
    const note = await mm.prepare?.();
    mm.run();
    await mm.sync();
    // float64 spot check of the first rows: every column, the full sum over k
    const rows = Math.min(c.M, 8);
    const got = await mm.rows(rows);
    const ref = new Float64Array(rows * c.N);
    for (let m = 0; m < rows; m++) {
      for (let k = 0; k < c.K; k++) {
        const x = c.transA ? a[k * c.M + m] : a[m * c.K + k];
        for (let n = 0; n < c.N; n++) ref[m * c.N + n] += x * (c.transB ? b[n * c.K + k] : b[k * c.N + n]);
      }
    }
    const err = normRelError(got, ref);
    if (!(err < 1e-4)) throw new Error(`matmul ${c.name} on ${who.name}: wrong result (relative error ${err})`);
    const { ms, hostMs } = await time(mm, who.fast ? 200 : 20, reps);
    return {
      suite: c.suite,
      case: c.name,
      backend: who.name,
      device: who.device,
      ms,
      hostMs,
      gflops: (2 * c.M * c.N * c.K) / ms / 1e6,
      validation: `rows 0-${rows - 1} vs float64: ${err.toExponential(1)}${note ? '; ' + note : ''}`,
    };
  } finally {
    mm.dispose();
  }
}

const references = new Map<string, number>();

function setup(c: StepCase, samples?: number): StepSetup {
  const layout = paramLayout(c.spec.model);
  return { c, layout, init: initialParams(c.spec.model, layout, c.spec.seed!), data: caseData(c, samples) };
}

/** The float64 loss of the first samples under the initial parameters, once per case. */
async function referenceLoss(c: StepCase): Promise<number> {
  if (!references.has(c.name)) {
    const cpu = miyaContender(new CpuBackend());
    references.set(c.name, await cpu.validationLoss(setup(c, validationSamples(c))));
  }
  return references.get(c.name)!;
}

/** The recurrent suites' validation tolerance: relative error of the outputs (‖·‖) and of the loss, float32 against float64. */
export const RECURRENT_TOLERANCE = 1e-4;
const loopOutputs = new Map<string, Float64Array>();

/**
 * The recurrent suites (lstm, gru): the contender's outputs and loss on the first samples, under
 * the weights every contender is given, against float64 loops of the cell it computes
 * (recurrentRef.ts: PyTorch's GRU for Miya, Keras's reset_after = false for TF.js). Returns the
 * report's words; throws where either is off by more than RECURRENT_TOLERANCE.
 */
export async function validateRecurrent(who: Contender, c: StepCase): Promise<string> {
  const v = validationSamples(c),
    s = setup(c, v);
  const cell: GruCell = c.suite === 'gru' ? (who.gruCell ?? 'pytorch') : 'pytorch';
  const key = `${c.suite} ${c.name} ${cell}`;
  if (!loopOutputs.has(key)) loopOutputs.set(key, referenceOutputs(c.spec.model as SequentialSpec, s.layout, s.init, s.data.x, v, s.data.steps, cell));
  const want = loopOutputs.get(key)!,
    wantLoss = mse(want, s.data.y);
  const got = await who.validationOutputs(s),
    gotLoss = await who.validationLoss(s);
  const eOut = normRelError(got, want),
    eLoss = Math.abs(gotLoss - wantLoss) / Math.abs(wantLoss);
  const what = `outputs and loss on ${v} sample${v === 1 ? '' : 's'} vs float64 loops${cell === 'resetBefore' ? " of Keras's GRU cell" : ''}`;
  if (!(eOut < RECURRENT_TOLERANCE && eLoss < RECURRENT_TOLERANCE)) {
    throw new Error(
      `${c.suite} ${c.name} on ${who.name}: ${what} differ by ${eOut.toExponential(1)} and ${eLoss.toExponential(1)} (relative; at most ${RECURRENT_TOLERANCE} allowed): loss ${gotLoss}, float64 ${wantLoss}`,
    );
  }
  return `${what}: ${eOut.toExponential(1)}, ${eLoss.toExponential(1)}`;
}

async function benchStep(who: Contender, c: StepCase, reps: number): Promise<BenchResult> {
  const v = validationSamples(c);
  let checked: string;
  if (c.suite === 'lstm' || c.suite === 'gru') checked = await validateRecurrent(who, c);
  else {
    const want = await referenceLoss(c);
    const got = await who.validationLoss(setup(c, v));
    const e = Math.abs(got - want) / Math.abs(want);
    if (!(e < 1e-4)) throw new Error(`${c.name} on ${who.name}: loss on ${v} sample${v === 1 ? '' : 's'} ${got}, float64 reference ${want}`);
    checked = `loss on ${v} sample${v === 1 ? '' : 's'} vs float64: ${e.toExponential(1)}`;
  }
  const step = who.step(setup(c));
  try {
    const note = await step.prepare?.();
    step.run();
    await step.sync();
    const first = await step.firstLoss();
    if (!Number.isFinite(first)) throw new Error(`${c.name} on ${who.name}: first training loss is ${first}`);
    const { ms, hostMs } = await time(step, who.fast ? Math.max(c.steps, 50) : 20, reps);
    return {
      suite: c.suite,
      case: c.name,
      backend: who.name,
      device: who.device,
      msPerStep: ms,
      hostMs,
      gflops: c.flopsPerStep / ms / 1e6,
      validation: `${checked}; first step loss ${first.toPrecision(6)}${note ? '; ' + note : ''}`,
      ...(step.memory ? { memory: step.memory() } : {}),
    };
  } finally {
    step.dispose();
  }
}

export async function runCase(who: Contender, c: BenchCase, reps: number): Promise<BenchResult> {
  return 'M' in c ? benchMatmul(who, c, reps) : benchStep(who, c, reps);
}
