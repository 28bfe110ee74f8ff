// The forward and backward parts of `miya explain` for a sequential model (src/nn/sequential.ts):
// layer by layer, and inside an LSTM or GRU step gate by gate, with the device's numbers beside the
// reference's. What the layers do not keep (the pre-activation sums, dh and dc carried back through
// time) is recomputed here in float64 from the reference's own numbers, and said to be.
import { dropoutKey, dropoutKeeps } from '../cpu/dropout.js';
import { dropoutThreshold } from '../kernels.js';
import { seedKey } from '../nn/dropout.js';
import { GATES } from '../nn/layout.js';
import { readsSequences } from '../spec/sequential.js';
import type { RecurrentLayerSpec, SequentialSpec } from '../spec/types.js';
import type { StepTrace } from '../verify/trace.js';
import { fmt, fmtMatrix } from './format.js';

/** How the story prints a tensor: the reference's value and, when there is one, the device's beside it. */
export interface Teller {
  say(s?: string): void;
  show(label: string, cols: number, pick: (t: StepTrace) => Float64Array | undefined): void;
}

type Layer = SequentialSpec['layers'][number];
const σ = 'σ';

/** Rows [t·B, (t+1)·B) of a time-major [T·B][cols] tensor. */
const stepRows = (v: Float64Array, t: number, B: number, cols: number) => v.subarray(t * B * cols, (t + 1) * B * cols);
/** Columns [k·H, (k+1)·H) of each row of a [B][G·H] tensor of stacked gates. */
function gate(v: Float64Array, B: number, G: number, H: number, k: number): Float64Array {
  const out = new Float64Array(B * H);
  for (let b = 0; b < B; b++) for (let j = 0; j < H; j++) out[b * H + j] = v[b * G * H + k * H + j];
  return out;
}
/** a·Wᵀ (+ bias): a [B][n], W [m][n] → [B][m], summed in float64. */
function timesWt(a: Float64Array, w: Float64Array, m: number, bias?: Float64Array): Float64Array {
  const n = w.length / m,
    B = a.length / n,
    out = new Float64Array(B * m);
  for (let b = 0; b < B; b++)
    for (let i = 0; i < m; i++) {
      let s = bias ? bias[i] : 0;
      for (let k = 0; k < n; k++) s += a[b * n + k] * w[i * n + k];
      out[b * m + i] = s;
    }
  return out;
}
/** d·W: d [B][m], W [m][n] → [B][n]. */
function timesW(d: Float64Array, w: Float64Array, m: number): Float64Array {
  const n = w.length / m,
    B = d.length / m,
    out = new Float64Array(B * n);
  for (let b = 0; b < B; b++)
    for (let k = 0; k < n; k++) {
      let s = 0;
      for (let i = 0; i < m; i++) s += d[b * m + i] * w[i * n + k];
      out[b * n + k] = s;
    }
  return out;
}
const map2 = (a: Float64Array, b: Float64Array, f: (x: number, y: number) => number) => a.map((x, i) => f(x, b[i]));

/** The shape facts of a stack: each layer's input width, and whether its input and output are sequences. */
function shapes(m: SequentialSpec) {
  let inSize = m.inputSize,
    seq = readsSequences(m);
  return m.layers.map((l) => {
    const recurrent = l.type === 'rnn' || l.type === 'lstm' || l.type === 'gru';
    const s = { inSize, out: l.type === 'dropout' ? inSize : l.units, seqIn: seq, seqOut: recurrent ? l.returnSequences : l.type === 'embedding' || seq };
    inSize = s.out;
    seq = s.seqOut;
    return s;
  });
}

const MODULES = { dense: 'nn.Linear', rnn: 'nn.RNN', lstm: 'nn.LSTM', gru: 'nn.GRU', embedding: 'nn.Embedding', dropout: 'nn.Dropout' } as const;
const kindName = (l: Layer) => `${l.type}, ${MODULES[l.type]}`;

/** A tensor of the trace by name, whichever part holds it. */
const get = (t: StepTrace, name: string) => t.forward.get(name) ?? t.backward.get(name) ?? t.before.get(name);

export class SequentialStory {
  private readonly info;
  private readonly T: number;
  private readonly B: number;

