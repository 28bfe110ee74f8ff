// What the harness needs from anything it times (a Miya backend or a TensorFlow.js peer): a
// matmul and a training step it can enqueue many times and then wait for, and the numbers to
// validate them against the float64 reference before timing.
import type { MatmulTile } from '../src/kernels.js';
import type { ParamTensor } from '../src/nn/network.js';
import type { Dataset } from '../src/data/dataset.js';
import type { MatmulCase, StepCase } from './cases.js';
import type { GruCell } from './recurrentRef.js';

export interface Timed {
  /** Enqueues one matmul or one training step (no wait). */
  run(): void;
  /** Waits for everything enqueued. */
  sync(): Promise<void>;
  /** Work before the first run (tuning), and a note on it for the report. */
  prepare?(): Promise<string | undefined>;
  dispose(): void;
}

export interface TimedMatmul extends Timed {
  /** The first `rows` rows of Z after the runs so far. */
  rows(rows: number): Promise<Float64Array>;
}

export interface TimedStep extends Timed {
  /** The loss of the first step run. */
  firstLoss(): Promise<number>;
  /** Bytes on the device by kind (parameters, optimizer, activations, …) after the steps run so far, where known (Miya's own backends). */
  memory?(): Record<string, number>;
}

export interface StepSetup {
  c: StepCase;
  layout: ParamTensor[];
  init: Float64Array;
  data: Dataset;
}

export interface Contender {
  name: string;
  device: string;
  /** Whether the big cases are worth running (the CPU ones take minutes there). */
  fast: boolean;
  /** One of Miya's own backends (not a peer). */
  miya: boolean;
  /** The matmul tile shapes it can run, where some need more workgroup memory than a device has. */
  tiles?: readonly MatmulTile[];
  matmul(c: MatmulCase, a: Float64Array, b: Float64Array): TimedMatmul;
  step(s: StepSetup): TimedStep;
  /** The loss of one forward pass on the given (small) data with the initial parameters. */
  validationLoss(s: StepSetup): Promise<number>;
  /** The outputs ([n][O]) of that forward pass: the recurrent suites validate them too. */
  validationOutputs(s: StepSetup): Promise<Float64Array>;
  /** The GRU cell it computes (recurrentRef.ts): PyTorch's, unless said (TF.js has only Keras's reset_after = false). */
  gruCell?: GruCell;
  dispose(): void;
}
