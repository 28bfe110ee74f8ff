// What the recurrent layers of a sequential model share (src/nn/rnnLayer.ts, lstm.ts, gru.ts):
// their four PyTorch tensors, the stacked states h₀…h_T, and the views of one step's rows.
// Data is time-major within a batch: a sequence is [T·batch][·], step t in rows [t·batch, (t+1)·batch).
import type { Backend, View } from '../backend.js';
import type { RecurrentLayerSpec } from '../spec/types.js';
import type { StepTensor } from './network.js';
import { colSum, matmul, rowsOf } from './ops.js';
import type { LayerContext, SeqLayer } from './sequential.js';

export abstract class RecurrentLayer<B> implements SeqLayer<B> {
  readonly outSize: number;
  readonly seqOut: boolean;
  protected readonly H: number;
  protected readonly T: number;
  protected readonly maxB: number;
  // weight_ih_l0 [GH][in], weight_hh_l0 [GH][H], bias_ih_l0 [GH], bias_hh_l0 [GH] and their gradients
  protected wih: View<B>;
  protected whh: View<B>;
  protected bih: View<B>;
  protected bhh: View<B>;
  protected dwih: View<B>;
  protected dwhh: View<B>;
  protected dbih: View<B>;
  protected dbhh: View<B>;
  // h: states h_0..h_T [(T+1)·maxB][H]; a batch of b rows stacks them b rows a step from row
  // maxB − b (states()), so its states h_0..h_{T−1} are one contiguous [T·b][H] block that the
  // weight-gradient products over all steps read at once, and its h_0 lies in rows [0, maxB), which
  // no batch writes (h_1 starts at row maxB), and stays zero.
  protected h: View<B>;
  /** dOut: the gradient of this layer's output, written by the layer above or the loss ([T·maxB][H] or [maxB][H]) */
  protected dOut: View<B>;
  /** dh: the whole dh of the step being taken back (t < T − 1), [maxB][H] */
  protected dh: View<B>;

  constructor(
    protected be: Backend<B>,
    spec: RecurrentLayerSpec,
    protected ctx: LayerContext<B>,
  ) {
    this.H = spec.units;
    this.outSize = spec.units;
    this.seqOut = spec.returnSequences;
    this.T = ctx.T;
    this.maxB = ctx.maxB;
    [this.wih, this.whh, this.bih, this.bhh] = ['weight_ih_l0', 'weight_hh_l0', 'bias_ih_l0', 'bias_hh_l0'].map((n) => ctx.param(n));
    [this.dwih, this.dwhh, this.dbih, this.dbhh] = ['weight_ih_l0', 'weight_hh_l0', 'bias_ih_l0', 'bias_hh_l0'].map((n) => ctx.grad(n));
    const name = `layers.${ctx.index}`;
    this.h = ctx.alloc((this.T + 1) * this.maxB, this.H, `${name}.h`);
    this.dOut = ctx.alloc((this.seqOut ? this.T : 1) * this.maxB, this.H, `${name}.dout`);
    this.dh = ctx.alloc(this.maxB, this.H, `${name}.dh`);
  }

  /** Rows of step t (0-based) in a stacked [T·batch][·] tensor. */
  protected at(v: View<B>, t: number, batch: number): View<B> {
    return rowsOf(v, t * batch, batch);
  }
  /** Rows of states s_t..s_{t+count−1} of a batch in a [(T+1)·maxB] state stack (from row maxB − batch). */
  protected states(v: View<B>, t: number, batch: number, count = 1): View<B> {
    return rowsOf(v, this.maxB - batch + t * batch, count * batch);
  }

  output(batch: number): View<B> {
    return this.seqOut ? this.states(this.h, 1, batch, this.T) : this.states(this.h, this.T, batch);
  }
  dOutput(batch: number): View<B> {
    return rowsOf(this.dOut, 0, (this.seqOut ? this.T : 1) * batch);
  }
  /** dh_{T−1}: what the layer above (or the loss) gives the last step */
  protected dLast(batch: number): View<B> {
    return this.seqOut ? this.at(this.dOut, this.T - 1, batch) : rowsOf(this.dOut, 0, batch);
  }

  abstract forward(x: View<B>, batch: number): void;
  abstract backward(x: View<B>, batch: number, dx?: View<B>): void;
  abstract tensors(batch: number, stage: 'forward' | 'backward'): StepTensor<B>[];

  /**
   * The shared weights' gradients over all steps at once, as single products over the T·batch
   * stacked rows (which fixes the order of the sums over steps and rows):
   *   dW_ih = dXsᵀ·x, dW_hh = dHsᵀ·[h_0..h_{T−1}], db_ih = Σ_rows dXs, db_hh = Σ_rows dHs, dx = dXs·W_ih
   * dXs, dHs: [T·batch][GH], the gradients of the x-side and h-side pre-activation sums.
   */
  protected weightGrads(x: View<B>, batch: number, dXs: View<B>, dHs: View<B>, dx?: View<B>): void {
    const n = this.T * batch;
    matmul(this.be, { z: this.dwih, a: dXs, b: x, transA: true });
    matmul(this.be, { z: this.dwhh, a: dHs, b: this.states(this.h, 0, batch, this.T), transA: true });
    colSum(this.be, dXs, n, this.dbih);
    colSum(this.be, dHs, n, this.dbhh);
    if (dx) matmul(this.be, { z: dx, a: dXs, b: this.wih });
  }
}
