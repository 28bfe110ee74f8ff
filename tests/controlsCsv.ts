// The CSV runs the training-control tests share (tests/controls*.test.ts): a 3-6-2 MLP with fixed
// weights on a CSV of n samples written here, the last `test` held out, batches of 5.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RunSpec } from '../src/spec/types.js';
import { mat, rng, vec } from './oracle/random.js';

const dir = mkdtempSync(join(tmpdir(), 'miya-controls-csv-'));

/** The spec, its optimizer adamw lr 0.05 unless `rest` says otherwise; `name` names the CSV file. */
export function csvSpec(name: string, seed: number, n: number, test: number, rest: Record<string, unknown>): RunSpec {
  const r = rng(seed);
  const rows = Array.from({ length: n }, () => {
    const x = vec(r, 3, 1);
    return [...x, Math.tanh(x[0] - x[1] * x[2]) * 0.8 + r(-0.2, 0.2), Math.sin(x[1] + x[2]) * 0.5];
  });
  const file = join(dir, `${name}.csv`);
  writeFileSync(file, ['x0,x1,x2,y0,y1', ...rows.map((v) => v.join(','))].join('\n') + '\n');
  return {
    model: {
      type: 'mlp',
      inputSize: 3,
      layers: [
        { units: 6, activation: 'tanh', weights: mat(r, 6, 3, 0.8), bias: vec(r, 6, 0.3) },
        { units: 2, activation: 'identity', weights: mat(r, 2, 6, 0.8), bias: vec(r, 2, 0.3) },
      ],
    },
    loss: 'mse',
    optimizer: { type: 'adamw', lr: 0.05 },
    data: { csv: file, inputs: ['x0', 'x1', 'x2'], targets: ['y0', 'y1'], test },
    batchSize: 5,
    ...rest,
  } as RunSpec;
}
