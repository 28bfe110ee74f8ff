// A held-out loss of NaN or Inf is a numerical failure like a training loss's: the run stops and
// names it, instead of early stopping or the plateau counting it as one more epoch without
// improvement (which hid it until the run ended).
import { expect } from 'vitest';
import { loadDataset } from '../src/data/load.js';
import { NonFiniteError } from '../src/errors.js';
import { validateSpec } from '../src/spec/validate.js';
import { runSpec } from '../src/train/runSpec.js';
import { backendCases, testBackends } from './backends.js';

const spec = {
  model: { type: 'mlp', inputSize: 1, layers: [{ units: 1, activation: 'identity', weights: [[0.5]], bias: [0] }] },
  loss: 'mse',
  optimizer: { type: 'sgd', lr: 0.01 },
  epochs: 3,
  batchSize: 2,
  data: { x: [[1], [2], [3], [4]], y: [[1], [2], [3], [4]] },
};

testBackends(await backendCases(), 'a held-out loss of Inf stops the run and is named (%s)', async (_name, be) => {
  const train = (await loadDataset(validateSpec(spec))).train;
  // the held-out inputs bypass the spec's checks (a Dataset built in code), so the loss overflows there only
  const test = { ...train, n: 2, x: new Float64Array([1e300, 1]), y: new Float64Array([1, 1]) };
  const run = runSpec(spec, { backend: be, data: { train, test } });
  await expect(run).rejects.toThrow(NonFiniteError);
  await expect(runSpec(spec, { backend: be, data: { train, test } })).rejects.toThrow(/diverged at step 6: the held-out loss is (Inf|\+Inf|NaN|Infinity)/);
});
