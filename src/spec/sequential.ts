// The sequential model's part of the run spec (README.md "The run spec"): its layers and the
// shapes of its inline data. Errors name the JSON path and what was expected, as validate.ts does.
import { ACTIVATIONS } from '../kernels.js';
import { GATES } from '../nn/layout.js';
import { fail, int, knownKeys, matrix, obj, oneOf, optional, vector } from './check.js';
import { type InlineData, RECURRENT_KINDS, type RecurrentLayerSpec, type SequentialLayerSpec, type SequentialSpec } from './types.js';

/** Whether a sequential model reads sequences ([batch][T][I]): it does when it has a recurrent layer. */
export const readsSequences = (m: SequentialSpec): boolean => m.layers.some((l) => l.type !== 'dense');
/** The last recurrent layer, if any: it decides whether the model gives sequences. */
const lastRecurrent = (m: SequentialSpec): [RecurrentLayerSpec, number] | undefined => {
  for (let i = m.layers.length - 1; i >= 0; i--) { const l = m.layers[i]; if (l.type !== 'dense') return [l, i]; }
  return undefined;
};
/** Whether its output is a sequence (y is then [batch][T][O]): its last recurrent layer returns sequences. */
export const givesSequences = (m: SequentialSpec): boolean => lastRecurrent(m)?.[0].returnSequences ?? false;

const LAYER_TYPES = ['dense', ...RECURRENT_KINDS] as const;
const LATER = { embedding: 'a layer type still to come (issue 14)', dropout: 'a layer type still to come (issue 14)' };

export function validateSequential(m: Record<string, unknown>): SequentialSpec {
  knownKeys('model', m, ['type', 'inputSize', 'layers'], 'a sequential model', {
    hiddenSize: 'is for model.type "rnn" (a recurrent layer has units)', outputSize: 'is for model.type "rnn" (the last layer\'s units are the outputs)',
    outputActivation: 'is for model.type "rnn" (a dense last layer has its activation)', weights: 'are per layer (model.layers[i])', activation: 'is per layer (model.layers[i].activation)',
  });
  const inputSize = int('model.inputSize', m.inputSize, 1);
  if (!Array.isArray(m.layers) || m.layers.length === 0) fail('model.layers', 'a non-empty array of layers', m.layers);
  let fanIn = inputSize;
  const layers = (m.layers as unknown[]).map((raw, i): SequentialLayerSpec => {
    const p = `model.layers[${i}]`;
    const l = obj(p, raw);
    if (typeof l.type === 'string' && l.type in LATER) fail(`${p}.type`, `one of ${LAYER_TYPES.join(', ')} (${l.type} is ${LATER[l.type as keyof typeof LATER]})`, l.type);
    const type = l.type === undefined ? 'dense' : oneOf(`${p}.type`, l.type, LAYER_TYPES);
    const units = (keys: string[], what: string, elsewhere: Record<string, string> = {}) => {
      knownKeys(p, l, keys, what, elsewhere);
      return int(`${p}.units`, l.units, 1);
    };
    if (type === 'dense') {
      const n = units(['type', 'units', 'activation', 'weights', 'bias'], 'a dense layer', { returnSequences: 'is for recurrent layers (rnn, lstm, gru)', weightIh: 'is for recurrent layers (a dense layer has weights)' });
      const activation = l.activation === undefined ? 'identity' : oneOf(`${p}.activation`, l.activation, ACTIVATIONS);
      const weights = optional(l, 'weights', (w) => matrix(`${p}.weights`, w, n, fanIn));
      const bias = optional(l, 'bias', (b) => vector(`${p}.bias`, b, n));
      fanIn = n;
      return { type, units: n, activation, weights, bias };
    }
    const keys = ['type', 'units', 'returnSequences', ...(type === 'rnn' ? ['activation'] : []), 'weightIh', 'weightHh', 'biasIh', 'biasHh'];
    const H = units(keys, `an ${type} layer`, {
      weights: 'is for dense layers (a recurrent layer has weightIh, weightHh, biasIh, biasHh)', bias: 'is for dense layers (a recurrent layer has biasIh and biasHh)',
      ...(type === 'rnn' ? {} : { activation: `is for rnn layers (nn.${type.toUpperCase()} has its own: σ and tanh)` }),
    });
    const returnSequences = optional(l, 'returnSequences', (v) => (typeof v === 'boolean' ? v : fail(`${p}.returnSequences`, 'true or false', v))) ?? false;
    const GH = GATES[type] * H;
    // PyTorch's stacked layout: a wrong row count says how the rows are made up
    const gates = type === 'lstm' ? '4·units rows, gates i, f, g, o stacked as in nn.LSTM' : type === 'gru' ? '3·units rows, gates r, z, n stacked as in nn.GRU' : 'units rows, as in nn.RNN';
    const weight = (key: string, cols: number) => optional(l, key, (w) => {
      if (Array.isArray(w) && w.length !== GH) fail(`${p}.${key}`, `expected ${GH} rows of ${cols} numbers (${gates}), got ${w.length} rows`);
      return matrix(`${p}.${key}`, w, GH, cols);
    });
    const bias = (key: string) => optional(l, key, (w) => {
      if (Array.isArray(w) && w.length !== GH) fail(`${p}.${key}`, `expected ${GH} numbers (${gates.replace(' rows', '')}), got ${w.length}`);
      return vector(`${p}.${key}`, w, GH);
    });
    const spec: RecurrentLayerSpec = {
      type, units: H, returnSequences, weightIh: weight('weightIh', fanIn), weightHh: weight('weightHh', H), biasIh: bias('biasIh'), biasHh: bias('biasHh'),
    };
    if (type === 'rnn') spec.activation = l.activation === undefined ? 'tanh' : oneOf(`${p}.activation`, l.activation, ['tanh', 'relu'] as const);
    fanIn = H;
    return spec;
  });
  return { type: 'sequential', inputSize, layers };
}

