// One model, its optimizer and its data on one backend. `step(i)` records a whole training step
// (gather the batch, forward, loss, backward, update) and submits it once; the loss of step i is
// copied into a ring of history slots on the device (step i in slot i mod historySize) and read
// back only when asked for; a Trainer drains the ring into a LossHistory on the host, so a run of
// any length needs device memory for a few thousand losses, not one per step. The samples stay
// on the device; a batch is gathered from them through an index list (`setOrder`), so shuffling
// an epoch uploads n indices and nothing else. Samples past one buffer (or streamed) are held two
// shards at a time instead, and the index list is each batch's (src/train/shards.ts).
import type { Backend, View } from '../backend.js';
import type { LossKind, MatmulParams } from '../kernels.js';
import { initialParams } from '../nn/init.js';
import { Mlp } from '../nn/mlp.js';
import type { Network } from '../nn/network.js';
import { LOSS_PARTS, lossGrad, lossValue, productsOf, type Targets } from '../nn/ops.js';
import { Rnn } from '../nn/rnn.js';
import { Sequential } from '../nn/sequential.js';
import { Optimizer, optimizerConfig } from '../optim/optimizer.js';
import type { ControlState } from './controls.js';
import type { ModelSpec, OptimizerSpec } from '../spec/types.js';
import { type Dataset, targetCols } from '../data/dataset.js';
import { planShards, ShardFeeder } from './shards.js';

export interface SessionConfig {
  model: ModelSpec;
  loss: LossKind;
  optimizer: OptimizerSpec;
  /** historySize: the loss slots on the device, a ring (the losses of the last historySize steps). */
  batchSize: number;
  seed: number;
  historySize: number;
  /**
   * Data larger than a buffer, or streamed, is fed in shards (src/train/shards.ts): whether each
   * epoch shuffles them, and the most floats a data buffer may hold (default: the backend's bufferLimit).
   */
  shuffle?: boolean;
  dataFloats?: number;
}

/**
 * Every step's loss on the host, in a buffer that doubles as it fills: memory grows with the
 * steps a run has done, never with the steps it asks for (steps: 1e9 would be a 4 GiB array).
 */
export class LossHistory {
  private buf: Float64Array;
  private n = 0;
  constructor(initial: ArrayLike<number> = []) {
    this.buf = new Float64Array(Math.max(64, initial.length));
    this.push(initial);
  }
  get length(): number {
    return this.n;
  }
  /** The latest loss (NaN when there is none). */
  get last(): number {
    return this.n > 0 ? this.buf[this.n - 1] : NaN;
  }
  push(values: ArrayLike<number>): void {
    if (this.n + values.length > this.buf.length) {
      const grown = new Float64Array(Math.max(2 * this.buf.length, this.n + values.length));
      grown.set(this.buf.subarray(0, this.n));
      this.buf = grown;
    }
    this.buf.set(values, this.n);
    this.n += values.length;
  }
  /** Starts again from these losses (a resumed run's). */
  reset(values: ArrayLike<number>): void {
    this.n = 0;
    this.push(values);
  }
  /** A copy of the losses so far. */
  values(): Float64Array {
    return this.buf.slice(0, this.n);
  }
}

export interface Batch {
  index: number;
  start: number;
  size: number;
}

/**
 * An epoch's batches, made on demand: a streamed data set of millions of rows needs no object per
 * batch (a 2 GB text held 1.6 million of them, ~50 MB, before this).
 */
export class Batches implements Iterable<Batch> {
  readonly length: number;
  constructor(
    readonly n: number,
    readonly size: number,
  ) {
    this.length = Math.ceil(n / size);
  }
  at(i: number): Batch {
    if (!(i >= 0 && i < this.length)) throw new RangeError(`batch ${i}: expected 0…${this.length - 1}`);
    const start = i * this.size;
    return { index: i, start, size: Math.min(this.size, this.n - start) };
  }
  *[Symbol.iterator](): Iterator<Batch> {
    for (let i = 0; i < this.length; i++) yield this.at(i);
  }
}

/** What a resumed run needs besides the spec: parameters, optimizer state and the losses so far. */
export interface SessionState {
  params: Float64Array;
  state: Float64Array[];
  optimizerT: number;
  losses: Float64Array;
  /** the schedule's and early stopping's state (Trainer.snapshot; absent in older checkpoints) */
  controls?: ControlState;
}

