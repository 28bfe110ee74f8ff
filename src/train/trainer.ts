// The training loop: epochs of mini-batches (reshuffled each epoch when the spec asks, from the
// seed and the epoch number alone, so that a run resumed at any step takes the same batches),
// the loss read back asynchronously every few steps (the device is never waited on per step),
// a NaN or Inf loss stopped and named at once, and the held-out set evaluated after each epoch.
// Losses go through a ring of device slots into a host history that grows with the steps done,
// so a run's memory does not depend on how many steps it asks for. The loop stays interruptible:
// it hands the event loop a turn every few milliseconds of work (a SIGINT handler, a page's
// buttons), and on a GPU it records only a fraction of a second of work ahead of the device,
// so that a stop request is honoured within about a step, not after a queue of them.
import { uniformInt } from 'pure-rand/distribution/uniformInt';
import { xoroshiro128plus } from 'pure-rand/generator/xoroshiro128plus';
import type { Backend } from '../backend.js';
import type { TuneStore } from '../tuneStore.js';
import { NonFiniteError, SpecError } from '../errors.js';
import type { RunSpec } from '../spec/types.js';
import type { Dataset, Datasets } from '../data/dataset.js';
import { classIndexCorrect } from './classAccuracy.js';
import { LossHistory, Session, type SessionState } from './session.js';
import { RunControls } from './controls.js';
import { LookAhead } from './lookAhead.js';
import { batchWithinShards } from './shards.js';

/** Loss slots on the device: the ring the host history is drained from (reads come at least every `reportEvery` steps). */
export const HISTORY_RING = 4096;
/** Longest stretch of work between turns of the event loop, in ms. */
const YIELD_MS = 10;

const noop = () => {};

/**
 * One turn of the event loop: signals, timers, I/O and a page's clicks are handled. setImmediate
 * in Node; in a page or worker a MessageChannel message (a 0 ms timer would wait ≥ 4 ms once nested).
 */
export function yieldToEventLoop(): Promise<void> {
  const g = globalThis as { setImmediate?: (f: () => void) => unknown };
  if (g.setImmediate) return new Promise((done) => g.setImmediate!(done));
  if (typeof MessageChannel === 'undefined') return new Promise((done) => setTimeout(done, 0));
  return new Promise((done) => {
    const ch = new MessageChannel();
    ch.port1.onmessage = () => {
      ch.port1.close();
      done();
    };
    ch.port2.postMessage(null);
  });
}

export interface Progress {
  step: number;
  steps: number;
  epoch: number;
  epochs: number;
  /** The training loss of the latest step read back. */
  loss: number;
  /** The learning rate of the latest step recorded (the schedule's). */
  lr: number;
  /** The latest held-out evaluation, once there is one. */
  test?: Evaluation;
  stepsPerSecond: number;
  etaSeconds: number;
}