  /** `seed` and `trainStep` (the run's 0-based step number): the traced step's, from which its dropout masks were drawn. */
  constructor(
    private m: SequentialSpec,
    private ref: StepTrace,
    private lossGrad: Float64Array | undefined,
    private seed = 0,
    private trainStep = 0,
  ) {
    this.info = shapes(m);
    this.T = readsSequences(m) ? ref.timeSteps : 1;
    this.B = ref.batch;
  }

  describe(): string {
    const m = this.m;
    const layer = (l: Layer) => `${l.type} ${l.type === 'dropout' ? l.rate : l.units}${'returnSequences' in l && l.returnSequences ? ' (sequences)' : ''}`;
    const input = m.layers[0].type === 'embedding' ? 'token ids' : `${m.inputSize} in`;
    return `sequential model (${input}; ${m.layers.map(layer).join(' → ')}${readsSequences(m) ? `; ${this.T} steps` : ''})`;
  }

  /** Layer i's output at step t ([B][units]); the whole output when it is not a sequence. */
  private outputAt(t: StepTrace, i: number, step: number): Float64Array | undefined {
    const l = this.m.layers[i],
      { seqOut, out } = this.info[i];
    if (l.type === 'rnn' || l.type === 'lstm' || l.type === 'gru') return get(t, `layers.${i}.h[t=${seqOut ? step + 1 : this.T}]`);
    const v = get(t, `layers.${i}.${l.type !== 'dense' ? 'out' : l.activation === 'identity' ? 'z' : 'a'}`);
    return v && seqOut ? stepRows(v, step, this.B, out) : v;
  }

  private inputAt(t: StepTrace, i: number, step: number): Float64Array | undefined {
    if (i > 0) return this.outputAt(t, i - 1, step);
    return this.info[0].seqIn ? stepRows(t.input, step, this.B, this.m.inputSize) : t.input;
  }

  /** dL/d(layer i's input) at a step, [B][in], through its weights (reference, float64). */
  private dInputAt(i: number, step: number): Float64Array | undefined {
    const l = this.m.layers[i],
      r = this.ref,
      p = `layers.${i}`;
    if (l.type === 'embedding') return undefined; // the first layer: ids have no gradient
    if (l.type === 'dropout') {
      // dx = dOut ⊙ mask / (1 − p), the mask drawn again as the kernel drew it (src/cpu/dropout.ts):
      // read off out / in it would be lost wherever the input is 0
      const d = get(r, `${p}.dout`);
      if (!d) return undefined;
      const n = this.info[i].out,
        seqIn = this.info[i].seqIn,
        dd = seqIn ? stepRows(d, step, this.B, n) : d;
      const key = dropoutKey(seedKey(this.seed), this.trainStep >>> 0, i),
        threshold = dropoutThreshold(l.rate),
        first = seqIn ? step * this.B * n : 0;
      return dd.map((v, k) => (dropoutKeeps(key, first + k, threshold) ? v * (1 / (1 - l.rate)) : 0));
    }
    if (l.type === 'dense') {
      const dz = get(r, `${p}.dz`);
      return dz && timesW(this.info[i].seqIn ? stepRows(dz, step, this.B, l.units) : dz, get(r, `${p}.weight`)!, l.units);
    }
    const d = get(r, l.type === 'rnn' ? `${p}.dz[t=${step + 1}]` : l.type === 'lstm' ? `${p}.dgates[t=${step + 1}]` : `${p}.dgx[t=${step + 1}]`);
    return d && timesW(d, get(r, `${p}.weight_ih_l0`)!, GATES[l.type] * l.units);
  }

  /** dL/d(layer i's output) at a step: from the layer above, or the loss for the last layer. */
  private dOutputAt(i: number, step: number): Float64Array | undefined {
    const { seqOut, out } = this.info[i],
      zero = new Float64Array(this.B * out);
    if (!seqOut && step !== this.T - 1) return zero;
    if (i === this.m.layers.length - 1) return this.lossGrad && (seqOut ? stepRows(this.lossGrad, step, this.B, out) : this.lossGrad);
    return this.dInputAt(i + 1, this.info[i + 1].seqIn ? step : 0);
  }

