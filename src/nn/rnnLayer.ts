// An Elman layer of a sequential model, exactly nn.RNN (one layer, h₀ = 0, tanh or relu):
//   z_t = x_t·W_ihᵀ + b_ih + h_{t−1}·W_hhᵀ + b_hh,  h_t = f(z_t)
// W_ih: [H][in], W_hh: [H][H], x: [T·batch][in] time-major. The cell is the matmul's epilogue
// (bias, the step's x·W_ihᵀ, f), so a step is one launch forward and one backward:
//   dz_{t−1} = (dz_t·W_hh + dOut_{t−1}) ⊙ f'(z_{t−1})
// The rnn model type (src/nn/rnn.ts) is this layer with one hidden bias (no bias_hh_l0: the model
// leaves it out, ctx.has) under a dense head, which writes dz_{T−1} itself (gradThrough).
import type { Backend, View } from '../backend.js';
import type { Act } from '../kernels.js';
import type { RecurrentLayerSpec } from '../spec/types.js';
import type { StepTensor } from './network.js';
import { activationBackward, colSum, matmul, rowsOf } from './ops.js';
import { RecurrentLayer } from './recurrent.js';
import type { GradThrough, LayerContext } from './sequential.js';

export class RnnLayer<B> extends RecurrentLayer<B> {
  private readonly act: Act;
  private zx: View<B>; // x·W_ihᵀ + b_ih, all steps [T·maxB][H]
  private z: View<B>; // pre-activations [T·maxB][H]
  private dz: View<B>; // [T·maxB][H]
  /** whether the model has bias_hh_l0 (the rnn model type has one hidden bias, bias_ih_l0) */
  private readonly hhBias: boolean;
  /** set when the layer above has written dz_{T−1} through f' (gradThrough was taken) */
  private lastWritten = false;

  constructor(be: Backend<B>, spec: RecurrentLayerSpec, ctx: LayerContext<B>) {
    super(be, spec, ctx);
    this.act = spec.activation ?? 'tanh';
    this.hhBias = ctx.has('bias_hh_l0');
    const rows = this.T * this.maxB,
      name = `layers.${ctx.index}`;
    this.zx = ctx.alloc(rows, this.H, `${name}.zx`);
    this.z = ctx.alloc(rows, this.H, `${name}.z`);
    this.dz = ctx.alloc(rows, this.H, `${name}.dz`);
  }

  forward(x: View<B>, batch: number): void {
    const be = this.be;
    matmul(be, { z: rowsOf(this.zx, 0, this.T * batch), a: x, b: this.wih, transB: true, bias: this.bih });
    for (let t = 0; t < this.T; t++) {
      matmul(be, {
        z: this.at(this.z, t, batch),
        a: this.states(this.h, t, batch),
        b: this.whh,
        transB: true,
        bias: this.bhh,
        add: this.at(this.zx, t, batch),
        activation: this.act,
        act: this.states(this.h, t + 1, batch),
      });
    }
  }

  private through(t: number, batch: number) {
    return { act: this.act, z: this.at(this.z, t, batch), a: this.states(this.h, t + 1, batch) };
  }

  // the last step's dz = dOut ⊙ f'(z_{T−1}), written by the layer above in its dx product
  gradThrough(batch: number): GradThrough<B> | undefined {
    if (this.seqOut) return undefined;
    this.lastWritten = true;
    return { z: this.at(this.dz, this.T - 1, batch), through: this.through(this.T - 1, batch) };
  }

  backward(x: View<B>, batch: number, dx?: View<B>): void {
    const be = this.be,
      T = this.T;
    const through = (t: number) => this.through(t, batch);
    if (!this.lastWritten) activationBackward(be, this.act, batch, { ...through(T - 1), da: this.dLast(batch), dz: this.at(this.dz, T - 1, batch) });
    this.lastWritten = false;
    for (let t = T - 1; t > 0; t--) {
      matmul(be, {
        z: this.at(this.dz, t - 1, batch),
        a: this.at(this.dz, t, batch),
        b: this.whh,
        add: this.seqOut ? this.at(this.dOut, t - 1, batch) : undefined,
        through: through(t - 1),
      });
    }
    const dz = rowsOf(this.dz, 0, T * batch);
    if (this.hhBias) this.weightGrads(x, batch, dz, dz, dx);
    else {
      // one hidden bias: dW_ih = dzᵀ·x, dW_hh = dzᵀ·[h_0..h_{T−1}], db_ih = Σ_rows dz (the order of nn/recurrent.ts's weightGrads)
      matmul(be, { z: this.dwih, a: dz, b: x, transA: true });
      matmul(be, { z: this.dwhh, a: dz, b: this.states(this.h, 0, batch, T), transA: true });
      colSum(be, dz, T * batch, this.dbih);
      if (dx) matmul(be, { z: dx, a: dz, b: this.wih });
    }
  }

  tensors(batch: number, stage: 'forward' | 'backward'): StepTensor<B>[] {
    const name = `layers.${this.ctx.index}`,
      out: StepTensor<B>[] = [];
    // in the order they are computed: forward from step 1, backward from step T
    for (let t = 0; t < this.T; t++) {
      if (stage === 'forward') {
        out.push({ name: `${name}.z[t=${t + 1}]`, view: this.at(this.z, t, batch), stage });
        out.push({ name: `${name}.h[t=${t + 1}]`, view: this.states(this.h, t + 1, batch), stage });
      }
    }
    if (stage === 'backward') for (let t = this.T - 1; t >= 0; t--) out.push({ name: `${name}.dz[t=${t + 1}]`, view: this.at(this.dz, t, batch), stage });
    return out;
  }
}
