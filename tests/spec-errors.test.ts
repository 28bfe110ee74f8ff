// Bad input: each malformed spec names its JSON path and what was expected.
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, test } from 'vitest';
import { SpecError } from '../src/errors.js';
import { requireJsonDepth } from '../src/spec/check.js';
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
  [
    'wrong weight shape',
    (s: any) => {
      s.model.layers[0].weights = [
        [1, 2],
        [3, 4],
        [5, 6],
      ];
    },
    'model.layers[0].weights: expected 3 rows of 3 numbers, got 3 rows of 2',
  ],
  [
    'unknown activation',
    (s: any) => {
      s.model.layers[1].activation = 'gelu';
    },
    'model.layers[1].activation: expected one of',
  ],
  [
    'unknown loss',
    (s: any) => {
      s.loss = 'hinge';
    },
    'loss: expected one of "mse", "halfMse", "crossEntropy", got "hinge"',
  ],
  [
    'unknown optimizer',
    (s: any) => {
      s.optimizer.type = 'lbfgs';
    },
    'optimizer.type: expected one of',
  ],
  [
    'non-number in data',
    (s: any) => {
      s.data.x[0][1] = 'abc';
    },
    'data.x[0][1]: expected a finite number, got "abc"',
  ],
  [
    'x/y batch mismatch',
    (s: any) => {
      s.data.y = [[1], [0]];
    },
    'data.y: expected 1 rows (one per sample of data.x), got 2',
  ],
  [
    'lr ≤ 0',
    (s: any) => {
      s.optimizer.lr = 0;
    },
    'optimizer.lr: expected a number > 0, got 0',
  ],
  [
    'steps < 1',
    (s: any) => {
      s.steps = 0;
    },
    'steps: expected an integer ≥ 1, got 0',
  ],
  [
    'fractional batch size',
    (s: any) => {
      s.batchSize = 1.5;
    },
    'batchSize: expected an integer ≥ 1, got 1.5',
  ],
  [
    'missing model',
    (s: any) => {
      delete s.model;
    },
    'model: expected an object, got undefined',
  ],
  [
    'bias length',
    (s: any) => {
      s.model.layers[0].bias = [1];
    },
    'model.layers[0].bias: expected 3 numbers, got 1',
  ],
  [
    'wrong input width',
    (s: any) => {
      s.data.x = [[1, 2]];
    },
    'data.x[0]: expected 3 numbers, got 2',
  ],
])('%s', (_, change, message) => {
  expect(errorOf(change)).toContain(message);
});

test('an RNN input that is not [batch][time][features]', () => {
  expect(
    errorOf((s) => {
      s.data.x = [[0.5, 1.0, 0.8]];
    }, rnn),
  ).toContain('data.x[0]: expected [time][1] numbers (RNN data.x is [batch][time][inputSize])');
  expect(
    errorOf((s) => {
      s.data.x = [[[0.5], [1.0]], [[0.5]]];
      s.data.y = [[1], [1]];
    }, rnn),
  ).toContain('data.x[1]: expected 2 time steps like data.x[0], got 1');
});

test('runSpec rejects bad input before touching a device', async () => {
  await expect(runSpec({ ...clone(mlp), loss: 'nope' }, { backend: 'cpu' })).rejects.toThrow(SpecError);
});

// Unknown keys at every level (issue 13): a misspelt key used to leave its default in place and
// train something else than was asked (model.layers[0].activaton: "relu" trained an identity layer).
const csvRef = (extra: Record<string, unknown>) => ({ csv: 'points.csv', ...extra });
test.each<[string, (s: any) => void, string, unknown?]>([
  [
    'a misspelt activation',
    (s: any) => {
      s.model.layers[0].activaton = 'relu';
    },
    'model.layers[0].activaton: not a field of a dense layer; did you mean "activation"? (expected one of units, activation, weights, bias)',
  ],
  [
    'a misspelt momentum',
    (s: any) => {
      s.optimizer = { type: 'momentum', lr: 0.1, momentun: 0.5 };
    },
    'optimizer.momentun: not a field of the momentum optimizer; did you mean "momentum"? (expected one of type, lr, momentum, nesterov, weightDecay, clipNorm, clipValue)',
  ],
  [
    "Keras's learning_rate",
    (s: any) => {
      s.optimizer.learning_rate = 0.01;
    },
    'optimizer.learning_rate: not a field of the sgd optimizer; did you mean "lr"?',
  ],
  [
    "PyTorch's RMSprop alpha",
    (s: any) => {
      s.optimizer = { type: 'rmsprop', lr: 0.01, alpha: 0.99 };
    },
    'optimizer.alpha: not a field of the rmsprop optimizer; did you mean "rho"?',
  ],
  [
    'momentum given to sgd',
    (s: any) => {
      s.optimizer.momentum = 0.9;
    },
    'optimizer.momentum: not a field of the sgd optimizer (expected one of type, lr, weightDecay, clipNorm, clipValue); momentum is for optimizer.type "momentum"',
  ],
  [
    'a misspelt root field',
    (s: any) => {
      s.stpes = 3;
    },
    'stpes: not a field of a run spec; did you mean "steps"?',
  ],
  [
    'lr at the root',
    (s: any) => {
      s.lr = 0.1;
    },
    'lr: not a field of a run spec (expected one of model, loss, optimizer, data, steps, epochs, batchSize, shuffle, seed, note, expect, schedule, earlyStopping); lr belongs in optimizer',
  ],
  [
    'a snake_case model field',
    (s: any) => {
      s.model.input_size = 3;
    },
    'model.input_size: not a field of an MLP model; did you mean "inputSize"?',
  ],
  [
    'an RNN field in an MLP',
    (s: any) => {
      s.model.hiddenSize = 4;
    },
    'model.hiddenSize: not a field of an MLP model (expected one of type, inputSize, layers); hiddenSize is for model.type "rnn"',
  ],
  [
    'an MLP field in an RNN',
    (s: any) => {
      s.model.layers = [];
    },
    'model.layers: not a field of an RNN model',
    rnn,
  ],
  [
    'a misspelt RNN weight',
    (s: any) => {
      s.model.weights.inputWeight = [[1]];
    },
    'model.weights.inputWeight: not a field of the RNN weights; did you mean "inputWeights"?',
    rnn,
  ],
  [
    'a misspelt csv',
    (s: any) => {
      s.data.cvs = 'points.csv';
    },
    'data.cvs: not a field of inline data; did you mean "csv" (which is for CSV data (data.csv))? (expected one of x, y)',
  ],
  [
    'a misspelt window',
    (s: any) => {
      s.data = csvRef({ windw: 3 });
    },
    'data.windw: not a field of CSV data; did you mean "window"?',
    rnn,
  ],
  [
    'MNIST with a CSV field',
    (s: any) => {
      s.data = { dataset: 'mnist', inputs: ['a'] };
    },
    'data.inputs: not a field of MNIST data (expected one of dataset, train, test, sequential); inputs is for CSV data',
  ],
  [
    'a key with control characters',
    (s: any) => {
      s.model['bad\nkey\u001b[2J'] = 1;
    },
    'model["bad\\nkey\\u001b[2J"]: not a field of an MLP model',
  ],
])('refused: %s', (_, change, message, base = mlp) => {
  const m = errorOf(change, base);
  expect(m).toContain(message);
  expect(m).not.toMatch(/[\u0000-\u001f]/); // one line, no raw control bytes
});

