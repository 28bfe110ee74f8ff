// What a model holds on each backend: its parameters and gradients, its optimizer state, one
// batch's activations (twice the batch, twice the activations; nothing else grows with it), the
// resident data, the gathered batch and the loss bookkeeping — and all of it is given back.
import { expect, test } from 'vitest';
import { layoutSize, paramLayout } from '../src/nn/layout.js';
import type { ModelSpec } from '../src/spec/types.js';
import { memorySince } from '../src/train/memory.js';
import type { Dataset } from '../src/data/dataset.js';
import { Session } from '../src/train/session.js';
import { backendCases, describeBackends } from './backends.js';

const models: [string, ModelSpec, number][] = [
  [
    'MLP 20-64-32-10, adam',
    {
      type: 'mlp',
      inputSize: 20,
      layers: [
        { units: 64, activation: 'relu' },
        { units: 32, activation: 'identity' },
        { units: 10, activation: 'softmax' },
      ],
    },
    2,
  ],
  ['RNN in 6, hidden 24, T 5, adam', { type: 'rnn', inputSize: 6, hiddenSize: 24, outputSize: 3, activation: 'tanh', outputActivation: 'sigmoid' }, 2],
];

function dataset(model: ModelSpec, n: number): Dataset {
  const T = model.type === 'rnn' ? 5 : 1,
    outputs = model.type === 'rnn' ? model.outputSize : (model.layers[model.layers.length - 1] as { units: number }).units;
  return { n, steps: T, features: model.inputSize, outputs, x: new Float64Array(n * T * model.inputSize), y: new Float64Array(n * outputs) };
}

describeBackends(await backendCases(), '%s', (_, be) => {
  test.each(models)('%s: parameters, optimizer state, one batch of activations; all freed', (_, model, states) => {
    const use = (batch: number) => {
      const before = be.inventory();
      const s = new Session(be, { model, loss: 'mse', optimizer: { type: 'adam', lr: 0.01 }, batchSize: batch, seed: 1, historySize: 10 }, dataset(model, 256));
      const m = memorySince(be, before);
      s.dispose();
      expect(be.liveBuffers()).toBe(before.size);
      return m;
    };
    const [one, two] = [use(16), use(32)];
    const size = layoutSize(paramLayout(model));
    expect([one.parameters, one.gradients, one.optimizer]).toEqual([size, size, states * size]);
    expect(two.activations).toBe(2 * one.activations);
    expect(two.batch).toBe(2 * one.batch);
    expect(one.activations).toBeGreaterThan(0);
    expect([two.parameters, two.gradients, two.optimizer, two.data, two.loss]).toEqual([one.parameters, one.gradients, one.optimizer, one.data, one.loss]);
  });
});
