import type { Dataset } from '../data/dataset.js';
import type { InlineData, ModelSpec } from '../spec/types.js';
import { givesSequences, readsSequences } from '../spec/sequential.js';
import { outputsOf } from '../nn/layout.js';

/** The spec's inline arrays as a Dataset (x: [n][in] for an MLP, [n][T][I] for an RNN). */
export function inlineDataset(d: InlineData, model: ModelSpec): Dataset {
  const n = d.x.length;
  const sequence = model.type === 'rnn' || (model.type === 'sequential' && readsSequences(model));
  const steps = sequence ? (d.x[0] as number[][]).length : 1;
  const features = model.inputSize;
  // a sequential model that gives sequences has targets [n][T][O] (validated), one row a step
  // crossEntropy's class-index targets (validated: spec/sequential.ts, validate.ts): one number a target row
  const seqOut = model.type === 'sequential' && givesSequences(model);
  if (seqOut ? typeof (d.y[0] as number[])[0] === 'number' : typeof d.y[0] === 'number') {
    const targetSteps = seqOut ? steps : undefined;
    return {
      n,
      x: Float64Array.from(d.x.flat(2) as number[]),
      y: Float64Array.from(d.y.flat() as number[]),
      steps,
      features,
      outputs: outputsOf(model),
      targetSteps,
      classIndex: true,
    };
  }
  if (model.type === 'sequential' && givesSequences(model)) {
    const y = d.y as unknown as number[][][];
    return { n, x: Float64Array.from(d.x.flat(2) as number[]), y: Float64Array.from(y.flat(2)), steps, features, outputs: y[0][0].length, targetSteps: steps };
  }
  const y = d.y as number[][],
    outputs = y[0].length;
  return { n, x: Float64Array.from(d.x.flat(2) as number[]), y: Float64Array.from(y.flat()), steps, features, outputs };
}
