// A multi-layer perceptron: layer i computes A_i = f_i(A_{i-1}·W_iᵀ + b_i), W_i: [out][in].
import type { Backend, View } from '../backend.js';
import type { Act, LossKind } from '../kernels.js';
import type { MlpSpec } from '../spec/types.js';
import { allocate, fusedSoftmaxCE, paramBuffers, type Network, type ParamTensor, type StepTensor } from './network.js';
import { layoutSize, paramLayout } from './layout.js';
import { activationBackward, colSum, matmul, rowsOf } from './ops.js';

interface Layer<B> {
  inSize: number; outSize: number; act: Act;
  w: View<B>; b: View<B>; dw: View<B>; db: View<B>;
  z: View<B>; a: View<B>; dz: View<B>; da: View<B>; // [maxBatch][out]
}

export class Mlp<B> implements Network<B> {
  readonly kind = 'mlp' as const;
  readonly params: ParamTensor[];
  readonly size: number;
  readonly paramBuf: B;
  readonly gradBuf: B;
  readonly sampleSize: number;
  readonly outputSize: number;
  readonly outputActivation: Act;
  private layers: Layer<B>[] = [];
  private owned: B[] = [];

  constructor(private be: Backend<B>, spec: MlpSpec, maxBatch: number) {
    this.params = paramLayout(spec);
    this.size = layoutSize(this.params);
    [this.paramBuf, this.gradBuf] = paramBuffers(be, this.params, this.size, this.owned);
    let inSize = spec.inputSize;
    spec.layers.forEach((l, i) => {
      const [pw, pb] = [this.params[2 * i], this.params[2 * i + 1]];
      const z = allocate(be, this.owned, maxBatch, l.units, `layers.${i}.z`);
      const a = l.activation === 'identity' ? z : allocate(be, this.owned, maxBatch, l.units, `layers.${i}.a`);
      const da = allocate(be, this.owned, maxBatch, l.units, `layers.${i}.da`);
      const dz = l.activation === 'identity' ? da : allocate(be, this.owned, maxBatch, l.units, `layers.${i}.dz`);
      this.layers.push({
        inSize, outSize: l.units, act: l.activation, z, a, dz, da,
        w: { buf: this.paramBuf, off: pw.off, rows: l.units, cols: inSize }, b: { buf: this.paramBuf, off: pb.off, rows: 1, cols: l.units },
        dw: { buf: this.gradBuf, off: pw.off, rows: l.units, cols: inSize }, db: { buf: this.gradBuf, off: pb.off, rows: 1, cols: l.units },
      });
      inSize = l.units;
    });
    this.sampleSize = spec.inputSize;
    this.outputSize = inSize;
    this.outputActivation = this.last.act;
  }

  private get last(): Layer<B> { return this.layers[this.layers.length - 1]; }

  // x: [batch][in]  →  A_L: [batch][out]
  forward(x: View<B>, batch: number): void {
    let input = x;
    for (const l of this.layers) {
      const z = rowsOf(l.z, 0, batch), a = rowsOf(l.a, 0, batch);
      matmul(this.be, { z, a: input, b: l.w, transB: true, bias: l.b, activation: l.act, act: a });
      input = a;
    }
  }

  lossInput(loss: LossKind, batch: number): View<B> {
    return rowsOf(fusedSoftmaxCE(this.last.act, loss) ? this.last.z : this.last.a, 0, batch);
  }
  lossGradTarget(loss: LossKind, batch: number): View<B> {
    return rowsOf(fusedSoftmaxCE(this.last.act, loss) ? this.last.dz : this.last.da, 0, batch);
  }
  prediction(batch: number): View<B> { return rowsOf(this.last.a, 0, batch); }

  // dA_L (or dZ_L when fused) is set; fills dW_i = dZ_iᵀ·A_{i-1}, db_i = Σ_rows dZ_i, dA_{i-1} = dZ_i·W_i
  backward(x: View<B>, batch: number, loss: LossKind): void {
    for (let i = this.layers.length - 1; i >= 0; i--) {
      const l = this.layers[i];
      const dz = rowsOf(l.dz, 0, batch);
      if (!(i === this.layers.length - 1 && fusedSoftmaxCE(l.act, loss))) {
        activationBackward(this.be, l.act, batch, { z: l.z, a: l.a, da: l.da, dz: l.dz });
      }
      const input = i === 0 ? x : rowsOf(this.layers[i - 1].a, 0, batch);
      matmul(this.be, { z: l.dw, a: dz, b: input, transA: true });
      colSum(this.be, dz, batch, l.db);
      if (i > 0) matmul(this.be, { z: rowsOf(this.layers[i - 1].da, 0, batch), a: dz, b: l.w });
    }
  }

  tensors(batch: number): StepTensor<B>[] {
    const out: StepTensor<B>[] = [];
    this.layers.forEach((l, i) => {
      out.push({ name: `layers.${i}.z`, view: rowsOf(l.z, 0, batch), stage: 'forward' });
      if (l.act !== 'identity') out.push({ name: `layers.${i}.a`, view: rowsOf(l.a, 0, batch), stage: 'forward' });
    });
    [...this.layers.entries()].reverse().forEach(([i, l]) => {
      out.push({ name: `layers.${i}.dz`, view: rowsOf(l.dz, 0, batch), stage: 'backward' });
      out.push({ name: `layers.${i}.weight.grad`, view: l.dw, stage: 'backward' });
      out.push({ name: `layers.${i}.bias.grad`, view: l.db, stage: 'backward' });
    });
    return out;
  }

  dispose(): void {
    for (const b of this.owned) this.be.free(b);
    this.owned = [];
  }
}
