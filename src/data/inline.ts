import type { Dataset } from '../train/session.js';
import type { InlineData, ModelSpec } from '../spec/types.js';

/** The spec's inline arrays as a Dataset (x: [n][in] for an MLP, [n][T][I] for an RNN). */
export function inlineDataset(d: InlineData, model: ModelSpec): Dataset {
  const n = d.x.length;
  const steps = model.type === 'rnn' ? (d.x[0] as number[][]).length : 1;
  const features = model.inputSize;
  const outputs = d.y[0].length;
  return { n, x: Float64Array.from(d.x.flat(2) as number[]), y: Float64Array.from(d.y.flat()), steps, features, outputs };
}
