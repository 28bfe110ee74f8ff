// A dropout layer, nn.Dropout(p): while training, each value is zeroed with probability p and the
// rest scaled by 1/(1 − p) (inverted dropout, so evaluation needs no rescaling); in evaluation,
// predict and held-out metrics it passes its input on untouched (its output is its input's view).
//   x, out: [rows][cols] (rows = batch, or T·batch time-major)
//   forward:  out = x ⊙ mask · scale         backward: dx = dOut ⊙ mask · scale   (the `dropout` kernel both ways)
// The mask is drawn by a counter-based generator from (seed, step, layer, element) (src/kernels.ts,
// DropoutParams): nothing is stored between steps, both backends draw the same mask bit for bit,
// and a resumed run draws the ones the uninterrupted run would have. Kernel: shaders/dropout.wgsl,
// float64 twin src/cpu/dropout.ts.
import type { Backend, View } from '../backend.js';
import { type DropoutParams, dropoutThreshold } from '../kernels.js';
import type { DropoutLayerSpec } from '../spec/types.js';
import type { StepTensor, Training } from './network.js';
import { rowsOf } from './ops.js';
import type { LayerContext, SeqLayer } from './sequential.js';

/** The seed as the kernel's u32: its low 32 bits with the high ones folded in. */
export const seedKey = (seed: number): number => ((seed % 2 ** 32) ^ Math.floor(seed / 2 ** 32)) >>> 0;

export class DropoutLayer<B> implements SeqLayer<B> {
  readonly outSize: number;
  readonly seqOut: boolean;
  /** Set by the model before each forward: the step's seed and number while training, undefined otherwise. */
  training?: Training;
  private readonly per: number;
  private readonly threshold: number;
  private readonly scale: number;
  private out: View<B>;
  private dOut: View<B>;
  /** the input of the latest forward: the output while not training */
  private input?: View<B>;
  /** the mask of the latest forward (undefined: none, the identity) */
  private drawn?: Training;

  constructor(
    private be: Backend<B>,
    spec: DropoutLayerSpec,
    private ctx: LayerContext<B>,
  ) {
    this.outSize = ctx.inSize;
    this.seqOut = ctx.seqIn;
    this.per = ctx.seqIn ? ctx.T : 1;
    this.threshold = dropoutThreshold(spec.rate);
    this.scale = 1 / (1 - spec.rate);
    const rows = ctx.maxB * this.per,
      name = `layers.${ctx.index}`;
    this.out = ctx.alloc(rows, ctx.inSize, `${name}.out`);
    this.dOut = ctx.alloc(rows, ctx.inSize, `${name}.dout`);
  }

  private rows(batch: number): number {
    return batch * this.per;
  }
  output(batch: number): View<B> {
    return this.drawn || !this.input ? rowsOf(this.out, 0, this.rows(batch)) : this.input;
  }
  dOutput(batch: number): View<B> {
    return rowsOf(this.dOut, 0, this.rows(batch));
  }

  private params(n: number, from: View<B>, to: View<B>, mask?: Training): DropoutParams {
    return {
      n,
      threshold: mask ? this.threshold : 0,
      scale: mask ? this.scale : 1,
      seed: seedKey(mask?.seed ?? 0),
      step: (mask?.step ?? 0) >>> 0,
      layer: this.ctx.index,
      offIn: from.off,
      offOut: to.off,
    };
  }

  // x: [rows][cols] → out (training), or out is x itself
  forward(x: View<B>, batch: number): void {
    this.input = x;
    this.drawn = this.training;
    if (!this.drawn) return;
    const n = this.rows(batch) * this.outSize;
    this.be.run('dropout', this.params(n, x, this.out, this.drawn), { In: x.buf, Out: this.out.buf });
  }

  // dOut is set → dx = dOut ⊙ the forward's mask · scale (the identity after a forward that drew none)
  backward(_x: View<B>, batch: number, dx?: View<B>): void {
    if (!dx) return;
    const n = this.rows(batch) * this.outSize;
    this.be.run('dropout', this.params(n, this.dOut, dx, this.drawn), { In: this.dOut.buf, Out: dx.buf });
  }

  tensors(batch: number, stage: 'forward' | 'backward'): StepTensor<B>[] {
    const name = `layers.${this.ctx.index}`;
    return stage === 'forward' ? [{ name: `${name}.out`, view: this.output(batch), stage }] : [{ name: `${name}.dout`, view: this.dOutput(batch), stage }];
  }
}
