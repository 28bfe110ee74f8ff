// An LSTM layer, exactly nn.LSTM (one layer, h₀ = c₀ = 0), gates stacked i, f, g, o:
//   a_t = x_t·W_ihᵀ + b_ih + h_{t−1}·W_hhᵀ + b_hh            [batch][4H]
//   i, f, o = σ(a_i, a_f, a_o), g = tanh(a_g);  c_t = f ⊙ c_{t−1} + i ⊙ g;  h_t = o ⊙ tanh(c_t)
// W_ih: [4H][in], W_hh: [4H][H], x: [T·batch][in] time-major; h, c: [batch][H] a step.
// Backward (lstm_cell_backward, src/cpu/recurrent.ts has the equations), per step from t = T − 1 down:
//   dG_t from dh_t and the carried dc;  dh_{t−1} = dG_t·W_hh (+ dOut_{t−1} with returnSequences)
//   then dW_ih = Σ_t dG_tᵀ·x_t, dW_hh = Σ_t dG_tᵀ·h_{t−1}, db_ih = db_hh = Σ dG_t (one product each).
// GPU work per step: forward the h·W_hhᵀ product (bias and x·W_ihᵀ added in its epilogue) and one
// lstm_cell; backward one lstm_cell_backward and the dG·W_hh product. x·W_ihᵀ for all steps is one
// product before the loop; the weight gradients are single products over all steps afterwards.
import type { Backend, View } from '../backend.js';
import type { RecurrentLayerSpec } from '../spec/types.js';
import type { StepTensor } from './network.js';
import { matmul, rowsOf } from './ops.js';
import { RecurrentLayer } from './recurrent.js';
import type { LayerContext } from './sequential.js';

export class LstmLayer<B> extends RecurrentLayer<B> {
  private gx: View<B>; // x·W_ihᵀ + b_ih, all steps [T·maxB][4H]
  private g: View<B>; // gates of every step [T·maxB][4H]: pre-activations, then i, f, g, o in place
  private c: View<B>; // cell states c_0..c_T [(T+1)·maxB][H], stacked as h
  private dc: View<B>; // dc carried to the step before, [maxB][H]
  private dg: View<B>; // gradients of the pre-activations a_t, [T·maxB][4H]

  constructor(be: Backend<B>, spec: RecurrentLayerSpec, ctx: LayerContext<B>) {
    super(be, spec, ctx);
    const rows = this.T * this.maxB,
      G = 4 * this.H,
      name = `layers.${ctx.index}`;
    this.gx = ctx.alloc(rows, G, `${name}.gx`);
    this.g = ctx.alloc(rows, G, `${name}.gates`);
    this.c = ctx.alloc((this.T + 1) * this.maxB, this.H, `${name}.c`);
    this.dc = ctx.alloc(this.maxB, this.H, `${name}.dc`);
    this.dg = ctx.alloc(rows, G, `${name}.dgates`);
  }

  /** The cell kernels' parameters for step t (the GRU's fields unused; dH and the carry flag set by backward). */
  private cell(batch: number, t: number) {
    const none = 0;
    return {
      batch,
      H: this.H,
      offG: this.at(this.g, t, batch).off,
      offX: none,
      offGh: none,
      offC: this.states(this.c, t + 1, batch).off,
      offCPrev: this.states(this.c, t, batch).off,
      offH: this.states(this.h, t + 1, batch).off,
      offHPrev: this.states(this.h, t, batch).off,
      offDH: none,
      offDC: 0,
      offDG: this.at(this.dg, t, batch).off,
      offDGh: none,
      offCarry: none,
      offDOut: none,
      hasCarry: false,
      hasDOut: false,
    };
  }

  // x: [T·batch][in] → h_1..h_T, c_1..c_T
  forward(x: View<B>, batch: number): void {
    const be = this.be;
    matmul(be, { z: rowsOf(this.gx, 0, this.T * batch), a: x, b: this.wih, transB: true, bias: this.bih });
    for (let t = 0; t < this.T; t++) {
      matmul(be, {
        z: this.at(this.g, t, batch),
        a: this.states(this.h, t, batch),
        b: this.whh,
        transB: true,
        bias: this.bhh,
        add: this.at(this.gx, t, batch),
      });
      be.run('lstm_cell', this.cell(batch, t), { G: this.g.buf, C: this.c.buf, Hs: this.h.buf });
    }
  }

  // dOut is set → dG for every step (dh_t = dG_{t+1}·W_hh + dOut_t), the weight gradients, dx
  backward(x: View<B>, batch: number, dx?: View<B>): void {
    const be = this.be,
      T = this.T;
    for (let t = T - 1; t >= 0; t--) {
      const dh = t === T - 1 ? this.dLast(batch) : rowsOf(this.dh, 0, batch);
      be.run(
        'lstm_cell_backward',
        { ...this.cell(batch, t), offDH: dh.off, hasCarry: t < T - 1 },
        { dH: dh.buf, G: this.g.buf, C: this.c.buf, dC: this.dc.buf, dG: this.dg.buf },
      );
      if (t > 0) {
        matmul(be, {
          z: rowsOf(this.dh, 0, batch),
          a: this.at(this.dg, t, batch),
          b: this.whh,
          add: this.seqOut ? this.at(this.dOut, t - 1, batch) : undefined,
        });
      }
    }
    const dg = rowsOf(this.dg, 0, T * batch);
    this.weightGrads(x, batch, dg, dg, dx);
  }

  tensors(batch: number, stage: 'forward' | 'backward'): StepTensor<B>[] {
    const name = `layers.${this.ctx.index}`,
      out: StepTensor<B>[] = [];
    for (let t = 0; t < this.T; t++) {
      if (stage === 'forward') {
        out.push({ name: `${name}.gates[t=${t + 1}]`, view: this.at(this.g, t, batch), stage });
        out.push({ name: `${name}.c[t=${t + 1}]`, view: this.states(this.c, t + 1, batch), stage });
        out.push({ name: `${name}.h[t=${t + 1}]`, view: this.states(this.h, t + 1, batch), stage });
      } else {
        out.push({ name: `${name}.dgates[t=${t + 1}]`, view: this.at(this.dg, t, batch), stage });
      }
    }
    return out;
  }
}
