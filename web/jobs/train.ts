// The Train tab's run, without the page: it loads the data, trains (resuming from the model's
// checkpoint in IndexedDB, tuning first when asked), keeps checkpoints in IndexedDB, evaluates and
// predicts, and tells the page what happens as events. It runs in the playground's worker
// (web/worker.ts), or on the page itself for comparison (TrainRun.where); the page draws.
// A character model (text data) is shown by text it generates: every `sampleEvery` steps and at
// the end, the library's sampleText on the current parameters, with one seed throughout, so that
// what changes between two samples is the model.
import {
  Checkpointer,
  decodeCheckpoint,
  type EarlyStoppingResult,
  type EpochRecord,
  type Evaluation,
  loadDataset,
  predict,
  type Progress,
  requireResumable,
  requireSameVocabulary,
  sampleText,
  Trainer,
  validateSpec,
} from '../../src/index.js';
import type { JobContext } from '../../src/worker/jobs.js';
import { backendNamed } from '../backend.js';
import { storeCheckpoint, storedCheckpoint } from '../checkpoints.js';
import { chosenFileReader } from '../ownSpec.js';
import { SHOWN } from '../predictions.js';
import { browserTuneStore } from '../tuneStore.js';

const CHECKPOINT_EVERY = 100;
/** A character model's samples: every this many steps (by default), this long, at this temperature. */
export const SAMPLE_EVERY = 25,
  SAMPLE_LENGTH = 160,
  SAMPLE_TEMPERATURE = 0.7;
/** MNIST runs show this many test digits with their predictions. */
export const DIGITS = 24;

export interface TrainArgs {
  /** One of the page's models, or the name of the user's own spec (its checkpoints are kept under it). */
  model: string;
  /** The run spec (the page's own for its models). */
  spec: unknown;
  /** 'webgpu' or 'cpu', as the page decided (a page without WebGPU asks for 'cpu'). */
  backend: string;
  steps?: number;
  reportEvery?: number;
  /** The data files the spec names, by file name. */
  files?: Record<string, string>;
  tune?: boolean;
  resume?: boolean;
  checkpointEvery?: number;
  /** A character model: a sample every this many steps (default SAMPLE_EVERY) and at the end; its length in characters. */
  sampleEvery?: number;
  sampleLength?: number;
}

/** Text a character model generated after `step` steps (`restored`: from the best epoch's parameters, which early stopping put back at the end). */
export interface Sample {
  step: number;
  text: string;
  restored?: boolean;
}

export type TrainEvent =
  | { type: 'status'; text: string }
  | { type: 'tuned'; line: string }
  | { type: 'start'; backend: string; device: string }
  | { type: 'progress'; progress: Progress }
  | { type: 'sample'; sample: Sample }
  | { type: 'saved'; step: number };

/** What the page shows after a run: test digits with the model's guesses, or targets beside predictions. */
export type Shown =
  | { kind: 'digits'; pixels: Float64Array; rows: number; guesses: number[]; truths: number[] }
  | { kind: 'table'; yhat: Float64Array; y: Float64Array; rows: number; outputs: number };

export interface TrainOutcome {
  backend: string;
  device: string;
  /** The steps done, of `totalSteps`. */
  steps: number;
  totalSteps: number;
  losses: number[];
  seconds: number;
  stopped: boolean;
  test?: Evaluation;
  mnist: boolean;
  tuned: string[];
  shown?: Shown;
  /** Every step's learning rate (the schedule's), and per epoch the mean loss, held-out loss and rate (as `train --json`). */
  lrs: number[];
  history: EpochRecord[];
  batchesPerEpoch: number;
  /** With earlyStopping in the spec: the best epoch, where the run stopped, whether the best parameters were put back. */
  earlyStopping?: EarlyStoppingResult;
  /** A character model's samples, in the order drawn. */
  samples: Sample[];
}

const argmax = (v: ArrayLike<number>, o: number, k: number) => {
  let best = 0;
  for (let c = 1; c < k; c++) if (v[o + c] > v[o + best]) best = c;
  return best;
};

