// The JSON Schema of the run spec that the package ships (schema/run-spec.schema.json, for editors)
// against Miya's own validator (src/spec/validate.ts), on many specs: every example and worked
// example, the random specs of `verify`, hand-written ones for each kind of model, data, optimizer
// and schedule; and thousands of mutations of them (a key removed, an unknown key, a value of the
// wrong type, a number below its range). The schema may accept what the validator refuses for a
// reason JSON Schema cannot state (a weight matrix's shape against a layer's units, a held-out set
// that earlyStopping needs); it may never refuse a spec the validator takes, and it refuses every
// unknown key and wrong type the validator refuses.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import Ajv from 'ajv';
import { expect, test } from 'vitest';
import { ACTIVATIONS, LOSSES } from '../src/kernels.js';
import { OPTIMIZER_TYPES, RECURRENT_KINDS } from '../src/spec/types.js';
import { validateSpec } from '../src/spec/validate.js';
import { randomSpec } from '../src/verify/randomSpecs.js';

const root = join(import.meta.dirname, '..');
const schema = JSON.parse(readFileSync(join(root, 'schema/run-spec.schema.json'), 'utf8')) as Record<string, unknown>;
const check = new Ajv({ allErrors: false, strict: false }).compile(schema);
const byValidator = (s: unknown): boolean => {
  try {
    validateSpec(s);
    return true;
  } catch {
    return false;
  }
};
const bySchema = (s: unknown): boolean => check(s) as boolean;

const examples = readdirSync(join(root, 'examples'))
  .filter((f) => f.endsWith('.json'))
  .map((f) => ({ name: `examples/${f}`, spec: JSON.parse(readFileSync(join(root, 'examples', f), 'utf8')) as unknown }));

const base = { loss: 'mse', optimizer: { type: 'sgd', lr: 0.1 } };
const handWritten: { name: string; spec: unknown }[] = [
  {
    name: 'sequential lstm + dropout + dense',
    spec: {
      ...base,
      model: {
        type: 'sequential',
        inputSize: 2,
        layers: [
          { type: 'lstm', units: 3, returnSequences: true },
          { type: 'dropout', rate: 0.2 },
          { type: 'gru', units: 2 },
          { units: 1, activation: 'sigmoid' },
        ],
      },
      data: {
        x: [
          [
            [1, 2],
            [3, 4],
          ],
        ],
        y: [[1]],
      },
    },
  },
  {
    name: 'sequential rnn relu, dense typed',
    spec: {
      ...base,
      model: {
        type: 'sequential',
        inputSize: 1,
        layers: [
          { type: 'rnn', units: 2, activation: 'relu' },
          { type: 'dense', units: 1 },
        ],
      },
      data: { x: [[[1], [2]]], y: [[0.5]] },
      seed: 3,
    },
  },
  {
    name: 'embedding text model',
    spec: {
      loss: 'crossEntropy',
      optimizer: { type: 'adamw', lr: 0.01, weightDecay: 0.01 },
      model: { type: 'sequential', layers: [{ type: 'embedding', vocab: 30, units: 8 }, { type: 'lstm', units: 16, returnSequences: true }, { units: 30 }] },
      data: { text: 'corpus.txt', window: 16, test: 4 },
      epochs: 2,
      batchSize: 8,
      shuffle: true,
    },
  },
  {
    name: 'csv rnn with cosine schedule',
    spec: {
      ...base,
      optimizer: { type: 'adam', lr: 0.01, beta1: 0.9, beta2: 0.99, eps: 1e-7, clipNorm: 1 },
      model: { type: 'rnn', inputSize: 1, hiddenSize: 4, outputSize: 1 },
      data: { csv: 'sine.csv', inputs: ['x'], targets: ['y'], window: 5, test: 10 },
      schedule: { type: 'cosine', steps: 100, min: 0.001, warmup: 5 },
    },
  },
  {
    name: 'mnist with plateau and early stopping',
    spec: {
      loss: 'crossEntropy',
      optimizer: { type: 'momentum', lr: 0.05, momentum: 0.9, nesterov: true, clipValue: 2 },
      model: {
        type: 'mlp',
        inputSize: 784,
        layers: [
          { units: 32, activation: 'relu' },
          { units: 10, activation: 'softmax' },
        ],
      },
      data: { dataset: 'mnist', train: 500, test: 100 },
      schedule: { type: 'plateau', factor: 0.5, patience: 2, minDelta: 0.001 },
      earlyStopping: { patience: 3, minDelta: 0, restoreBest: true },
      epochs: 3,
    },
  },
  {
    name: 'step and exponential schedules, rmsprop',
    spec: {
      ...base,
      optimizer: { type: 'rmsprop', lr: 0.01, rho: 0.9, eps: 1e-8, epsInsideSqrt: false },
      model: { type: 'mlp', inputSize: 1, layers: [{ units: 1 }] },
      data: { x: [[1]], y: [[2]] },
      schedule: { type: 'step', every: 10, gamma: 0.5 },
      note: 'hi',
    },
  },
  {
    name: 'exponential schedule',
    spec: {
      ...base,
      model: { type: 'mlp', inputSize: 1, layers: [{ units: 1, weights: [[0.5]], bias: [0] }] },
      data: { x: [[1]], y: [[2]] },
      schedule: { type: 'exponential', gamma: 0.99 },
      steps: 3,
    },
  },
];
const valid = [...examples, ...Array.from({ length: 40 }, (_, i) => ({ name: `random spec ${i}`, spec: randomSpec(i) as unknown })), ...handWritten];