export function makeNetwork<B>(be: Backend<B>, model: ModelSpec, steps: number, maxBatch: number): Network<B> {
  if (model.type === 'sequential') return new Sequential(be, model, steps, maxBatch);
  return model.type === 'mlp' ? new Mlp(be, model, maxBatch) : new Rnn(be, model, steps, maxBatch);
}

export class Session<B> {
  readonly net: Network<B>;
  readonly opt: Optimizer<B>;
  readonly batches: Batches;
  private x: B;
  private y: B;
  /** Sample indices in batch order (f32); batch b is order[b.start .. b.start + b.size). */
  private order: B;
  /** Present when the samples are fed in shards: Trainer awaits its feed(batch) before each step. */
  readonly shards?: ShardFeeder<B>;
  private bx: B;
  private by: B;
  private loss: View<B>;
  private lossParts: View<B>;
  private history: B;
  private owned: B[];

  constructor(
    readonly be: Backend<B>,
    readonly cfg: SessionConfig,
    readonly data: Dataset,
  ) {
    const B = Math.min(cfg.batchSize, data.n);
    this.net = makeNetwork(be, cfg.model, data.steps, B);
    this.opt = new Optimizer(be, optimizerConfig(cfg.optimizer), this.net.size);
    be.write(this.net.paramBuf, initialParams(cfg.model, this.net.params, cfg.seed));
    this.batches = new Batches(data.n, B);
    // samples past a buffer (or past 2^24, or streamed) are held two shards at a time, and the index list is the batch's
    const plan = planShards(data, B, cfg.dataFloats ?? be.bufferLimit.floats);
    this.x = be.buffer(plan ? 2 * plan.slot * data.steps * data.features : data.x.length, 'data.x');
    this.y = be.buffer(plan ? 2 * plan.slot * (data.targetSteps ?? 1) * targetCols(data) : data.y.length, 'data.y');
    this.order = be.buffer(plan ? B : data.n, 'data.order');
    if (plan) this.shards = new ShardFeeder(be, plan, data, { x: this.x, y: this.y, order: this.order }, cfg.shuffle ?? false, cfg.seed, B);
    else {
      be.write(this.x, data.x);
      be.write(this.y, data.y);
      this.setOrder(Float64Array.from({ length: data.n }, (_, i) => i));
    }
    this.bx = be.buffer(B * data.steps * data.features, 'batch.x');
    this.by = be.buffer(B * (data.targetSteps ?? 1) * targetCols(data), 'batch.y');
    const lossBuf = be.buffer(1, 'loss'),
      partsBuf = be.buffer(LOSS_PARTS, 'loss parts');
    this.loss = { buf: lossBuf, off: 0, rows: 1, cols: 1 };
    this.lossParts = { buf: partsBuf, off: 0, rows: 1, cols: LOSS_PARTS };
    this.history = be.buffer(cfg.historySize, 'loss history');
    this.owned = [this.x, this.y, this.order, this.bx, this.by, lossBuf, partsBuf, this.history];
  }

  /** The order in which samples are taken into batches (a permutation of 0..n-1). */
  setOrder(order: ArrayLike<number>): void {
    this.be.write(this.order, order);
  }

  /** The batch's inputs ([batch][in], or [T][batch][I] for an RNN) and targets, once gathered. */
  batchViews(b: Batch): { x: View<B>; y: Targets<B> } {
    const d = this.data;
    return {
      x: { buf: this.bx, off: 0, rows: b.size, cols: d.steps * d.features },
      y: { buf: this.by, off: 0, rows: b.size * (d.targetSteps ?? 1), cols: targetCols(d), classIndex: !!d.classIndex }, // time-major [T][batch][O] for sequences, as the model's outputs
    };
  }

  /** Records the gathering of batch b from the resident samples and returns its views. */
  gather(b: Batch): { x: View<B>; y: Targets<B> } {
    const d = this.data;
    const offIdx = this.shards ? 0 : b.start; // shards: the order buffer holds this batch's indices alone
    this.be.run('gather', { rows: b.size, steps: d.steps, features: d.features, offIdx, offIn: 0, offOut: 0 }, { Idx: this.order, In: this.x, Out: this.bx });
    this.be.run(
      'gather',
      { rows: b.size, steps: d.targetSteps ?? 1, features: targetCols(d), offIdx, offIn: 0, offOut: 0 },
      { Idx: this.order, In: this.y, Out: this.by },
    );
    return this.batchViews(b);
  }

