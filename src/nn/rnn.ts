// An Elman RNN: h_t = f(x_t·Wxᵀ + h_{t-1}·Whᵀ + bh), h_0 = 0, and ŷ = g(h_T·Wyᵀ + by) on the last step.
// Backpropagation through time sums the shared weights' gradients over the steps:
//   dWx = Σ_t dz_tᵀ·x_t,  dWh = Σ_t dz_tᵀ·h_{t-1},  dbh = Σ_t Σ_rows dz_t
// computed as single matmuls over all steps stacked ([T·batch] rows), which fixes the order of the sums.
// Inputs are time-major within a batch: x: [T][batch][I].
import type { Backend, View } from '../backend.js';
import type { Act, LossKind } from '../kernels.js';
import type { RnnSpec } from '../spec/types.js';
import { allocate, fusedSoftmaxCE, paramBuffers, type Network, type ParamTensor, type StepTensor } from './network.js';
import { layoutSize, paramLayout } from './layout.js';
import { activationBackward, colSum, matmul, rowsOf } from './ops.js';

export { RNN_PARAM_NAMES } from './layout.js';

export class Rnn<B> implements Network<B> {
  readonly kind = 'rnn' as const;
  readonly params: ParamTensor[];
  readonly size: number;
  readonly paramBuf: B;
  readonly gradBuf: B;
  readonly sampleSize: number;
  readonly outputSize: number;
  readonly outputActivation: Act;
  private owned: B[] = [];
  private p: Record<string, View<B>> = {};
  private g: Record<string, View<B>> = {};
  private readonly I: number;
  private readonly act: Act;
  // zx: x·Wxᵀ + bh for all steps [T·maxB][H]; z: pre-activations [T·maxB][H];
  // h: states h_0..h_T [(T+1)·maxB][H]; dz: [T·maxB][H]
  // h_0 is never written: a batch of b rows stacks h_0..h_T from row maxB − b (hRows), so its h_0
  // lies in rows [0, maxB), which no batch size writes, and stays zero. Stacking from row 0 let a
  // short last batch's h_1 land in the next full batch's h_0, which then started from stale
  // states (an RNN's held-out accuracy changed between two evaluations of the same parameters).
  private readonly maxB: number;
  private zx: View<B>; private z: View<B>; private h: View<B>; private dz: View<B>;
  private zy: View<B>; private ay: View<B>; private dzy: View<B>; private day: View<B>;

  constructor(private be: Backend<B>, spec: RnnSpec, readonly steps: number, maxBatch: number) {
    const { inputSize: I, hiddenSize: H, outputSize: O } = spec;
    [this.I, this.act] = [I, spec.activation];
    this.params = paramLayout(spec);
    this.size = layoutSize(this.params);
    [this.paramBuf, this.gradBuf] = paramBuffers(be, this.params, this.size, this.owned);
    for (const t of this.params) {
      this.p[t.name] = { buf: this.paramBuf, off: t.off, rows: t.rows, cols: t.cols };
      this.g[t.name] = { buf: this.gradBuf, off: t.off, rows: t.rows, cols: t.cols };
    }
    const T = steps, mb = maxBatch;
    this.maxB = mb;
    const alloc = (rows: number, cols: number, label: string) => allocate(be, this.owned, rows, cols, label);
    this.zx = alloc(T * mb, H, 'rnn.zx');
    this.z = alloc(T * mb, H, 'rnn.z');
    this.h = alloc((T + 1) * mb, H, 'rnn.h');
    this.dz = alloc(T * mb, H, 'rnn.dz');
    this.zy = alloc(mb, O, 'head.z');
    this.ay = spec.outputActivation === 'identity' ? this.zy : alloc(mb, O, 'head.a');
    this.day = alloc(mb, O, 'head.da');
    this.dzy = spec.outputActivation === 'identity' ? this.day : alloc(mb, O, 'head.dz');
    this.sampleSize = T * I;
    this.outputSize = O;
    this.outputActivation = spec.outputActivation;
  }

  /** Rows of step t (0-based) in a stacked [T·batch][·] tensor. */
  private at(v: View<B>, t: number, batch: number): View<B> { return rowsOf(v, t * batch, batch); }
  /** Rows of states h_t..h_{t+count-1} of a batch in h (stacked from row maxB − batch; see h). */
  private hRows(t: number, batch: number, count = 1): View<B> { return rowsOf(this.h, this.maxB - batch + t * batch, count * batch); }

