// runSpec: the library function behind `miya train --json`. Same result in the browser and Node.
import type { Backend } from '../backend.js';
import { type BackendName, createBackend } from '../backends.js';
import type { Datasets } from '../data/dataset.js';
import { loadDataset } from '../data/load.js';
import { RunError, SpecError } from '../errors.js';
import { type Checkpoint, requireResumable, requireSameVocabulary } from '../io/checkpoint.js';
import type { TuneStore } from '../tuneStore.js';
import { validateSpec } from '../spec/validate.js';
import { guardFinite, type ParamsJson, shapeParams } from './result.js';
import { type CheckpointOptions, Checkpointer } from './checkpointing.js';
import { type Evaluation, type Progress, Trainer } from './trainer.js';
import type { EarlyStoppingResult, EpochRecord } from './controls.js';
export { stepCount } from './trainer.js';

export interface RunOptions {
  backend?: BackendName | Backend;
  /** overrides the spec's steps */
  steps?: number;
  notice?: (message: string) => void;
  onProgress?: (p: Progress) => void;
  /** Called once before the first step: where the run starts (past 0 when resumed), its steps and epochs. */
  onStart?: (at: { step: number; steps: number; epoch: number; epochs: number }) => void;
  /** steps between loss read-backs and progress reports */
  reportEvery?: number;
  /** Continue from this checkpoint (`from` names it in messages); its model must be the spec's. */
  resume?: { checkpoint: Checkpoint; from: string };
  /** Save checkpoints while training. */
  checkpoint?: CheckpointOptions;
  /**
   * Stops after the step in progress (the result then has fewer losses than steps asked for, and
   * no held-out evaluation: a stop should be prompt); a checkpoint is written at that step.
   */
  signal?: AbortSignal;
  /**
   * Before training, time each product's variants on this device and keep the fastest (webgpu;
   * as PyTorch's cudnn.benchmark). The variants sum in the same order: the result does not change.
   */
  tune?: boolean;
  /** With `tune`: where tuned choices are kept between runs, per GPU (webgpu/tuneCache.ts). */
  tuneStore?: TuneStore;
  /** Train on these samples instead of loading the spec's `data` (trainInWorker's arrays from the page). */
  data?: Datasets;
  /** Called after each step is recorded (tests use it to inject faults). */
  afterStep?: (step: number, be: Backend) => Promise<void> | void;
  /** Evaluate the held-out set after every epoch, for the result's history (default: when onProgress is given; always when the spec's plateau or earlyStopping watches it). */
  evaluateEachEpoch?: boolean;
}

export interface RunResult {
  backend: string;
  device: string;
  losses: number[];
  params: ParamsJson;
  grads: ParamsJson;
  /** Only when the data has a held-out test set (MNIST, or CSV with data.test): its loss, and accuracy for one-hot targets, after training. */
  test?: Evaluation;
  /** Every step's learning rate (the schedule's). */
  lrs: number[];
  /** Per epoch begun: mean training loss, held-out loss and accuracy where evaluated, the rate of its last step. */
  history: EpochRecord[];
  /** With earlyStopping: the best epoch, and where the run stopped. */
  earlyStopping?: EarlyStoppingResult;
}

/**
 * Trains the spec (or, with `resume` and no spec, the checkpoint's own spec) and returns the
 * result. With `checkpoint`, a failed run says which checkpoint it left behind.
 */
export async function runSpec(raw: unknown, opts: RunOptions = {}): Promise<RunResult> {
  const resume = opts.resume;
  const spec = raw === undefined && resume ? resume.checkpoint.spec : validateSpec(raw);
  if (resume) requireResumable(resume.checkpoint, spec, resume.from);
  const data = opts.data ?? (await loadDataset(spec));
  if (resume) requireSameVocabulary(resume.checkpoint, data.train.vocabulary, resume.from);
  const be = typeof opts.backend === 'object' ? opts.backend : await createBackend(opts.backend ?? 'auto', { notice: opts.notice });
  const trainer = new Trainer(be, spec, data, opts.steps);
  for (const m of trainer.controls.notices(trainer.steps, trainer.batchesPerEpoch, trainer.specSteps)) opts.notice?.(m);
  const saver = opts.checkpoint && new Checkpointer(trainer, opts.checkpoint);
  try {
    if (resume) {
      const at = resume.checkpoint.step;
      if (at > trainer.steps) throw new SpecError('steps', `${resume.from} is at step ${at}; expected a run of at least that many steps, got ${trainer.steps}`);
      if (resume.checkpoint.dtype === 'F64' && be.precision !== 'f64')
        opts.notice?.(`${resume.from}: float64 values from the cpu backend, rounded to float32 for ${be.name}`);
      trainer.restore(resume.checkpoint);
    }
    if (opts.tune && be.tuneProducts) await trainer.tune(opts.notice, opts.tuneStore);
    else if (opts.tune) opts.notice?.(`tune: nothing to tune on the ${be.name} backend`);
    const afterStep = async (step: number) => {
      await saver?.afterStep(step);
      await opts.afterStep?.(step, be);
    };
    const epochs = trainer.epochs;
    opts.onStart?.({ step: trainer.step, steps: trainer.steps, epoch: Math.min(Math.floor(trainer.step / trainer.batchesPerEpoch) + 1, epochs), epochs });
    let trained: Float64Array;
    try {
      trained = await trainer.train({
        onProgress: opts.onProgress,
        reportEvery: opts.reportEvery,
        evaluateEachEpoch: opts.evaluateEachEpoch ?? !!opts.onProgress,
        afterStep,
        signal: opts.signal,
      });
      await saver?.save(trainer.controls.restored);
    } catch (e) {
      throw saver ? withCheckpointNote(e, saver) : e;
    }
    const losses = Array.from(trained);
    const session = trainer.session;
    const params = await session.readParams();
    const grads = await session.readGrads();
    guardFinite(trainer.step, session.net.params, grads, '.grad');
    guardFinite(trainer.step, session.net.params, params);
    const result: RunResult = {
      backend: be.name,
      device: be.device,
      losses,
      params: shapeParams(spec.model, session.net.params, params),
      grads: shapeParams(spec.model, session.net.params, grads),
      lrs: Array.from(trainer.controls.lrs.values()),
      history: trainer.controls.history(trained, trainer.batchesPerEpoch),
    };
    const stopping = trainer.controls.result();
    if (stopping) result.earlyStopping = stopping;
    if (data.test && !opts.signal?.aborted) result.test = await trainer.evaluate();
    return result;
  } finally {
    trainer.dispose();
    if (typeof opts.backend !== 'object') {
      await be.idle?.();
      be.dispose();
    }
  }
}

/** A failed run's error, telling the user which checkpoint is left to resume from. */
function withCheckpointNote(e: unknown, saver: Checkpointer<unknown>): unknown {
  if (!(e instanceof Error) || e instanceof SpecError) return e;
  const where = saver.opts.where;
  const note = saver.lastSaved === undefined ? `this run wrote no checkpoint to ${where}` : `the last checkpoint, step ${saver.lastSaved}, is kept in ${where}`;
  const err = new RunError(`${e.message}; ${note}`);
  err.cause = e;
  return err;
}
