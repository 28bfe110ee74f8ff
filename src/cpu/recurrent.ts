// The float64 definitions of the LSTM and GRU cell kernels (shaders/recurrent.wgsl computes the
// same expressions in the same order, in float32). One step of a batch; the products around them
// (x·W_ihᵀ for all steps, h·W_hhᵀ per step) are matmuls (src/nn/lstm.ts, src/nn/gru.ts).
// Every output element is a fixed expression of its inputs: there are no sums to order.
// Gate blocks are [batch][G·H], gates side by side in PyTorch's order; states are [batch][H].
import type { CellParams, KernelBuffers } from '../kernels.js';

type F = Float64Array;
const sigmoid = (z: number) => 1 / (1 + Math.exp(-z));

// LSTM (nn.LSTM): G holds the pre-activations a = x·W_ihᵀ + b_ih + h_{t−1}·W_hhᵀ + b_hh, [batch][4H]
// as i, f, g, o; replaced by i = σ(a_i), f = σ(a_f), g = tanh(a_g), o = σ(a_o). Then
// c_t = f ⊙ c_{t−1} + i ⊙ g and h_t = o ⊙ tanh(c_t).
export function lstm_cell(p: CellParams, b: KernelBuffers<F>['lstm_cell']): void {
  const { batch, H } = p;
  for (let r = 0; r < batch; r++) {
    for (let j = 0; j < H; j++) {
      const g0 = p.offG + r * 4 * H + j,
        s = r * H + j;
      const i = sigmoid(b.G[g0]),
        f = sigmoid(b.G[g0 + H]),
        g = Math.tanh(b.G[g0 + 2 * H]),
        o = sigmoid(b.G[g0 + 3 * H]);
      const c = f * b.C[p.offCPrev + s] + i * g;
      b.G[g0] = i;
      b.G[g0 + H] = f;
      b.G[g0 + 2 * H] = g;
      b.G[g0 + 3 * H] = o;
      b.C[p.offC + s] = c;
      b.Hs[p.offH + s] = o * Math.tanh(c);
    }
  }
}

// LSTM backward, one step: given dh_t (dH) and dc_{t+1}·f_{t+1} carried in dC (0 on the last step),
//   dc = dc_carry + dh ⊙ o ⊙ (1 − tanh²(c_t))
//   dG = [dc ⊙ g ⊙ i(1−i), dc ⊙ c_{t−1} ⊙ f(1−f), dc ⊙ i ⊙ (1−g²), dh ⊙ tanh(c_t) ⊙ o(1−o)]
//   dC ← dc ⊙ f (what step t−1 receives)
export function lstm_cell_backward(p: CellParams, b: KernelBuffers<F>['lstm_cell_backward']): void {
  const { batch, H } = p;
  for (let r = 0; r < batch; r++) {
    for (let j = 0; j < H; j++) {
      const g0 = p.offG + r * 4 * H + j,
        d0 = p.offDG + r * 4 * H + j,
        s = r * H + j;
      const i = b.G[g0],
        f = b.G[g0 + H],
        g = b.G[g0 + 2 * H],
        o = b.G[g0 + 3 * H];
      const dh = b.dH[p.offDH + s],
        tc = Math.tanh(b.C[p.offC + s]);
      const carry = p.hasCarry ? b.dC[p.offDC + s] : 0;
      const dc = carry + dh * o * (1 - tc * tc);
      b.dG[d0] = dc * g * i * (1 - i);
      b.dG[d0 + H] = dc * b.C[p.offCPrev + s] * f * (1 - f);
      b.dG[d0 + 2 * H] = dc * i * (1 - g * g);
      b.dG[d0 + 3 * H] = dh * tc * o * (1 - o);
      b.dC[p.offDC + s] = dc * f;
    }
  }
}

// GRU (nn.GRU): X = x·W_ihᵀ + b_ih and Gh = h_{t−1}·W_hhᵀ + b_hh, both [batch][3H] as r, z, n;
//   r = σ(X_r + Gh_r), z = σ(X_z + Gh_z), n = tanh(X_n + r ⊙ Gh_n), h_t = (1 − z) ⊙ n + z ⊙ h_{t−1}
// G receives r, z, n (what the backward pass needs, with Gh and h_{t−1}).
export function gru_cell(p: CellParams, b: KernelBuffers<F>['gru_cell']): void {
  const { batch, H } = p;
  for (let r = 0; r < batch; r++) {
    for (let j = 0; j < H; j++) {
      const x0 = p.offX + r * 3 * H + j,
        h0 = p.offGh + r * 3 * H + j,
        g0 = p.offG + r * 3 * H + j,
        s = r * H + j;
      const rg = sigmoid(b.X[x0] + b.Gh[h0]);
      const z = sigmoid(b.X[x0 + H] + b.Gh[h0 + H]);
      const n = Math.tanh(b.X[x0 + 2 * H] + rg * b.Gh[h0 + 2 * H]);
      b.G[g0] = rg;
      b.G[g0 + H] = z;
      b.G[g0 + 2 * H] = n;
      b.Hs[p.offH + s] = (1 - z) * n + z * b.Hs[p.offHPrev + s];
    }
  }
}

// GRU backward, one step: given dh_t (dH),
//   dn = dh ⊙ (1 − z), dz = dh ⊙ (h_{t−1} − n), da_n = dn ⊙ (1 − n²)
//   da_r = da_n ⊙ Gh_n ⊙ r(1−r), da_z = dz ⊙ z(1−z)
//   dG = [da_r, da_z, da_n] (x side), dGh = [da_r, da_z, da_n ⊙ r] (h side)
//   Carry = dh ⊙ z (+ dOut_{t−1}): with dGh·W_hh, step t−1's dh (hasCarry; not on the first step)
export function gru_cell_backward(p: CellParams, b: KernelBuffers<F>['gru_cell_backward']): void {
  const { batch, H } = p;
  for (let r = 0; r < batch; r++) {
    for (let j = 0; j < H; j++) {
      const g0 = p.offG + r * 3 * H + j,
        h0 = p.offGh + r * 3 * H + j,
        d0 = p.offDG + r * 3 * H + j,
        e0 = p.offDGh + r * 3 * H + j,
        s = r * H + j;
      const rg = b.G[g0],
        z = b.G[g0 + H],
        n = b.G[g0 + 2 * H];
      const dh = b.dH[p.offDH + s],
        hp = b.Hs[p.offHPrev + s];
      const dan = dh * (1 - z) * (1 - n * n);
      const dar = dan * b.Gh[h0 + 2 * H] * rg * (1 - rg);
      const daz = dh * (hp - n) * z * (1 - z);
      b.dG[d0] = dar;
      b.dG[d0 + H] = daz;
      b.dG[d0 + 2 * H] = dan;
      b.dGh[e0] = dar;
      b.dGh[e0 + H] = daz;
      b.dGh[e0 + 2 * H] = dan * rg;
      if (p.hasCarry) b.Carry![p.offCarry + s] = dh * z + (p.hasDOut ? b.DOut![p.offDOut + s] : 0);
    }
  }
}
