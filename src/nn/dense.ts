// A dense layer of a sequential model (nn.Linear + activation): A = f(X·Wᵀ + b). After a sequence
// it acts at every step (Keras's TimeDistributed): the steps are its rows, [T·batch].
//   W: [out][in], b: [out], X: [rows][in] (rows = batch, or T·batch time-major), Z, A: [rows][out]
//   forward:  Z = X·Wᵀ + b, A = f(Z)                       (one matmul, bias and f fused)
//   backward: dZ = dA ⊙ f'(Z);  dW = dZᵀ·X;  db = Σ_rows dZ;  dX = dZ·W
import type { Backend, View } from '../backend.js';
import type { Act } from '../kernels.js';
import type { SeqDenseSpec } from '../spec/types.js';
import type { StepTensor } from './network.js';
import { activationBackward, colSum, matmul, rowsOf } from './ops.js';
import type { GradThrough, LayerContext, SeqLayer } from './sequential.js';

export class DenseLayer<B> implements SeqLayer<B> {
  readonly outSize: number;
  readonly act: Act;
  readonly seqOut: boolean;
  private readonly per: number; // rows per sample: T after a sequence, else 1
  private w: View<B>;
  private b: View<B>;
  private dw: View<B>;
  private db: View<B>;
  private z: View<B>;
  private a: View<B>;
  private dz: View<B>;
  private da: View<B>;
  /** crossEntropy takes this (softmax) layer's logits and writes dZ itself: no softmax backward */
  fusedLoss = false;

  constructor(
    private be: Backend<B>,
    spec: SeqDenseSpec,
    private ctx: LayerContext<B>,
  ) {
    this.outSize = spec.units;
    this.act = spec.activation;
    this.seqOut = ctx.seqIn;
    this.per = ctx.seqIn ? ctx.T : 1;
    const rows = ctx.maxB * this.per,
      name = `layers.${ctx.index}`;
    [this.w, this.b, this.dw, this.db] = [ctx.param('weight'), ctx.param('bias'), ctx.grad('weight'), ctx.grad('bias')];
    this.z = ctx.alloc(rows, spec.units, `${name}.z`);
    this.a = this.act === 'identity' ? this.z : ctx.alloc(rows, spec.units, `${name}.a`);
    this.da = ctx.alloc(rows, spec.units, `${name}.da`);
    this.dz = this.act === 'identity' ? this.da : ctx.alloc(rows, spec.units, `${name}.dz`);
  }

  private rows(batch: number): number {
    return batch * this.per;
  }
  output(batch: number): View<B> {
    return rowsOf(this.a, 0, this.rows(batch));
  }
  dOutput(batch: number): View<B> {
    return rowsOf(this.da, 0, this.rows(batch));
  }
  logits(batch: number): View<B> {
    return rowsOf(this.z, 0, this.rows(batch));
  }
  dLogits(batch: number): View<B> {
    return rowsOf(this.dz, 0, this.rows(batch));
  }

  // x: [rows][in] → A: [rows][out]
  forward(x: View<B>, batch: number): void {
    const n = this.rows(batch);
    matmul(this.be, { z: rowsOf(this.z, 0, n), a: x, b: this.w, transB: true, bias: this.b, activation: this.act, act: rowsOf(this.a, 0, n) });
  }

  // dA (or dZ when the loss is fused) is set → dW, db, and dX when asked for (or, given a
  // GradThrough, the layer below's dz = dX ⊙ f'(z) in the same product)
  backward(x: View<B>, batch: number, dx?: View<B> | GradThrough<B>): void {
    const n = this.rows(batch),
      dz = rowsOf(this.dz, 0, n);
    if (!this.fusedLoss) activationBackward(this.be, this.act, n, { z: this.z, a: this.a, da: this.da, dz: this.dz });
    matmul(this.be, { z: this.dw, a: dz, b: x, transA: true });
    colSum(this.be, dz, n, this.db);
    if (dx && 'through' in dx) matmul(this.be, { z: dx.z, a: dz, b: this.w, through: dx.through });
    else if (dx) matmul(this.be, { z: dx, a: dz, b: this.w });
  }

  tensors(batch: number, stage: 'forward' | 'backward'): StepTensor<B>[] {
    const name = `layers.${this.ctx.index}`,
      n = this.rows(batch);
    if (stage === 'forward') {
      return [
        { name: `${name}.z`, view: rowsOf(this.z, 0, n), stage },
        ...(this.act !== 'identity' ? [{ name: `${name}.a`, view: rowsOf(this.a, 0, n), stage }] : []),
      ];
    }
    return [{ name: `${name}.dz`, view: rowsOf(this.dz, 0, n), stage }];
  }
}
