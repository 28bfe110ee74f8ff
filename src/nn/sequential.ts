// A sequential model: a stack of layers (dense.ts, rnnLayer.ts, lstm.ts, gru.ts, embedding.ts,
// dropout.ts), each the input of the next, as PyTorch's nn.Sequential of nn.Linear / nn.RNN /
// nn.LSTM / nn.GRU / nn.Embedding / nn.Dropout. An embedding (first only) reads token ids,
// [T·batch][1]; dropout drops only in a training step's forward (given its seed and step). The model
// owns the parameters (one flat buffer, PyTorch's names from layout.ts) and hands each layer its
// views; each layer owns its activations and the gradient of its output (written by the layer
// above, or by the loss for the last).
// Shapes: with a recurrent layer the input is a sequence, [T][batch][I] time-major within a batch
// (as Session gathers it); a layer's output is a sequence [T·batch][units] until a recurrent layer
// with returnSequences false takes its last step ([batch][units]); a dense layer keeps what it gets.
import type { Backend, View } from '../backend.js';
import type { Act, LossKind } from '../kernels.js';
import { readsSequences } from '../spec/sequential.js';
import type { SequentialSpec } from '../spec/types.js';
import { DenseLayer } from './dense.js';
import { GruLayer } from './gru.js';
import { layoutSize, paramLayout } from './layout.js';
import { LstmLayer } from './lstm.js';
import { DropoutLayer } from './dropout.js';
import { EmbeddingLayer } from './embedding.js';
import { allocate, fusedSoftmaxCE, paramBuffers, type Network, type ParamTensor, type StepTensor, type Training } from './network.js';
import { RnnLayer } from './rnnLayer.js';

/** What a layer is given: its place, its input's shape, its parameters' views and an allocator. */
export interface LayerContext<B> {
  index: number;
  inSize: number;
  /** whether the layer's input is a sequence ([T·batch] rows) */
  seqIn: boolean;
  T: number;
  maxB: number;
  /** whether the model has this parameter of the layer (the rnn type's layer has no bias_hh_l0; see StackForm) */
  has(name: string): boolean;
  /** a parameter's view (undefined where `has` says it is absent) */
  param(name: string): View<B>;
  grad(name: string): View<B>;
  alloc(rows: number, cols: number, label: string): View<B>;
}

/** One layer: forward from x, backward from the gradient of its output (dOutput) to its parameters' gradients and dx. */
export interface SeqLayer<B> {
  readonly outSize: number;
  /** whether the output is a sequence ([T·batch] rows) */
  readonly seqOut: boolean;
  forward(x: View<B>, batch: number): void;
  output(batch: number): View<B>;
  dOutput(batch: number): View<B>;
  backward(x: View<B>, batch: number, dx?: View<B> | GradThrough<B>): void;
  tensors(batch: number, stage: 'forward' | 'backward'): StepTensor<B>[];
  /**
   * Where the layer above may write this layer's pre-activation gradient itself, dz = dOut ⊙ f'(z),
   * as the epilogue of its dx product (one launch fewer); the layer then skips that pass. Only
   * asked for under StackForm.fuseHead.
   */
  gradThrough?(batch: number): GradThrough<B> | undefined;
}

/** A gradient written through an activation's derivative: z = (product) ⊙ f'(through.z). */
export interface GradThrough<B> {
  z: View<B>;
  through: { act: Act; z: View<B>; a: View<B> };
}

/**
 * How the model types built as stacks (the mlp type, nn/mlp.ts; the rnn type, nn/rnn.ts) keep
 * their own parameter and tensor names, order and fusions, so that their checkpoints, exports,
 * explain stories and numbers stay what they were before they were stacks. The sequential type
 * has none.
 */
export interface StackForm {
  kind: 'mlp' | 'rnn';
  /** the model's parameter layout (its names and order are its checkpoints') */
  params: ParamTensor[];
  /** a sequential name (layers.i.…, a parameter's or a tensor's) as the model names it */
  rename(name: string): string;
  /** each layer's parameter gradients told right after its backward tensors (the MLP's order), not all at the end */
  gradsByLayer: boolean;
  /** the last layer writes the recurrent layer below's last-step δ through f' in its dx product (the RNN's fusion) */
  fuseHead: boolean;
}

export class Sequential<B> implements Network<B> {
  readonly kind: 'mlp' | 'rnn' | 'sequential';
  readonly params: ParamTensor[];
  readonly size: number;
  readonly paramBuf: B;
  readonly gradBuf: B;
  readonly sampleSize: number;
  readonly outputSize: number;
  readonly outputActivation: Act;
  /** Rows of output per sample: T when the model gives sequences, else 1. */
  readonly outputSteps: number;
  private layers: SeqLayer<B>[] = [];
  private owned: B[] = [];
  private readonly I: number;
  private readonly T: number;
  private readonly rename: (name: string) => string;
  private readonly fuseHead: boolean;
  /** with StackForm.gradsByLayer: each layer's parameters, told with its backward tensors */
  private readonly layerParams?: ParamTensor[][];

