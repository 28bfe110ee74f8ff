// The rnn model type as a stack: [an Elman layer with one hidden bias, a dense head on its last
// step] of the sequential model (src/nn/rnnLayer.ts, dense.ts), under the RNN's own names:
//   h_t = f(x_t·W_ihᵀ + b_ih + h_{t−1}·W_hhᵀ), h_0 = 0;  ŷ = g(h_T·W_yᵀ + b_y)
// rnn.weight_ih_l0, rnn.weight_hh_l0, rnn.bias_ih_l0, head.weight, head.bias (nn/layout.ts), and
// tensors rnn.z[t=…], rnn.h[t=…], head.z, … . The head writes dz_T through f' in its dx product,
// so the step takes as many launches as the fixed RNN did.
import type { Backend } from '../backend.js';
import type { RnnSpec, SequentialSpec } from '../spec/types.js';
import { paramLayout } from './layout.js';
import { Sequential } from './sequential.js';

export { RNN_PARAM_NAMES } from './layout.js';

/** The stack an RNN is (the rnn layer's bias_hh_l0 is left out of the layout: one hidden bias). */
export const rnnLayers = (spec: RnnSpec): SequentialSpec => ({
  type: 'sequential',
  inputSize: spec.inputSize,
  layers: [
    // the layer computes with any activation the rnn type allows, not only nn.RNN's tanh and relu
    { type: 'rnn', units: spec.hiddenSize, returnSequences: false, activation: spec.activation as 'tanh' | 'relu' },
    { type: 'dense', units: spec.outputSize, activation: spec.outputActivation },
  ],
});

/** layers.0.… is rnn.…, layers.1.… is head.… */
const rename = (n: string) => n.replace(/^layers\.0\./, 'rnn.').replace(/^layers\.1\./, 'head.');

export class Rnn<B> extends Sequential<B> {
  constructor(
    be: Backend<B>,
    spec: RnnSpec,
    readonly steps: number,
    maxBatch: number,
  ) {
    super(be, rnnLayers(spec), steps, maxBatch, { kind: 'rnn', params: paramLayout(spec), rename, gradsByLayer: false, fuseHead: true });
  }
}
