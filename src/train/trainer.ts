// The training loop: epochs of mini-batches (reshuffled each epoch when the spec asks, from the
// seed and the epoch number alone, so that a run resumed at any step takes the same batches),
// the loss read back asynchronously every few steps (the device is never waited on per step),
// a NaN or Inf loss stopped and named at once, and the held-out set evaluated after each epoch.
import { uniformInt } from 'pure-rand/distribution/uniformInt';
import { xoroshiro128plus } from 'pure-rand/generator/xoroshiro128plus';
import type { Backend } from '../backend.js';
import type { TuneStore } from '../webgpu/tuneCache.js';
import type { Datasets } from '../data/load.js';
import { NonFiniteError } from '../errors.js';
import type { RunSpec } from '../spec/types.js';
import { type Dataset, Session, type SessionState } from './session.js';

export interface Progress {
  step: number; steps: number; epoch: number; epochs: number;
  /** The training loss of the latest step read back. */
  loss: number;
  /** The latest held-out evaluation, once there is one. */
  test?: Evaluation;
  stepsPerSecond: number; etaSeconds: number;
}

/** Held-out loss; accuracy (argmax against argmax) only where the targets are one-hot classes. */
export interface Evaluation { loss: number; accuracy?: number; samples: number }

export interface TrainOptions {
  /** Read the loss back every this many steps (default 25) and report progress. */
  reportEvery?: number;
  onProgress?: (p: Progress) => void;
  /** Evaluate on the held-out set after every epoch (default true when there is one). */
  evaluateEachEpoch?: boolean;
  /** Called after every step has been recorded; a checkpoint hook, for one. */
  afterStep?: (step: number) => Promise<void> | void;
  /** Stops after the step in progress. */
  signal?: AbortSignal;
}

/** The sample order of an epoch: 0..n-1, or a seeded Fisher–Yates shuffle of it. */
export function epochOrder(n: number, shuffle: boolean, seed: number, epoch: number): Float64Array {
  const order = Float64Array.from({ length: n }, (_, i) => i);
  if (!shuffle) return order;
  const rng = xoroshiro128plus(seed * 1_000_003 + epoch + 1);
  for (let i = n - 1; i > 0; i--) {
    const j = uniformInt(rng, 0, i);
    [order[i], order[j]] = [order[j], order[i]];
  }
  return order;
}

export class Trainer<B> {
  readonly session: Session<B>;
  readonly steps: number;
  /** Steps done so far (a resumed run starts past 0). */
  step = 0;
  private evalSession?: Session<B>;
  private shuffle: boolean;

  constructor(readonly be: Backend<B>, readonly spec: RunSpec, readonly data: Datasets, steps?: number) {
    const batchSize = spec.batchSize ?? data.train.n;
    this.steps = steps ?? stepCount(spec, Math.ceil(data.train.n / Math.min(batchSize, data.train.n)));
    this.session = new Session(be, {
      model: spec.model, loss: spec.loss, optimizer: spec.optimizer, batchSize, seed: spec.seed ?? 0, historySize: this.steps,
    }, data.train);
    this.shuffle = spec.shuffle ?? false;
  }

  /**
   * Times the bit-neutral variants of each product a step runs and keeps the fastest, on backends
   * that have such variants (webgpu), using and adding to the choices kept in `store`; returns
   * how many products were timed.
   */
  async tune(log?: (line: string) => void, store?: TuneStore): Promise<number> {
    return this.be.tuneProducts ? this.be.tuneProducts(this.session.productsOfStep(), log, store) : 0;
  }

  get batchesPerEpoch(): number { return this.session.batches.length; }
  get epochs(): number { return Math.ceil(this.steps / this.batchesPerEpoch); }

  /** Runs the remaining steps; returns every step's training loss. */
  async train(opts: TrainOptions = {}): Promise<Float64Array> {
    const s = this.session, nb = this.batchesPerEpoch;
    const every = Math.max(1, opts.reportEvery ?? 25);
    const evalEach = (opts.evaluateEachEpoch ?? true) && !!this.data.test;
    let pending: Promise<void> | undefined;
    let test: Evaluation | undefined;
    const t0 = performance.now(), first = this.step;
    const report = (step: number, loss: number) => {
      const secs = (performance.now() - t0) / 1000;
      const rate = (step - first) / Math.max(secs, 1e-9);
      opts.onProgress?.({
        step, steps: this.steps, epoch: Math.floor((step - 1) / nb) + 1, epochs: this.epochs, loss, test,
        stepsPerSecond: rate, etaSeconds: (this.steps - step) / Math.max(rate, 1e-9),
      });
    };
    s.setOrder(epochOrder(this.data.train.n, this.shuffle, this.spec.seed ?? 0, Math.floor(this.step / nb)));
    let lastLoss = NaN;
    while (this.step < this.steps) {
      const i = this.step;
      const bi = i % nb;
      if (bi === 0 && i > first) s.setOrder(epochOrder(this.data.train.n, this.shuffle, this.spec.seed ?? 0, i / nb));
      s.step(s.batches[bi], i);
      this.step = i + 1;
      await opts.afterStep?.(this.step);
      const endOfEpoch = bi === nb - 1;
      if (this.step % every === 0 || this.step === this.steps || (endOfEpoch && evalEach)) {
        await pending; // at most one read in flight: the device runs ahead by `every` steps
        const at = this.step;
        pending = s.readLosses(at - 1, 1).then(([loss]) => {
          if (!Number.isFinite(loss)) throw new NonFiniteError(at, 'loss', loss);
          lastLoss = loss;
          report(at, loss);
        });
      }
      if (endOfEpoch && evalEach) {
        await pending; // this step's loss, read just above
        test = await this.evaluate();
        report(this.step, lastLoss);
      }
      if (opts.signal?.aborted) break;
    }
    await pending;
    const losses = await s.readLosses(0, this.step);
    const bad = losses.findIndex((l) => !Number.isFinite(l));
    if (bad >= 0) throw new NonFiniteError(bad + 1, 'loss', losses[bad]);
    return losses;
  }

