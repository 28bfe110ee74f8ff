// The sequential model's part of the run spec (README.md "The run spec"): its layers and the
// shapes of its inline data. Errors name the JSON path and what was expected, as validate.ts does.
import { ACTIVATIONS } from '../kernels.js';
import { GATES, outputsOf } from '../nn/layout.js';
import { validateTextData } from './text.js';
import type { LossKind } from '../kernels.js';
import type { ModelSpec } from './types.js';
import { fail, int, knownKeys, matrix, obj, oneOf, optional, vector } from './check.js';
import {
  type EmbeddingLayerSpec,
  type InlineData,
  RECURRENT_KINDS,
  type RecurrentLayerSpec,
  type SequentialLayerSpec,
  type SequentialSpec,
  type TextRef,
} from './types.js';

/** Whether a sequential model reads sequences ([batch][T][I], or token ids [batch][T]): it does when it has a recurrent or embedding layer. */
export const readsSequences = (m: SequentialSpec): boolean => m.layers.some((l) => l.type !== 'dense' && l.type !== 'dropout');
/** Whether the model's first layer is an embedding: x is then token ids [batch][T] (inputSize 1). */
export const readsTokens = (m: SequentialSpec): boolean => m.layers[0].type === 'embedding';
/** The last recurrent (or embedding) layer, if any: it decides whether the model gives sequences. */
const lastRecurrent = (m: SequentialSpec): [RecurrentLayerSpec | EmbeddingLayerSpec, number] | undefined => {
  for (let i = m.layers.length - 1; i >= 0; i--) {
    const l = m.layers[i];
    if (l.type !== 'dense' && l.type !== 'dropout') return [l, i];
  }
  return undefined;
};
/** Whether its output is a sequence (y is then [batch][T][O]): its last recurrent layer returns sequences (an embedding gives one a step). */
export const givesSequences = (m: SequentialSpec): boolean => {
  const l = lastRecurrent(m)?.[0];
  return l?.type === 'embedding' ? true : (l?.returnSequences ?? false);
};

const LAYER_TYPES = ['dense', ...RECURRENT_KINDS, 'embedding', 'dropout'] as const;