  constructor(
    private be: Backend<B>,
    spec: SequentialSpec,
    steps: number,
    maxBatch: number,
    form?: StackForm,
  ) {
    this.kind = form?.kind ?? 'sequential';
    this.rename = form?.rename ?? ((n) => n);
    this.fuseHead = form?.fuseHead ?? false;
    this.params = form?.params ?? paramLayout(spec);
    this.size = layoutSize(this.params);
    [this.paramBuf, this.gradBuf] = paramBuffers(be, this.params, this.size, this.owned);
    const byName = new Map(this.params.map((p) => [p.name, p]));
    if (form?.gradsByLayer) {
      const own = paramLayout(spec);
      this.layerParams = spec.layers.map((_, i) => own.filter((q) => q.name.startsWith(`layers.${i}.`)).flatMap((q) => byName.get(this.rename(q.name)) ?? []));
    }
    const viewOf = (buf: B, name: string): View<B> => {
      const p = byName.get(this.rename(name));
      return (p && { buf, off: p.off, rows: p.rows, cols: p.cols }) as View<B>;
    };
    this.T = readsSequences(spec) ? steps : 1;
    this.I = spec.inputSize;
    let inSize = spec.inputSize,
      seqIn = readsSequences(spec);
    spec.layers.forEach((l, index) => {
      const ctx: LayerContext<B> = {
        index,
        inSize,
        seqIn,
        T: this.T,
        maxB: maxBatch,
        has: (n) => byName.has(this.rename(`layers.${index}.${n}`)),
        param: (n) => viewOf(this.paramBuf, `layers.${index}.${n}`),
        grad: (n) => viewOf(this.gradBuf, `layers.${index}.${n}`),
        alloc: (rows, cols, label) => allocate(be, this.owned, rows, cols, label),
      };
      const layer =
        l.type === 'dense'
          ? new DenseLayer(be, l, ctx)
          : l.type === 'embedding'
            ? new EmbeddingLayer(be, l, ctx)
            : l.type === 'dropout'
              ? new DropoutLayer(be, l, ctx)
              : l.type === 'lstm'
                ? new LstmLayer(be, l, ctx)
                : l.type === 'gru'
                  ? new GruLayer(be, l, ctx)
                  : new RnnLayer(be, l, ctx);
      this.layers.push(layer);
      inSize = layer.outSize;
      seqIn = layer.seqOut;
    });
    this.sampleSize = this.T * this.I;
    this.outputSize = inSize;
    const last = this.last;
    this.outputActivation = last instanceof DenseLayer ? last.act : 'identity';
    this.outputSteps = last.seqOut ? this.T : 1;
  }

  private get last(): SeqLayer<B> {
    return this.layers[this.layers.length - 1];
  }
  private fused(loss: LossKind): DenseLayer<B> | undefined {
    const last = this.last;
    return last instanceof DenseLayer && fusedSoftmaxCE(last.act, loss) ? last : undefined;
  }
  private input(x: View<B>, batch: number): View<B> {
    return { buf: x.buf, off: x.off, rows: this.T * batch, cols: this.I };
  }

  forward(x: View<B>, batch: number, training?: Training): void {
    let input = this.input(x, batch);
    for (const l of this.layers) {
      if (l instanceof DropoutLayer) l.training = training;
      l.forward(input, batch);
      input = l.output(batch);
    }
  }

  lossInput(loss: LossKind, batch: number): View<B> {
    return this.fused(loss)?.logits(batch) ?? this.last.output(batch);
  }
  lossGradTarget(loss: LossKind, batch: number): View<B> {
    return this.fused(loss)?.dLogits(batch) ?? this.last.dOutput(batch);
  }
  prediction(batch: number): View<B> {
    return this.last.output(batch);
  }

  backward(x: View<B>, batch: number, loss: LossKind): void {
    const fused = this.fused(loss);
    this.layers.forEach((l) => {
      if (l instanceof DenseLayer) l.fusedLoss = l === fused;
    });
    for (let i = this.layers.length - 1; i >= 0; i--) {
      const input = i === 0 ? this.input(x, batch) : this.layers[i - 1].output(batch);
      const below = i > 0 ? this.layers[i - 1] : undefined;
      const through = below && this.fuseHead && i === this.layers.length - 1 ? below.gradThrough?.(batch) : undefined;
      this.layers[i].backward(input, batch, through ?? below?.dOutput(batch));
    }
  }

  tensors(batch: number): StepTensor<B>[] {
    const named = (ts: StepTensor<B>[]) => ts.map((t) => ({ ...t, name: this.rename(t.name) }));
    const grads = (ps: ParamTensor[]): StepTensor<B>[] =>
      ps.map((p) => ({ name: `${p.name}.grad`, view: { buf: this.gradBuf, off: p.off, rows: p.rows, cols: p.cols }, stage: 'backward' }));
    const out = named(this.layers.flatMap((l) => l.tensors(batch, 'forward')));
    for (let i = this.layers.length - 1; i >= 0; i--) {
      out.push(...named(this.layers[i].tensors(batch, 'backward')));
      if (this.layerParams) out.push(...grads(this.layerParams[i]));
    }
    if (!this.layerParams) out.push(...grads(this.params));
    return out;
  }

  dispose(): void {
    for (const b of this.owned) this.be.free(b);
    this.owned = [];
  }
}
