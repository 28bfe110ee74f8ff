import type { Act, LossKind, OptKind } from '../kernels.js';

export type Matrix = number[][];

export interface DenseLayerSpec { units: number; activation: Act; weights?: Matrix; bias?: number[] }
export interface MlpSpec { type: 'mlp'; inputSize: number; layers: DenseLayerSpec[] }

export interface RnnWeights {
  inputWeights?: Matrix; recurrentWeights?: Matrix; hiddenBias?: number[]; outputWeights?: Matrix; outputBias?: number[];
}
export interface RnnSpec {
  type: 'rnn'; inputSize: number; hiddenSize: number; outputSize: number;
  activation: Act; outputActivation: Act; weights?: RnnWeights;
}
/**
 * A stack of layers (src/nn/sequential.ts; validated by src/spec/sequential.ts). A recurrent
 * layer is PyTorch's nn.RNN / nn.LSTM / nn.GRU (one layer, batch-first data, h₀ = c₀ = 0), its
 * weights [G·H][in] and [G·H][H] with the gates stacked in PyTorch's order (LSTM i, f, g, o; GRU
 * r, z, n; G = 4, 3, 1). A dense layer after a sequence acts at every step.
 */
export interface SeqDenseSpec { type: 'dense'; units: number; activation: Act; weights?: Matrix; bias?: number[] }
export const RECURRENT_KINDS = ['rnn', 'lstm', 'gru'] as const;
export type RecurrentKind = (typeof RECURRENT_KINDS)[number];
export interface RecurrentLayerSpec {
  type: RecurrentKind; units: number; returnSequences: boolean;
  /** rnn only (tanh or relu, as nn.RNN's nonlinearity); lstm and gru have their own */
  activation?: 'tanh' | 'relu';
  weightIh?: Matrix; weightHh?: Matrix; biasIh?: number[]; biasHh?: number[];
}
export type SequentialLayerSpec = SeqDenseSpec | RecurrentLayerSpec;
export interface SequentialSpec { type: 'sequential'; inputSize: number; layers: SequentialLayerSpec[] }
export type ModelSpec = MlpSpec | RnnSpec | SequentialSpec;

export interface OptimizerSpec {
  type: OptKind; lr: number;
  momentum?: number; rho?: number; eps?: number; epsInsideSqrt?: boolean; beta1?: number; beta2?: number;
}

export interface InlineData { x: number[][] | number[][][]; y: number[][] }
export interface DatasetRef { dataset: 'mnist'; train?: number; test?: number; sequential?: boolean }
/** `test`: the last `test` samples held out (before any shuffling, as TF.js's validationSplit takes the last ones). */
export interface CsvRef { csv: string; inputs?: string[]; targets?: string[]; window?: number; test?: number }
export type DataSpec = InlineData | DatasetRef | CsvRef;

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
}
