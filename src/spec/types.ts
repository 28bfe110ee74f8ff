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
export type ModelSpec = MlpSpec | RnnSpec;

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