  /** The state after the steps done so far, for a checkpoint. */
  snapshot(): Promise<SessionState> { return this.session.snapshot(this.step); }

  /** Continues from a snapshot taken after `state.losses.length` steps. */
  restore(state: SessionState): void {
    if (state.losses.length > this.steps) throw new Error(`restore: the checkpoint is at step ${state.losses.length}, past this run's ${this.steps} steps`);
    this.session.restore(state);
    this.step = state.losses.length;
  }

  /** ŷ for the first `count` held-out samples (at most one evaluation batch) under the current parameters. */
  async predict(count: number): Promise<Float64Array> {
    const test = this.data.test;
    if (!test) throw new Error('predict: this data set has no held-out samples');
    const e = this.evalSessionFor(test);
    this.be.copy(this.session.net.paramBuf, 0, e.net.paramBuf, 0, e.net.size);
    const b = e.batches[0];
    e.evaluate(b, 0);
    return (await e.readView(e.net.prediction(b.size))).subarray(0, Math.min(count, b.size) * test.outputs);
  }

  private evalSessionFor(test: Dataset): Session<B> {
    const batchSize = Math.min(test.n, 512);
    this.evalSession ??= new Session(this.be, {
      model: this.spec.model, loss: this.spec.loss, optimizer: this.spec.optimizer, batchSize, seed: 0, historySize: Math.ceil(test.n / batchSize),
    }, test);
    return this.evalSession;
  }

  /** Loss, and for one-hot targets accuracy (argmax of ŷ against argmax of y), of the current parameters on held-out data. */
  async evaluate(test: Dataset | undefined = this.data.test): Promise<Evaluation> {
    if (!test) throw new Error('evaluate: this data set has no held-out samples');
    const e = this.evalSessionFor(test);
    this.be.copy(this.session.net.paramBuf, 0, e.net.paramBuf, 0, e.net.size);
    let correct = 0;
    for (const b of e.batches) {
      e.evaluate(b, b.index);
      const yhat = await e.readView(e.net.prediction(b.size));
      correct += countCorrect(yhat, test.y.subarray(b.start * test.outputs, (b.start + b.size) * test.outputs), b.size, test.outputs);
    }
    const losses = await e.readLosses(0, e.batches.length);
    const loss = e.batches.reduce((sum, b, i) => sum + losses[i] * b.size, 0) / test.n;
    return oneHot(test.y, test.outputs) ? { loss, accuracy: correct / test.n, samples: test.n } : { loss, samples: test.n };
  }

  dispose(): void {
    this.session.dispose();
    this.evalSession?.dispose();
  }
}

/** Whether every row of y is a class in one-hot form (one 1, the rest 0, at least two columns): what accuracy needs. */
export function oneHot(y: ArrayLike<number>, cols: number): boolean {
  if (cols < 2) return false;
  for (let r = 0; r < y.length; r += cols) {
    let ones = 0;
    for (let c = 0; c < cols; c++) {
      const v = y[r + c];
      if (v === 1) ones++;
      else if (v !== 0) return false;
    }
    if (ones !== 1) return false;
  }
  return true;
}

/** Rows whose largest prediction is in the same column as the largest target. */
export function countCorrect(yhat: ArrayLike<number>, y: ArrayLike<number>, rows: number, cols: number): number {
  let correct = 0;
  for (let r = 0; r < rows; r++) {
    let p = 0, t = 0;
    for (let c = 1; c < cols; c++) {
      if (yhat[r * cols + c] > yhat[r * cols + p]) p = c;
      if (y[r * cols + c] > y[r * cols + t]) t = c;
    }
    if (p === t) correct++;
  }
  return correct;
}

/** The number of steps a spec asks for: `steps`, else `epochs` passes over the data, else one. */
export function stepCount(spec: RunSpec, batches: number): number {
  return spec.steps ?? (spec.epochs !== undefined ? spec.epochs * batches : 1);
}
