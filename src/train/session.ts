// One model, its optimizer and its data on one backend. `step(i)` records a whole training step
// (forward, loss, backward, update) and submits it once; the loss of step i is copied into a
// history buffer on the device and read back only when asked for.
import type { Backend, View } from '../backend.js';
import type { LossKind } from '../kernels.js';
import { initialParams } from '../nn/init.js';
import { Mlp } from '../nn/mlp.js';
import type { Network } from '../nn/network.js';
import { lossGrad, lossValue } from '../nn/ops.js';
import { Rnn } from '../nn/rnn.js';
import { Optimizer, optimizerConfig } from '../optim/optimizer.js';
import type { ModelSpec, OptimizerSpec } from '../spec/types.js';

/** Samples flattened: x is [n][sampleSize] ([n][T][I] for an RNN), y is [n][outputs]. */
export interface Dataset { n: number; x: Float64Array; y: Float64Array; steps: number; features: number; outputs: number }

export interface SessionConfig {
  model: ModelSpec; loss: LossKind; optimizer: OptimizerSpec;
  batchSize: number; seed: number; historySize: number;
}

export interface Batch { index: number; start: number; size: number }

export function makeNetwork<B>(be: Backend<B>, model: ModelSpec, steps: number, maxBatch: number): Network<B> {
  return model.type === 'mlp' ? new Mlp(be, model, maxBatch) : new Rnn(be, model, steps, maxBatch);
}

export class Session<B> {
  readonly net: Network<B>;
  readonly opt: Optimizer<B>;
  readonly batches: Batch[];
  private x: B; private y: B;
  private loss: View<B>;
  private history: B;
  private owned: B[];

  constructor(readonly be: Backend<B>, readonly cfg: SessionConfig, readonly data: Dataset) {
    const B = Math.min(cfg.batchSize, data.n);
    this.net = makeNetwork(be, cfg.model, data.steps, B);
    this.opt = new Optimizer(be, optimizerConfig(cfg.optimizer), this.net.size);
    be.write(this.net.paramBuf, initialParams(cfg.model, this.net.params, cfg.seed));
    this.batches = [];
    for (let start = 0, index = 0; start < data.n; start += B, index++) this.batches.push({ index, start, size: Math.min(B, data.n - start) });
    this.x = be.buffer(data.x.length, 'data.x');
    this.y = be.buffer(data.y.length, 'data.y');
    be.write(this.x, this.net.kind === 'rnn' ? timeMajorBatches(data, this.batches) : data.x);
    be.write(this.y, data.y);
    const lossBuf = be.buffer(1, 'loss');
    this.loss = { buf: lossBuf, off: 0, rows: 1, cols: 1 };
    this.history = be.buffer(cfg.historySize, 'loss history');
    this.owned = [this.x, this.y, lossBuf, this.history];
  }

  /** The batch's inputs ([batch][in], or [T][batch][I] for an RNN) and targets. */
  batchViews(b: Batch): { x: View<B>; y: View<B> } {
    const d = this.data;
    return {
      x: { buf: this.x, off: b.start * d.steps * d.features, rows: b.size, cols: d.steps * d.features },
      y: { buf: this.y, off: b.start * d.outputs, rows: b.size, cols: d.outputs },
    };
  }

  /** Records and submits one step on batch b; its loss goes to history slot `slot`. */
  step(b: Batch, slot: number, update = true): void {
    const { x, y } = this.batchViews(b);
    const net = this.net, loss = this.cfg.loss;
    net.forward(x, b.size);
    const p = net.lossInput(loss, b.size);
    lossValue(this.be, loss, b.size, p, y, this.loss);
    lossGrad(this.be, loss, b.size, p, y, net.lossGradTarget(loss, b.size));
    net.backward(x, b.size, loss);
    if (update) this.opt.step(net.paramBuf, net.gradBuf);
    this.be.copy(this.loss.buf, 0, this.history, slot % this.cfg.historySize, 1);
    this.be.submit();
  }

  /** Forward pass only, for evaluation: returns the batch loss (recorded in slot) . */
  evaluate(b: Batch, slot: number): void {
    const { x, y } = this.batchViews(b);
    this.net.forward(x, b.size);
    lossValue(this.be, this.cfg.loss, b.size, this.net.lossInput(this.cfg.loss, b.size), y, this.loss);
    this.be.copy(this.loss.buf, 0, this.history, slot % this.cfg.historySize, 1);
    this.be.submit();
  }

  readLosses(from: number, count: number): Promise<Float64Array> { return this.be.read(this.history, from, count); }

  async readParams(): Promise<Float64Array> { return this.be.read(this.net.paramBuf, 0, this.net.size); }
  async readGrads(): Promise<Float64Array> { return this.be.read(this.net.gradBuf, 0, this.net.size); }
  async readView(v: View<B>): Promise<Float64Array> { return this.be.read(v.buf as B, v.off, v.rows * v.cols); }

  dispose(): void {
    this.net.dispose();
    this.opt.dispose();
    for (const b of this.owned) this.be.free(b);
  }
}

/** Rearranges [n][T][I] samples so that each batch is a contiguous [T][batch][I] block. */
export function timeMajorBatches(d: Dataset, batches: Batch[]): Float64Array {
  const out = new Float64Array(d.x.length);
  const T = d.steps, I = d.features;
  for (const b of batches) {
    const base = b.start * T * I;
    for (let t = 0; t < T; t++) {
      for (let s = 0; s < b.size; s++) {
        const src = (b.start + s) * T * I + t * I;
        out.set(d.x.subarray(src, src + I), base + (t * b.size + s) * I);
      }
    }
  }
  return out;
}
