// Where each parameter tensor lives in the flat parameter buffer, with PyTorch's names and shapes
// (weights [out][in]); the models, the initialiser, checkpoints and the benchmark peers share it.
import type { ModelSpec, RecurrentLayerSpec, SequentialLayerSpec } from '../spec/types.js';
import type { ParamTensor } from './network.js';

export const RNN_PARAM_NAMES = {
  inputWeights: 'rnn.weight_ih_l0',
  recurrentWeights: 'rnn.weight_hh_l0',
  hiddenBias: 'rnn.bias_ih_l0',
  outputWeights: 'head.weight',
  outputBias: 'head.bias',
} as const;

/** How many outputs a model predicts per sample: its last layer's units (a dropout's: what it is given), or an RNN's outputSize. */
export const outputsOf = (m: ModelSpec): number => {
  if (m.type === 'rnn') return m.outputSize;
  if (m.type === 'mlp') return m.layers[m.layers.length - 1].units;
  return m.layers.reduce((inSize, l) => (l.type === 'dropout' ? inSize : l.units), m.inputSize);
};

/** Rows of gates stacked in a recurrent layer's weights: nn.LSTM's 4 (i, f, g, o), nn.GRU's 3 (r, z, n), nn.RNN's 1. */
export const GATES = { rnn: 1, lstm: 4, gru: 3 } as const;

/** A sequential layer's tensors as [PyTorch name, rows, cols, whether a vector], and its output's width. */
export interface LayerParams {
  tensors: [string, number, number, boolean][];
  outSize: number;
}
type LayerOf<K extends SequentialLayerSpec['type']> = Extract<SequentialLayerSpec, { type: K }>;

const recurrentParams = (l: RecurrentLayerSpec, inSize: number): LayerParams => {
  const GH = GATES[l.type] * l.units;
  return {
    tensors: [
      ['weight_ih_l0', GH, inSize, false],
      ['weight_hh_l0', GH, l.units, false],
      ['bias_ih_l0', 1, GH, true],
      ['bias_hh_l0', 1, GH, true],
    ],
    outSize: l.units,
  };
};

/**
 * Each sequential layer kind's parameters with the names and shapes of its torch.nn module
 * (nn.Linear weight [out][in] and bias; nn.RNN/LSTM/GRU weight_ih_l0 [G·H][in], weight_hh_l0 [G·H][H],
 * bias_ih_l0, bias_hh_l0). Checkpoints, export --pytorch and import read this table; a new kind is
 * one entry here (and one in src/io/pytorch/miya_model.py's LAYERS).
 */
export const LAYER_PARAMS: { [K in SequentialLayerSpec['type']]: (l: LayerOf<K>, inSize: number) => LayerParams } = {
  dense: (l, inSize) => ({
    tensors: [
      ['weight', l.units, inSize, false],
      ['bias', 1, l.units, true],
    ],
    outSize: l.units,
  }),
  rnn: recurrentParams,
  lstm: recurrentParams,
  gru: recurrentParams,
  // nn.Embedding's weight [num_embeddings][embedding_dim]; nn.Dropout has no parameters
  embedding: (l) => ({ tensors: [['weight', l.vocab, l.units, false]], outSize: l.units }),
  dropout: (_l, inSize) => ({ tensors: [], outSize: inSize }),
};

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
    // nn.Sequential-like names, layers.{i}.<PyTorch's own name>, one LAYER_PARAMS entry per kind
    let inSize = model.inputSize;
    model.layers.forEach((l, i) => {
      const { tensors, outSize } = (LAYER_PARAMS[l.type] as (l: SequentialLayerSpec, inSize: number) => LayerParams)(l, inSize);
      for (const [name, rows, cols, vector] of tensors) add(`layers.${i}.${name}`, rows, cols, vector);
      inSize = outSize;
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