/**
 * A sequential model's data: inline only in this first slice. x is [batch][T][inputSize] when the
 * model has a recurrent layer, else [batch][inputSize]; y is [batch][T][O] when its last recurrent
 * layer returns sequences, else [batch][O].
 */
export function validateSequentialData(d: Record<string, unknown>, model: SequentialSpec): InlineData {
  if (d.csv !== undefined || d.dataset !== undefined) {
    fail(d.csv !== undefined ? 'data.csv' : 'data.dataset', 'inline data (data.x and data.y) for a sequential model: CSV and MNIST data are still to come for it', d.csv ?? d.dataset);
  }
  knownKeys('data', d, ['x', 'y'], 'inline data');
  if (!Array.isArray(d.x) || d.x.length === 0) fail('data.x', 'a non-empty array of samples', d.x);
  const xs = d.x as unknown[], I = model.inputSize;
  const O = model.layers[model.layers.length - 1].units;
  let T = 1;
  if (readsSequences(model)) {
    xs.forEach((sample, i) => {
      if (!Array.isArray(sample) || !sample.every((s) => Array.isArray(s))) {
        fail(`data.x[${i}]`, `[time][${I}] numbers (a model with a recurrent layer reads data.x as [batch][time][inputSize])`, sample);
      }
      if (sample.length === 0) fail(`data.x[${i}]`, 'at least one time step');
      if (i === 0) T = sample.length;
      else if (sample.length !== T) fail(`data.x[${i}]`, `expected ${T} time steps like data.x[0], got ${sample.length}`);
      sample.forEach((s, t) => vector(`data.x[${i}][${t}]`, s, I));
    });
  } else {
    xs.forEach((row, i) => vector(`data.x[${i}]`, row, I));
  }
  if (!Array.isArray(d.y) || d.y.length !== xs.length) {
    fail('data.y', `${xs.length} targets (one per sample of data.x)`, d.y);
  }
  const ys = d.y as unknown[];
  if (givesSequences(model)) {
    const [, at] = lastRecurrent(model)!;
    const why = `model.layers[${at}] returns sequences, so each target is [time][${O}]`;
    ys.forEach((sample, i) => {
      if (!Array.isArray(sample) || sample.length !== T || !sample.every((s) => Array.isArray(s))) {
        fail(`data.y[${i}]`, `${T} time steps of ${O} numbers (${why})`, sample);
      }
      sample.forEach((s, t) => vector(`data.y[${i}][${t}]`, s, O));
    });
    return { x: xs as number[][][], y: ys as number[][] };
  }
  return { x: xs as number[][] | number[][][], y: matrix('data.y', d.y, xs.length, O) };
}
