// Predictions of a model for new inputs (TF.js's model.predict, PyTorch's model(x)): the forward
// pass alone, in batches, on any backend. The parameters are a checkpoint's, or the spec's own
// (its given weights, else its seeded initialisation).
import type { Backend } from '../backend.js';
import { nonFiniteText, RunError } from '../errors.js';
import type { LossKind } from '../kernels.js';
import type { ModelSpec } from '../spec/types.js';
import { Session } from './session.js';
import { outputsOf } from '../nn/layout.js';
import { givesSequences } from '../spec/sequential.js';

/** Inputs flattened: x is [n][features] for an MLP, [n][steps][features] for an RNN (or a sequential model with a recurrent layer). */
export interface Inputs {
  n: number;
  x: Float64Array;
  steps: number;
}

const PREDICT_BATCH = 1024;

/**
 * ŷ for each input, [n][outputs]. `loss` is the spec's: with crossEntropy the softmax output is
 * what the model predicts, as in training. A NaN or Inf prediction is an error naming its sample.
 */
export async function predict<B>(
  be: Backend<B>,
  spec: { model: ModelSpec; loss: LossKind; seed?: number },
  inputs: Inputs,
  params?: Float64Array,
): Promise<Float64Array> {
  const m = spec.model;
  const outputs = outputsOf(m);
  if (inputs.x.length !== inputs.n * inputs.steps * m.inputSize) {
    throw new RangeError(`predict: ${inputs.x.length} input values are not ${inputs.n} samples of ${inputs.steps} × ${m.inputSize}`);
  }
  // a sequential model that gives sequences predicts [n][T][outputs] (per: T rows a sample)
  const per = m.type === 'sequential' && givesSequences(m) ? inputs.steps : 1;
  const data = { ...inputs, features: m.inputSize, outputs, y: new Float64Array(inputs.n * per * outputs), targetSteps: per };
  const batches = Math.ceil(inputs.n / PREDICT_BATCH);
  const s = new Session(
    be,
    { model: m, loss: spec.loss, optimizer: { type: 'sgd', lr: 1 }, batchSize: PREDICT_BATCH, seed: spec.seed ?? 0, historySize: batches },
    data,
  );
  try {
    if (params) s.restore({ params, state: [], optimizerT: 0, losses: new Float64Array(0) });
    const out = new Float64Array(inputs.n * per * outputs);
    for (const b of s.batches) {
      s.evaluate(b, b.index);
      const v = await s.readView(s.net.prediction(b.size));
      if (per === 1) out.set(v, b.start * outputs);
      // the model's rows are time-major within a batch ([T][batch][O]): back to [batch][T][O]
      else
        for (let t = 0; t < per; t++)
          for (let r = 0; r < b.size; r++) out.set(v.subarray((t * b.size + r) * outputs, (t * b.size + r + 1) * outputs), ((b.start + r) * per + t) * outputs);
    }
    const bad = out.findIndex((v) => !Number.isFinite(v));
    if (bad >= 0)
      throw new RunError(
        `prediction of sample ${Math.floor(bad / (per * outputs)) + 1}${per > 1 ? `, step ${(Math.floor(bad / outputs) % per) + 1}` : ''} is ${nonFiniteText(out[bad])} (output ${(bad % outputs) + 1})`,
      );
    return out;
  } finally {
    s.dispose();
  }
}