  /**
   * Row `row` of a·Wᵀ + bias as its terms, W[row][k]·a[k] … + b[row], for one sample of a small
   * layer (undefined when the batch has more than one sample or the row is long).
   */
  private terms(a: Float64Array, w: Float64Array, row: number, bias: Float64Array | undefined): string[] | undefined {
    const n = a.length / this.B;
    if (this.B !== 1 || n > 4) return undefined;
    const out = Array.from(a, (v, k) => `${fmt(w[row * n + k])}·${factor(v)}`);
    if (bias) out.push(fmt(bias[row]));
    return out;
  }

  forward(tell: Teller): void {
    this.m.layers.forEach((l, i) => {
      const p = `layers.${i}`,
        { seqIn, seqOut } = this.info[i];
      tell.say(`  layer ${i + 1} (${kindName(l)}, ${p}):`);
      if (l.type === 'embedding' || l.type === 'dropout') {
        tell.say(
          l.type === 'embedding'
            ? "    out_t = W[id_t]: row id_t of the weight [vocab][units], for each step's token id"
            : `    out = in ⊙ mask / (1 − ${l.rate}) while training (each value kept with probability ${1 - l.rate}), in itself in evaluation`,
        );
        this.own(tell, i, this.ref.forward);
        return;
      }
      if (l.type === 'dense') {
        tell.say(`    z = in·Wᵀ + b, a = ${l.activation}(z)${seqIn ? ", at every step (rows time-major: step 1's samples, then step 2's, …)" : ''}`);
        tell.show('  z', l.units, (t) => get(t, `${p}.z`));
        if (l.activation !== 'identity') tell.show(`  a = ${l.activation}(z)`, l.units, (t) => get(t, `${p}.a`));
        return;
      }
      if (l.type === 'rnn') this.rnnForward(tell, i, l.activation ?? 'tanh');
      else if (l.type === 'lstm') this.lstmForward(tell, i);
      else this.gruForward(tell, i);
      tell.say(`    passes on ${seqOut ? "every step's h (returnSequences)" : `the last step's h_${this.T}`}`);
    });
  }

  /** The tensors a layer keeps itself (an embedding's, a dropout's), as they are named. */
  private own(tell: Teller, i: number, part: Map<string, Float64Array>): void {
    for (const [name] of part) {
      if (!name.startsWith(`layers.${i}.`) || name.endsWith('.grad')) continue;
      tell.show(`  ${name.slice(`layers.${i}.`.length)}`, this.ref.shapes.get(name)?.slice(-1)[0] ?? this.info[i].out, (t) => get(t, name));
    }
  }

  private rnnForward(tell: Teller, i: number, f: string): void {
    const p = `layers.${i}`,
      H = this.info[i].out;
    tell.say(`    h_t = ${f}(z_t), z_t = x_t·W_ihᵀ + b_ih + h_(t−1)·W_hhᵀ + b_hh, h_0 = 0`);
    for (let t = 1; t <= this.T; t++) {
      tell.say(`    step ${t}:`);
      tell.show(`    z_${t}`, H, (s) => get(s, `${p}.z[t=${t}]`));
      tell.show(`    h_${t}`, H, (s) => get(s, `${p}.h[t=${t}]`));
    }
  }

  /** The two sides of a step's pre-activations from the reference's numbers, [B][G·H] each: x_t·W_ihᵀ + b_ih and h_(t−1)·W_hhᵀ + b_hh. */
  private preActivation(i: number, step: number, hPrev: Float64Array): { x: Float64Array; h: Float64Array } {
    const r = this.ref,
      p = `layers.${i}`,
      l = this.m.layers[i] as RecurrentLayerSpec,
      GH = GATES[l.type] * l.units;
    const x = timesWt(this.inputAt(r, i, step)!, get(r, `${p}.weight_ih_l0`)!, GH, get(r, `${p}.bias_ih_l0`));
    const h = timesWt(hPrev, get(r, `${p}.weight_hh_l0`)!, GH, get(r, `${p}.bias_hh_l0`));
    return { x, h };
  }

  private hPrev(t: StepTrace, i: number, step: number): Float64Array {
    return step === 0 ? new Float64Array(this.B * this.info[i].out) : get(t, `layers.${i}.h[t=${step}]`)!;
  }

  private lstmForward(tell: Teller, i: number): void {
    const p = `layers.${i}`,
      H = this.info[i].out,
      B = this.B,
      G = 4;
    tell.say("    a_t = x_t·W_ihᵀ + b_ih + h_(t−1)·W_hhᵀ + b_hh, its 4·units columns the gates i, f, g, o (nn.LSTM's order)");
    tell.say(`    i = ${σ}(a_i), f = ${σ}(a_f), g = tanh(a_g), o = ${σ}(a_o);  c_t = f ⊙ c_(t−1) + i ⊙ g;  h_t = o ⊙ tanh(c_t);  h_0 = c_0 = 0`);
    const names = ['i', 'f', 'g', 'o'],
      fns = [σ, σ, 'tanh', σ];
    for (let t = 0; t < this.T; t++) {
      tell.say(`    step ${t + 1}:`);
      const hp = this.hPrev(this.ref, i, t),
        { x, h } = this.preActivation(i, t, hp);
      const a = map2(x, h, (u, v) => u + v);
      const gates = (s: StepTrace) => get(s, `${p}.gates[t=${t + 1}]`);
      const r = this.ref,
        input = this.inputAt(r, i, t)!;
      names.forEach((n, k) => {
        const ak = gate(a, B, G, H, k);
        for (let j = 0; j < H; j++) {
          // a[j] = x-side terms + b_ih + h-side terms + b_hh (the h side is only b_hh at step 1, h_0 = 0)
          const xs = this.terms(input, get(r, `${p}.weight_ih_l0`)!, k * H + j, get(r, `${p}.bias_ih_l0`));
          const hs =
            t === 0 ? [fmt(get(r, `${p}.bias_hh_l0`)![k * H + j])] : this.terms(hp, get(r, `${p}.weight_hh_l0`)!, k * H + j, get(r, `${p}.bias_hh_l0`));
          if (xs && hs) tell.say(`      a_${n}[${j}] = ${join([...xs, ...hs])} = ${fmt(ak[j])}`);
        }
        if (B !== 1) tell.say(`      a_${n} = ${fmtMatrix(ak, H)}   (float64 from the reference's x, h_${t} and weights)`);
        tell.show(`    ${n} = ${fns[k]}(a_${n})`, H, (s) => {
          const v = gates(s);
          return v && gate(v, B, G, H, k);
        });
      });
      const cPrev = (s: StepTrace) => (t === 0 ? new Float64Array(B * H) : get(s, `${p}.c[t=${t}]`)!);
      if (B === 1) {
        const g = gates(this.ref)!,
          c = cPrev(this.ref);
        const line = Array.from({ length: H }, (_, j) => join([`${fmt(g[H + j])}·${factor(c[j])}`, `${fmt(g[j])}·${factor(g[2 * H + j])}`]));
        tell.say(`      c_${t + 1} = f ⊙ c_${t} + i ⊙ g = [${line.join(', ')}]`);
      }
      tell.show(`    c_${t + 1}`, H, (s) => get(s, `${p}.c[t=${t + 1}]`));
      if (B === 1) {
        const g = gates(this.ref)!,
          c = get(this.ref, `${p}.c[t=${t + 1}]`)!;
        tell.say(`      h_${t + 1} = o ⊙ tanh(c_${t + 1}) = [${Array.from({ length: H }, (_, j) => `${fmt(g[3 * H + j])}·tanh(${fmt(c[j])})`).join(', ')}]`);
      }
      tell.show(`    h_${t + 1}`, H, (s) => get(s, `${p}.h[t=${t + 1}]`));
    }
  }

  private gruForward(tell: Teller, i: number): void {
    const p = `layers.${i}`,
      H = this.info[i].out,
      B = this.B,
      G = 3;
    tell.say("    X_t = x_t·W_ihᵀ + b_ih and Gh_t = h_(t−1)·W_hhᵀ + b_hh, their 3·units columns the gates r, z, n (nn.GRU's order)");
    tell.say(`    r = ${σ}(X_r + Gh_r), z = ${σ}(X_z + Gh_z), n = tanh(X_n + r ⊙ Gh_n);  h_t = (1 − z) ⊙ n + z ⊙ h_(t−1);  h_0 = 0`);
    for (let t = 0; t < this.T; t++) {
      tell.say(`    step ${t + 1}:`);
      const hp = this.hPrev(this.ref, i, t),
        { x, h } = this.preActivation(i, t, hp);
      const gates = (s: StepTrace) => get(s, `${p}.gates[t=${t + 1}]`);
      tell.say(`      X = ${fmtMatrix(x, G * H)}   Gh = ${fmtMatrix(h, G * H)}   (float64 from the reference's x, h_${t} and weights)`);
      ['r', 'z'].forEach((n, k) => {
        if (B === 1)
          tell.say(
            `      ${n} = ${σ}(X_${n} + Gh_${n}) = ${σ}([${Array.from({ length: H }, (_, j) => join([fmt(x[k * H + j]), fmt(h[k * H + j])])).join(', ')}])`,
          );
        tell.show(`    ${n}`, H, (s) => {
          const v = gates(s);
          return v && gate(v, B, G, H, k);
        });
      });
      if (B === 1) {
        const r = gate(gates(this.ref)!, 1, G, H, 0);
        tell.say(
          `      n = tanh(X_n + r ⊙ Gh_n) = tanh([${Array.from({ length: H }, (_, j) => join([fmt(x[2 * H + j]), `${fmt(r[j])}·${factor(h[2 * H + j])}`])).join(', ')}])`,
        );
      }
      tell.show('    n', H, (s) => {
        const v = gates(s);
        return v && gate(v, B, G, H, 2);
      });
      if (B === 1) {
        const g = gates(this.ref)!;
        tell.say(
          `      h_${t + 1} = (1 − z) ⊙ n + z ⊙ h_${t} = [${Array.from({ length: H }, (_, j) => join([`(1 − ${fmt(g[H + j])})·${factor(g[2 * H + j])}`, `${fmt(g[H + j])}·${factor(hp[j])}`])).join(', ')}]`,
        );
      }
      tell.show(`    h_${t + 1}`, H, (s) => get(s, `${p}.h[t=${t + 1}]`));
    }
  }

  backward(tell: Teller): void {
    for (let i = this.m.layers.length - 1; i >= 0; i--) {
      const l = this.m.layers[i],
        p = `layers.${i}`;
      tell.say(`  layer ${i + 1} (${kindName(l)}, ${p}):`);
      if (l.type === 'embedding' || l.type === 'dropout') {
        this.own(tell, i, this.ref.backward);
      } else if (l.type === 'dense') {
        tell.show('  δ = dL/dz', l.units, (t) => get(t, `${p}.dz`));
      } else if (l.type === 'rnn') {
        tell.say(`    back through time from step ${this.T}: δ_t = dL/dz_t = (dL/dh_t + δ_(t+1)·W_hh) ⊙ ${l.activation ?? 'tanh'}′(z_t)`);
        for (let t = this.T; t >= 1; t--) tell.show(`  δ_${t}`, l.units, (s) => get(s, `${p}.dz[t=${t}]`));
      } else if (l.type === 'lstm') this.lstmBackward(tell, i);
      else this.gruBackward(tell, i);
      for (const [name] of this.ref.before) {
        if (!name.startsWith(`${p}.`)) continue;
        const cols = this.ref.shapes.get(name)!.slice(-1)[0];
        tell.show(`  dL/d ${name}`, cols, (t) => t.backward.get(`${name}.grad`));
      }
      if (l.type === 'rnn' || l.type === 'lstm' || l.type === 'gru') {
        tell.say(`    W_ih, W_hh, b_ih and b_hh are shared by every step: their gradients are the sums over the steps of each step's`);
        tell.say(
          `    gate gradients times x_tᵀ, times h_(t−1)ᵀ, and alone${l.type === 'gru' ? " (the h side's n column scaled by r, since b_hn sits inside r ⊙ (…))" : ''}.`,
        );
      }
    }
  }

  private lstmBackward(tell: Teller, i: number): void {
    const p = `layers.${i}`,
      H = this.info[i].out,
      B = this.B,
      G = 4,
      r = this.ref;
    tell.say(`    back through time from step ${this.T}: dh_t = dL/dh_t from above + da_(t+1)·W_hh;  dc_t = dh_t ⊙ o ⊙ (1 − tanh²(c_t)) + dc_(t+1) ⊙ f_(t+1)`);
    tell.say(`    da_i = dc_t ⊙ g ⊙ i(1 − i), da_f = dc_t ⊙ c_(t−1) ⊙ f(1 − f), da_g = dc_t ⊙ i ⊙ (1 − g²), da_o = dh_t ⊙ tanh(c_t) ⊙ o(1 − o)`);
    let dcNext: Float64Array | undefined, fNext: Float64Array | undefined;
    for (let t = this.T - 1; t >= 0; t--) {
      tell.say(`    step ${t + 1}:`);
      const above = this.dOutputAt(i, t);
      const whh = get(r, `${p}.weight_hh_l0`)!,
        next = t < this.T - 1 ? get(r, `${p}.dgates[t=${t + 2}]`) : undefined;
      const dh = above && (next ? map2(above, timesW(next, whh, G * H), (u, v) => u + v) : above);
      const g = get(r, `${p}.gates[t=${t + 1}]`)!,
        c = get(r, `${p}.c[t=${t + 1}]`)!;
      if (dh) {
        const o = gate(g, B, G, H, 3);
        let dc = dh.map((v, k) => v * o[k] * (1 - Math.tanh(c[k]) ** 2));
        if (dcNext && fNext)
          dc = map2(
            dc,
            map2(dcNext, fNext, (u, v) => u * v),
            (u, v) => u + v,
          );
        tell.say(`      dh_${t + 1} = ${fmtMatrix(dh, H)}   dc_${t + 1} = ${fmtMatrix(dc, H)}   (float64 from the reference's numbers)`);
        dcNext = dc;
      }
      fNext = gate(g, B, G, H, 1);
      ['i', 'f', 'g', 'o'].forEach((n, k) =>
        tell.show(`    da_${n}`, H, (s) => {
          const v = get(s, `${p}.dgates[t=${t + 1}]`);
          return v && gate(v, B, G, H, k);
        }),
      );
    }
  }

  private gruBackward(tell: Teller, i: number): void {
    const p = `layers.${i}`,
      H = this.info[i].out,
      B = this.B,
      G = 3,
      r = this.ref;
    tell.say(`    back through time from step ${this.T}: dh_t = dL/dh_t from above + dGh_(t+1)·W_hh + z_(t+1) ⊙ dh_(t+1)`);
    tell.say(`    dn = dh_t ⊙ (1 − z) ⊙ (1 − n²), dz = dh_t ⊙ (h_(t−1) − n) ⊙ z(1 − z), dr = dn ⊙ Gh_n ⊙ r(1 − r)  (the pre-activation gradients, dX)`);
    tell.say("    dGh = [dr, dz, dn ⊙ r]: the h side's gradients");
    let dhNext: Float64Array | undefined;
    for (let t = this.T - 1; t >= 0; t--) {
      tell.say(`    step ${t + 1}:`);
      const above = this.dOutputAt(i, t);
      if (above) {
        let dh = above;
        if (dhNext && t < this.T - 1) {
          const dX = get(r, `${p}.dgx[t=${t + 2}]`)!,
            gn = get(r, `${p}.gates[t=${t + 2}]`)!;
          // dGh = dX but for its n columns, dn ⊙ r (r in the same row's first H columns)
          const dGh = Float64Array.from(dX);
          for (let b = 0; b < B; b++) for (let j = 0; j < H; j++) dGh[b * G * H + 2 * H + j] = dX[b * G * H + 2 * H + j] * gn[b * G * H + j];
          const z = gate(gn, B, G, H, 1);
          dh = map2(
            map2(above, timesW(dGh, get(r, `${p}.weight_hh_l0`)!, G * H), (u, v) => u + v),
            map2(z, dhNext, (u, v) => u * v),
            (u, v) => u + v,
          );
        }
        tell.say(`      dh_${t + 1} = ${fmtMatrix(dh, H)}   (float64 from the reference's numbers)`);
        dhNext = dh;
      }
      ['r', 'z', 'n'].forEach((n, k) =>
        tell.show(`    d${n}`, H, (s) => {
          const v = get(s, `${p}.dgx[t=${t + 1}]`);
          return v && gate(v, B, G, H, k);
        }),
      );
    }
  }
}

/** A factor in parentheses when negative: 0.2·(−0.5). */
const factor = (v: number) => (v < 0 ? `(${fmt(v)})` : fmt(v));

/** Terms joined as the hand-worked stories write them: a − b rather than a + −b. */
export function join(terms: string[]): string {
  return terms.map((t, i) => (i === 0 ? t : t.startsWith('−') ? ` − ${t.slice(1)}` : ` + ${t}`)).join('');
}
