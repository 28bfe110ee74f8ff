// Validates a run spec (README.md "The run spec") and returns it typed, or throws a SpecError
// naming the JSON path and what was expected. Data sets named by reference are checked here for
// their fields only; their contents are checked when loaded (src/data).
import { ACTIVATIONS, type LossKind, LOSSES } from '../kernels.js';
import { OPTIMIZER_ALIASES, OPTIMIZER_CONTROLS, validateOptimizerControls, validateRunControls } from './controls.js';
import { OPTIMIZER_TYPES as OPTIMIZERS, type OptimizerType } from './types.js';
import { fail, int, knownKeys, matrix, num, obj, oneOf, optional, requireDepth, vector } from './check.js';
import type { DataSpec, DenseLayerSpec, ModelSpec, OptimizerSpec, RunSpec, RnnSpec } from './types.js';
import { outputsOf } from '../nn/layout.js';
import { classIndexAt, readsSequenceData, requireOneTargetPerSample, validateSequential, validateSequentialData } from './sequential.js';

const HIDDEN_ACTIVATIONS = ACTIVATIONS.filter((a) => a !== 'softmax');

// Every object of a spec has its keys checked: a misspelt key (activaton, momentun) would
// otherwise leave its default in place and train something else than was asked, silently.
const RUN_SPEC_KEYS = ['model', 'loss', 'optimizer', 'data', 'steps', 'epochs', 'batchSize', 'shuffle', 'seed', 'note', 'expect', 'schedule', 'earlyStopping'];
const inModel = 'belongs in model',
  inOptimizer = 'belongs in optimizer',
  inData = 'belongs in data';
const MISPLACED_AT_ROOT: Record<string, string> = {
  type: 'belongs in model or optimizer',
  inputSize: inModel,
  hiddenSize: inModel,
  outputSize: inModel,
  layers: inModel,
  activation: inModel,
  lr: inOptimizer,
  momentum: inOptimizer,
  weightDecay: inOptimizer,
  nesterov: inOptimizer,
  clipNorm: inOptimizer,
  clipValue: inOptimizer,
  warmup: 'belongs in schedule',
  patience: 'belongs in schedule (plateau) or earlyStopping',
  x: inData,
  y: inData,
  csv: inData,
  dataset: inData,
  window: inData,
  test: inData,
  train: inData,
};
const RNN_FIELDS = { hiddenSize: 'is for model.type "rnn"', outputSize: 'is for model.type "rnn"', outputActivation: 'is for model.type "rnn"' };
/** The optional fields of each optimizer (all have type and lr). */
const OPTIMIZER_FIELDS: Record<OptimizerType, string[]> = {
  sgd: [],
  momentum: ['momentum', 'nesterov'],
  rmsprop: ['rho', 'eps', 'epsInsideSqrt'],
  adam: ['beta1', 'beta2', 'eps'],
  adamw: ['beta1', 'beta2', 'eps'],
};
const forCsv = 'is for CSV data (data.csv)',
  forMnist = 'is for MNIST data (data.dataset)',
  forInline = 'is for inline data (data.x and data.y)';

export function validateSpec(raw: unknown): RunSpec {
  requireDepth(raw); // first: nothing below may meet a structure deep enough to overflow the stack
  const s = obj('$', raw);
  knownKeys('', s, RUN_SPEC_KEYS, 'a run spec', MISPLACED_AT_ROOT);
  const model = validateModel(s.model);
  const loss = oneOf('loss', s.loss, LOSSES);
  const optimizer = validateOptimizer(s.optimizer);
  const data = validateData(s.data, model, loss);
  const steps = optional(s, 'steps', (v) => int('steps', v, 1));
  const epochs = optional(s, 'epochs', (v) => int('epochs', v, 1));
  const batchSize = optional(s, 'batchSize', (v) => int('batchSize', v, 1));
  const shuffle = optional(s, 'shuffle', (v) => (typeof v === 'boolean' ? v : fail('shuffle', 'true or false', v)));
  const seed = optional(s, 'seed', (v) => int('seed', v, 0));
  const note = optional(s, 'note', (v) => (typeof v === 'string' ? v : fail('note', 'a string', v)));
  const expect = optional(s, 'expect', (v) => obj('expect', v));
  return { model, loss, optimizer, data, steps, epochs, batchSize, shuffle, seed, note, expect, ...validateRunControls(s, data) };
}

function validateModel(v: unknown): ModelSpec {
  const m = obj('model', v);
  const type = oneOf('model.type', m.type, ['mlp', 'rnn', 'sequential'] as const);
  if (type === 'sequential') return validateSequential(m);
  return type === 'mlp' ? validateMlp(m) : validateRnn(m);
}

