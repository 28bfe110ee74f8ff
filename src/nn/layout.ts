// Where each parameter tensor lives in the flat parameter buffer, with PyTorch's names and shapes
// (weights [out][in]); the models, the initialiser, checkpoints and the benchmark peers share it.
import type { ModelSpec } from '../spec/types.js';
import type { ParamTensor } from './network.js';

export const RNN_PARAM_NAMES = {
  inputWeights: 'rnn.weight_ih_l0', recurrentWeights: 'rnn.weight_hh_l0', hiddenBias: 'rnn.bias_ih_l0',
  outputWeights: 'head.weight', outputBias: 'head.bias',
} as const;

/** How many outputs a model predicts per sample: its last layer's units, or an RNN's outputSize. */
export const outputsOf = (m: ModelSpec): number => (m.type === 'rnn' ? m.outputSize : m.layers[m.layers.length - 1].units);

/** Rows of gates stacked in a recurrent layer's weights: nn.LSTM's 4 (i, f, g, o), nn.GRU's 3 (r, z, n), nn.RNN's 1. */
export const GATES = { rnn: 1, lstm: 4, gru: 3 } as const;

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
  } else if (model.type === 'sequential') {
    // nn.Sequential-like names: layers.{i}.weight/bias (nn.Linear), layers.{i}.weight_ih_l0, … (nn.RNN/LSTM/GRU)
    let inSize = model.inputSize;
    model.layers.forEach((l, i) => {
      if (l.type === 'dense') {
        add(`layers.${i}.weight`, l.units, inSize, false);
        add(`layers.${i}.bias`, 1, l.units, true);
      } else {
        const GH = GATES[l.type] * l.units;
        add(`layers.${i}.weight_ih_l0`, GH, inSize, false);
        add(`layers.${i}.weight_hh_l0`, GH, l.units, false);
        add(`layers.${i}.bias_ih_l0`, 1, GH, true);
        add(`layers.${i}.bias_hh_l0`, 1, GH, true);
      }
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
