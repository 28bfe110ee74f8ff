// Where each parameter tensor lives in the flat parameter buffer, with PyTorch's names and shapes
// (weights [out][in]); the models, the initialiser, checkpoints and the benchmark peers share it.
import type { ModelSpec } from '../spec/types.js';
import type { ParamTensor } from './network.js';

export const RNN_PARAM_NAMES = {
  inputWeights: 'rnn.weight_ih_l0', recurrentWeights: 'rnn.weight_hh_l0', hiddenBias: 'rnn.bias_ih_l0',
  outputWeights: 'head.weight', outputBias: 'head.bias',
} as const;

/** How many outputs a model predicts per sample: its last layer's units, or an RNN's outputSize. */
export const outputsOf = (m: ModelSpec): number => (m.type === 'mlp' ? m.layers[m.layers.length - 1].units : m.outputSize);

export function paramLayout(model: ModelSpec): ParamTensor[] {
  const out: ParamTensor[] = [];
  let off = 0;
  const add = (name: string, rows: number, cols: number, vector: boolean) => {
    out.push({ name, shape: vector ? [cols] : [rows, cols], off, rows, cols });
    off += rows * cols;
  };
  if (model.type === 'mlp') {
    let inSize = model.inputSize;
    model.layers.forEach((l, i) => {
      add(`layers.${i}.weight`, l.units, inSize, false);
      add(`layers.${i}.bias`, 1, l.units, true);
      inSize = l.units;
    });
  } else {
    const { inputSize: I, hiddenSize: H, outputSize: O } = model;
    add(RNN_PARAM_NAMES.inputWeights, H, I, false);
    add(RNN_PARAM_NAMES.recurrentWeights, H, H, false);
    add(RNN_PARAM_NAMES.hiddenBias, 1, H, true);
    add(RNN_PARAM_NAMES.outputWeights, O, H, false);
    add(RNN_PARAM_NAMES.outputBias, 1, O, true);
  }
  return out;
}

export const layoutSize = (params: ParamTensor[]) => params.reduce((s, p) => s + p.rows * p.cols, 0);