function validateMlp(m: Record<string, unknown>): ModelSpec {
  knownKeys('model', m, ['type', 'inputSize', 'layers'], 'an MLP model', {
    ...RNN_FIELDS,
    activation: 'is per layer in an MLP (model.layers[i].activation)',
    weights: 'are per layer in an MLP (model.layers[i].weights)',
  });
  const inputSize = int('model.inputSize', m.inputSize, 1);
  if (!Array.isArray(m.layers) || m.layers.length === 0) fail('model.layers', 'a non-empty array of layers', m.layers);
  let fanIn = inputSize;
  const layers = (m.layers as unknown[]).map((raw, i): DenseLayerSpec => {
    const p = `model.layers[${i}]`;
    const l = obj(p, raw);
    knownKeys(p, l, ['units', 'activation', 'weights', 'bias'], 'a dense layer');
    const units = int(`${p}.units`, l.units, 1);
    const activation = l.activation === undefined ? 'identity' : oneOf(`${p}.activation`, l.activation, ACTIVATIONS);
    const weights = optional(l, 'weights', (w) => matrix(`${p}.weights`, w, units, fanIn));
    const bias = optional(l, 'bias', (b) => vector(`${p}.bias`, b, units));
    fanIn = units;
    return { units, activation, weights, bias };
  });
  return { type: 'mlp', inputSize, layers };
}

function validateRnn(m: Record<string, unknown>): RnnSpec {
  knownKeys('model', m, ['type', 'inputSize', 'hiddenSize', 'outputSize', 'activation', 'outputActivation', 'weights'], 'an RNN model', {
    layers: 'is for model.type "mlp"',
  });
  const inputSize = int('model.inputSize', m.inputSize, 1);
  const hiddenSize = int('model.hiddenSize', m.hiddenSize, 1);
  const outputSize = int('model.outputSize', m.outputSize, 1);
  const activation = m.activation === undefined ? 'tanh' : oneOf('model.activation', m.activation, HIDDEN_ACTIVATIONS);
  const outputActivation = m.outputActivation === undefined ? 'identity' : oneOf('model.outputActivation', m.outputActivation, ACTIVATIONS);
  const w = m.weights === undefined ? {} : obj('model.weights', m.weights);
  const keys = ['inputWeights', 'recurrentWeights', 'hiddenBias', 'outputWeights', 'outputBias'];
  knownKeys('model.weights', w, keys, 'the RNN weights');
  const weights = {
    inputWeights: optional(w, 'inputWeights', (x) => matrix('model.weights.inputWeights', x, hiddenSize, inputSize)),
    recurrentWeights: optional(w, 'recurrentWeights', (x) => matrix('model.weights.recurrentWeights', x, hiddenSize, hiddenSize)),
    hiddenBias: optional(w, 'hiddenBias', (x) => vector('model.weights.hiddenBias', x, hiddenSize)),
    outputWeights: optional(w, 'outputWeights', (x) => matrix('model.weights.outputWeights', x, outputSize, hiddenSize)),
    outputBias: optional(w, 'outputBias', (x) => vector('model.weights.outputBias', x, outputSize)),
  };
  return { type: 'rnn', inputSize, hiddenSize, outputSize, activation, outputActivation, weights };
}

function validateOptimizer(v: unknown): OptimizerSpec {
  const o = obj('optimizer', v);
  const type = oneOf('optimizer.type', o.type, OPTIMIZERS);
  const fields = OPTIMIZER_FIELDS[type];
  // a field of another optimizer is refused too: sgd with momentum 0.9 would be plain SGD
  const others = Object.fromEntries(
    OPTIMIZERS.flatMap((t) => OPTIMIZER_FIELDS[t])
      .filter((f) => !fields.includes(f))
      .map((f) => {
        const owners = OPTIMIZERS.filter((t) => OPTIMIZER_FIELDS[t].includes(f)).map((t) => `"${t}"`);
        return [f, `is for optimizer.type ${owners.join(' or ')}`];
      }),
  );
  knownKeys('optimizer', o, ['type', 'lr', ...fields, ...OPTIMIZER_CONTROLS], `the ${type} optimizer`, { ...OPTIMIZER_ALIASES, ...others });
  if (typeof o.lr !== 'number' || !(o.lr > 0) || !Number.isFinite(o.lr)) fail('optimizer.lr', 'a number > 0', o.lr);
  const unit = (k: string) =>
    optional(o, k, (x) => {
      const n = num(`optimizer.${k}`, x);
      return n >= 0 && n < 1 ? n : fail(`optimizer.${k}`, 'a number in [0, 1)', x);
    });
  const eps = optional(o, 'eps', (x) => (num('optimizer.eps', x) > 0 ? (x as number) : fail('optimizer.eps', 'a number > 0', x)));
  const epsInsideSqrt = optional(o, 'epsInsideSqrt', (x) => (typeof x === 'boolean' ? x : fail('optimizer.epsInsideSqrt', 'true or false', x)));
  return {
    type,
    lr: o.lr as number,
    momentum: unit('momentum'),
    rho: unit('rho'),
    beta1: unit('beta1'),
    beta2: unit('beta2'),
    eps,
    epsInsideSqrt,
    ...validateOptimizerControls(o, type),
  };
}