  /**
   * Records and submits one step on batch b; its loss goes to history slot `slot`, the run's step
   * number (0-based), from which with the seed its dropout masks are drawn.
   */
  step(b: Batch, slot: number, update = true): void {
    this.requireFed(b);
    const { x, y } = this.gather(b);
    const net = this.net,
      loss = this.cfg.loss;
    net.forward(x, b.size, { seed: this.cfg.seed, step: slot });
    const p = net.lossInput(loss, b.size);
    lossValue(this.be, loss, y.rows, p, y, this.loss, this.lossParts, net.lossGradTarget(loss, b.size));
    net.backward(x, b.size, loss);
    if (update) this.opt.step(net.paramBuf, net.gradBuf);
    this.be.copy(this.loss.buf, 0, this.history, slot % this.cfg.historySize, 1);
    this.be.submit();
  }

  /**
   * The products (matmuls) one training step runs, as the backend is asked to plan them: a step
   * on the first batch is recorded without its loss bookkeeping or update, so that nothing it
   * leaves (activations, gradients) outlives the next real step.
   */
  productsOfStep(): MatmulParams[] {
    return productsOf(this.be, () => {
      const b = this.batches.at(0),
        net = this.net,
        loss = this.cfg.loss;
      const { x, y } = this.gather(b);
      net.forward(x, b.size, { seed: this.cfg.seed, step: 0 });
      lossGrad(this.be, loss, y.rows, net.lossInput(loss, b.size), y, net.lossGradTarget(loss, b.size));
      net.backward(x, b.size, loss);
      this.be.submit();
    });
  }

  /** Forward pass only, for evaluation: returns the batch loss (recorded in slot) . */
  evaluate(b: Batch, slot: number): void {
    this.requireFed(b);
    const { x, y } = this.gather(b);
    this.net.forward(x, b.size);
    lossValue(this.be, this.cfg.loss, y.rows, this.net.lossInput(this.cfg.loss, b.size), y, this.loss, this.lossParts);
    this.be.copy(this.loss.buf, 0, this.history, slot % this.cfg.historySize, 1);
    this.be.submit();
  }

  /**
   * The losses of slots from..from+count-1, taken modulo the ring (at most historySize of them:
   * older ones are overwritten). Both reads are issued before this returns, so steps recorded
   * afterwards cannot change what they see.
   */
  readLosses(from: number, count: number): Promise<Float64Array> {
    const size = this.cfg.historySize,
      at = from % size;
    if (count > size) throw new Error(`readLosses: ${count} losses asked for; the device keeps the last ${size}`);
    if (at + count <= size) return this.be.read(this.history, at, count);
    const head = this.be.read(this.history, at, size - at),
      tail = this.be.read(this.history, 0, count - (size - at));
    return Promise.all([head, tail]).then(([a, b]) => {
      const out = new Float64Array(count);
      out.set(a);
      out.set(b, a.length);
      return out;
    });
  }

  private requireFed(b: Batch): void {
    if (this.shards && !this.shards.ready(b.start, b.size))
      throw new Error(`batch ${b.index}: its shards were not fed (await session.shards.feed(batch, epoch) first)`);
  }

  async readParams(): Promise<Float64Array> {
    return this.be.read(this.net.paramBuf, 0, this.net.size);
  }
  async readGrads(): Promise<Float64Array> {
    return this.be.read(this.net.gradBuf, 0, this.net.size);
  }
  async readView(v: View<B>): Promise<Float64Array> {
    return this.be.read(v.buf as B, v.off, v.rows * v.cols);
  }

  /** Reads the parameters and optimizer state (waits for the device to finish the steps recorded); `losses` are the steps' losses, kept by the caller. */
  async snapshot(losses: Float64Array): Promise<SessionState> {
    const n = this.net.size;
    return {
      params: await this.readParams(),
      state: await Promise.all(this.opt.state.map((b) => this.be.read(b, 0, n))),
      optimizerT: this.opt.t,
      losses,
    };
  }

  /** Puts a snapshot back: the next step continues exactly where the snapshot's run stopped (its losses stay with the caller: Trainer.restore). */
  restore(s: SessionState): void {
    const n = this.net.size;
    if (s.params.length !== n || s.state.length !== this.opt.state.length || s.state.some((v) => v.length !== n)) {
      throw new Error(`restore: the snapshot does not fit this model (${n} parameters, ${this.opt.state.length} optimizer state tensors)`);
    }
    this.be.write(this.net.paramBuf, s.params);
    s.state.forEach((v, i) => this.be.write(this.opt.state[i], v));
    this.opt.t = s.optimizerT;
  }

  dispose(): void {
    this.net.dispose();
    this.opt.dispose();
    for (const b of this.owned) this.be.free(b);
  }
}
