import type { Dataset } from '../data/dataset.js';
import type { InlineData, ModelSpec } from '../spec/types.js';
import { givesSequences, readsSequences } from '../spec/sequential.js';

/** The spec's inline arrays as a Dataset (x: [n][in] for an MLP, [n][T][I] for an RNN). */
export function inlineDataset(d: InlineData, model: ModelSpec): Dataset {
  const n = d.x.length;
  const sequence = model.type === 'rnn' || (model.type === 'sequential' && readsSequences(model));
  const steps = sequence ? (d.x[0] as number[][]).length : 1;
  const features = model.inputSize;
  // a sequential model that gives sequences has targets [n][T][O] (validated), one row a step
  if (model.type === 'sequential' && givesSequences(model)) {
    const y = d.y as unknown as number[][][];
    return { n, x: Float64Array.from(d.x.flat(2) as number[]), y: Float64Array.from(y.flat(2)), steps, features, outputs: y[0][0].length, targetSteps: steps };
  }
  const outputs = d.y[0].length;
  return { n, x: Float64Array.from(d.x.flat(2) as number[]), y: Float64Array.from(d.y.flat()), steps, features, outputs };
}