test('every example, and every validated spec as a checkpoint keeps it, passes the key checks', async () => {
  const dir = join(import.meta.dirname, '../examples');
  const names = readdirSync(dir).filter((f) => f.endsWith('.json'));
  expect(names.length).toBeGreaterThanOrEqual(8);
  for (const f of names) {
    const spec = validateSpec(JSON.parse(readFileSync(join(dir, f), 'utf8')));
    expect(validateSpec(JSON.parse(JSON.stringify(spec)))).toEqual(spec); // e.g. MNIST's data.sequential, which validation adds
  }
});

test('data.sequential, which validation writes, must agree with model.type', () => {
  const mnistMlp = { ...clone(mlp), model: { type: 'mlp', inputSize: 784, layers: [{ units: 10 }] }, data: { dataset: 'mnist', sequential: true } };
  expect(() => validateSpec(mnistMlp)).toThrow('data.sequential: expected false for an MLP');
  expect(validateSpec({ ...mnistMlp, data: { dataset: 'mnist', sequential: false } }).data).toEqual({ dataset: 'mnist', sequential: false });
});

test('an MLP on CSV data with data.window is refused (exit 2), not a TypeError', async () => {
  const s = { ...clone(mlp), data: { csv: 'points.csv', window: 3 } };
  expect(() => validateSpec(s)).toThrow('data.window: no window for an MLP: it takes each CSV row as one sample');
  const dir = mkdtempSync(join(tmpdir(), 'miya-window-'));
  writeFileSync(join(dir, 'points.csv'), 'a,b,c,y\n1,2,3,4\n5,6,7,8\n');
  await expect(runSpec({ ...s, data: { csv: join(dir, 'points.csv'), window: 3 } }, { backend: 'cpu' })).rejects.toThrow(SpecError);
});

// Nesting (issue 13): the spec itself is level 1, so expect (level 2) holds 62 more levels at most.
const nested = (levels: number): unknown => {
  let a: unknown = [1];
  for (let i = 1; i < levels; i++) a = [a];
  return a;
};
test('nesting is bounded at 64 levels, and the error names the first container too deep', () => {
  expect(() => validateSpec({ ...clone(mlp), expect: { deep: nested(62) } })).not.toThrow();
  const m = errorOf((s) => {
    s.expect.deep = nested(63);
  });
  expect(m).toBe(`expect.deep${'[0]'.repeat(62)}: nested deeper than 64 levels of arrays and objects (a run spec needs 5 at most: an RNN's data.x[i][t][j])`);
  expect(
    errorOf((s) => {
      s.expect.deep = nested(5000);
    }),
  ).toMatch(/^expect\.deep(\[0\]){62}: nested deeper than 64 levels/);
  const cycle: Record<string, unknown> = {};
  cycle.self = cycle;
  expect(
    errorOf((s) => {
      s.expect.loop = cycle;
    }),
  ).toMatch(/^expect\.loop(\.self){62}: nested deeper/);
});

test('the text is held to the same bound before it is parsed, with the same message', () => {
  const spec = { ...clone(mlp), expect: { deep: nested(63) } };
  let fromText = '';
  try {
    requireJsonDepth(JSON.stringify(spec));
  } catch (e) {
    fromText = (e as Error).message;
  }
  expect(fromText).toBe(
    errorOf((s) => {
      s.expect.deep = nested(63);
    }),
  );
  expect(() => requireJsonDepth(JSON.stringify({ ...clone(mlp), expect: { deep: nested(62), 'a "quoted" [key': '[[[[', b: ['{', '\\"['] } }))).not.toThrow();
  expect(() => requireJsonDepth('['.repeat(1e6))).toThrow(/^(\[0\]){64}: nested deeper/);
});
