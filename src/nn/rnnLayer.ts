// An Elman layer of a sequential model, exactly nn.RNN (one layer, h₀ = 0, tanh or relu):
//   z_t = x_t·W_ihᵀ + b_ih + h_{t−1}·W_hhᵀ + b_hh,  h_t = f(z_t)
// W_ih: [H][in], W_hh: [H][H], x: [T·batch][in] time-major. The cell is the matmul's epilogue
// (bias, the step's x·W_ihᵀ, f), so a step is one launch forward and one backward:
//   dz_{t−1} = (dz_t·W_hh + dOut_{t−1}) ⊙ f'(z_{t−1})
// (src/nn/rnn.ts is the older fixed model with one hidden bias and a dense head; this is the layer.)
import type { Backend, View } from '../backend.js';
import type { Act } from '../kernels.js';
import type { RecurrentLayerSpec } from '../spec/types.js';
import type { StepTensor } from './network.js';
import { activationBackward, matmul, rowsOf } from './ops.js';
import { RecurrentLayer } from './recurrent.js';
import type { LayerContext } from './sequential.js';

export class RnnLayer<B> extends RecurrentLayer<B> {
  private readonly act: Act;
  private zx: View<B>; // x·W_ihᵀ + b_ih, all steps [T·maxB][H]
  private z: View<B>; // pre-activations [T·maxB][H]
  private dz: View<B>; // [T·maxB][H]

  constructor(be: Backend<B>, spec: RecurrentLayerSpec, ctx: LayerContext<B>) {
    super(be, spec, ctx);
    this.act = spec.activation ?? 'tanh';
    const rows = this.T * this.maxB, name = `layers.${ctx.index}`;
    this.zx = ctx.alloc(rows, this.H, `${name}.zx`);
    this.z = ctx.alloc(rows, this.H, `${name}.z`);
    this.dz = ctx.alloc(rows, this.H, `${name}.dz`);
  }

  forward(x: View<B>, batch: number): void {
    const be = this.be;
    matmul(be, { z: rowsOf(this.zx, 0, this.T * batch), a: x, b: this.wih, transB: true, bias: this.bih });
    for (let t = 0; t < this.T; t++) {
      matmul(be, {
        z: this.at(this.z, t, batch), a: this.states(this.h, t, batch), b: this.whh, transB: true,
        bias: this.bhh, add: this.at(this.zx, t, batch), activation: this.act, act: this.states(this.h, t + 1, batch),
      });
    }
  }

  backward(x: View<B>, batch: number, dx?: View<B>): void {
    const be = this.be, T = this.T;
    const through = (t: number) => ({ act: this.act, z: this.at(this.z, t, batch), a: this.states(this.h, t + 1, batch) });
    activationBackward(be, this.act, batch, { ...through(T - 1), da: this.dLast(batch), dz: this.at(this.dz, T - 1, batch) });
    for (let t = T - 1; t > 0; t--) {
      matmul(be, {
        z: this.at(this.dz, t - 1, batch), a: this.at(this.dz, t, batch), b: this.whh,
        add: this.seqOut ? this.at(this.dOut, t - 1, batch) : undefined, through: through(t - 1),
      });
    }
    const dz = rowsOf(this.dz, 0, T * batch);
    this.weightGrads(x, batch, dz, dz, dx);
  }

  tensors(batch: number, stage: 'forward' | 'backward'): StepTensor<B>[] {
    const name = `layers.${this.ctx.index}`, out: StepTensor<B>[] = [];
    for (let t = 0; t < this.T; t++) {
      if (stage === 'forward') {
        out.push({ name: `${name}.z[t=${t + 1}]`, view: this.at(this.z, t, batch), stage });
        out.push({ name: `${name}.h[t=${t + 1}]`, view: this.states(this.h, t + 1, batch), stage });
      } else {
        out.push({ name: `${name}.dz[t=${t + 1}]`, view: this.at(this.dz, t, batch), stage });
      }
    }
    return out;
  }
}