export async function trainJob(r: TrainArgs, ctx: JobContext<TrainEvent>): Promise<TrainOutcome> {
  const { signal, emit } = ctx;
  const spec = validateSpec(r.spec);
  const mnist = 'dataset' in spec.data,
    text = 'text' in spec.data;
  emit({ type: 'status', text: mnist ? 'Loading MNIST…' : 'Loading the data…' });
  const data = await loadDataset(spec, { readText: r.files && chosenFileReader(r.files, text ? 'data.text' : 'data.csv') });
  const be = await backendNamed(r.backend);
  const trainer = new Trainer(be, spec, data, r.steps);
  const saver = new Checkpointer(trainer, {
    every: r.checkpointEvery ?? CHECKPOINT_EVERY,
    where: 'IndexedDB',
    save: async (bytes, step) => {
      await storeCheckpoint(r.model, bytes, step);
      emit({ type: 'saved', step });
    },
  });
  const t0 = performance.now();
  const outcome = (losses: Float64Array, stopped: boolean, extra: Partial<TrainOutcome> = {}): TrainOutcome => ({
    backend: be.name,
    device: be.device,
    steps: trainer.step,
    totalSteps: trainer.steps,
    losses: Array.from(losses),
    seconds: (performance.now() - t0) / 1000,
    stopped,
    mnist,
    tuned,
    samples,
    lrs: Array.from(trainer.controls.lrs.values()),
    history: trainer.controls.history(losses, trainer.batchesPerEpoch),
    batchesPerEpoch: trainer.batchesPerEpoch,
    earlyStopping: trainer.controls.result(),
    ...extra,
  });
  const tuned: string[] = [],
    samples: Sample[] = [];
  const vocabulary = data.train.vocabulary;
  const sampleEvery = Math.max(1, r.sampleEvery ?? SAMPLE_EVERY);
  // the same seed every time (the spec's): two samples differ because the parameters do
  const sample = async () => {
    const params = await trainer.session.readParams();
    const s: Sample = {
      step: trainer.step,
      text: await sampleText(
        be,
        { spec, params, vocabulary },
        { length: r.sampleLength ?? SAMPLE_LENGTH, temperature: SAMPLE_TEMPERATURE, seed: spec.seed ?? 0 },
      ),
    };
    if (trainer.controls.restored) s.restored = true;
    samples.push(s);
    emit({ type: 'sample', sample: s });
  };
  const afterStep = async (step: number) => {
    await saver.afterStep(step);
    if (text && step % sampleEvery === 0 && !signal.aborted) await sample();
  };
  try {
    if (r.resume) {
      const stored = await storedCheckpoint(r.model);
      if (!stored) throw new Error(`no checkpoint of ${r.model} in this browser yet: train first`);
      const ckpt = await decodeCheckpoint(stored.bytes, `the stored ${r.model} checkpoint`);
      requireResumable(ckpt, spec, `the stored ${r.model} checkpoint`);
      requireSameVocabulary(ckpt, vocabulary, `the stored ${r.model} checkpoint`);
      trainer.restore(ckpt);
      saver.lastSaved = ckpt.step;
    }
    if (r.tune && be.tuneProducts) {
      emit({ type: 'status', text: "Tuning the step's products on this GPU…" });
      await trainer.tune((line) => {
        tuned.push(line);
        emit({ type: 'tuned', line });
      }, browserTuneStore);
    }
    emit({ type: 'start', backend: be.name, device: be.device });
    const onProgress = (progress: Progress) => {
      if (!signal.aborted) emit({ type: 'progress', progress });
    };
    // (the trainer gives the event loop a turn every few ms of work, so Stop is taken at once, on the cpu backend too)
    const losses = await trainer.train({ onProgress, reportEvery: r.reportEvery ?? 10, signal, afterStep });
    if (signal.aborted && trainer.step < trainer.steps) {
      // as the CLI's Ctrl-C: the steps done so far are kept for Resume (nothing, before the first step)
      if (losses.length > 0) await saver.save();
      return outcome(losses, true);
    }
    await saver.save();
    const test = data.test && (await trainer.evaluate());
    const done = (shown?: Shown) => outcome(losses, false, { test, shown });
    if (text) {
      // the text of the parameters the run ends with (the best epoch's, where early stopping restored them)
      const last = samples.at(-1);
      if (last?.step !== trainer.step || (trainer.controls.restored && !last.restored)) await sample();
      return done();
    }
    if (!mnist) {
      const d = data.train,
        k = Math.min(SHOWN, d.n);
      const yhat = await predict(be, spec, { n: k, steps: d.steps, x: d.x.subarray(0, k * d.steps * d.features) }, await trainer.session.readParams());
      return done({ kind: 'table', yhat: Float64Array.from(yhat), y: d.y.slice(0, k * d.outputs), rows: k, outputs: d.outputs });
    }
    const yhat = await trainer.predict(DIGITS);
    const t = data.test!;
    const guesses = Array.from({ length: DIGITS }, (_v, i) => argmax(yhat, i * 10, 10));
    const truths = Array.from({ length: DIGITS }, (_v, i) => argmax(t.y, i * 10, 10));
    return done({ kind: 'digits', pixels: t.x.slice(0, DIGITS * 784), rows: t.steps, guesses, truths });
  } finally {
    trainer.dispose();
    if (be.name === 'cpu') be.dispose();
  }
}
