// An embedding layer, exactly nn.Embedding: token ids in, the rows of W they name out. It is a
// sequential model's first layer only, so that its input is the data's ids ([T·batch][1] as
// Session gathers them, time-major) and no gradient flows below it.
//   W: [vocab][units], ids: [T·batch], out: [T·batch][units]
//   forward:  out[r] = W[id_r]                                      (`embedding`: a gather)
//   backward: dW[v] = Σ_{r: id_r = v} dOut[r], over r in ascending order   (`embedding_backward`:
//             a GPU workgroup a vocabulary row, a thread a unit, walking the ids in order: no float
//             atomics, so a run's bits repeat)
// Kernels: shaders/embedding.wgsl, float64 twins in src/cpu/embedding.ts (ARCHITECTURE.md,
// "Adding a kernel").
import type { Backend, View } from '../backend.js';
import type { EmbeddingParams } from '../kernels.js';
import type { EmbeddingLayerSpec } from '../spec/types.js';
import type { StepTensor } from './network.js';
import { rowsOf } from './ops.js';
import type { LayerContext, SeqLayer } from './sequential.js';

export class EmbeddingLayer<B> implements SeqLayer<B> {
  readonly outSize: number;
  readonly seqOut = true;
  private readonly vocab: number;
  private w: View<B>;
  private dw: View<B>;
  private out: View<B>;
  private dOut: View<B>;

  constructor(
    private be: Backend<B>,
    spec: EmbeddingLayerSpec,
    private ctx: LayerContext<B>,
  ) {
    this.outSize = spec.units;
    this.vocab = spec.vocab;
    [this.w, this.dw] = [ctx.param('weight'), ctx.grad('weight')];
    const rows = ctx.T * ctx.maxB,
      name = `layers.${ctx.index}`;
    this.out = ctx.alloc(rows, spec.units, `${name}.out`);
    this.dOut = ctx.alloc(rows, spec.units, `${name}.dout`);
  }

  private rows(batch: number): number {
    return this.ctx.T * batch;
  }
  output(batch: number): View<B> {
    return rowsOf(this.out, 0, this.rows(batch));
  }
  dOutput(batch: number): View<B> {
    return rowsOf(this.dOut, 0, this.rows(batch));
  }
  private params(ids: View<B>, batch: number, w: View<B>, out: View<B>): EmbeddingParams {
    return { rows: this.rows(batch), units: this.outSize, vocab: this.vocab, offIdx: ids.off, offW: w.off, offOut: out.off };
  }

  // ids: [T·batch][1] → out: [T·batch][units]
  forward(ids: View<B>, batch: number): void {
    this.be.run('embedding', this.params(ids, batch, this.w, this.out), { Idx: ids.buf, W: this.w.buf, Out: this.out.buf });
  }

  // dOut is set → dW (ids have no gradient: there is no dx)
  backward(ids: View<B>, batch: number): void {
    this.be.run('embedding_backward', this.params(ids, batch, this.dw, this.dOut), { Idx: ids.buf, dOut: this.dOut.buf, dW: this.dw.buf });
  }

  tensors(batch: number, stage: 'forward' | 'backward'): StepTensor<B>[] {
    const name = `layers.${this.ctx.index}`;
    return stage === 'forward' ? [{ name: `${name}.out`, view: this.output(batch), stage }] : [{ name: `${name}.dout`, view: this.dOutput(batch), stage }];
  }
}