test('every valid spec is taken by both the validator and the schema, with or without "$schema"', () => {
  expect(valid.length).toBeGreaterThan(50);
  for (const { name, spec } of valid) {
    expect(byValidator(spec), `${name}: the validator refuses it`).toBe(true);
    expect(bySchema(spec), `${name}: the schema refuses it: ${JSON.stringify(check.errors?.[0])}`).toBe(true);
    const withSchema = { $schema: '../schema/run-spec.schema.json', ...(spec as object) };
    expect([byValidator(withSchema), bySchema(withSchema)], name).toEqual([true, true]);
  }
});

test('every example names the schema, so that an editor checks it', () => {
  expect(examples.length).toBeGreaterThan(5);
  for (const { name, spec } of examples) expect((spec as { $schema?: string }).$schema, name).toBe('../schema/run-spec.schema.json');
});

test("the schema names the validator's activations, losses, optimizers and layer kinds", () => {
  const text = JSON.stringify(schema);
  const defs = schema.definitions as Record<string, { properties: Record<string, { enum?: string[] }> }>;
  expect(defs.denseLayer.properties.activation.enum).toEqual([...ACTIVATIONS]);
  expect((schema.properties as Record<string, { enum: string[] }>).loss.enum).toEqual([...LOSSES]);
  const constOf = (list: { properties: { type: { const: string } } }[]) => list.map((o) => o.properties.type.const);
  expect(constOf((schema.properties as Record<string, { oneOf: never[] }>).optimizer.oneOf)).toEqual([...OPTIMIZER_TYPES]);
  for (const kind of RECURRENT_KINDS) expect(text).toContain(`"const":"${kind}"`);
});

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
/** Every object in a spec with its path, except the free-form (expect) and the numbers (data, weights). */
function objects(v: Json, path: string[] = []): string[][] {
  if (v === null || typeof v !== 'object') return [];
  if (Array.isArray(v)) return path.at(-1) === 'layers' ? v.flatMap((x, i) => objects(x, [...path, String(i)])) : [];
  if (path.at(-1) === 'expect' || (path.at(-1) === 'weights' && path.length === 2)) return path.at(-1) === 'expect' ? [] : [path];
  return [path, ...Object.entries(v).flatMap(([k, x]) => objects(x, [...path, k]))];
}
function mutate(spec: Json, path: string[], change: (o: Record<string, Json>) => void): Json {
  const copy = structuredClone(spec);
  let o = copy as Record<string, Json>;
  for (const k of path) o = o[k] as Record<string, Json>;
  change(o);
  return copy;
}

test('on mutations of every valid spec, the schema never refuses what the validator takes, and refuses each unknown key, wrong type and value below its range', () => {
  let cases = 0;
  const stricter: string[] = [],
    looser: string[] = [];
  for (const { name, spec } of valid) {
    for (const path of objects(spec as Json)) {
      const at = (k: string) => `${name}: ${[...path, k].join('.')}`;
      const o = path.reduce<Json>((x, k) => (x as Record<string, Json>)[k], spec as Json) as Record<string, Json>;
      const tried: [string, Json, boolean][] = [
        [
          at('zzz') + ' added',
          mutate(spec as Json, path, (x) => {
            x.zzz = 1;
          }),
          true,
        ],
      ];
      for (const [k, v] of Object.entries(o)) {
        tried.push([
          at(k) + ' removed',
          mutate(spec as Json, path, (x) => {
            delete x[k];
          }),
          false,
        ]);
        if (v !== null && typeof v !== 'object') {
          tried.push([
            at(k) + ' of the wrong type',
            mutate(spec as Json, path, (x) => {
              x[k] = typeof v === 'string' ? 12345 : 'nope';
            }),
            true,
          ]);
          if (typeof v === 'number')
            tried.push([
              at(k) + ' = -1',
              mutate(spec as Json, path, (x) => {
                x[k] = -1;
              }),
              true,
            ]);
        }
      }
      for (const [what, s, mustAgree] of tried) {
        cases++;
        const v = byValidator(s),
          j = bySchema(s);
        if (v && !j) stricter.push(`${what}: ${JSON.stringify(check.errors?.[0])}`);
        if (!v && j && mustAgree) looser.push(what);
      }
    }
  }
  expect(cases).toBeGreaterThan(1000);
  // stricter: the schema refuses what the validator takes; looser: it takes an unknown key, a wrong type or a value out of range
  expect({ stricter, looser }).toEqual({ stricter: [], looser: [] });
});
