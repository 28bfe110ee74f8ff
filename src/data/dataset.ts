// The shape every data source produces (inline JSON, CSV, MNIST): samples flattened into float
// arrays, as Session uploads them to the device.

/** Samples flattened: x is [n][sampleSize] ([n][T][I] for an RNN), y is [n][outputs]. */
export interface Dataset {
  n: number;
  x: Float64Array;
  y: Float64Array;
  steps: number;
  features: number;
  outputs: number;
  /** T when each sample's targets are a sequence, y [n][T][outputs] (a sequential model's per-step outputs); else absent (1) */
  targetSteps?: number;
  /**
   * Class-index targets (crossEntropy, as PyTorch's CrossEntropyLoss takes them): y holds one
   * class index 0…outputs−1 per target row, [n][targetSteps], instead of `outputs` numbers.
   */
  classIndex?: boolean;
  /** A text data set's vocabulary: token i is the character vocabulary[i] (src/data/text.ts) */
  vocabulary?: string[];
  /**
   * Samples read on demand (a CSV streamed from disk, src/data/csvStream.ts): x and y are then
   * empty, and Session feeds the device shard by shard from here (src/train/shards.ts).
   */
  source?: SampleSource;
}

/** Samples kept outside memory: `read` resolves samples [from, from + count) as Dataset lays them out. */
export interface SampleSource {
  read(from: number, count: number): Promise<{ x: Float64Array; y: Float64Array }>;
  /** The most floats one shard read from it should hold (host memory); absent: no bound besides the device's. */
  shardFloats?: number;
}

/** Numbers per target row as y holds them: 1 for class indices, else `outputs`. */
export const targetCols = (d: Dataset): number => (d.classIndex ? 1 : d.outputs);

export interface Datasets {
  train: Dataset;
  test?: Dataset;
}
