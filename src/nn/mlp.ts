// The mlp model type as a stack: a sequential model of dense layers (src/nn/sequential.ts,
// dense.ts), with the MLP's own names (layers.i.weight/bias, layers.i.z/a/dz), which are the
// sequential model's too, and its order of tensors (each layer's gradients with its δ).
import type { Backend } from '../backend.js';
import type { MlpSpec, SequentialSpec } from '../spec/types.js';
import { paramLayout } from './layout.js';
import { Sequential } from './sequential.js';

/** The stack an MLP is: layer i computes A_i = f_i(A_{i−1}·W_iᵀ + b_i), W_i: [out][in]. */
export const mlpLayers = (spec: MlpSpec): SequentialSpec => ({
  type: 'sequential',
  inputSize: spec.inputSize,
  layers: spec.layers.map((l) => ({ type: 'dense', units: l.units, activation: l.activation })),
});

export class Mlp<B> extends Sequential<B> {
  constructor(be: Backend<B>, spec: MlpSpec, maxBatch: number) {
    super(be, mlpLayers(spec), 1, maxBatch, { kind: 'mlp', params: paramLayout(spec), rename: (n) => n, gradsByLayer: true, fuseHead: false });
  }
}
