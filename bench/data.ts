// Seeded inputs for the benchmark cases: the same numbers for every backend and peer, so that
// their first losses can be compared with each other and with the float64 reference.
import type { Dataset } from '../src/data/dataset.js';
import type { StepCase } from './cases.js';
import { outputsOf } from '../src/nn/layout.js';
import { readsSequences } from '../src/spec/sequential.js';

/** Uniform in [-0.5, 0.5) from a 32-bit LCG: fast, seeded, never all zeros. */
export function random(n: number, seed: number): Float64Array {
  const out = new Float64Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s / 2 ** 32 - 0.5;
  }
  return out;
}

/** One batch of synthetic samples for a step case: x [n][T][I], y [n][outputs]. */
export function caseData(c: StepCase, n = c.spec.batchSize!): Dataset {
  const m = c.spec.model;
  const T = m.type === 'rnn' || (m.type === 'sequential' && readsSequences(m)) ? c.T : 1;
  const outputs = outputsOf(m);
  const full = c.spec.batchSize!;
  const x = random(full * T * m.inputSize, 3).subarray(0, n * T * m.inputSize);
  const y = random(full * outputs, 4).subarray(0, n * outputs);
  return { n, x, y, steps: T, features: m.inputSize, outputs };
}

/** How many samples the float64 validation runs on: the whole batch when cheap, else 8. */
export const validationSamples = (c: StepCase) => (c.flopsPerStep < 2e9 ? c.spec.batchSize! : Math.min(8, c.spec.batchSize!));
