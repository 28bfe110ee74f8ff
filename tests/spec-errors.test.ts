// Bad input: each malformed spec names its JSON path and what was expected.
import { expect, test } from 'vitest';
import { SpecError } from '../src/errors.js';
import { validateSpec } from '../src/spec/validate.js';
import { runSpec } from '../src/train/runSpec.js';
import mlp from '../examples/mlp-3-3-1-sigmoid.json';
import rnn from '../examples/rnn-3-day-bptt.json';

const clone = <T>(v: T): T => JSON.parse(JSON.stringify(v));
function errorOf(change: (s: any) => void, base: unknown = mlp): string {
  const s = clone(base);
  change(s);
  try {
    validateSpec(s);
  } catch (e) {
    expect(e).toBeInstanceOf(SpecError);
    return (e as Error).message;
  }
  throw new Error('no error');
}

test.each([
  ['wrong weight shape', (s: any) => { s.model.layers[0].weights = [[1, 2], [3, 4], [5, 6]]; }, 'model.layers[0].weights: expected 3 rows of 3 numbers, got 3 rows of 2'],
  ['unknown activation', (s: any) => { s.model.layers[1].activation = 'gelu'; }, 'model.layers[1].activation: expected one of'],
  ['unknown loss', (s: any) => { s.loss = 'hinge'; }, 'loss: expected one of "mse", "halfMse", "crossEntropy", got "hinge"'],
  ['unknown optimizer', (s: any) => { s.optimizer.type = 'lbfgs'; }, 'optimizer.type: expected one of'],
  ['non-number in data', (s: any) => { s.data.x[0][1] = 'abc'; }, 'data.x[0][1]: expected a finite number, got "abc"'],
  ['x/y batch mismatch', (s: any) => { s.data.y = [[1], [0]]; }, 'data.y: expected 1 rows (one per sample of data.x), got 2'],
  ['lr ≤ 0', (s: any) => { s.optimizer.lr = 0; }, 'optimizer.lr: expected a number > 0, got 0'],
  ['steps < 1', (s: any) => { s.steps = 0; }, 'steps: expected an integer ≥ 1, got 0'],
  ['fractional batch size', (s: any) => { s.batchSize = 1.5; }, 'batchSize: expected an integer ≥ 1, got 1.5'],
  ['missing model', (s: any) => { delete s.model; }, 'model: expected an object, got undefined'],
  ['bias length', (s: any) => { s.model.layers[0].bias = [1]; }, 'model.layers[0].bias: expected 3 numbers, got 1'],
  ['wrong input width', (s: any) => { s.data.x = [[1, 2]]; }, 'data.x[0]: expected 3 numbers, got 2'],
])('%s', (_, change, message) => {
  expect(errorOf(change)).toContain(message);
});

test('an RNN input that is not [batch][time][features]', () => {
  expect(errorOf((s) => { s.data.x = [[0.5, 1.0, 0.8]]; }, rnn)).toContain('data.x[0]: expected [time][1] numbers (RNN data.x is [batch][time][inputSize])');
  expect(errorOf((s) => { s.data.x = [[[0.5], [1.0]], [[0.5]]]; s.data.y = [[1], [1]]; }, rnn)).toContain('data.x[1]: expected 2 time steps like data.x[0], got 1');
});

test('runSpec rejects bad input before touching a device', async () => {
  await expect(runSpec({ ...clone(mlp), loss: 'nope' }, { backend: 'cpu' })).rejects.toThrow(SpecError);
});
