// The float64 reference the recurrent suites (lstm, gru) validate every contender against before
// timing: a sequential model's forward pass and mse loss written as plain loops over the cell
// equations, sharing no code with Miya's kernels or TF.js. PyTorch's GRU applies the reset gate
// after the recurrent product (n = tanh(W_in·x + b_in + r ⊙ (W_hn·h + b_hn))); TF.js's
// tf.layers.gru is Keras's reset_after = false cell (TF.js refuses reset_after = true), which
// applies it before (n = tanh(W_in·x + b_in + W_hn·(r ⊙ h))) and has no b_hn. Both are given here,
// so each contender is held to the equations it computes (ARCHITECTURE.md, "The parts": bench/).
import { GATES } from '../src/nn/layout.js';
import type { ParamTensor } from '../src/nn/network.js';
import type { SequentialSpec } from '../src/spec/types.js';

/** Which GRU cell: PyTorch's (Miya's) or Keras's reset_after = false (TF.js's). */
export type GruCell = 'pytorch' | 'resetBefore';

const sigmoid = (v: number) => 1 / (1 + Math.exp(-v));
function activate(v: number, act: string): number {
  switch (act) {
    case 'identity':
      return v;
    case 'sigmoid':
      return sigmoid(v);
    case 'tanh':
      return Math.tanh(v);
    case 'relu':
      return Math.max(v, 0);
    default:
      throw new Error(`bench reference: activation ${act} is not in the benchmark`);
  }
}

/** out[r] = Σ_k W[r][k]·x[k] for r < rows (W row-major at `off`, `cols` wide), plus b[r] if given. */
function affine(p: Float64Array, off: number, rows: number, cols: number, x: Float64Array, bias?: number): Float64Array {
  const out = new Float64Array(rows);
  for (let r = 0; r < rows; r++) {
    let s = bias === undefined ? 0 : p[bias + r];
    const w = off + r * cols;
    for (let k = 0; k < cols; k++) s += p[w + k] * x[k];
    out[r] = s;
  }
  return out;
}

/**
 * The model's outputs for samples x ([n][T][I], sample-major) under parameters `p` (PyTorch's
 * layout, `layout`): [n][O] when the last recurrent layer returns its last step only.
 */
export function referenceOutputs(
  m: SequentialSpec,
  layout: ParamTensor[],
  p: Float64Array,
  x: Float64Array,
  n: number,
  T: number,
  gru: GruCell = 'pytorch',
): Float64Array {
  const at = new Map(layout.map((t) => [t.name, t.off]));
  const off = (i: number, name: string) => at.get(`layers.${i}.${name}`)!;
  const outs: Float64Array[] = [];
  for (let s = 0; s < n; s++) {
    // the sample as a list of step vectors; a recurrent layer without returnSequences leaves one
    let seq: Float64Array[] = Array.from({ length: T }, (_, t) => x.slice((s * T + t) * m.inputSize, (s * T + t + 1) * m.inputSize));
    let inSize = m.inputSize;
    m.layers.forEach((l, i) => {
      if (l.type === 'dense') {
        seq = seq.map((v) => affine(p, off(i, 'weight'), l.units, inSize, v, off(i, 'bias')).map((z) => activate(z, l.activation)));
        inSize = l.units;
        return;
      }
      if (l.type === 'embedding' || l.type === 'dropout') throw new Error(`recurrentRef: no ${l.type} layers here`);
      const H = l.units,
        wi = off(i, 'weight_ih_l0'),
        wh = off(i, 'weight_hh_l0'),
        bi = off(i, 'bias_ih_l0'),
        bh = off(i, 'bias_hh_l0');
      let h = new Float64Array(H),
        c = new Float64Array(H);
      const hs: Float64Array[] = [];
      for (const v of seq) {
        const a = affine(p, wi, GATES[l.type] * H, inSize, v, bi);
        const next = new Float64Array(H);
        if (l.type === 'lstm') {
          const r = affine(p, wh, 4 * H, H, h, bh);
          const cNext = new Float64Array(H);
          for (let j = 0; j < H; j++) {
            const ig = sigmoid(a[j] + r[j]),
              fg = sigmoid(a[H + j] + r[H + j]),
              g = Math.tanh(a[2 * H + j] + r[2 * H + j]),
              og = sigmoid(a[3 * H + j] + r[3 * H + j]);
            cNext[j] = fg * c[j] + ig * g;
            next[j] = og * Math.tanh(cNext[j]);
          }
          c = cNext;
        } else if (l.type === 'gru') {
          // r and z from both products; n from W_hn applied after (PyTorch) or before (Keras) the reset
          const rz = affine(p, wh, 2 * H, H, h, bh);
          const rg = new Float64Array(H),
            zg = new Float64Array(H);
          for (let j = 0; j < H; j++) {
            rg[j] = sigmoid(a[j] + rz[j]);
            zg[j] = sigmoid(a[H + j] + rz[H + j]);
          }
          const hn =
            gru === 'pytorch'
              ? affine(p, wh + 2 * H * H, H, H, h, bh + 2 * H)
              : affine(
                  p,
                  wh + 2 * H * H,
                  H,
                  H,
                  h.map((v2, j) => rg[j] * v2),
                );
          for (let j = 0; j < H; j++) {
            const nn = Math.tanh(a[2 * H + j] + (gru === 'pytorch' ? rg[j] * hn[j] : hn[j]));
            next[j] = (1 - zg[j]) * nn + zg[j] * h[j];
          }
        } else {
          const r = affine(p, wh, H, H, h, bh);
          for (let j = 0; j < H; j++) next[j] = activate(a[j] + r[j], l.activation ?? 'tanh');
        }
        h = next;
        hs.push(h);
      }
      seq = l.returnSequences ? hs : [h];
      inSize = H;
    });
    if (seq.length !== 1) throw new Error('bench reference: the benchmark models end with one output a sample');
    outs.push(seq[0]);
  }
  const O = outs[0].length,
    y = new Float64Array(n * O);
  outs.forEach((o, s) => y.set(o, s * O));
  return y;
}

/** Mean squared error over all n·O outputs (TF.js's meanSquaredError, Miya's mse). */
export function mse(pred: Float64Array, y: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < pred.length; i++) s += (pred[i] - y[i]) ** 2;
  return s / pred.length;
}