/** Held-out loss; accuracy (argmax against argmax) only where the targets are one-hot classes. */
export interface Evaluation {
  loss: number;
  accuracy?: number;
  samples: number;
}

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
  /**
   * The step the spec's own run ends at (its steps or epochs; this run's `steps` when more): where
   * restoreBest puts the best parameters back unless early stopping ends the run first. A run cut
   * shorter (a smaller `steps`, --steps) keeps its last parameters, so that --resume continues it.
   */
  readonly specSteps: number;
  /** Steps done so far (a resumed run starts past 0). */
  step = 0;
  /** The losses of the steps done and read back so far (the first `step` once a train() has returned). */
  readonly history = new LossHistory();
  /** Steps whose losses have been asked of the device (≥ history.length while a read is in flight). */
  private asked = 0;
  /** The latest read of losses into `history`, in order after the ones before it. */
  private reading: Promise<void> = Promise.resolve();
  private evalSession?: Session<B>;
  private shuffle: boolean;
  /** The schedule's rates, the plateau and early stopping (src/train/controls.ts). */
  readonly controls: RunControls<B>;

  /** dataFloats: the most floats a data buffer may hold, past which samples go in shards (default: the backend's bufferLimit; tests lower it). */
  constructor(
    readonly be: Backend<B>,
    readonly spec: RunSpec,
    readonly data: Datasets,
    steps?: number,
    private dataFloats?: number,
  ) {
    // validateSpec refuses these for a spec's data; samples handed over by a caller (a page's) may lack a held-out set too
    if ((spec.schedule?.type === 'plateau' || spec.earlyStopping) && !data.test) {
      throw new SpecError(spec.earlyStopping ? 'earlyStopping' : 'schedule', 'expected a held-out set to watch; this data has none');
    }
    const batchSize = spec.batchSize ?? data.train.n;
    this.steps = steps ?? stepCount(spec, Math.ceil(data.train.n / Math.min(batchSize, data.train.n)));
    this.specSteps = Math.max(this.steps, stepCount(spec, Math.ceil(data.train.n / Math.min(batchSize, data.train.n))));
    this.session = new Session(
      be,
      {
        model: spec.model,
        loss: spec.loss,
        optimizer: spec.optimizer,
        batchSize,
        seed: spec.seed ?? 0,
        historySize: Math.min(this.steps, HISTORY_RING),
        shuffle: spec.shuffle ?? false,
        dataFloats,
      },
      data.train,
    );
    this.shuffle = spec.shuffle ?? false;
    const net = this.session.net;
    const opt = this.session.opt;
    this.controls = new RunControls(be, spec, net.paramBuf, net.size, () => opt.config.lr);
    opt.lrOf = (t) => this.controls.lrAt(t);
  }

  /**
   * Times the bit-neutral variants of each product a step runs and keeps the fastest, on backends
   * that have such variants (webgpu), using and adding to the choices kept in `store`; returns
   * how many products were timed.
   */
  async tune(log?: (line: string) => void, store?: TuneStore): Promise<number> {
    return this.be.tuneProducts ? this.be.tuneProducts(this.session.productsOfStep(), log, store) : 0;
  }

  get batchesPerEpoch(): number {
    return this.session.batches.length;
  }
  get epochs(): number {
    return Math.ceil(this.steps / this.batchesPerEpoch);
  }

  /**
   * Asks the device for the losses of the steps up to `upTo` not asked for yet and appends them to
   * `history` when they come, in order; a NaN or Inf among them stops the run naming its step.
   * The read is issued now (before any later step is recorded), so the ring cannot be overwritten
   * under it as long as reads come at most HISTORY_RING steps apart.
   */
  private collect(upTo: number): Promise<void> {
    const from = this.asked;
    if (upTo > from) {
      this.asked = upTo;
      const read = this.session.readLosses(from, upTo - from);
      this.reading = Promise.all([this.reading, read]).then(([, losses]) => {
        const bad = losses.findIndex((l) => !Number.isFinite(l));
        if (bad >= 0) throw new NonFiniteError(from + bad + 1, 'loss', losses[bad]);
        this.history.push(losses);
      });
      this.reading.catch(noop); // awaited by whoever needs it; not an unhandled rejection meanwhile
    }
    return this.reading;
  }

  /** Runs the remaining steps; returns every step's training loss. */
  async train(opts: TrainOptions = {}): Promise<Float64Array> {
    const s = this.session,
      nb = this.batchesPerEpoch,
      signal = opts.signal;
    // a read at least every ring's worth of steps, so that no loss is overwritten before it is read
    const every = Math.min(Math.max(1, opts.reportEvery ?? 25), s.cfg.historySize);
    const controls = this.controls;
    // the plateau and early stopping watch every epoch's held-out loss, whatever the caller asked
    const evalEach = ((opts.evaluateEachEpoch ?? true) || controls.needsEvaluation) && !!this.data.test;
    let pending: Promise<void> | undefined;
    let test: Evaluation | undefined;
    let reported = -1;
    const t0 = performance.now(),
      first = this.step;
    const report = (step: number, loss: number) => {
      reported = step;
      const secs = (performance.now() - t0) / 1000;
      const rate = (step - first) / Math.max(secs, 1e-9);
      opts.onProgress?.({
        step,
        steps: this.steps,
        epoch: Math.floor((step - 1) / nb) + 1,
        epochs: this.epochs,
        loss,
        test,
        lr: controls.lrs.last,
        stepsPerSecond: rate,
        etaSeconds: (this.steps - step) / Math.max(rate, 1e-9),
      });
    };
    const ahead = new LookAhead(this.be, every, first);
    let lastYield = performance.now();
    // sharded data (src/train/shards.ts) orders its own epochs, batch by batch
    if (!s.shards) s.setOrder(epochOrder(this.data.train.n, this.shuffle, this.spec.seed ?? 0, Math.floor(this.step / nb)));
    while (this.step < this.steps && !signal?.aborted && !controls.stopped) {
      const i = this.step;
      const bi = i % nb;
      if (bi === 0 && i > first && !s.shards) s.setOrder(epochOrder(this.data.train.n, this.shuffle, this.spec.seed ?? 0, i / nb));
      await ahead.room(i);
      if (signal?.aborted) break; // asked while waiting for the device: this step has not begun
      await s.shards?.feed(s.batches.at(bi), Math.floor(i / nb));
      controls.recordStep(i);
      s.step(s.batches.at(bi), i);
      this.step = i + 1;
      ahead.recorded(this.step);
      const endOfEpoch = bi === nb - 1;
      if (this.step % every === 0 || this.step === this.steps || (endOfEpoch && evalEach)) {
        await pending; // at most one read in flight: the device runs ahead by `every` steps at most
        const at = this.step;
        pending = this.collect(at).then(() => report(at, this.history.last));
        pending.catch(noop);
      }
      if (endOfEpoch && evalEach) {
        await pending; // this step's loss, read just above
        // not cut short by a stop when the controls need it: a checkpoint at this step must hold the epoch's outcome
        const ev = await this.evaluate(this.data.test, controls.needsEvaluation ? undefined : signal);
        test = ev ?? test;
        controls.endOfEpoch(this.step / nb, ev);
        report(this.step, this.history.last);
      }
      // restoreBest before the run's last checkpoint: the one file holds the parameters the run ends with
      if (controls.stopped || this.step === this.specSteps) controls.finish();
      // after the epoch's evaluation: a checkpoint taken here holds what the plateau and early stopping made of it
      await opts.afterStep?.(this.step);
      // a turn of the event loop every few ms of work: without it a cpu run never sees its SIGINT
      if (performance.now() - lastYield >= YIELD_MS) {
        await yieldToEventLoop();
        lastYield = performance.now();
      }
    }
    await pending;
    await this.collect(this.step);
    if (controls.stopped || this.step === this.specSteps) controls.finish(); // restoreBest: the best epoch's parameters
    if (reported !== this.step && this.step > first) report(this.step, this.history.last); // a stop between two reports
    return this.history.values();
  }

  /** The state after the steps done so far, for a checkpoint. */
  async snapshot(): Promise<SessionState> {
    await this.collect(this.step);
    return { ...(await this.session.snapshot(this.history.values())), controls: await this.controls.snapshot() };
  }

  /** Continues from a snapshot taken after `state.losses.length` steps. */
  restore(state: SessionState): void {
    if (state.losses.length > this.steps) throw new Error(`restore: the checkpoint is at step ${state.losses.length}, past this run's ${this.steps} steps`);
    this.session.restore(state);
    this.step = this.asked = state.losses.length;
    this.history.reset(state.losses);
    // a checkpoint from before the controls: every step so far ran at the spec's rate
    this.controls.restore(state.controls ?? { lrs: new Float64Array(state.losses.length).fill(this.spec.optimizer.lr), evaluations: [] });
  }

  /** ŷ for the first `count` held-out samples (at most one evaluation batch) under the current parameters. */
  async predict(count: number): Promise<Float64Array> {
    const test = this.data.test;
    if (!test) throw new Error('predict: this data set has no held-out samples');
    const e = this.evalSessionFor(test);
    this.be.copy(this.session.net.paramBuf, 0, e.net.paramBuf, 0, e.net.size);
    const b = e.batches.at(0);
    await e.shards?.feed(b, 0);
    e.evaluate(b, 0);
    return (await e.readView(e.net.prediction(b.size))).subarray(0, Math.min(count, b.size) * test.outputs);
  }

  private evalSessionFor(test: Dataset): Session<B> {
    // a held-out set past a buffer is evaluated in batches within its shards (src/train/shards.ts)
    const batchSize = batchWithinShards(test, Math.min(test.n, 512), this.dataFloats ?? this.be.bufferLimit.floats);
    this.evalSession ??= new Session(
      this.be,
      {
        model: this.spec.model,
        loss: this.spec.loss,
        optimizer: this.spec.optimizer,
        batchSize,
        seed: 0,
        historySize: Math.ceil(test.n / batchSize),
        dataFloats: this.dataFloats,
      },
      test,
    );
    return this.evalSession;
  }

  /**
   * Loss, and for one-hot targets accuracy (argmax of ŷ against argmax of y), of the current
   * parameters on held-out data; undefined if `signal` stops it between two batches.
   */
  async evaluate(test?: Dataset): Promise<Evaluation>;
  async evaluate(test: Dataset | undefined, signal: AbortSignal | undefined): Promise<Evaluation | undefined>;
  async evaluate(test: Dataset | undefined = this.data.test, signal?: AbortSignal): Promise<Evaluation | undefined> {
    if (!test) throw new Error('evaluate: this data set has no held-out samples');
    const e = this.evalSessionFor(test);
    this.be.copy(this.session.net.paramBuf, 0, e.net.paramBuf, 0, e.net.size);
    let correct = 0;
    for (const b of e.batches) {
      if (signal?.aborted) return undefined;
      await e.shards?.feed(b, 0); // a held-out set past a buffer: in order, shard by shard
      e.evaluate(b, b.index);
      const yhat = await e.readView(e.net.prediction(b.size));
      correct += test.classIndex
        ? classIndexCorrect(yhat, test, b.start, b.size)
        : countCorrect(yhat, test.y.subarray(b.start * test.outputs, (b.start + b.size) * test.outputs), b.size, test.outputs);
    }
    const losses = await e.readLosses(0, e.batches.length);
    const loss = [...e.batches].reduce((sum, b, i) => sum + losses[i] * b.size, 0) / test.n;
    // a held-out loss of NaN or Inf is named, not counted as one more epoch without improvement
    if (!Number.isFinite(loss)) throw new NonFiniteError(this.step, 'the held-out loss', loss);
    // class-index targets: the fraction of target rows (every step's, for sequences) whose class is the argmax
    if (test.classIndex) return { loss, accuracy: correct / (test.n * (test.targetSteps ?? 1)), samples: test.n };
    return oneHot(test.y, test.outputs) ? { loss, accuracy: correct / test.n, samples: test.n } : { loss, samples: test.n };
  }

  dispose(): void {
    this.controls.dispose();
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
    let p = 0,
      t = 0;
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
