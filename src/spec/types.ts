import type { Act, LossKind, OptKind } from '../kernels.js';

export type Matrix = number[][];

export interface DenseLayerSpec {
  units: number;
  activation: Act;
  weights?: Matrix;
  bias?: number[];
}
export interface MlpSpec {
  type: 'mlp';
  inputSize: number;
  layers: DenseLayerSpec[];
}

export interface RnnWeights {
  inputWeights?: Matrix;
  recurrentWeights?: Matrix;
  hiddenBias?: number[];
  outputWeights?: Matrix;
  outputBias?: number[];
}
export interface RnnSpec {
  type: 'rnn';
  inputSize: number;
  hiddenSize: number;
  outputSize: number;
  activation: Act;
  outputActivation: Act;
  weights?: RnnWeights;
}
/**
 * A stack of layers (src/nn/sequential.ts; validated by src/spec/sequential.ts). A recurrent
 * layer is PyTorch's nn.RNN / nn.LSTM / nn.GRU (one layer, batch-first data, h₀ = c₀ = 0), its
 * weights [G·H][in] and [G·H][H] with the gates stacked in PyTorch's order (LSTM i, f, g, o; GRU
 * r, z, n; G = 4, 3, 1). A dense layer after a sequence acts at every step.
 */
export interface SeqDenseSpec {
  type: 'dense';
  units: number;
  activation: Act;
  weights?: Matrix;
  bias?: number[];
}
export const RECURRENT_KINDS = ['rnn', 'lstm', 'gru'] as const;
export type RecurrentKind = (typeof RECURRENT_KINDS)[number];
export interface RecurrentLayerSpec {
  type: RecurrentKind;
  units: number;
  returnSequences: boolean;
  /** rnn only (tanh or relu, as nn.RNN's nonlinearity); lstm and gru have their own */
  activation?: 'tanh' | 'relu';
  weightIh?: Matrix;
  weightHh?: Matrix;
  biasIh?: number[];
  biasHh?: number[];
}
/** nn.Embedding: the first layer only; x is then token ids [batch][T] (inputSize 1); weight [vocab][units]. */
export interface EmbeddingLayerSpec {
  type: 'embedding';
  vocab: number;
  units: number;
  weights?: Matrix;
}
/** nn.Dropout: inverted dropout while training (kept values scaled by 1/(1 − rate)), off in evaluation and predict. */
export interface DropoutLayerSpec {
  type: 'dropout';
  rate: number;
}
export type SequentialLayerSpec = SeqDenseSpec | RecurrentLayerSpec | EmbeddingLayerSpec | DropoutLayerSpec;
export interface SequentialSpec {
  type: 'sequential';
  inputSize: number;
  layers: SequentialLayerSpec[];
}
export type ModelSpec = MlpSpec | RnnSpec | SequentialSpec;

/** The optimizers a spec names: the update kernel's, and AdamW (its Adam rule with decoupled weight decay). */
export const OPTIMIZER_TYPES = ['sgd', 'momentum', 'rmsprop', 'adam', 'adamw'] as const satisfies readonly (OptKind | 'adamw')[];
export type OptimizerType = (typeof OPTIMIZER_TYPES)[number];
export interface OptimizerSpec {
  type: OptimizerType;
  lr: number;
  momentum?: number;
  rho?: number;
  eps?: number;
  epsInsideSqrt?: boolean;
  beta1?: number;
  beta2?: number;
  /** README.md "Training controls": weight_decay (AdamW's decoupled), SGD's nesterov, clip_grad_norm_, clip_grad_value_ */
  weightDecay?: number;
  nesterov?: boolean;
  clipNorm?: number;
  clipValue?: number;
}
/** The learning rate by optimizer step t (README.md "Training controls"); warmup multiplies by min(1, (t + 1)/W). */
export type ScheduleSpec = (
  | { type: 'step'; every: number; gamma: number }
  | { type: 'exponential'; gamma: number }
  | { type: 'cosine'; steps: number; min?: number }
  | { type: 'plateau'; factor: number; patience: number; minDelta?: number }
) & { warmup?: number };
export interface EarlyStoppingSpec {
  patience: number;
  minDelta?: number;
  restoreBest?: boolean;
}

/** y: [batch][O] (or [batch][T][O] for a sequence output); with crossEntropy also class indices, [batch] (or [batch][T]). */
export interface InlineData {
  x: number[][] | number[][][];
  y: number[][] | number[];
}
export interface DatasetRef {
  dataset: 'mnist';
  train?: number;
  test?: number;
  sequential?: boolean;
}
/** `test`: the last `test` samples held out (before any shuffling, as TF.js's validationSplit takes the last ones). */
export interface CsvRef {
  csv: string;
  inputs?: string[];
  targets?: string[];
  window?: number;
  test?: number;
}
/** A character model's text (src/data/text.ts): windows of `window` characters, the target at each step the next; the last `test` windows held out. */
export interface TextRef {
  text: string;
  window: number;
  test?: number;
}
export type DataSpec = InlineData | DatasetRef | CsvRef | TextRef;

export interface RunSpec {
  model: ModelSpec;
  loss: LossKind;
  optimizer: OptimizerSpec;
  data: DataSpec;
  steps?: number;
  epochs?: number;
  batchSize?: number;
  /** Reshuffle the training samples every epoch (seeded); off by default, as in PyTorch's DataLoader. */
  shuffle?: boolean;
  seed?: number;
  /** Free text shown by `explain` (the worked examples' notes). */
  note?: string;
  /** Expected numbers of a worked example (checked by tests and `verify`). */
  expect?: Record<string, unknown>;
  /** The learning-rate schedule (src/optim/schedule.ts). */
  schedule?: ScheduleSpec;
  /** Stop when the held-out loss stops improving (src/train/controls.ts). */
  earlyStopping?: EarlyStoppingSpec;
}