export function validateSequential(m: Record<string, unknown>): SequentialSpec {
  knownKeys('model', m, ['type', 'inputSize', 'layers'], 'a sequential model', {
    hiddenSize: 'is for model.type "rnn" (a recurrent layer has units)',
    outputSize: 'is for model.type "rnn" (the last layer\'s units are the outputs)',
    outputActivation: 'is for model.type "rnn" (a dense last layer has its activation)',
    weights: 'are per layer (model.layers[i])',
    activation: 'is per layer (model.layers[i].activation)',
  });
  if (!Array.isArray(m.layers) || m.layers.length === 0) fail('model.layers', 'a non-empty array of layers', m.layers);
  // an embedding reads one token id a step: its vocab says how many there are, and inputSize is 1
  const tokens = (m.layers[0] as { type?: unknown } | null)?.type === 'embedding';
  if (tokens && m.inputSize !== undefined && m.inputSize !== 1)
    fail(
      'model.inputSize',
      `no inputSize with an embedding first layer, got ${m.inputSize}: it reads one token id a step (model.layers[0].vocab says how many ids there are)`,
    );
  const inputSize = tokens ? 1 : int('model.inputSize', m.inputSize, 1);
  let fanIn = inputSize;
  const layers = (m.layers as unknown[]).map((raw, i): SequentialLayerSpec => {
    const p = `model.layers[${i}]`;
    const l = obj(p, raw);
    const type = l.type === undefined ? 'dense' : oneOf(`${p}.type`, l.type, LAYER_TYPES);
    const units = (keys: string[], what: string, elsewhere: Record<string, string> = {}) => {
      knownKeys(p, l, keys, what, elsewhere);
      return int(`${p}.units`, l.units, 1);
    };
    if (type === 'dropout') {
      knownKeys(p, l, ['type', 'rate'], 'a dropout layer');
      if (typeof l.rate !== 'number' || !(l.rate >= 0 && l.rate < 1))
        fail(`${p}.rate`, 'a number in [0, 1) (the probability of zeroing each value while training)', l.rate);
      return { type, rate: l.rate as number };
    }
    if (type === 'embedding') {
      if (i > 0) fail(`${p}.type`, "an embedding only as the first layer, model.layers[0]: it reads token ids, the data's x");
      const D = units(['type', 'vocab', 'units', 'weights'], 'an embedding layer', {
        activation: 'is for dense layers',
        returnSequences: 'is for recurrent layers (an embedding gives a vector every step)',
      });
      const vocab = int(`${p}.vocab`, l.vocab, 1);
      const weights = optional(l, 'weights', (w) => matrix(`${p}.weights`, w, vocab, D));
      fanIn = D;
      return { type, vocab, units: D, weights };
    }
    if (type === 'dense') {
      const n = units(['type', 'units', 'activation', 'weights', 'bias'], 'a dense layer', {
        returnSequences: 'is for recurrent layers (rnn, lstm, gru)',
        weightIh: 'is for recurrent layers (a dense layer has weights)',
      });
      const activation = l.activation === undefined ? 'identity' : oneOf(`${p}.activation`, l.activation, ACTIVATIONS);
      const weights = optional(l, 'weights', (w) => matrix(`${p}.weights`, w, n, fanIn));
      const bias = optional(l, 'bias', (b) => vector(`${p}.bias`, b, n));
      fanIn = n;
      return { type, units: n, activation, weights, bias };
    }
    const keys = ['type', 'units', 'returnSequences', ...(type === 'rnn' ? ['activation'] : []), 'weightIh', 'weightHh', 'biasIh', 'biasHh'];
    const H = units(keys, `an ${type} layer`, {
      weights: 'is for dense layers (a recurrent layer has weightIh, weightHh, biasIh, biasHh)',
      bias: 'is for dense layers (a recurrent layer has biasIh and biasHh)',
      ...(type === 'rnn' ? {} : { activation: `is for rnn layers (nn.${type.toUpperCase()} has its own: σ and tanh)` }),
    });
    const returnSequences = optional(l, 'returnSequences', (v) => (typeof v === 'boolean' ? v : fail(`${p}.returnSequences`, 'true or false', v))) ?? false;
    const GH = GATES[type] * H;
    // PyTorch's stacked layout: a wrong row count says how the rows are made up
    const gates =
      type === 'lstm'
        ? '4·units rows, gates i, f, g, o stacked as in nn.LSTM'
        : type === 'gru'
          ? '3·units rows, gates r, z, n stacked as in nn.GRU'
          : 'units rows, as in nn.RNN';
    const weight = (key: string, cols: number) =>
      optional(l, key, (w) => {
        if (Array.isArray(w) && w.length !== GH) fail(`${p}.${key}`, `expected ${GH} rows of ${cols} numbers (${gates}), got ${w.length} rows`);
        return matrix(`${p}.${key}`, w, GH, cols);
      });
    const bias = (key: string) =>
      optional(l, key, (w) => {
        if (Array.isArray(w) && w.length !== GH) fail(`${p}.${key}`, `expected ${GH} numbers (${gates.replace(' rows', '')}), got ${w.length}`);
        return vector(`${p}.${key}`, w, GH);
      });
    const spec: RecurrentLayerSpec = {
      type,
      units: H,
      returnSequences,
      weightIh: weight('weightIh', fanIn),
      weightHh: weight('weightHh', H),
      biasIh: bias('biasIh'),
      biasHh: bias('biasHh'),
    };
    if (type === 'rnn') spec.activation = l.activation === undefined ? 'tanh' : oneOf(`${p}.activation`, l.activation, ['tanh', 'relu'] as const);
    fanIn = H;
    return spec;
  });
  return { type: 'sequential', inputSize, layers };
}

/**
 * Whether CSV and MNIST data are read as sequences ([n][T][I]: CSV windows of T rows, MNIST's 28
 * rows of 28 pixels): for an RNN, and a sequential model with a recurrent layer; else as rows [n][I].
 */
export const readsSequenceData = (m: ModelSpec): boolean => m.type === 'rnn' || (m.type === 'sequential' && readsSequences(m));