function validateData(v: unknown, model: ModelSpec, loss: LossKind): DataSpec {
  const d = obj('data', v);
  // CSV and MNIST are read as for an RNN (a model with a recurrent layer) or an MLP (dense layers only)
  if (model.type === 'sequential' && d.csv === undefined && d.dataset === undefined) return validateSequentialData(d, model, loss);
  if (model.type === 'sequential') requireOneTargetPerSample(model, d.csv !== undefined ? 'CSV' : 'MNIST');
  if (d.dataset !== undefined) {
    oneOf('data.dataset', d.dataset, ['mnist'] as const);
    knownKeys('data', d, ['dataset', 'train', 'test', 'sequential'], 'MNIST data', {
      csv: forCsv,
      inputs: forCsv,
      targets: forCsv,
      window: forCsv,
      x: forInline,
      y: forInline,
    });
    const train = optional(d, 'train', (x) => int('data.train', x, 1));
    const test = optional(d, 'test', (x) => int('data.test', x, 1));
    // written by Miya (a checkpoint keeps the validated spec), and always what model.type makes it
    const sequential = readsSequenceData(model);
    if (d.sequential !== undefined && d.sequential !== sequential) {
      const what =
        model.type === 'sequential' ? `a sequential model ${sequential ? 'with' : 'without'} a recurrent layer` : model.type === 'rnn' ? 'an RNN' : 'an MLP';
      fail(
        'data.sequential',
        `${sequential} for ${what} (a model with a recurrent layer reads each digit as 28 rows of 28 pixels, one of dense layers as 784 pixels; the model decides)`,
        d.sequential,
      );
    }
    return { dataset: 'mnist', train, test, sequential };
  }
  if (d.csv !== undefined) {
    if (typeof d.csv !== 'string' || d.csv === '') fail('data.csv', 'a file path', d.csv);
    knownKeys('data', d, ['csv', 'inputs', 'targets', 'window', 'test'], 'CSV data', { dataset: forMnist, train: forMnist, x: forInline, y: forInline });
    const names = (k: string) =>
      optional(d, k, (x) =>
        Array.isArray(x) && x.length > 0 && x.every((s) => typeof s === 'string') ? (x as string[]) : fail(`data.${k}`, 'a non-empty array of column names', x),
      );
    // An RNN's sample is a window of T rows (its T time steps); an MLP's is one row, so a window
    // has no meaning for it (and was read past the file's end).
    if (!readsSequenceData(model) && d.window !== undefined)
      fail(
        'data.window',
        `no window for ${model.type === 'mlp' ? 'an MLP' : 'a sequential model of dense layers only'}: it takes each CSV row as one sample (a window of T rows is a recurrent layer's T time steps); remove data.window or add a recurrent layer`,
      );
    const window = optional(d, 'window', (x) => int('data.window', x, 1));
    const test = optional(d, 'test', (x) => int('data.test', x, 1));
    return { csv: d.csv as string, inputs: names('inputs'), targets: names('targets'), window, test };
  }
  knownKeys('data', d, ['x', 'y'], 'inline data', {
    csv: forCsv,
    dataset: forMnist,
    train: forMnist,
    inputs: forCsv,
    targets: forCsv,
    window: forCsv,
    test: 'is for CSV data (data.csv) or MNIST data (data.dataset)',
  });
  if (!Array.isArray(d.x) || d.x.length === 0) fail('data.x', 'a non-empty array of samples (or data.dataset / data.csv)', d.x);
  const xs = d.x as unknown[];
  const outputs = outputsOf(model);
  if (model.type === 'mlp') {
    xs.forEach((row, i) => vector(`data.x[${i}]`, row, model.inputSize));
  } else {
    let T = -1;
    xs.forEach((sample, i) => {
      if (!Array.isArray(sample) || !sample.every((s) => Array.isArray(s))) {
        fail(`data.x[${i}]`, `[time][${model.inputSize}] numbers (RNN data.x is [batch][time][inputSize])`, sample);
      }
      const steps = sample as unknown[];
      if (steps.length === 0) fail(`data.x[${i}]`, 'at least one time step');
      if (T < 0) T = steps.length;
      else if (steps.length !== T) fail(`data.x[${i}]`, `expected ${T} time steps like data.x[0], got ${steps.length}`);
      steps.forEach((s, t) => vector(`data.x[${i}][${t}]`, s, model.inputSize));
    });
  }
  if (!Array.isArray(d.y)) fail('data.y', `${xs.length} rows of ${outputs} numbers`, d.y);
  if ((d.y as unknown[]).length !== xs.length) fail('data.y', `expected ${xs.length} rows (one per sample of data.x), got ${(d.y as unknown[]).length}`);
  // crossEntropy's class-index targets, [batch] (PyTorch's CrossEntropyLoss form), as for a sequential model
  if (loss === 'crossEntropy' && typeof (d.y as unknown[])[0] === 'number') {
    (d.y as unknown[]).forEach((c, i) => classIndexAt(`data.y[${i}]`, c, outputs));
    return { x: xs as number[][] | number[][][], y: d.y as number[] };
  }
  const y = matrix('data.y', d.y, xs.length, outputs);
  return { x: xs as number[][] | number[][][], y };
}
