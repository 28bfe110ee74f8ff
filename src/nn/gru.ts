// A GRU layer, exactly nn.GRU (one layer, h₀ = 0), gates stacked r, z, n:
//   X_t = x_t·W_ihᵀ + b_ih, Gh_t = h_{t−1}·W_hhᵀ + b_hh                    [batch][3H]
//   r = σ(X_r + Gh_r), z = σ(X_z + Gh_z), n = tanh(X_n + r ⊙ Gh_n), h_t = (1 − z) ⊙ n + z ⊙ h_{t−1}
// W_ih: [3H][in], W_hh: [3H][H], x: [T·batch][in] time-major; h: [batch][H] a step.
// Backward (gru_cell_backward, src/cpu/recurrent.ts has the equations), per step from t = T − 1 down:
//   dX_t, dGh_t from dh_t;  dh_{t−1} = dGh_t·W_hh + z ⊙ dh_t (+ dOut_{t−1} with returnSequences)
//   then dW_ih = Σ_t dX_tᵀ·x_t, dW_hh = Σ_t dGh_tᵀ·h_{t−1}, db_ih = Σ dX_t, db_hh = Σ dGh_t. b_hn sits inside r ⊙ (…), so the
// h-side product keeps its own bias and is stored per step (Gh), unlike the LSTM's single sum.
// GPU work per step: forward the h·W_hhᵀ product (+ b_hh in its epilogue) and one gru_cell;
// backward one gru_cell_backward and the dGh·W_hh product (+ the carried z ⊙ dh in its epilogue).
import type { Backend, View } from '../backend.js';
import type { RecurrentLayerSpec } from '../spec/types.js';
import type { StepTensor } from './network.js';
import { matmul, rowsOf } from './ops.js';
import { RecurrentLayer } from './recurrent.js';
import type { LayerContext } from './sequential.js';

export class GruLayer<B> extends RecurrentLayer<B> {
  private gx: View<B>; // x·W_ihᵀ + b_ih, all steps [T·maxB][3H]
  private gh: View<B>; // h_{t−1}·W_hhᵀ + b_hh of every step [T·maxB][3H]
  private g: View<B>; // r, z, n of every step [T·maxB][3H]
  private dgx: View<B>; // d(X_t) [T·maxB][3H]
  private dgh: View<B>; // d(Gh_t) [T·maxB][3H]
  private carry: View<B>; // z ⊙ dh_t (+ dOut_{t−1}): the part of dh_{t−1} not through W_hh, [maxB][H]

  constructor(be: Backend<B>, spec: RecurrentLayerSpec, ctx: LayerContext<B>) {
    super(be, spec, ctx);
    const rows = this.T * this.maxB,
      G = 3 * this.H,
      name = `layers.${ctx.index}`;
    this.gx = ctx.alloc(rows, G, `${name}.gx`);
    this.gh = ctx.alloc(rows, G, `${name}.gh`);
    this.g = ctx.alloc(rows, G, `${name}.gates`);
    this.dgx = ctx.alloc(rows, G, `${name}.dgx`);
    this.dgh = ctx.alloc(rows, G, `${name}.dgh`);
    this.carry = ctx.alloc(this.maxB, this.H, `${name}.carry`);
  }

  private cell(batch: number, t: number) {
    return {
      batch,
      H: this.H,
      offG: this.at(this.g, t, batch).off,
      offX: this.at(this.gx, t, batch).off,
      offGh: this.at(this.gh, t, batch).off,
      offC: 0,
      offCPrev: 0,
      offH: this.states(this.h, t + 1, batch).off,
      offHPrev: this.states(this.h, t, batch).off,
      offDH: 0,
      offDC: 0,
      offDG: this.at(this.dgx, t, batch).off,
      offDGh: this.at(this.dgh, t, batch).off,
      offCarry: 0,
      offDOut: t > 0 && this.seqOut ? this.at(this.dOut, t - 1, batch).off : 0,
      hasCarry: false,
      hasDOut: this.seqOut,
    };
  }

  // x: [T·batch][in] → h_1..h_T
  forward(x: View<B>, batch: number): void {
    const be = this.be;
    matmul(be, { z: rowsOf(this.gx, 0, this.T * batch), a: x, b: this.wih, transB: true, bias: this.bih });
    for (let t = 0; t < this.T; t++) {
      matmul(be, { z: this.at(this.gh, t, batch), a: this.states(this.h, t, batch), b: this.whh, transB: true, bias: this.bhh });
      be.run('gru_cell', this.cell(batch, t), { X: this.gx.buf, Gh: this.gh.buf, G: this.g.buf, Hs: this.h.buf });
    }
  }

  // dOut is set → dX_t, dGh_t for every step (dh_{t−1} = dGh_t·W_hh + z ⊙ dh_t + dOut_{t−1}), the weight gradients, dx
  backward(x: View<B>, batch: number, dx?: View<B>): void {
    const be = this.be,
      T = this.T;
    // the last step reads dh from dOut and, with returnSequences, dOut_{T−2} from it too: one
    // buffer cannot be bound twice where one binding may write, so dh_{T−1} is copied apart first
    const last = this.dLast(batch),
      apart = this.seqOut && T > 1;
    if (apart) be.copy(last.buf, last.off, this.dh.buf, 0, batch * this.H);
    for (let t = T - 1; t >= 0; t--) {
      const dh = t === T - 1 && !apart ? last : rowsOf(this.dh, 0, batch);
      be.run(
        'gru_cell_backward',
        { ...this.cell(batch, t), offDH: dh.off, hasCarry: t > 0 },
        {
          dH: dh.buf,
          G: this.g.buf,
          Gh: this.gh.buf,
          Hs: this.h.buf,
          dG: this.dgx.buf,
          dGh: this.dgh.buf,
          Carry: t > 0 ? this.carry.buf : undefined,
          DOut: t > 0 && this.seqOut ? this.dOut.buf : undefined,
        },
      );
      if (t > 0) matmul(be, { z: rowsOf(this.dh, 0, batch), a: this.at(this.dgh, t, batch), b: this.whh, add: rowsOf(this.carry, 0, batch) });
    }
    this.weightGrads(x, batch, rowsOf(this.dgx, 0, T * batch), rowsOf(this.dgh, 0, T * batch), dx);
  }

  tensors(batch: number, stage: 'forward' | 'backward'): StepTensor<B>[] {
    const name = `layers.${this.ctx.index}`,
      out: StepTensor<B>[] = [];
    for (let t = 0; t < this.T; t++) {
      if (stage === 'forward') {
        out.push({ name: `${name}.gates[t=${t + 1}]`, view: this.at(this.g, t, batch), stage });
        out.push({ name: `${name}.h[t=${t + 1}]`, view: this.states(this.h, t + 1, batch), stage });
      } else {
        out.push({ name: `${name}.dgx[t=${t + 1}]`, view: this.at(this.dgx, t, batch), stage });
      }
    }
    return out;
  }
}