/**
 * CSV and MNIST data (src/data/csv.ts, mnist.ts) give numbers, one target row a sample: a
 * sequential model on them reads numbers (no embedding) and gives one output row a sample (its
 * last recurrent layer with returnSequences false). `source` names the data for the message.
 */
export function requireOneTargetPerSample(m: SequentialSpec, source: 'CSV' | 'MNIST'): void {
  if (readsTokens(m))
    fail('model.layers[0].type', `a layer that reads numbers for ${source} data (an embedding reads token ids: data.text, or inline data.x)`, 'embedding');
  const last = lastRecurrent(m);
  if (last && givesSequences(m)) {
    fail(
      `model.layers[${last[1]}].returnSequences`,
      `false for ${source} data: it gives one target per sample, for the last step of the last recurrent layer, not one per time step`,
      true,
    );
  }
}

/**
 * A sequential model's inline (or text) data; CSV and MNIST are validated as for an RNN or an MLP
 * (validate.ts, requireOneTargetPerSample). x is [batch][T][inputSize] when the
 * model has a recurrent layer, else [batch][inputSize]; y is [batch][T][O] when its last recurrent
 * layer returns sequences, else [batch][O].
 */
export function validateSequentialData(d: Record<string, unknown>, model: SequentialSpec, loss: LossKind): InlineData | TextRef {
  if (d.text !== undefined) return validateTextData(d, { tokens: readsTokens(model), sequences: givesSequences(model), firstType: model.layers[0].type }, loss);
  knownKeys('data', d, ['x', 'y'], 'inline data', { window: 'is for text data (data.text)', test: 'is for text data (data.text)' });
  if (!Array.isArray(d.x) || d.x.length === 0) fail('data.x', 'a non-empty array of samples', d.x);
  const xs = d.x as unknown[],
    I = model.inputSize;
  const O = outputsOf(model);
  let T = 1;
  if (readsTokens(model)) {
    // token ids [batch][T], each in 0…vocab−1 (an id outside is named with its sample and step)
    const V = (model.layers[0] as EmbeddingLayerSpec).vocab;
    xs.forEach((sample, i) => {
      if (!Array.isArray(sample) || sample.length === 0)
        fail(`data.x[${i}]`, 'a non-empty array of token ids (an embedding first layer reads data.x as [batch][time] ids)', sample);
      if (i === 0) T = sample.length;
      else if (sample.length !== T) fail(`data.x[${i}]`, `expected ${T} time steps like data.x[0], got ${sample.length}`);
      sample.forEach((id, t) => tokenIdAt(`data.x[${i}][${t}]`, id, V));
    });
  } else if (readsSequences(model)) {
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
  // crossEntropy's class-index targets (PyTorch's form): a number where a row of O would be
  // (with another loss a number there is a target of the wrong shape, said below)
  const indices = loss === 'crossEntropy' && (givesSequences(model) ? Array.isArray(ys[0]) && typeof ys[0][0] === 'number' : typeof ys[0] === 'number');
  if (indices) {
    if (givesSequences(model)) {
      ys.forEach((sample, i) => {
        if (!Array.isArray(sample) || sample.length !== T) fail(`data.y[${i}]`, `${T} class indices (one a time step, like data.y[0])`, sample);
        sample.forEach((c, t) => classIndexAt(`data.y[${i}][${t}]`, c, O));
      });
    } else {
      ys.forEach((c, i) => classIndexAt(`data.y[${i}]`, c, O));
    }
    return { x: xs as number[][] | number[][][], y: ys as number[][] | number[] };
  }
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

/** A class-index target: an integer 0…classes−1 (sample i, step t in `path`). */
export function classIndexAt(path: string, v: unknown, classes: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v >= classes) {
    fail(path, `a class index, an integer from 0 to ${classes - 1} (the last layer has ${classes} outputs)`, v);
  }
  return v as number;
}

/** A token id: an integer 0…vocab−1 (sample i, step t in `path`). */
export function tokenIdAt(path: string, v: unknown, vocab: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v >= vocab) {
    fail(path, `a token id, an integer from 0 to ${vocab - 1} (model.layers[0] is an embedding of vocab ${vocab})`, v);
  }
  return v as number;
}
