// The shape every data source produces (inline JSON, CSV, MNIST): samples flattened into float
// arrays, as Session uploads them to the device.

/** Samples flattened: x is [n][sampleSize] ([n][T][I] for an RNN), y is [n][outputs]. */
export interface Dataset {
  n: number; x: Float64Array; y: Float64Array; steps: number; features: number; outputs: number;
  /** T when each sample's targets are a sequence, y [n][T][outputs] (a sequential model's per-step outputs); else absent (1) */
  targetSteps?: number;
}

export interface Datasets { train: Dataset; test?: Dataset }