  // x: [T][batch][I] → h_1..h_T, ŷ: [batch][O]
  forward(x: View<B>, batch: number): void {
    const T = this.steps, W = this.p;
    const xs: View<B> = { buf: x.buf, off: x.off, rows: T * batch, cols: this.I };
    matmul(this.be, { z: rowsOf(this.zx, 0, T * batch), a: xs, b: W['rnn.weight_ih_l0'], transB: true, bias: W['rnn.bias_ih_l0'] });
    for (let t = 0; t < T; t++) {
      matmul(this.be, {
        z: this.at(this.z, t, batch), a: this.hRows(t, batch),
        b: W['rnn.weight_hh_l0'], transB: true, add: this.at(this.zx, t, batch), activation: this.act, act: this.hRows(t + 1, batch),
      });
    }
    matmul(this.be, {
      z: rowsOf(this.zy, 0, batch), a: this.hRows(T, batch), b: W['head.weight'], transB: true, bias: W['head.bias'],
      activation: this.outputActivation, act: rowsOf(this.ay, 0, batch),
    });
  }

  lossInput(loss: LossKind, batch: number): View<B> {
    return rowsOf(fusedSoftmaxCE(this.outputActivation, loss) ? this.zy : this.ay, 0, batch);
  }
  lossGradTarget(loss: LossKind, batch: number): View<B> {
    return rowsOf(fusedSoftmaxCE(this.outputActivation, loss) ? this.dzy : this.day, 0, batch);
  }
  prediction(batch: number): View<B> { return rowsOf(this.ay, 0, batch); }

  backward(x: View<B>, batch: number, loss: LossKind): void {
    const T = this.steps, W = this.p, G = this.g, be = this.be;
    const dzy = rowsOf(this.dzy, 0, batch);
    if (!fusedSoftmaxCE(this.outputActivation, loss)) {
      activationBackward(be, this.outputActivation, batch, { z: this.zy, a: this.ay, da: this.day, dz: this.dzy });
    }
    const hT = this.hRows(T, batch);
    matmul(be, { z: G['head.weight'], a: dzy, b: hT, transA: true });
    colSum(be, dzy, batch, G['head.bias']);
    // dz_t = dh_t ⊙ f'(z_t), with dh_T = dzy·Wy and dh_t = dz_{t+1}·Wh: each step is one matmul
    // with the derivative fused in (h_{t+1} = f(z_t) is what f' reads)
    const through = (t: number) => ({ act: this.act, z: this.at(this.z, t, batch), a: this.hRows(t + 1, batch) });
    matmul(be, { z: this.at(this.dz, T - 1, batch), a: dzy, b: W['head.weight'], through: through(T - 1) });
    for (let t = T - 1; t > 0; t--) {
      matmul(be, { z: this.at(this.dz, t - 1, batch), a: this.at(this.dz, t, batch), b: W['rnn.weight_hh_l0'], through: through(t - 1) });
    }
    const dzAll = rowsOf(this.dz, 0, T * batch);
    matmul(be, { z: G['rnn.weight_ih_l0'], a: dzAll, b: { buf: x.buf, off: x.off, rows: T * batch, cols: this.I }, transA: true });
    matmul(be, { z: G['rnn.weight_hh_l0'], a: dzAll, b: this.hRows(0, batch, T), transA: true });
    colSum(be, dzAll, T * batch, G['rnn.bias_ih_l0']);
  }

  tensors(batch: number): StepTensor<B>[] {
    const T = this.steps, out: StepTensor<B>[] = [];
    for (let t = 0; t < T; t++) {
      out.push({ name: `rnn.z[t=${t + 1}]`, view: this.at(this.z, t, batch), stage: 'forward' });
      out.push({ name: `rnn.h[t=${t + 1}]`, view: this.hRows(t + 1, batch), stage: 'forward' });
    }
    out.push({ name: 'head.z', view: rowsOf(this.zy, 0, batch), stage: 'forward' });
    if (this.outputActivation !== 'identity') out.push({ name: 'head.a', view: rowsOf(this.ay, 0, batch), stage: 'forward' });
    out.push({ name: 'head.dz', view: rowsOf(this.dzy, 0, batch), stage: 'backward' });
    for (let t = T - 1; t >= 0; t--) out.push({ name: `rnn.dz[t=${t + 1}]`, view: this.at(this.dz, t, batch), stage: 'backward' });
    for (const p of this.params) out.push({ name: `${p.name}.grad`, view: this.g[p.name], stage: 'backward' });
    return out;
  }

  dispose(): void {
    for (const b of this.owned) this.be.free(b);
    this.owned = [];
  }
}
